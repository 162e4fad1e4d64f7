"""The identified citizen of a browser, kept in the signed session cookie for a short while.

Only the person key, the way they were identified, the phone number they gave (needed to send the
messages they asked for) and a display name are kept; the cookie is signed (Flask's SECRET_KEY) and
expires after `CITIZEN_MINUTES`. Staff sign-in (server/sessions.py) clears it.
"""

from __future__ import annotations

import time

from flask import session

from server.identity.citizen import Citizen, IdentityKind

CITIZEN_MINUTES = 60  # long enough to book or take a number after identifying, short on a shared phone
_KEY = "citizen"


def remember_citizen(citizen: Citizen, now_s: float | None = None) -> None:
    """Keeps `citizen` in this browser's session until `CITIZEN_MINUTES` from now (`now_s`: Unix seconds)."""
    expires = (time.time() if now_s is None else now_s) + CITIZEN_MINUTES * 60
    session[_KEY] = {
        "key": citizen.person_key,
        "kind": citizen.kind.value,
        "phone": citizen.phone,
        "name": citizen.name,
        "exp": expires,
    }


def current_citizen(now_s: float | None = None) -> Citizen | None:
    """The citizen identified in this browser, or None (never identified, expired, or malformed)."""
    data = session.get(_KEY)
    if not isinstance(data, dict):
        return None
    try:
        if float(data["exp"]) < (time.time() if now_s is None else now_s):
            return None
        return Citizen(
            str(data["key"]), IdentityKind(data["kind"]), data.get("phone") or None, str(data.get("name", ""))
        )
    except (KeyError, TypeError, ValueError):
        return None


def forget_citizen() -> None:
    """Signs the citizen out of this browser."""
    session.pop(_KEY, None)
