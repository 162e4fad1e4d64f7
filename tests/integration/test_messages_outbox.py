"""The outbox interface: a message is queued once per dedupe key, inside the caller's transaction, through the
channel the site configured for the address; an address no channel reaches is refused with the reason."""

from __future__ import annotations

import pytest
from sqlmodel import select

from server.configuration.fields import SettingProblem
from server.configuration.site_settings import check_site_settings
from server.context import Luot
from server.messaging.outbox import (
    BadAddress,
    MessageKind,
    MissingParams,
    Unreachable,
    enqueue,
    reachable,
    watch_ticket,
)
from server.messaging.texts import render, unaccented
from server.models import OutboxMessage, TicketWatch
from tests.support.citizens import set_messaging
from tests.support.world import World

ZALO_AND_SMS = {
    "zalo": {"url": "http://127.0.0.1:9/zns", "access_token": "zalo-secret", "templates": {"near_turn": "111"}},
    "sms": {"url": "http://127.0.0.1:9/sms", "body": '{"to": "{phone}", "text": "{text}"}'},
}


def configure(luot: Luot, site_id: int, messaging: dict) -> None:
    set_messaging(luot.db, site_id, messaging)


def test_a_message_is_queued_once_per_dedupe_key_through_the_channel_of_its_address(luot: Luot, world: World):
    configure(luot, world.site_id, ZALO_AND_SMS)
    with luot.db.write() as session:
        params = {"display_number": "1001", "ahead": "3", "service": "Chứng thực"}
        first = enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.NEAR_TURN,
            address="0912 345 678",
            params=params,
            dedupe_key="t1:near",
        )
        again = enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.NEAR_TURN,
            address="+84912345678",
            params=params,
            dedupe_key="t1:near",
        )
        called = enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.CALLED,
            address="+84912345678",
            params={"display_number": "1001", "counter": "2"},
            dedupe_key="t1:called",
        )
        session.commit()
    assert (first, again, called) == (True, False, True)
    with luot.db.read() as session:
        rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.kind, r.channel, r.address, r.status) for r in rows] == [
        ("near_turn", "zalo", "+84912345678", "queued"),  # Zalo has a template for near_turn
        ("called", "sms", "+84912345678", "queued"),  # …not for called: the SMS gateway
    ]
    assert rows[0].text.startswith("Sắp đến lượt số 1001 (Chứng thực): còn 3 người")


def test_a_message_rolled_back_with_its_transaction_is_not_queued(luot: Luot, world: World):
    configure(luot, world.site_id, ZALO_AND_SMS)
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="0912345678",
            params={"code": "123456"},
            dedupe_key="otp:1",
        )
        session.rollback()
    with luot.db.read() as session:
        assert session.exec(select(OutboxMessage)).all() == []


def test_addresses_no_channel_reaches_are_refused_saying_which(luot: Luot, world: World):
    configure(luot, world.site_id, {"sms": ZALO_AND_SMS["sms"]})
    with luot.db.write() as session:
        with pytest.raises(Unreachable) as refused:
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.OTP,
                address="an@example.vn",
                params={"code": "1"},
                dedupe_key="x",
            )
        assert str(refused.value.params["what"]) == "e-mail addresses" and refused.value.status == 422
        with pytest.raises(BadAddress):
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.OTP,
                address="12",
                params={"code": "1"},
                dedupe_key="y",
            )
        with pytest.raises(MissingParams):
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.CALLED,
                address="0912345678",
                params={},
                dedupe_key="z",
            )
    configure(luot, world.site_id, {})
    with luot.db.write() as session, pytest.raises(Unreachable) as refused:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="0912345678",
            params={"code": "1"},
            dedupe_key="w",
        )
    assert str(refused.value.params["what"]) == "phone numbers"


def test_a_ticket_watch_is_one_per_ticket_and_asking_again_replaces_it(luot: Luot, world: World, client):
    from tests.support.api import issue

    configure(luot, world.site_id, ZALO_AND_SMS)
    ticket = issue(client, world.kiosk_token, "TP-A")
    for phone, near in (("0912345678", True), ("0987654321", False)):
        with luot.db.write() as session:
            watch_ticket(session, ticket_id=ticket["id"], address=phone, near_turn=near, called=True, language="en")
            session.commit()
    with luot.db.read() as session:
        watches = session.exec(select(TicketWatch)).all()
    assert [(w.address, w.near_turn, w.called, w.language) for w in watches] == [("+84987654321", False, True, "en")]


def test_bad_channel_settings_are_refused_when_the_site_is_saved():
    with pytest.raises(SettingProblem) as problem:
        check_site_settings({"messaging": {"sms": {"url": "ftp://x"}}})
    assert problem.value.field == "messaging.sms.url"
    with pytest.raises(SettingProblem):
        check_site_settings({"messaging": {"email": {"host": "smtp", "sender": "a@b.vn", "port": 70000}}})


def test_sms_text_is_unaccented_and_every_kind_has_both_languages():
    assert unaccented("Mời công dân có số 1001 đến quầy Đ5") == "Moi cong dan co so 1001 den quay D5"
    for kind in MessageKind:
        params = dict.fromkeys(("code", "service", "slot", "link", "display_number", "ahead", "counter"), "7")
        for language in ("vi", "en"):
            text = unaccented(render(kind, params, language))
            assert text.isascii() and len(text) <= 160, (kind, language, text)


def test_two_workers_with_their_own_engines_send_each_message_once(settings, world: World, luot: Luot):
    from tests.support.gateway import Gateway
    from tests.support.message_race import queue_messages, race, statuses

    gateway = Gateway()
    try:
        queue_messages(luot.db, world.site_id, gateway, 40)
        sent = race(settings)
        refs = [r.json()["ref"] for r in gateway.requests]
    finally:
        gateway.close()
    assert sorted(refs) == sorted(f"race:{n}" for n in range(40)), "each message sent once"
    assert sum(sent) == 40 and statuses(luot.db) == [("sent", 1)] * 40
    print(f"two workers on one SQLite file: {sent}")


def test_a_page_can_ask_which_addresses_a_site_reaches(luot: Luot, world: World):
    with luot.db.read() as session:
        assert reachable(session, world.site_id, MessageKind.OTP) == frozenset()
    email = {"host": "smtp.example.vn", "sender": "a@example.vn"}
    configure(luot, world.site_id, {"zalo": ZALO_AND_SMS["zalo"], "email": email})
    with luot.db.read() as session:
        assert reachable(session, world.site_id, MessageKind.NEAR_TURN) == {"phone", "email"}  # Zalo template
        assert reachable(session, world.site_id, MessageKind.OTP) == {"email"}  # no Zalo template, no SMS


def test_an_admin_sets_the_channels_in_the_site_form_and_a_bad_one_is_refused_with_the_reason(
    client, luot: Luot, world: World
):
    import json

    from tests.support.api import bearer, staff_token
    from tests.support.forms import form_of, post, text_of

    admin = bearer(staff_token(client, "admin"))
    path = f"/admin/sites/{world.site_id}"
    data = form_of(client, admin, path)
    bad = {"sms": {"url": "sms.example.vn/send"}}
    refused = post(client, admin, path, data, **{"settings-other": json.dumps({"messaging": bad})})
    assert refused.status_code == 400 and "Phải là địa chỉ http:// hoặc https://" in text_of(refused)
    saved = post(client, admin, path, data, **{"settings-other": json.dumps({"messaging": ZALO_AND_SMS})})
    assert saved.status_code == 302, text_of(saved)[:2000]
    with luot.db.read() as session:
        assert reachable(session, world.site_id, MessageKind.CALLED) == {"phone"}
    board = client.get(f"/display/?token={world.board_token}").get_data(as_text=True)
    assert "zalo-secret" not in board  # the public pages never carry the site's settings
