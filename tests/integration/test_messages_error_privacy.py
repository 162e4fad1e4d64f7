"""A failed send keeps why it failed (`outboxmessage.last_error`, shown on the manager's messages page and written
to the log) but never the citizen's number, e-mail address, code or text: gateways echo the request in their
refusals, connection errors quote the URL (a GET gateway carries the number and the text in it) and SMTP names the
refused recipient. The purge empties address, params and text, not the error, so it must hold nothing personal."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from server.context import Luot
from server.messaging.outbox import MessageKind, enqueue
from server.process import free_port
from tests.integration.test_messages_worker import configure, outbox
from tests.support.api import bearer, staff_token
from tests.support.world import World

CODE = "482913"
SECRETS = ("912345678", "0912 345 678", CODE, "lan.nguyen", "Lan.Nguyen")


@pytest.fixture
def echoing_gateway() -> Iterator[str]:
    """An SMS gateway refusing every request with an answer that repeats it (its Authorization header too), as
    real gateways do."""

    class Echo(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            auth = self.headers.get("Authorization", "")
            answer = json.dumps({"error": f"invalid destination in {self.path} {body} auth {auth}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Refusing:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        return f"550 5.1.1 <{address}>: mailbox unavailable"


def send_one(luot: Luot, world: World, address: str, key: str) -> None:
    with luot.db.write() as session:
        params = {"code": CODE}
        enqueue(session, site_id=world.site_id, kind=MessageKind.OTP, address=address, params=params, dedupe_key=key)
    luot.messages.run_once()


def assert_nothing_personal(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, (secret, text)


def test_a_refusal_echoing_the_request_keeps_no_number_or_code(
    luot: Luot, world: World, client: FlaskClient, echoing_gateway: str, caplog: pytest.LogCaptureFixture
):
    sms = {"url": f"{echoing_gateway}/sms?to={{phone_digits}}", "body": '{"to": "{phone_local}", "text": "{text}"}'}
    configure(luot, world.site_id, {"max_attempts": 1, "sms": sms})
    with caplog.at_level(logging.WARNING, logger="server.messaging.worker"):
        send_one(luot, world, "0912 345 678", "echo")
    (row,) = outbox(luot)
    assert row.status == "failed" and row.last_error.startswith("HTTP 400")
    assert_nothing_personal(row.last_error)
    assert_nothing_personal(caplog.text)
    page = client.get("/dashboard/api/messages", headers=bearer(staff_token(client, "manager")))
    assert page.status_code == 200 and page.get_json()["problems"]
    assert_nothing_personal(page.get_data(as_text=True))


def test_a_gateway_echoing_its_authorization_header_gets_it_hidden(
    luot: Luot, world: World, client: FlaskClient, echoing_gateway: str, caplog: pytest.LogCaptureFixture
):
    """The configured secrets (here the SMS auth header) are scrubbed from the logged and kept error too."""
    sms = {
        "url": f"{echoing_gateway}/sms",
        "body": '{"to": "{phone_local}", "text": "{text}"}',
        "auth_header": "Authorization: Bearer SMSGATEWAYSECRET42",
    }
    configure(luot, world.site_id, {"max_attempts": 1, "sms": sms})
    with caplog.at_level(logging.WARNING, logger="server.messaging.worker"):
        send_one(luot, world, "0912 345 678", "echo-auth")
    (row,) = outbox(luot)
    assert row.status == "failed" and row.last_error.startswith("HTTP 400") and "auth •••" in row.last_error
    assert "auth •••" in caplog.text
    page = client.get("/dashboard/api/messages", headers=bearer(staff_token(client, "manager")))
    for text in (row.last_error, caplog.text, page.get_data(as_text=True)):
        assert "SMSGATEWAYSECRET42" not in text and "Bearer" not in text
        assert_nothing_personal(text)


def test_a_secret_is_scrubbed_before_the_error_is_cut_wherever_the_cut_falls(
    luot: Luot, world: World, echoing_gateway: str, caplog: pytest.LogCaptureFixture
):
    """The gateway's answer was cut to 200 characters before scrubbing: a secret across the cut left its first
    half ("Bearer SMSGATE") in the log and the kept error. Paths of every length from 0 to 159 move the secret
    across any cut; no six characters of it remain anywhere."""
    secret = "Bearer SMSGATEWAYSECRET42"
    fragments = {secret[i : i + 6] for i in range(len(secret) - 5)}
    with caplog.at_level(logging.WARNING, logger="server.messaging.worker"):
        for length in range(160):
            sms = {
                "url": f"{echoing_gateway}/sms/{'p' * length}",
                "body": "{}",
                "auth_header": f"Authorization: {secret}",
            }
            configure(luot, world.site_id, {"max_attempts": 1, "sms": sms})
            send_one(luot, world, "0912 345 678", f"cut-{length}")
    rows = outbox(luot)
    assert len(rows) == 160 and all(row.status == "failed" for row in rows)
    for text in [row.last_error for row in rows] + [caplog.text]:
        assert not [f for f in fragments if f in text], text[:400]


def test_no_connection_to_a_get_gateway_keeps_no_number_or_text(luot: Luot, world: World):
    url = f"http://127.0.0.1:{free_port()}/send?to={{phone_digits}}&text={{text}}"
    configure(luot, world.site_id, {"max_attempts": 1, "sms": {"url": url, "method": "GET"}})
    send_one(luot, world, "0912345678", "closed")
    (row,) = outbox(luot)
    assert row.status == "failed" and row.last_error.startswith("no connection")
    assert_nothing_personal(row.last_error)


def test_a_refused_e_mail_recipient_is_not_named(luot: Luot, world: World):
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        email = {"host": "127.0.0.1", "port": controller.port, "starttls": False, "sender": "hcc@example.vn"}
        configure(luot, world.site_id, {"max_attempts": 1, "email": email})
        send_one(luot, world, "Lan.Nguyen@example.vn", "mail")
    finally:
        controller.stop()
    (row,) = outbox(luot)
    assert row.status == "failed" and "550" in row.last_error
    assert_nothing_personal(row.last_error)
