"""A new password or a deactivation signs the staff member out everywhere: their cookie sessions and Bearer tokens
stop working at once (the principal cache included), devices keep theirs. Through the real app and SQLite."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import select

from server.auth import hash_password
from server.config_io import export_config, import_config
from server.context import Luot
from server.models import ApiToken
from tests.conftest import WEDNESDAY_9AM
from tests.support.api import bearer, staff_token
from tests.support.forms import form_of, post
from tests.support.openapi_check import checked_client
from tests.support.world import PASSWORD, World

NEW_PASSWORD = "New-secret-pw-1"


def cookie_session(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    """Another browser (its own cookie jar), signed in as `username`; its CSRF token as `.csrf`."""
    browser = client.application.test_client()
    answer = browser.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.get_json()
    browser.csrf = answer.get_json()["csrf_token"]  # type: ignore[attr-defined]
    return browser


def me(client: FlaskClient, token: str | None = None) -> int:
    return client.get("/api/v1/auth/me", headers=bearer(token) if token else {}).status_code


def edit_user(client: FlaskClient, headers: dict[str, str], user_id: int, **changes: str) -> None:
    path = f"/admin/users/{user_id}"
    saved = post(client, headers, path, form_of(client, headers, path), **changes)
    assert saved.status_code == 302, saved.get_data(as_text=True)


def test_a_new_password_ends_the_users_sessions_and_tokens_but_not_devices(client, world: World) -> None:
    token = staff_token(client, "clerk1")
    browser = cookie_session(client, "clerk1")
    other_clerk = staff_token(client, "clerk2")
    assert me(client, token) == 200 and me(browser) == 200  # remembered by the principal cache
    admin = bearer(staff_token(client, "admin"))
    edit_user(client, admin, world.users["clerk1"], password=NEW_PASSWORD)
    assert me(client, token) == 401
    assert me(browser) == 401
    assert me(client, other_clerk) == 200
    assert me(client, world.kiosk_token) == 200
    assert client.post("/api/v1/auth/token", json={"username": "clerk1", "password": NEW_PASSWORD}).status_code == 200


def test_an_edit_without_a_new_password_keeps_the_sessions(client, world: World) -> None:
    token = staff_token(client, "clerk1")
    admin = bearer(staff_token(client, "admin"))
    edit_user(client, admin, world.users["clerk1"], full_name="Nguyễn Thị Lan")
    assert me(client, token) == 200


def test_a_deactivated_user_stays_signed_out_when_reactivated(client, luot: Luot, world: World) -> None:
    token = staff_token(client, "clerk1")
    browser = cookie_session(client, "clerk1")
    admin = bearer(staff_token(client, "admin"))
    edit_user(client, admin, world.users["clerk1"], active=[])
    assert me(client, token) == 401 and me(browser) == 401
    edit_user(client, admin, world.users["clerk1"], active="y")
    assert me(client, token) == 401 and me(browser) == 401
    with luot.db.read() as s:
        rows = s.exec(select(ApiToken).where(ApiToken.user_id == world.users["clerk1"])).all()
    assert rows and all(row.revoked for row in rows)


def test_an_admin_changing_their_own_password_keeps_the_session_in_use(client, world: World) -> None:
    other_token = staff_token(client, "admin")
    browser = cookie_session(client, "admin")
    headers = {"X-CSRFToken": browser.csrf}  # type: ignore[attr-defined]
    edit_user(browser, headers, world.users["admin"], password=NEW_PASSWORD)
    assert me(browser) == 200
    assert me(client, other_token) == 401


def imported_users(text: str, change: dict[str, tuple[str, str]]) -> str:
    """`text` (an export) with, in the `[[user]]` table of each username in `change`, `old` replaced by `new`."""
    head, *users = text.split("[[user]]")
    for index, table in enumerate(users):
        name = table.split('username = "', 1)[1].split('"', 1)[0]
        if name in change:
            old, new = change[name]
            assert old in table
            users[index] = table.replace(old, new)
    return "[[user]]".join([head, *users])


def test_a_config_import_with_another_password_or_a_deactivation_signs_out(client, luot: Luot, world: World) -> None:
    tokens = {name: staff_token(client, name) for name in ("clerk1", "clerk2", "clerk3")}
    with luot.db.read() as s:
        exported = export_config(s)
    old_hash = exported.split('username = "clerk2"', 1)[1].split('password_hash = "', 1)[1].split('"', 1)[0]
    text = imported_users(
        exported,
        {"clerk1": ("active = true", "active = false"), "clerk2": (old_hash, hash_password(NEW_PASSWORD))},
    )
    with luot.db.write() as s:
        import_config(s, text, WEDNESDAY_9AM)
    assert me(client, tokens["clerk1"]) == 401  # deactivated
    assert me(client, tokens["clerk2"]) == 401  # another password
    assert me(client, tokens["clerk3"]) == 200  # imported unchanged
    assert me(client, world.kiosk_token) == 200


# ---------------------------------------------------------------- logout with a Bearer token


def test_a_logout_with_a_bearer_token_revokes_that_token_only(client, world: World) -> None:
    client = checked_client(client)  # the answers, success and errors, follow the OpenAPI document
    token, other = staff_token(client, "clerk1"), staff_token(client, "clerk1")
    assert me(client, token) == 200  # remembered by the principal cache
    answer = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "signed_out": "token"}
    assert me(client, token) == 401
    assert me(client, other) == 200
    again = client.post("/api/v1/auth/logout", headers=bearer(token))
    assert again.status_code == 401 and again.get_json()["error"]["code"] == "unauthorized"
    assert len(client.checked) >= 2


def test_a_logout_with_a_device_token_is_refused_and_the_device_keeps_working(client, world: World) -> None:
    client = checked_client(client)
    answer = client.post("/api/v1/auth/logout", headers={**bearer(world.kiosk_token), "Accept-Language": "en"})
    assert answer.status_code == 403
    error = answer.get_json()["error"]
    assert error["code"] == "device_token_sign_out"
    assert "administrator" in error["messages"]["en"] and error["messages"]["vi"] != error["messages"]["en"]
    assert me(client, world.kiosk_token) == 200


def test_a_logout_says_whether_a_session_was_ended(client, world: World) -> None:
    browser = cookie_session(client, "clerk1")
    csrf = {"X-CSRFToken": browser.csrf}  # type: ignore[attr-defined]
    assert browser.post("/api/v1/auth/logout", headers=csrf).get_json() == {"ok": True, "signed_out": "session"}
    assert me(browser) == 401
    nobody = client.application.test_client()
    assert nobody.post("/api/v1/auth/logout").get_json() == {"ok": True, "signed_out": None}
