"""One-time codes sent to a phone: the citizen proves the number is theirs (issue 18).

A code is 6 random digits, valid `CODE_SECONDS`, tried at most `MAX_ATTEMPTS` times, used once; a new code for
the same phone replaces the older ones, and a phone gets a new code at most every `RESEND_SECONDS`. Only an HMAC
of the code (under the instance secret, bound to the phone's person key) and the phone's person key are stored
(`onetimecode`); the clear number and code go only into the message outbox (server/messaging/outbox.py),
which the worker sends and the privacy purge clears. No Flask here: the routes (server/identity/routes.py) pass
the instance secret and run these inside one write transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from server.identity.citizen import Citizen, IdentityKind, person_key
from server.identity.errors import CodeTooSoon
from server.messaging.outbox import MessageKind, enqueue
from server.models import OneTimeCode

CODE_DIGITS = 6
CODE_SECONDS = 300
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60

_LATEST = (
    select(OneTimeCode)
    .where(OneTimeCode.phone_key == bindparam("phone_key"))
    .order_by(col(OneTimeCode.created_at).desc(), col(OneTimeCode.id).desc())
    .limit(1)
)


@dataclass(frozen=True)
class Verification:
    """The answer to a code: `citizen` when it was right, else how many tries the code has left (0: it died)."""

    citizen: Citizen | None
    remaining: int = 0
    expired: bool = False


def new_code() -> str:
    """Six random digits (a cryptographic source), leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(secret: str | bytes, phone_key: str, code: str) -> str:
    """HMAC-SHA256 (hex) of `phone_key:code` under the instance secret: a stolen table reveals no code."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{phone_key}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(
    session: Session, now: datetime, *, secret: str | bytes, site_id: int, phone: str, language: str = "vi"
) -> int:
    """Stores a new code for the E.164 `phone` and queues its message (MessageKind.OTP) in the caller's transaction;
    returns its lifetime in seconds. Older codes of the phone die.

    Raises CodeTooSoon (429) within `RESEND_SECONDS` of the phone's last code, and the outbox's refusals
    (server.messaging.outbox: Unreachable 422 when the site has no channel for phones).
    """
    phone_key = person_key(secret, IdentityKind.PHONE, phone)
    last = session.exec(_LATEST, params={"phone_key": phone_key}).first()
    if last is not None:
        wait = RESEND_SECONDS - (now - last.created_at).total_seconds()
        if wait > 0:
            raise CodeTooSoon(seconds=math.ceil(wait))
    session.execute(
        update(OneTimeCode)
        .where(col(OneTimeCode.phone_key) == phone_key, col(OneTimeCode.expires_at) > now)
        .values(expires_at=now)
    )
    code = new_code()
    row = OneTimeCode(
        site_id=site_id,
        phone_key=phone_key,
        code_hash=code_hash(secret, phone_key, code),
        created_at=now,
        expires_at=now + timedelta(seconds=CODE_SECONDS),
    )
    session.add(row)
    session.flush()
    enqueue(
        session,
        site_id=site_id,
        kind=MessageKind.OTP,
        address=phone,
        params={"code": code},
        dedupe_key=f"otp:{row.id}",
        language=language,
    )
    return CODE_SECONDS


def verify_code(session: Session, now: datetime, *, secret: str | bytes, phone: str, code: str) -> Verification:
    """Checks `code` against the newest live code of the E.164 `phone`, in the caller's write transaction (the
    attempt is recorded even when it fails, so the caller commits and then refuses).

    Right: the code is used up and the answer carries the phone's Citizen. Wrong: one attempt counted and the
    answer says how many are left (at `MAX_ATTEMPTS` the code dies). No live code (never sent, expired, used,
    replaced, tried out): `expired`.
    """
    phone_key = person_key(secret, IdentityKind.PHONE, phone)
    row = session.exec(_LATEST, params={"phone_key": phone_key}).first()
    if row is None or row.used_at is not None or row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        return Verification(None, expired=True)
    if not hmac.compare_digest(row.code_hash, code_hash(secret, phone_key, code)):
        row.attempts += 1
        session.add(row)
        return Verification(None, remaining=MAX_ATTEMPTS - row.attempts)
    row.used_at = now
    session.add(row)
    return Verification(Citizen(phone_key, IdentityKind.PHONE, phone=phone))
