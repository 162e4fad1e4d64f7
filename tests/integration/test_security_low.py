"""Issue 14, low items: sessions end on the server and tokens can be revoked (9), TLS cookies and HSTS (10),
Socket.IO Origin for cookie sockets (11), headers on every page (12), the agent's token off the command line
(14), private database files (17), the pause reason for staff only (18)."""

from __future__ import annotations

import os
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from server.app import create_app, socketio_of
from server.commands import cli
from server.domain.queueing import open_counter, pause_counter
from server.settings import load_settings
from tests.support.api import bearer, staff_token
from tests.support.world import PASSWORD

# ---------------------------------------------------------------- 9: sessions and tokens


def test_a_copied_cookie_stops_working_after_logout(app, client, world) -> None:
    answer = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}).get_json()
    copied = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", json={}, headers={"X-CSRFToken": answer["csrf_token"]}).status_code == 200
    assert thief.get("/api/v1/auth/me").status_code == 401
    assert thief.get("/dashboard/").status_code == 302  # to the sign-in page


def test_the_sign_in_page_logout_ends_the_session_too(app, client, world) -> None:
    page = client.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    form = {"csrf_token": csrf, "username": "manager", "password": PASSWORD}
    assert client.post("/dashboard/login", data=form).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    assert thief.get("/dashboard/").status_code == 200
    live = client.get("/dashboard/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', live)[1]
    assert client.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    assert thief.get("/dashboard/").status_code == 302


def test_a_cookie_session_varies_and_is_kept_a_bearer_call_sets_no_cookie(app, client, world) -> None:
    """The session interface skips an untouched empty session on the way out (issue 13); one that was signed in,
    read or ended still gets its cookie and `Vary: Cookie`."""
    answer = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
    assert "session=" in answer.headers.get("Set-Cookie", "") and "Cookie" in answer.headers.get("Vary", "")
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and "Cookie" in me.headers.get("Vary", "")  # the answer depends on the cookie
    bare = app.test_client()  # no cookie: a console or kiosk with its Bearer token
    token = staff_token(bare, "clerk1")
    called = bare.post(f"/api/v1/counters/{world.counters['c1']}/open", json={}, headers=bearer(token))
    assert called.status_code == 200
    assert "Set-Cookie" not in called.headers and "Vary" not in called.headers
    me = bare.get("/api/v1/auth/me", headers=bearer(token))  # a Bearer caller is given no CSRF token, no cookie
    assert me.get_json()["csrf_token"] is None and "Set-Cookie" not in me.headers and "Vary" not in me.headers
    out = client.post("/api/v1/auth/logout", json={}, headers={"X-CSRFToken": answer.get_json()["csrf_token"]})
    assert out.status_code == 200 and "Cookie" in out.headers.get("Vary", "")
    assert client.get_cookie("session") is None or not client.get_cookie("session").value


def test_staff_list_and_revoke_their_own_tokens(client, world) -> None:
    first, second = staff_token(client, "clerk1"), staff_token(client, "clerk1")
    listed = client.get("/api/v1/auth/tokens", headers=bearer(first)).get_json()["tokens"]
    assert len(listed) == 2 and [t["current"] for t in listed] == [False, True]
    other = next(t for t in listed if not t["current"])
    assert client.post(f"/api/v1/auth/tokens/{other['id']}/revoke", headers=bearer(first)).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(second)).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(first)).status_code == 200


def test_admins_revoke_others_tokens_clerks_cannot(client, world) -> None:
    clerk, other_clerk, admin = (staff_token(client, n) for n in ("clerk1", "clerk2", "admin"))
    mine = client.get("/api/v1/auth/tokens", headers=bearer(clerk)).get_json()["tokens"][0]
    assert (
        client.get(f"/api/v1/auth/tokens?user_id={world.users['clerk1']}", headers=bearer(other_clerk)).status_code
        == 403
    )
    assert client.post(f"/api/v1/auth/tokens/{mine['id']}/revoke", headers=bearer(other_clerk)).status_code == 403
    seen = client.get(f"/api/v1/auth/tokens?user_id={world.users['clerk1']}", headers=bearer(admin)).get_json()
    assert [t["id"] for t in seen["tokens"]] == [mine["id"]]
    assert client.post(f"/api/v1/auth/tokens/{mine['id']}/revoke", headers=bearer(admin)).status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(clerk)).status_code == 401


# ---------------------------------------------------------------- 10: behind TLS


@pytest.fixture
def proxied(settings, clock):
    app = create_app(replace(settings, trusted_proxies=1), clock=clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["luot"].db.dispose()


def test_behind_tls_the_cookie_is_secure_and_pages_send_hsts(proxied) -> None:
    from tests.support.world import build_world

    build_world(proxied.extensions["luot"].db)
    client = proxied.test_client()
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.7"}
    response = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}, headers=tls)
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    assert client.get("/dashboard/login", headers=tls).headers["Strict-Transport-Security"].startswith("max-age=")
    plain = proxied.test_client().get("/dashboard/login")
    assert "Strict-Transport-Security" not in plain.headers


def test_over_plain_http_the_cookie_is_not_secure(client, world) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
    assert "Secure" not in response.headers["Set-Cookie"]


# ---------------------------------------------------------------- 11: Socket.IO origin


def test_cookie_sockets_from_another_origin_are_refused(app, client, socketio, world) -> None:
    assert client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}).status_code == 200
    evil = socketio.test_client(app, flask_test_client=client, headers={"Origin": "http://evil.example"})
    assert not evil.is_connected()
    same = socketio.test_client(app, flask_test_client=client, headers={"Origin": "http://localhost"})
    assert same.is_connected()
    same.disconnect()
    # A device's Bearer token is not a cookie another page could ride: its origin does not matter.
    board = socketio.test_client(app, auth={"token": world.board_token}, headers={"Origin": "http://evil.example"})
    assert board.is_connected()
    board.disconnect()


def test_a_configured_origin_may_open_cookie_sockets(settings, clock) -> None:
    from tests.support.world import build_world

    app = create_app(replace(settings, socket_allowed_origins="https://portal.example"), clock=clock)
    try:
        build_world(app.extensions["luot"].db)
        client = app.test_client()
        assert client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}).status_code == 200
        socket = socketio_of(app).test_client(
            app, flask_test_client=client, headers={"Origin": "https://portal.example"}
        )
        assert socket.is_connected()
        socket.disconnect()
    finally:
        app.extensions["luot"].db.dispose()


# ---------------------------------------------------------------- 12: headers on every page


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/login",
        "/counter/login",
        "/kiosk/?token=kiosk-token-1",
        "/display/?token=board-token-1",
        "/api/v1/services",
        "/healthz",
        "/t/nothing",
    ],
)
def test_every_page_sends_the_security_headers(client, world, path) -> None:
    response = client.get(path)
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_no_page_template_has_inline_script() -> None:
    root = Path(__file__).parents[2]
    offenders = []
    for template in root.glob("*/templates/**/*.html"):
        text = template.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attributes = match[1]
            if "src=" not in attributes and 'type="application/json"' not in attributes:
                offenders.append(f"{template}: {match[0]}")
        offenders += [f"{template}: {m[0]}" for m in re.finditer(r"\son[a-z]+\s*=", text)]
    assert not offenders


def test_boards_may_be_framed_only_where_a_setting_allows(settings, clock) -> None:
    from tests.support.world import build_world

    app = create_app(replace(settings, board_frame_ancestors="https://signage.example"), clock=clock)
    try:
        build_world(app.extensions["luot"].db)
        client = app.test_client()
        board = client.get("/display/?token=board-token-1")
        assert "frame-ancestors https://signage.example" in board.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in board.headers
        login = client.get("/dashboard/login")
        assert "frame-ancestors 'none'" in login.headers["Content-Security-Policy"]
    finally:
        app.extensions["luot"].db.dispose()


# ---------------------------------------------------------------- 14: the agent's token


def test_the_kiosk_agent_reads_its_token_from_a_file_or_the_environment(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["kiosk-agent", "--server", "http://127.0.0.1:9", "--printer", "lpt:1"]
    token_file = tmp_path / "kiosk.token"
    token_file.write_text("kiosk-secret\n")
    from_file = runner.invoke(cli, [*base, "--token-file", str(token_file)])
    assert from_file.exit_code == 1 and "printer setting is not valid" in from_file.output  # got past the token
    from_env = runner.invoke(cli, base, env={"LUOT_KIOSK_TOKEN": "kiosk-secret"})
    assert from_env.exit_code == 1 and "printer setting is not valid" in from_env.output
    missing = runner.invoke(cli, base, env={"LUOT_KIOSK_TOKEN": ""})
    assert missing.exit_code == 2 and "--token-file" in missing.output


# ---------------------------------------------------------------- 17: private database files


def test_the_database_its_wal_and_backups_are_private(tmp_path: Path, monkeypatch) -> None:

    instance = tmp_path / "inst"
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(instance))
    previous = os.umask(0o022)  # the usual umask: files would be world-readable unless created private
    try:
        _database_files_are_private(tmp_path, instance)
    finally:
        os.umask(previous)


def _database_files_are_private(tmp_path: Path, instance: Path) -> None:
    from server.db import Database

    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    database = instance / "luot.sqlite3"
    db = Database(load_settings(environ={"LUOT_INSTANCE_DIR": str(instance)}))
    with db.write() as session:
        from sqlalchemy import text

        session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        session.execute(text("INSERT INTO probe VALUES (1)"))
        wal = [p for p in instance.iterdir() if p.name.startswith("luot.sqlite3-")]
        modes = {p.name: oct(p.stat().st_mode & 0o777) for p in [database, *wal]}
    db.dispose()
    assert set(modes.values()) == {"0o600"}, modes
    backup = tmp_path / "backups" / "copy.sqlite3"
    result = runner.invoke(cli, ["backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert sqlite3.connect(backup).execute("SELECT count(*) FROM probe").fetchone() == (1,)


# ---------------------------------------------------------------- 18: the pause reason


def test_the_pause_reason_reaches_staff_only(client, socketio, app, luot, world) -> None:
    board = socketio.test_client(app, auth={"token": world.board_token})
    kiosk = socketio.test_client(app, auth={"token": world.kiosk_token})
    board.get_received(), kiosk.get_received()
    counter = world.counters["c1"]
    luot.run(open_counter, counter, world.users["clerk1"])
    luot.run(pause_counter, counter, world.users["clerk1"], reason="Đi họp với lãnh đạo")
    for device in (board, kiosk):
        changed = [m["args"][0] for m in device.get_received() if m["name"] == "counter.changed"]
        assert changed and changed[-1]["counter"]["status"] == "paused"
        assert changed[-1]["counter"]["pause_reason"] == ""
    reconnect = socketio.test_client(app, auth={"token": world.board_token})
    snapshot = next(m["args"][0] for m in reconnect.get_received() if m["name"] == "snapshot")
    assert all(c["pause_reason"] == "" for c in snapshot["counters"])
    state = client.get(f"/api/v1/counters/{counter}", headers=bearer(staff_token(client, "clerk1"))).get_json()
    assert state["counter"]["pause_reason"] == "Đi họp với lãnh đạo"
    for socket in (board, kiosk, reconnect):
        socket.disconnect()
