"""Identified citizens for tests of a real server: the signed session cookie `remember_citizen` would set
(server/identity/session.py), made with the instance's own secret, and the matching person keys."""

from __future__ import annotations

import time

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from server.app import read_secret_key
from server.identity.citizen import IdentityKind, person_key
from server.identity.session import CITIZEN_MINUTES
from server.settings import Settings


def instance_secret(settings: Settings) -> str:
    return read_secret_key(settings)


def citizen_cookie(secret: str, phone: str, now_s: float | None = None) -> str:
    """The value of the `session` cookie of a browser whose citizen identified with `phone` (E.164)."""
    app = Flask("citizen-cookie")
    app.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    expires = (time.time() if now_s is None else now_s) + CITIZEN_MINUTES * 60
    key = person_key(secret, IdentityKind.PHONE, phone)
    return str(serializer.dumps({"citizen": {"key": key, "kind": "phone", "phone": phone, "name": "", "exp": expires}}))


def card_key(secret: str, number: str) -> str:
    return person_key(secret, IdentityKind.CCCD, number)
