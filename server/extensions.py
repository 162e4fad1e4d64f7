"""Flask extensions bound to the app in create_app (init_app), declared once for route decorators."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import current_app, request
from flask_limiter import Limiter

log = logging.getLogger(__name__)


def client_address() -> str:
    return request.remote_addr or "anonymous"


def never_raises(key_func: Callable[[], str]) -> Callable[[], str]:
    """A rate-limit key function that fails closed. Flask-Limiter answers an error of a key function by applying
    no limit at all ("Failed to rate limit. Swallowing error"): a body nested ~950 deep made the phone's key raise
    RecursionError and every one-time-code limit was skipped. Any error here counts the request in its client
    address's own bucket of the same limit ("unkeyed:<address>") instead, with a warning in the log."""

    @functools.wraps(key_func)
    def key() -> str:
        try:
            return key_func()
        except Exception as exc:  # whatever it is, the limit must still apply
            log.warning("rate-limit key %s failed (%s): counted per address", key_func.__name__, type(exc).__name__)
            return "unkeyed:" + client_address()

    return key


@never_raises
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
    return principal.issuer_key if principal else client_address()


def ticket_rate_limit() -> str:
    return current_app.extensions["luot"].settings.ticket_rate_limit


# swallow_errors: a Redis failure while writing the headers *after* a commit must not turn a recorded ticket into
# a 500 (issue 19, item 5). in_memory_fallback_enabled: while the limits' store (Redis) is unreachable, the same
# limits are counted in this process's memory (Flask-Limiter's own fallback, back to Redis once it answers) —
# without it a swallowed store error applied no limit at all and one-time codes went out unchecked. The key
# functions never raise (`never_raises`), which was the other way a limit was skipped.
limiter = Limiter(
    key_func=rate_key, default_limits=[], headers_enabled=True, swallow_errors=True, in_memory_fallback_enabled=True
)
