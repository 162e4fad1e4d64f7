"""Sign-in: Bearer tokens for programs, session cookies for browser pages."""

from __future__ import annotations

from flask import jsonify, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, Field

from server.api import api
from server.api.support import current_principal, parse_body
from server.auth import AuthError, issue_api_token
from server.context import luot
from server.models import User
from server.signin import sign_in


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


def _signed_in_user(credentials: Credentials, *, with_token: bool) -> tuple[User, str | None]:
    """Checks the password (throttled by address and username) and maybe issues a token."""
    ctx = luot()
    user = sign_in(ctx, request.remote_addr or "", credentials.username, credentials.password)
    token = None
    if with_token:
        with ctx.db.write() as db_session:
            token = issue_api_token(db_session, ctx.clock.now(), user, ctx.settings.api_token_hours)
    return user, token


def _user_dict(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "full_name": user.full_name,
        "site_id": user.site_id,
    }


@api.post("/auth/token")
def token() -> ResponseReturnValue:
    user, value = _signed_in_user(parse_body(Credentials), with_token=True)
    hours = luot().settings.api_token_hours
    return jsonify({"token": value, "token_type": "Bearer", "expires_in": hours * 3600, "user": _user_dict(user)})


@api.post("/auth/login")
def login() -> ResponseReturnValue:
    user, _ = _signed_in_user(parse_body(Credentials), with_token=False)
    session.clear()
    session["user_id"] = user.id
    session.permanent = True
    return jsonify({"user": _user_dict(user), "csrf_token": generate_csrf()})


@api.post("/auth/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return jsonify({"ok": True})


@api.get("/auth/me")
def me() -> ResponseReturnValue:
    principal = current_principal()
    if principal is None:
        raise AuthError()
    return jsonify(
        {
            "kind": principal.kind,
            "id": principal.id,
            "role": principal.role,
            "device_kind": principal.device_kind,
            "site_id": principal.site_id,
            "name": principal.name,
            "csrf_token": generate_csrf(),
        }
    )
