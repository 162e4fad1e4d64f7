"""Sign-in: Bearer tokens for programs, session cookies for browser pages."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, Field
from sqlmodel import col, select
from werkzeug.exceptions import NotFound

from server.api import api
from server.api.support import bearer_token, current_principal, current_token_digest, parse_body, require
from server.auth import AuthError, Forbidden, Principal, issue_api_token
from server.context import luot
from server.domain.errors import N_, DomainError
from server.domain.vocabulary import STAFF_ROLES, Role
from server.models import ApiToken, User
from server.sessions import end_session, revoke_personal_token, start_session
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
    start_session(luot(), user)
    return jsonify({"user": _user_dict(user), "csrf_token": generate_csrf()})


class DeviceTokenSignOut(DomainError):
    code, status, message = (
        "device_token_sign_out",
        403,
        N_("A device's token is not signed out here: an administrator revokes or renews it on the device's page."),
    )


@api.post("/auth/logout")
def logout() -> ResponseReturnValue:
    """Ends what the caller signs in with: the Bearer token it presents (a staff member's own token, revoked at
    once), else the cookie session. Answers ``{"ok": true, "signed_out": "token" | "session" | null}`` (null:
    there was no session to end); 401 for a Bearer token that is unknown, revoked or expired;
    `DeviceTokenSignOut` (403) for a device's token, which only an administrator revokes."""
    ctx = luot()
    token = bearer_token()
    if token is None:
        return jsonify({"ok": True, "signed_out": "session" if end_session(ctx) else None})
    principal = current_principal()  # AuthError (401) for a token that is not valid
    if principal is not None and principal.kind == "device":
        raise DeviceTokenSignOut()
    if not revoke_personal_token(ctx, token):
        raise AuthError()  # revoked or expired since the principal was read
    return jsonify({"ok": True, "signed_out": "token"})


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
            # A Bearer caller needs no CSRF token, and making one would start a cookie session it never asked for.
            "csrf_token": generate_csrf() if bearer_token() is None else None,
        }
    )


def _token_owner(principal: Principal, user_id: int | None) -> int:
    """Whose tokens the caller may see: their own; an admin anyone's (a site's admin: its own site's staff)."""
    if user_id is None or user_id == principal.id:
        return principal.id
    if principal.role != Role.ADMIN:
        raise Forbidden()
    with luot().db.read() as db_session:
        owner = db_session.get(User, user_id)
    if principal.site_id is not None and (owner is None or owner.site_id != principal.site_id):
        raise Forbidden()
    return user_id


def _token_dict(row: ApiToken, current: str | None) -> dict:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "revoked": row.revoked,
        "current": current is not None and row.token_hash == current,
    }


@api.get("/auth/tokens")
def tokens() -> ResponseReturnValue:
    """The caller's Bearer tokens and browser sessions (admins: ?user_id= for another staff member)."""
    principal = require(staff_roles=tuple(STAFF_ROLES))
    owner = _token_owner(principal, request.args.get("user_id", type=int))
    with luot().db.read() as db_session:
        rows = db_session.exec(
            select(ApiToken).where(ApiToken.user_id == owner).order_by(col(ApiToken.id).desc()).limit(200)
        ).all()
    current = current_token_digest()
    return jsonify({"tokens": [_token_dict(row, current) for row in rows]})


@api.post("/auth/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> ResponseReturnValue:
    """Revokes one of the caller's tokens (admins: anyone's in their reach); it stops working at once."""
    principal = require(staff_roles=tuple(STAFF_ROLES))
    ctx = luot()
    with ctx.db.write() as db_session:
        row = db_session.get(ApiToken, token_id)
        if row is None:
            raise NotFound()
        _token_owner(principal, row.user_id)
        row.revoked = True
        db_session.add(row)
        answer = _token_dict(row, current_token_digest())
    return jsonify({"token": answer})
