"""Browser sign-in sessions that the server can end (issue 14, item 9).

The session cookie is signed, not stored: clearing it in the browser leaves a copied cookie valid until it
expires. So each sign-in also creates an `ApiToken` row (hashed like a Bearer token); the cookie carries its
secret as `sid`, and a cookie counts only while that row is neither revoked nor expired. Signing out revokes
the row: a copied cookie stops working at once. The rows show up in the owner's token list
(/api/v1/auth/tokens), where the owner or an admin can revoke them like Bearer tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from flask import session
from sqlmodel import select

from server.auth import Principal, issue_api_token, token_hash
from server.models import ApiToken, User
from server.principal_cache import cached_principal

if TYPE_CHECKING:  # the context imports the hub, which reads sessions
    from server.context import Luot

SESSION_HOURS = 12  # the cookie's own lifetime (PERMANENT_SESSION_LIFETIME)


def start_session(ctx: Luot, user: User) -> None:
    """A fresh cookie session for `user`, backed by a new token row."""
    with ctx.db.write() as db_session:
        secret = issue_api_token(db_session, ctx.clock.now(), user, SESSION_HOURS)
    session.clear()
    session["user_id"] = user.id
    session["sid"] = secret
    session.permanent = True


def session_principal(ctx: Luot) -> Principal | None:
    """The staff member of the cookie session, if its token row is still valid (not signed out, not expired);
    remembered for a moment like a Bearer token (`server.principal_cache`)."""
    user_id, secret = session.get("user_id"), session.get("sid")
    if not user_id or not isinstance(secret, str):
        return None
    principal = cached_principal(ctx.principals, ctx.db, ctx.clock.now(), secret)
    if principal is None or not principal.is_staff or principal.id != int(user_id):
        return None
    return principal


def end_session(ctx: Luot) -> bool:
    """Revokes the cookie session's token row and clears the cookie; whether a live session was ended."""
    secret = session.get("sid")
    ended = isinstance(secret, str) and revoke_personal_token(ctx, secret)
    session.clear()
    return ended


def revoke_personal_token(ctx: Luot, secret: str) -> bool:
    """Revokes the staff token (`ApiToken` row: a Bearer token or a cookie session's `sid`) whose secret is
    `secret`; whether it was live (False: unknown, a device's, already revoked or expired). Written through the
    ORM, so the principal cache forgets it at once (server.principal_cache)."""
    with ctx.db.write() as db_session:
        row = db_session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(secret))).first()
        if row is None or row.revoked:
            return False
        row.revoked = True
        db_session.add(row)
        return row.expires_at > ctx.clock.now()


def cookie_lifetime() -> timedelta:
    return timedelta(hours=SESSION_HOURS)
