"""Flask extensions bound to the app in create_app (init_app), declared once for route decorators."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter


def rate_key() -> str:
    """Rate limits count per device or user ("device:3", "user:7"); anonymous callers, and callers whose token
    is not valid, per address. Never raises for bad credentials: the route itself answers them with a 401
    (raising here made Flask-Limiter log a traceback per request)."""
    from server.api.support import current_principal
    from server.auth import AuthError

    try:
        principal = current_principal()
    except AuthError:
        principal = None
    return principal.issuer_key if principal else (request.remote_addr or "anonymous")


def ticket_rate_limit() -> str:
    return current_app.extensions["luot"].settings.ticket_rate_limit


# swallow_errors: a Redis failure while writing the headers *after* a commit must not turn a recorded ticket into
# a 500 (issue 19, item 5); during an outage the write itself is refused by the runner's readiness check (503).
limiter = Limiter(key_func=rate_key, default_limits=[], headers_enabled=True, swallow_errors=True)
