"""The outbox worker and the near-turn/called triggers in one process (a steerable clock), against a real local
HTTP server standing in for Zalo ZNS and the SMS gateway, and a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlmodel import select

from server.clock import ManualClock
from server.context import Luot
from server.messaging.outbox import MessageKind, enqueue, watch_ticket
from server.messaging.worker import INTERRUPTED, LEASE_SECONDS
from server.models import OutboxMessage, TicketWatch
from server.process import free_port
from tests.support.api import act, issue, staff_token
from tests.support.citizens import set_messaging
from tests.support.gateway import Gateway
from tests.support.world import World


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    stand_in = Gateway()
    yield stand_in
    stand_in.close()


class Mailbox:
    """aiosmtpd handler keeping what it received."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []
        self.refuse = 0  # answer the next DATA with a temporary failure this many times

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.mails.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, Mailbox]]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


def messaging(gateway: Gateway, **more: object) -> dict:
    return {
        "retry_seconds": 30,
        "max_attempts": 4,
        "timeout_seconds": 2,
        "zalo": {"url": f"{gateway.url}/zns", "access_token": "zalo-secret", "templates": {"near_turn": "111"}},
        "sms": {
            "url": f"{gateway.url}/sms?to={{phone_digits}}",
            "auth_header": "Authorization: Bearer sms-secret",
            "body": '{"to": "{phone_local}", "text": "{text}", "ref": "{id}"}',
        },
        **more,
    }


def configure(luot: Luot, site_id: int, settings: dict) -> None:
    set_messaging(luot.db, site_id, settings)


def outbox(luot: Luot) -> list[OutboxMessage]:
    with luot.db.read() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def settle(luot: Luot) -> None:
    """The line's refresh (and its triggers) ran for every change so far."""
    assert luot.hub.figures.settled(10)


def test_near_turn_and_called_are_each_sent_once_through_the_gateway(
    luot: Luot, world: World, client: FlaskClient, gateway: Gateway
):
    configure(luot, world.site_id, messaging(gateway))
    clerk = staff_token(client, "clerk2")  # counter 2 serves TP-A only
    tickets = [issue(client, world.kiosk_token, "TP-A") for _ in range(6)]
    watched = tickets[5]
    with luot.db.write() as session:
        watch_ticket(session, ticket_id=watched["id"], address="0912 345 678", near_turn=True, called=True)
        session.commit()
    luot.message_triggers.watch_added(world.site_id)
    act(client, clerk, world.counters["c2"], "open")
    for _ in range(1):  # 5 ahead when issued, 4 after this call: nothing yet
        act(client, clerk, world.counters["c2"], "next")
        act(client, clerk, world.counters["c2"], "start")
        settle(luot)
        assert luot.messages.run_once() == 0
    act(client, clerk, world.counters["c2"], "next")  # 3 ahead now (the one called is no longer waiting)
    act(client, clerk, world.counters["c2"], "start")
    settle(luot)
    assert luot.messages.run_once() == 1
    zns = gateway.wait_for(1, path="/zns")[0]
    assert zns.headers["access_token"] == "zalo-secret"
    assert zns.json() == {
        "phone": "84912345678",
        "template_id": "111",
        "template_data": {
            "display_number": watched["display_number"],
            "ahead": "3",
            "service": "Cấp phiếu lý lịch tư pháp",
        },
        "tracking_id": f"{watched['id']}:near",
    }
    for _ in range(3):  # 2 ahead, 1, 0: already told
        act(client, clerk, world.counters["c2"], "next")
        act(client, clerk, world.counters["c2"], "start")
        settle(luot)
        assert luot.messages.run_once() == 0
    act(client, clerk, world.counters["c2"], "next")
    called = act(client, clerk, world.counters["c2"], "recall")  # a recall sends nothing more
    settle(luot)
    assert luot.messages.run_once() == 1
    sms = gateway.wait_for(1, path="/sms")[0]
    assert sms.path == "/sms?to=84912345678" and sms.headers["authorization"] == "Bearer sms-secret"
    assert sms.json() == {
        "to": "0912345678",
        "text": f"Moi cong dan co so {watched['display_number']} den quay 2.",
        "ref": f"{watched['id']}:called",
    }
    assert called["ticket"]["id"] == watched["id"]
    rows = outbox(luot)
    assert [(r.kind, r.status, r.attempts, r.provider_message_id) for r in rows] == [
        ("near_turn", "sent", 1, "zns-1"),
        ("called", "sent", 1, "sms-2"),
    ]
    assert len(gateway.requests) == 2
    # Law 91/2025: once nothing more can be sent, the number is kept only masked, and no text or params
    assert {(r.address, r.text, str(r.params)) for r in rows} == {("+8491•••••78", "", "{}")}
    with luot.db.read() as session:
        assert [w.address for w in session.exec(select(TicketWatch)).all()] == ["+8491•••••78"]


def test_a_failing_gateway_is_retried_with_back_off_then_the_message_is_delivered_once(
    luot: Luot, world: World, gateway: Gateway, clock: ManualClock
):
    configure(luot, world.site_id, messaging(gateway))
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="0912345678",
            params={"code": "481516"},
            dedupe_key="otp:a",
        )
        session.commit()
    gateway.fail_next(2, status=503)
    assert luot.messages.run_once() == 1  # one send tried; 503: back to the queue
    (row,) = outbox(luot)
    assert (row.status, row.attempts, row.next_attempt_at - clock.now()) == ("queued", 1, timedelta(seconds=30))
    assert "HTTP 503" in row.last_error
    clock.advance(seconds=29)
    assert luot.messages.run_once() == 0 and len(gateway.requests) == 1  # not due yet
    clock.advance(seconds=1)
    luot.messages.run_once()
    (row,) = outbox(luot)
    assert (row.status, row.attempts, row.next_attempt_at - clock.now()) == ("queued", 2, timedelta(seconds=60))
    clock.advance(seconds=60)
    assert luot.messages.run_once() == 1
    (row,) = outbox(luot)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")
    assert [r.status for r in gateway.requests] == [503, 503, 200]
    assert {r.json()["text"] for r in gateway.requests} == {
        "Ma xac thuc Luot cua ban: 481516. Khong chia se ma nay voi ai."
    }
    clock.advance(hours=2)
    assert luot.messages.run_once() == 0 and len(gateway.requests) == 3


def test_after_the_last_attempt_or_a_refusal_the_message_is_failed(
    luot: Luot, world: World, gateway: Gateway, clock: ManualClock
):
    configure(luot, world.site_id, {**messaging(gateway), "max_attempts": 2})
    with luot.db.write() as session:
        for key in ("a", "b"):
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.OTP,
                address="0912345678",
                params={"code": "1"},
                dedupe_key=key,
            )
        session.commit()
    gateway.fail_next(1, status=400)  # a: refused for good
    gateway.fail_next(2, status=500)  # b: twice
    luot.messages.run_once()
    clock.advance(seconds=30)
    luot.messages.run_once()
    assert [(r.status, r.attempts) for r in outbox(luot)] == [("failed", 1), ("failed", 2)]
    assert len(gateway.requests) == 3


def test_a_send_with_no_answer_is_not_repeated_and_an_interrupted_claim_is_failed(
    luot: Luot, world: World, gateway: Gateway, clock: ManualClock
):
    configure(luot, world.site_id, {**messaging(gateway), "timeout_seconds": 1})
    with luot.db.write() as session:
        for key in ("slow", "crashed"):
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.OTP,
                address="0912345678",
                params={"code": "1"},
                dedupe_key=key,
            )
        session.commit()
        session.execute(
            OutboxMessage.__table__.update()  # type: ignore[attr-defined]
            .where(OutboxMessage.dedupe_key == "crashed")
            .values(status="sending", attempts=1, next_attempt_at=clock.now() + timedelta(seconds=LEASE_SECONDS))
        )
        session.commit()
    gateway.hold_next(1)
    luot.messages.run_once()  # "slow": read timeout after 1 s — maybe delivered: failed, never sent again
    gateway.release()
    clock.advance(seconds=LEASE_SECONDS + 1)
    luot.messages.run_once()
    rows = {r.dedupe_key: r for r in outbox(luot)}
    assert rows["slow"].status == "failed" and "maybe delivered" in rows["slow"].last_error
    assert (rows["crashed"].status, rows["crashed"].last_error) == ("failed", INTERRUPTED)
    assert len(gateway.wait_for(1)) == 1


def test_e_mail_goes_through_smtp_with_its_accents(
    luot: Luot, world: World, gateway: Gateway, smtp: tuple[Controller, Mailbox]
):
    controller, mailbox = smtp
    email = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "sender": "Lượt <no-reply@hcc.vn>"}
    configure(luot, world.site_id, messaging(gateway, email=email))
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.BOOKING_CONFIRMED,
            address="An@Example.VN",
            params={"service": "Chứng thực", "slot": "09:30 20/11", "code": "HN-7Q2", "link": "http://x/b/HN-7Q2"},
            dedupe_key="booking:1",
            language="vi",
        )
        session.commit()
    assert luot.messages.run_once() == 1
    (mail,) = [message_from_bytes(m, policy=default_policy) for m in mailbox.mails]
    assert mail["To"] == "An@example.vn" and mail["Subject"] == "Lượt · Xác nhận lịch hẹn"
    assert "Đã đặt lịch Chứng thực lúc 09:30 20/11. Mã lịch hẹn: HN-7Q2" in mail.get_content()
    (row,) = outbox(luot)
    assert row.status == "sent" and row.provider_message_id == mail["Message-ID"]


def test_failed_and_late_messages_show_on_the_manager_dashboard_without_secrets(
    luot: Luot, world: World, gateway: Gateway, clock: ManualClock, client: FlaskClient
):
    configure(luot, world.site_id, {**messaging(gateway), "max_attempts": 1})
    with luot.db.write() as session:
        for key, address in (("refused", "0912345678"), ("late", "0987654321")):
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.CALLED,
                address=address,
                params={"display_number": "1001", "counter": "2"},
                dedupe_key=key,
            )
        session.commit()
    gateway.fail_next(1, status=403)
    gateway.fail_next(1, status=502)
    luot.messages.run_once()  # both fail; with max_attempts 1 neither is retried
    configure(luot, world.site_id, {**messaging(gateway), "max_attempts": 3})
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.NEAR_TURN,
            address="0911111111",
            params={"display_number": "1002", "ahead": "2", "service": "Chứng thực"},
            dedupe_key="waiting",
        )
        session.commit()
    gateway.fail_next(1, status=503)
    luot.messages.run_once()  # back in the queue for 30 s
    clock.advance(minutes=6)  # …and queued more than 5 minutes ago: late

    manager = {"Authorization": f"Bearer {staff_token(client, 'manager')}"}
    health = client.get(f"/dashboard/api/messages?site={world.site_id}", headers=manager).get_json()
    assert health["counts"] == {"queued": 1, "sending": 0, "sent": 0, "failed": 2} and health["late"] == 1
    assert [(r["status"], r["late"], r["kind"]) for r in health["problems"]] == [
        ("queued", True, "near_turn"),
        ("failed", False, "called"),
        ("failed", False, "called"),
    ]
    assert [r["to"] for r in health["problems"]] == ["+8491•••••11", "+8498•••••21", "+8491•••••78"]
    assert "HTTP 502" in health["problems"][1]["last_error"] and "HTTP 403" in health["problems"][2]["last_error"]
    clerk = {"Authorization": f"Bearer {staff_token(client, 'clerk1')}"}
    assert client.get(f"/dashboard/api/messages?site={world.site_id}", headers=clerk).status_code == 403

    client.post("/api/v1/auth/login", json={"username": "manager", "password": "secret-pass"})
    page = client.get(f"/dashboard/messages?site={world.site_id}").get_data(as_text=True)
    assert "Tin lỗi hoặc chậm hôm nay" in page and "Đến lượt" in page and "+8498•••••21" in page
    for secret in ("zalo-secret", "sms-secret", "0987654321", "987654321"):
        assert secret not in page and secret not in str(health)


def test_a_citizen_called_and_finished_between_two_refreshes_is_still_told_once(
    luot: Luot, world: World, client: FlaskClient, gateway: Gateway, clock: ManualClock
):
    """The called message comes from the line's latest calls too, not only from who stands at a counter now."""
    configure(luot, world.site_id, messaging(gateway))
    clerk = staff_token(client, "clerk2")
    ticket = issue(client, world.kiosk_token, "TP-A")
    act(client, clerk, world.counters["c2"], "open")
    act(client, clerk, world.counters["c2"], "next")
    act(client, clerk, world.counters["c2"], "start")
    act(client, clerk, world.counters["c2"], "finish")
    settle(luot)
    with luot.db.write() as session:  # the watch is seen only now, after the ticket left the counter
        watch_ticket(session, ticket_id=ticket["id"], address="0912345678", near_turn=True, called=True)
        session.commit()
    triggers = luot.message_triggers
    triggers.watch_added(world.site_id)
    line = luot.lines.site(world.site_id, clock.now())
    assert line.at_counter == {} or all(v.id != ticket["id"] for v in line.at_counter.values())
    assert triggers.check(world.site_id, line, clock.now()) == 1
    assert triggers.check(world.site_id, line, clock.now()) == 0
    triggers.watch_added(world.site_id)  # read again from the database: still nothing more
    assert triggers.check(world.site_id, line, clock.now()) == 0
    assert [(r.kind, r.params) for r in outbox(luot)] == [
        ("called", {"display_number": ticket["display_number"], "counter": "2"})
    ]


def test_the_worker_started_in_the_background_sends_and_stops_with_the_app(luot: Luot, world: World, gateway: Gateway):
    configure(luot, world.site_id, messaging(gateway))
    worker = luot.messages
    assert worker is not None
    worker.start()
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="0912345678",
            params={"code": "9"},
            dedupe_key="bg",
        )
        session.commit()
    (request,) = gateway.wait_for(1)  # picked up by the loop within its poll interval
    assert request.json()["ref"] == "bg"
    luot.close(timeout=5)  # stops the loop
    assert worker.stop(0) is True


def test_a_gateway_that_cannot_be_reached_is_retried_and_reached_later(
    luot: Luot, world: World, gateway: Gateway, clock: ManualClock
):
    down = {**messaging(gateway)["sms"], "url": f"http://127.0.0.1:{free_port()}/sms"}  # nothing listens there
    configure(luot, world.site_id, {**messaging(gateway), "sms": down})
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="0912345678",
            params={"code": "5"},
            dedupe_key="down",
        )
        session.commit()
    luot.messages.run_once()
    (row,) = outbox(luot)
    assert (row.status, row.attempts) == ("queued", 1) and "no connection" in row.last_error
    configure(luot, world.site_id, messaging(gateway))  # the gateway is back (the worker reads the settings anew)
    clock.advance(seconds=30)
    assert luot.messages.run_once() == 1
    assert [r.json()["ref"] for r in gateway.requests] == ["down"] and outbox(luot)[0].status == "sent"


def test_an_smtp_server_saying_try_later_is_retried_and_the_mail_delivered_once(
    luot: Luot, world: World, gateway: Gateway, smtp: tuple[Controller, Mailbox], clock: ManualClock
):
    controller, mailbox = smtp
    email = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "sender": "no-reply@hcc.vn"}
    configure(luot, world.site_id, messaging(gateway, email=email))
    with luot.db.write() as session:
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.OTP,
            address="an@example.vn",
            params={"code": "77"},
            dedupe_key="mail",
            language="en",
        )
        session.commit()
    mailbox.refuse = 1
    luot.messages.run_once()
    (row,) = outbox(luot)
    assert (row.status, row.attempts) == ("queued", 1) and "SMTP 451" in row.last_error
    clock.advance(seconds=30)
    luot.messages.run_once()
    (mail,) = [message_from_bytes(m, policy=default_policy) for m in mailbox.mails]
    assert mail["Subject"] == "Lượt · Your code" and "Your Luot code: 77." in mail.get_content()
    assert outbox(luot)[0].status == "sent"
