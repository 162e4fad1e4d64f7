"""The tracking page offers "tell me by message" only where the site has a channel, shows the consent text before
the number is taken, refuses bad input with a Vietnamese (or English) reason, and never shows the number again;
sign-ups are limited per ticket and (generously: a hall shares one Wi-Fi address) per client address, and a
sign-up past a limit is told how long to wait on the page."""

from __future__ import annotations

import dataclasses
import re

from flask.testing import FlaskClient
from sqlmodel import select

from server.app import create_app
from server.clock import ManualClock
from server.context import Luot
from server.models import TicketWatch
from server.settings import Settings
from tests.integration.test_messages_outbox import ZALO_AND_SMS, configure
from tests.support.api import issue
from tests.support.world import World, build_world


def test_no_channel_no_form(luot: Luot, world: World, client: FlaskClient):
    ticket = issue(client, world.kiosk_token, "TP-A")
    page = client.get(f"/t/{ticket['tracking_token']}").get_data(as_text=True)
    assert "notify-address" not in page


def test_the_consent_is_shown_before_the_number_and_a_watch_is_saved(luot: Luot, world: World, client: FlaskClient):
    configure(luot, world.site_id, ZALO_AND_SMS)
    ticket = issue(client, world.kiosk_token, "TP-A")
    url = f"/t/{ticket['tracking_token']}"
    page = client.get(url).get_data(as_text=True)
    consent = page.index("Số điện thoại (hoặc e-mail) của bạn chỉ dùng để gửi các tin báo")
    assert consent < page.index('id="notify-address"') and 'type="tel"' in page

    refused = client.post(f"{url}/notify", data={"address": "0912345678", "near_turn": "1"})
    assert refused.status_code == 400
    assert "Vui lòng đánh dấu đồng ý" in refused.get_data(as_text=True)
    bad = client.post(f"{url}/notify?lang=en", data={"address": "12345", "near_turn": "1", "consent": "1"})
    assert bad.status_code == 400 and "neither a phone number nor an e-mail" in bad.get_data(as_text=True)
    unreachable = client.post(f"{url}/notify", data={"address": "an@example.vn", "called": "1", "consent": "1"})
    assert unreachable.status_code == 422 and "địa chỉ e-mail" in unreachable.get_data(as_text=True)

    done = client.post(f"{url}/notify", data={"address": "0912 345 678", "near_turn": "1", "consent": "1"})
    assert done.status_code == 302 and "told=1" in done.headers["Location"]
    with luot.db.read() as session:
        (watch,) = session.exec(select(TicketWatch)).all()
    assert (watch.ticket_id, watch.address, watch.near_turn, watch.called) == (
        ticket["id"],
        "+84912345678",
        True,
        False,
    )
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã đăng ký" in after and "912345678" not in after and "912 345 678" not in after


def test_a_landline_or_a_foreign_number_is_refused_and_nothing_is_kept(luot: Luot, world: World, client: FlaskClient):
    configure(luot, world.site_id, ZALO_AND_SMS)
    ticket = issue(client, world.kiosk_token, "TP-A")
    url = f"/t/{ticket['tracking_token']}"
    for address in ("024 3826 1234", "+1 650 253 0000"):
        refused = client.post(f"{url}/notify", data={"address": address, "called": "1", "consent": "1"})
        assert refused.status_code == 400, address
        assert "Đây không phải số điện thoại" in refused.get_data(as_text=True)
    with luot.db.read() as session:
        assert session.exec(select(TicketWatch)).all() == []


def test_the_page_says_no_personal_data_only_when_none_was_taken(luot: Luot, world: World, client: FlaskClient):
    """A kiosk number took nothing personal; a number taken with a phone or an ID card (a person key) did, so its
    page must not say it took none (Law 91/2025: what the citizen is told must be true)."""
    from server.models import Ticket

    anonymous = issue(client, world.kiosk_token, "TP-A")
    keyed = issue(client, world.kiosk_token, "TP-A")
    with luot.db.write() as session:
        row = session.get(Ticket, keyed["id"])
        assert row is not None
        row.person_key = "a" * 64
        session.add(row)
    assert "không thu thập thông tin cá nhân" in client.get(f"/t/{anonymous['tracking_token']}").get_data(as_text=True)
    page = client.get(f"/t/{keyed['tracking_token']}").get_data(as_text=True)
    assert "không thu thập thông tin cá nhân" not in page and "Không cần đăng nhập" in page


def sign_up(client: FlaskClient, token: str, address: str = "10.0.0.1", query: str = ""):
    return client.post(
        f"/t/{token}/notify{query}",
        data={"address": "0912 345 678", "called": "1", "consent": "1"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_a_hall_sharing_one_address_may_all_sign_up(luot: Luot, world: World, client: FlaskClient):
    """The form allowed 10 a minute per client address: the 11th citizen on the centre's Wi-Fi was refused."""
    configure(luot, world.site_id, ZALO_AND_SMS)
    tokens = [issue(client, world.kiosk_token, "TP-A")["tracking_token"] for _ in range(25)]
    assert [sign_up(client, token).status_code for token in tokens] == [302] * 25


def test_one_ticket_signing_up_again_and_again_is_told_to_wait_on_the_page(
    luot: Luot, world: World, client: FlaskClient
):
    """LUOT_WATCH_TICKET_LIMIT (5 a minute) for one ticket, whatever the address; past it the browser form gets
    the tracking page with the wait in words (it got a raw JSON 429 body); refusals do not count."""
    configure(luot, world.site_id, ZALO_AND_SMS)
    token = issue(client, world.kiosk_token, "TP-A")["tracking_token"]
    for _ in range(6):  # refused: no consent
        no_consent = client.post(f"/t/{token}/notify", data={"address": "0912345678", "called": "1"})
        assert no_consent.status_code == 400
    assert [sign_up(client, token, address=f"10.0.3.{n}").status_code for n in range(5)] == [302] * 5
    refused = sign_up(client, token, address="10.0.3.9")
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert 'id="notify-address"' in page and int(refused.headers["Retry-After"]) > 0
    assert re.search(r"Quá nhiều yêu cầu: vui lòng thử lại sau (\d+ giây|1 phút)\.", page), page
    english = sign_up(client, token, query="?lang=en").get_data(as_text=True)
    assert re.search(r"Too many requests: please try again in (\d+ seconds?|1 minute)\.", english)
    other = issue(client, world.kiosk_token, "TP-A")["tracking_token"]
    assert sign_up(client, other, address="10.0.3.9").status_code == 302  # another ticket: its own count


def test_sign_ups_per_address_are_limited(settings: Settings, clock: ManualClock):
    app = create_app(dataclasses.replace(settings, watch_address_limit="2/minute"), clock=clock)
    try:
        ctx = app.extensions["luot"]
        world = build_world(ctx.db)
        configure(ctx, world.site_id, ZALO_AND_SMS)
        client = app.test_client()
        tokens = [issue(client, world.kiosk_token, "TP-A")["tracking_token"] for _ in range(3)]
        assert [sign_up(client, token).status_code for token in tokens] == [302, 302, 429]
        assert sign_up(client, tokens[2], address="10.0.0.2").status_code == 302
    finally:
        ctx.close()
