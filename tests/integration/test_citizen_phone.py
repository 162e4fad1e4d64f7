"""A citizen identifies with their phone: consent, a one-time code queued in the outbox, the code checked (5 tries,
5 minutes, once), the browser remembered; limits per phone and per address; errors in Vietnamese and English."""

from __future__ import annotations

import dataclasses

import pytest
from sqlmodel import select

from server.app import create_app
from server.clock import ManualClock
from server.context import Luot
from server.identity.citizen import IdentityKind, person_key
from server.models import OneTimeCode, OutboxMessage
from tests.support.citizens import enable_sms, last_code
from tests.support.openapi_check import checked_client
from tests.support.world import World

PHONE = "0912 345 678"


@pytest.fixture
def client(app):
    """Every JSON answer of these tests is also checked against the OpenAPI document."""
    return checked_client(app.test_client())


E164 = "+84912345678"


@pytest.fixture
def sms_world(luot: Luot, world: World) -> World:
    enable_sms(luot, world.site_id)
    return world


def ask(client, phone=PHONE, consent=True, site="HN", address="10.0.0.1"):
    return client.post(
        f"/api/citizen/{site}/otp", json={"phone": phone, "consent": consent}, environ_base={"REMOTE_ADDR": address}
    )


def verify(client, code, phone=PHONE):
    return client.post("/api/citizen/HN/otp/verify", json={"phone": phone, "code": code})


def error(response, status, translated=True):
    assert response.status_code == status, response.get_json()
    body = response.get_json()["error"]
    assert body["messages"]["vi"] and body["messages"]["en"]
    assert body["messages"]["vi"] != body["messages"]["en"] or not translated
    return body


def test_a_code_sent_to_a_phone_identifies_the_browser(client, luot, sms_world):
    assert client.get("/api/citizen/me").get_json() == {"citizen": None}
    answer = ask(client)
    assert answer.status_code == 202 and answer.get_json() == {"sent": True, "expires_in": 300}
    code = last_code(luot, E164)
    assert len(code) == 6 and code.isdigit()
    with luot.db.read() as session:
        stored = session.exec(select(OneTimeCode)).one()
        message = session.exec(select(OutboxMessage)).one()
    assert code not in stored.code_hash and "912345678" not in stored.phone_key  # neither kept in clear
    assert stored.phone_key == person_key(client.application.secret_key, IdentityKind.PHONE, E164)
    assert message.dedupe_key == f"otp:{stored.id}" and message.kind == "otp" and code in message.text
    who = verify(client, code)
    assert who.status_code == 200, who.get_json()
    shown = {"kind": "phone", "phone_masked": "+84 9•• ••• 678", "name": ""}
    assert who.get_json() == {"citizen": shown}
    assert client.get("/api/citizen/me").get_json() == {"citizen": shown}
    error(verify(client, code), 400)  # used once
    assert client.post("/api/citizen/signout").get_json() == {"citizen": None}
    assert client.get("/api/citizen/me").get_json() == {"citizen": None}
    assert {(m, p) for m, p, _status in client.checked} >= {
        ("POST", "/api/citizen/HN/otp"),
        ("POST", "/api/citizen/HN/otp/verify"),
        ("GET", "/api/citizen/me"),
        ("POST", "/api/citizen/signout"),
    }


def test_the_phone_number_may_be_written_in_any_vietnamese_form(client, luot, sms_world):
    assert ask(client, "+84 912-345-678").status_code == 202
    assert verify(client, last_code(luot, E164), phone="84912345678").status_code == 200


@pytest.mark.parametrize(
    "phone", ["12345", "+14155552671", "0243 825 1234", "not a phone", "0912345678999", "", "0" * 40]
)
def test_a_phone_that_is_not_a_vietnamese_mobile_is_refused(client, sms_world, phone):
    assert error(ask(client, phone), 400)["code"] in ("invalid_phone", "invalid_body")


@pytest.mark.parametrize("consent", [False, None, "true", 1])
def test_no_code_without_consent(client, luot, sms_world, consent):
    body = error(ask(client, consent=consent), 400)
    assert body["code"] in ("consent_required", "invalid_body")
    with luot.db.read() as session:
        assert session.exec(select(OutboxMessage)).first() is None


def test_five_wrong_codes_kill_the_code(client, luot, sms_world):
    ask(client)
    code = last_code(luot, E164)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    remaining = [error(verify(client, wrong), 401)["messages"]["en"] for _ in range(5)]
    assert remaining[0] == "This code is not right. 4 tries left." and remaining[-1].endswith(" 0 tries left.")
    assert error(verify(client, code), 400)["code"] == "code_expired"  # the right code no longer works
    assert client.get("/api/citizen/me").get_json() == {"citizen": None}


def test_a_code_expires_after_five_minutes_and_a_new_one_replaces_it(client, luot, clock: ManualClock, sms_world):
    ask(client)
    first = last_code(luot, E164)
    clock.advance(seconds=301)
    assert error(verify(client, first), 400)["code"] == "code_expired"
    assert ask(client).status_code == 202
    second = last_code(luot, E164)
    clock.advance(seconds=61)
    assert ask(client).status_code == 202
    third = last_code(luot, E164)
    if second != third:  # one chance in a million that they are equal
        assert error(verify(client, second), 401)["code"] == "wrong_code"  # replaced: only the newest code works
    assert verify(client, third).status_code == 200


def test_a_phone_waits_a_minute_between_codes(client, clock: ManualClock, sms_world):
    assert ask(client).status_code == 202
    body = error(ask(client), 429)
    assert body["code"] == "code_too_soon" and "wait 60 seconds" in body["messages"]["en"]
    clock.advance(seconds=61)
    assert ask(client).status_code == 202


def test_codes_per_phone_are_limited_whatever_the_address(client, clock: ManualClock, sms_world):
    for n in range(3):  # LUOT_OTP_PHONE_LIMIT: 3 per 15 minutes
        assert ask(client, address=f"10.0.1.{n}").status_code == 202
        clock.advance(seconds=61)
    assert error(ask(client, address="10.0.1.9"), 429)["code"] == "rate_limited"
    assert ask(client, phone="0987 654 321", address="10.0.1.9").status_code == 202  # another phone may


def test_codes_per_client_address_are_limited(settings, clock, tmp_path):
    from tests.support.world import build_world

    app = create_app(dataclasses.replace(settings, otp_address_limit="2/hour"), clock=clock)
    try:
        ctx = app.extensions["luot"]
        enable_sms(ctx, build_world(ctx.db).site_id)
        client = app.test_client()
        assert ask(client, "0912000001").status_code == 202
        assert ask(client, "0912000002").status_code == 202
        assert error(ask(client, "0912000003"), 429)["code"] == "rate_limited"
        assert ask(client, "0912000003", address="10.0.0.2").status_code == 202
    finally:
        app.extensions["luot"].close()


def test_refused_requests_do_not_use_up_the_addresss_codes(settings, clock, tmp_path):
    """A hall's Wi-Fi address is not locked by typos, missing consents or malformed requests: only codes sent
    count against LUOT_OTP_ADDRESS_LIMIT."""
    from tests.support.world import build_world

    app = create_app(dataclasses.replace(settings, otp_address_limit="2/hour"), clock=clock)
    try:
        ctx = app.extensions["luot"]
        enable_sms(ctx, build_world(ctx.db).site_id)
        client = app.test_client()
        for _ in range(3):
            assert error(ask(client, "12"), 400)["code"] == "invalid_phone"
            assert error(ask(client, consent=False), 400)["code"] == "consent_required"
            malformed = client.post("/api/citizen/HN/otp", data="{", content_type="application/json")
            assert error(malformed, 400)["code"] == "invalid_body"
        assert ask(client, "0912000001").status_code == 202
        assert ask(client, "0912000002").status_code == 202
        assert error(ask(client, "0912000003"), 429)["code"] == "rate_limited"
    finally:
        app.extensions["luot"].close()


def test_a_site_that_cannot_text_phones_says_so(client, world):
    response = ask(client)
    assert (
        error(response, 422, translated=False)["code"] == "message_channel_missing"
    )  # vi: the messages helper's catalogue


def test_an_unknown_site_is_404(client, sms_world):
    assert error(ask(client, site="NOPE"), 404)["code"] == "unknown_site"


def test_the_consent_text_is_given_in_both_languages(client, world):
    answer = client.get("/api/citizen/HN/consent").get_json()
    assert answer["text"] == answer["texts"]["vi"] and "30" in answer["texts"]["en"]
    assert "số điện thoại" in answer["texts"]["vi"] and answer["version"]
    assert client.get("/api/citizen/HN/consent?lang=en").get_json()["text"] == answer["texts"]["en"]
    assert error(client.get("/api/citizen/NOPE/consent"), 404)["code"] == "unknown_site"


def test_a_browser_signed_in_as_staff_may_still_identify_as_a_citizen(client, luot, sms_world):
    """The staff CSRF rule guards staff authority; the citizen routes use none (a clerk testing the booking page)."""
    from tests.support.world import PASSWORD

    assert client.post("/api/v1/auth/login", json={"username": "clerk1", "password": PASSWORD}).status_code == 200
    assert ask(client).status_code == 202
    assert verify(client, last_code(luot, E164)).status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 400  # staff changes still need the token


def test_mistakes_do_not_use_up_the_phones_codes(client, sms_world):
    for _ in range(4):  # more than LUOT_OTP_PHONE_LIMIT's 3
        assert error(ask(client, consent=False), 400)["code"] == "consent_required"
    assert ask(client).status_code == 202
    for n in range(4):  # mistyped numbers from many citizens never share one exhausted bucket
        assert error(ask(client, "0912", address=f"10.0.2.{n}"), 400)["code"] == "invalid_phone"


def test_a_code_typed_in_full_width_or_pasted_with_spaces_is_the_same_code_and_burns_no_try(
    client, luot, clock, sms_world
):
    """The phone number is accepted in full-width digits (phonenumbers folds them); the code was compared as typed,
    so "１２３４５６" passed the 6-digit check, never matched and used up one of the 5 tries."""
    assert ask(client).status_code == 202
    code = last_code(luot, E164)
    wide = "".join(chr(ord(d) - ord("0") + ord("０")) for d in code)
    assert verify(client, wide).status_code == 200
    clock.advance(seconds=61)  # the next code comes after the resend wait
    assert ask(client, address="10.0.0.3").status_code == 202
    code = last_code(luot, E164)
    assert verify(client, f" {code[:3]} {code[3:]}\n").status_code == 200
    with luot.db.read() as session:
        assert all(row.attempts == 0 for row in session.exec(select(OneTimeCode)))


def test_only_wrong_codes_count_against_the_addresss_code_checks(settings, clock):
    """LUOT_OTP_VERIFY_LIMIT counts real attempts only (a wrong code for a phone's outstanding code): malformed
    checks and checks of phones with no code never lock a hall's shared address out of signing in."""
    from tests.support.world import build_world

    app = create_app(dataclasses.replace(settings, otp_verify_limit="2/hour"), clock=clock)
    try:
        ctx = app.extensions["luot"]
        enable_sms(ctx, build_world(ctx.db).site_id)
        client = app.test_client()
        for _ in range(3):
            assert error(verify(client, "x", phone="0"), 400)["code"] == "invalid_body"
            assert error(verify(client, "123456", phone="0"), 400)["code"] == "invalid_phone"
            assert error(verify(client, "123456", phone="0987 654 321"), 400)["code"] == "code_expired"  # none sent
            malformed = client.post("/api/citizen/HN/otp/verify", data="{", content_type="application/json")
            assert error(malformed, 400)["code"] == "invalid_body"
        assert ask(client).status_code == 202
        code = last_code(ctx, E164)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert [verify(client, wrong).status_code for _ in range(2)] == [401, 401]
        refused = error(verify(client, code), 429)  # two real attempts: the address's checks are used up
        assert refused["code"] == "rate_limited"
    finally:
        app.extensions["luot"].close()
