"""Signing in, shared by the API (/api/v1/auth/token, /auth/login) and the sign-in page (/dashboard/login).

Order: the throttle first (a try that comes too early is answered 429 without checking anything, the same
for every name), then the password, checked off the hub with no database transaction open, then the
outcome recorded in the throttle. Failures and successes answer the same for known and unknown names.
"""

from __future__ import annotations

from server.auth import BadCredentials, SignInThrottled, canonical_username, check_login
from server.context import Luot
from server.models import User


def sign_in(ctx: Luot, address: str, username: str, password: str) -> User:
    """The signed-in account (detached from its session); BadCredentials or SignInThrottled otherwise."""
    name = canonical_username(username)
    wait = ctx.signins.retry_after(address, name)
    if wait:
        raise SignInThrottled(seconds=wait)
    with ctx.db.read() as db_session:
        try:
            user = check_login(db_session, username, password)
        except BadCredentials:
            ctx.signins.failed(address, name)
            raise
        db_session.expunge(user)
    ctx.signins.succeeded(address, name)
    return user
