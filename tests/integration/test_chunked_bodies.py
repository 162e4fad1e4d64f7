"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length) are read, held to MAX_CONTENT_LENGTH,
or refused; never read as an empty body while the action goes ahead (server.request_body)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from flask.testing import FlaskClient

from server.process import ServerProcess
from tests.support.api import bearer
from tests.support.world import PASSWORD, World, build_world


def chunked(data: bytes, size: int = 7) -> Iterator[bytes]:
    """`data` in pieces: requests sends a generator body chunked, without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def post_chunked(http: requests.Session, url: str, body: Any, token: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json", **(bearer(token) if token else {})}
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return http.post(url, data=chunked(raw), headers=headers, timeout=30)


def waiting(http: requests.Session, url: str) -> int:
    """How many citizens wait at site HN."""
    agencies = http.get(f"{url}/api/v1/services?site=HN", timeout=10).json()["agencies"]
    return sum(agency["waiting"] for agency in agencies)


@pytest.fixture(scope="module", params=["eventlet", "gevent", "threading"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    """A real `luot serve` and its world, in each async mode: eventlet's server did not read chunked bodies, the
    others cut them off silently at the limit."""
    server = ServerProcess(tmp_path_factory.mktemp("chunked") / "instance", async_mode=request.param)
    world = server.prepare(build_world)
    assert isinstance(world, World)
    server.start()
    try:
        yield server.url, world
    finally:
        server.stop()


@pytest.mark.slow
def test_chunked_json_bodies_are_read_by_issue_sign_in_and_counter_actions(live: tuple[str, World]) -> None:
    url, world = live
    http = requests.Session()
    issued = post_chunked(http, f"{url}/api/v1/tickets", {"service": "TP-A"}, world.kiosk_token)
    assert issued.status_code == 201, issued.text
    signed_in = post_chunked(http, f"{url}/api/v1/auth/token", {"username": "clerk1", "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    clerk = signed_in.json()["token"]
    counter = world.counters["c1"]
    for action in ("open", "next", "start"):
        assert post_chunked(http, f"{url}/api/v1/counters/{counter}/{action}", {}, clerk).status_code == 200
    attached = post_chunked(http, f"{url}/api/v1/counters/{counter}/dossiers", {"dossiers": ["H12-0009"]}, clerk)
    assert attached.status_code == 200, attached.text
    assert attached.json()["dossiers"] == ["H12-0009"]
    held = post_chunked(http, f"{url}/api/v1/counters/{counter}/hold", {"note": "thiếu bản sao"}, clerk)
    assert held.status_code == 200, held.text
    state = http.get(f"{url}/api/v1/counters/{counter}", headers=bearer(clerk), timeout=10).json()["counter"]
    assert [t["note"] for t in state["held"]] == ["thiếu bản sao"]


@pytest.mark.slow
def test_a_chunked_body_that_is_not_valid_json_is_refused_not_read_as_empty(live: tuple[str, World]) -> None:
    url, world = live
    answer = post_chunked(requests.Session(), f"{url}/api/v1/tickets", b'{"service": "TP-A"', world.kiosk_token)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_body"
    assert "malformed JSON" in answer.json()["error"]["messages"]["en"]


@pytest.mark.slow
@pytest.mark.parametrize("padding", ["spaces", "field"])
def test_a_chunked_body_beyond_max_content_length_is_a_413(live: tuple[str, World], padding: str) -> None:
    """Also when its first megabyte is valid JSON (werkzeug alone cuts a chunked body off at the limit)."""
    url, world = live
    if padding == "spaces":
        body = b'{"service": "TP-A"}' + b" " * 1_500_000
    else:
        body = json.dumps({"service": "TP-A", "padding": "x" * 1_500_000}).encode()
    http = requests.Session()
    before = waiting(http, url)
    answer = http.post(
        f"{url}/api/v1/tickets",
        data=chunked(body, 64 * 1024),
        headers={"Content-Type": "application/json", **bearer(world.kiosk_token)},
        timeout=30,
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert waiting(http, url) == before, "nothing was issued"


@pytest.mark.slow
def test_a_broken_chunked_encoding_is_a_400(live: tuple[str, World]) -> None:
    url, world = live
    host, port = url.removeprefix("http://").split(":")
    request = (
        "POST /api/v1/tickets HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {world.kiosk_token}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "zz\r\n{}\r\n0\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while piece := connection.recv(65536):
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert b"unreadable_body" in body


@pytest.mark.slow
@pytest.mark.parametrize("coding", [",chunked", "chunked,", "chunked , ", "chunked, chunked"])
def test_a_transfer_encoding_not_exactly_chunked_is_refused_not_read_as_empty(live: tuple[str, World], coding: str):
    """A list with an empty element is still "chunked" by the HTTP list rule, but the servers decode the body only
    for exactly `chunked`: read as empty, an action went ahead without its body (and past its `ticket_id`)."""
    url, world = live
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps({"service": "TP-A"}).encode()
    request = (
        "POST /api/v1/tickets HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {world.kiosk_token}\r\n"
        f"Content-Type: application/json\r\nTransfer-Encoding: {coding}\r\nConnection: close\r\n\r\n"
    ).encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    before = waiting(requests.Session(), url)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while piece := connection.recv(65536):
            answer += piece
    status = int(answer.split(b" ", 2)[1])
    code = re.search(rb'"code":\s*"([a-z_]+)"', answer)
    assert 400 <= status < 600 and status != 500, answer[:200]
    # refused for its body (or by the server itself, before the application), not read as empty ("invalid_body")
    assert code is None or code.group(1).decode() in {"unsupported_transfer_coding", "length_required"}, answer[:300]
    assert waiting(requests.Session(), url) == before


@pytest.mark.slow
def test_a_chunked_form_is_read(live: tuple[str, World]) -> None:
    url, _world = live
    http = requests.Session()
    page = http.get(f"{url}/dashboard/login", timeout=10).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    form = urlencode({"csrf_token": csrf[1], "username": "manager", "password": PASSWORD}).encode()
    answer = http.post(
        f"{url}/dashboard/login",
        data=chunked(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text


def test_a_chunked_body_the_server_does_not_terminate_is_a_411_not_an_empty_body(
    client: FlaskClient, world: World
) -> None:
    """The test client, like a WSGI server that leaves `wsgi.input_terminated` unset, makes werkzeug read a
    chunked body as empty: it is refused, and nothing is issued."""
    answer = client.post(
        "/api/v1/tickets",
        data=b'{"service": "TP-A"}',
        headers={**bearer(world.kiosk_token), "Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    assert answer.status_code == 411
    error = answer.get_json()["error"]
    assert error["code"] == "length_required"
    assert error["messages"]["vi"] != error["messages"]["en"]
    assert client.get("/api/v1/services?site=HN").status_code == 200


def test_a_transfer_coding_other_than_chunked_is_a_501(client: FlaskClient, world: World) -> None:
    answer = client.post(
        "/api/v1/tickets",
        data=b'{"service": "TP-A"}',
        headers={**bearer(world.kiosk_token), "Content-Type": "application/json", "Transfer-Encoding": "gzip, chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert answer.status_code == 501
    assert answer.get_json()["error"]["code"] == "unsupported_transfer_coding"


def test_a_chunked_body_the_server_terminates_is_read_within_the_limit(client: FlaskClient, world: World) -> None:
    """As under gevent or werkzeug's server (`wsgi.input_terminated` set): read whole, and held to the limit."""
    headers = {**bearer(world.kiosk_token), "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    terminated = {"wsgi.input_terminated": True}
    issued = client.post("/api/v1/tickets", data=b'{"service": "TP-A"}', headers=headers, environ_overrides=terminated)
    assert issued.status_code == 201, issued.get_json()
    padded = b'{"service": "TP-A"}' + b" " * 1_000_000
    refused = client.post("/api/v1/tickets", data=padded, headers=headers, environ_overrides=terminated)
    assert refused.status_code == 413
    assert refused.get_json()["error"]["code"] == "too_large"
