"""Who is asking: staff (argon2 passwords, session cookie or Bearer token) and devices (Bearer token)."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from server import password_work
from server.domain.errors import N_, DomainError
from server.models import ApiToken, Device, User

_hasher = PasswordHasher()


class AuthError(DomainError):
    code, status, message = "unauthorized", 401, N_("Please sign in, or give a valid token.")


class Forbidden(DomainError):
    code, status, message = "forbidden", 403, N_("You are not allowed to do this.")


class BadCredentials(AuthError):
    code, status, message = "bad_credentials", 401, N_("Wrong username or password.")


class SignInThrottled(DomainError):
    """Too many recent failures for this username or address: answered before any password is checked."""

    code, status, message = "sign_in_throttled", 429, N_("Too many failed sign-ins: try again in {seconds} seconds.")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a staff user or a registered device."""

    kind: str  # user | device
    id: int
    site_id: int | None
    role: str = ""  # clerk | manager | admin (users)
    device_kind: str = ""  # kiosk | board | counter_display | rating (devices)
    name: str = ""
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.kind == "user"

    def may_see_site(self, site_id: int) -> bool:
        return self.site_id is None or self.site_id == site_id

    @property
    def issuer_key(self) -> str:
        return f"{self.kind}:{self.id}"


def hash_password(password: str) -> str:
    """An argon2 hash, computed off the eventlet hub (server.password_work)."""
    return password_work.run(_hasher.hash, password)


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(stored_hash: str, password: str) -> bool:
    """True if `password` matches; checked off the eventlet hub, a bounded number at once."""
    return password_work.run(_verify, stored_hash, password)


def canonical_username(name: str) -> str:
    """How usernames are stored and compared: NFC, surrounding spaces dropped, case folded."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a username (an English msgid), or None: no control, zero-width or bidirectional
    formatting characters, no spaces, one script only (Latin with Vietnamese letters, or another, not mixed)."""
    if not name:
        return N_("Required.")
    scripts: set[str] = set()
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"):
            return N_("A username cannot contain spaces or invisible characters.")
        if category.startswith("L"):
            scripts.add(unicodedata.name(char, "UNKNOWN").split(" ")[0])
    if len(scripts) > 1:
        return N_("A username cannot mix letters of different scripts.")
    return None


def find_user(session: Session, username: str) -> User | None:
    """The account named `username`, compared after NFC normalisation and case folding."""
    name = canonical_username(username)
    user = session.exec(select(User).where(func.lower(User.username) == name)).first()
    if user is None and not name.isascii():  # accounts stored before names were folded, with non-ASCII capitals
        user = next((u for u in session.exec(select(User)) if canonical_username(u.username) == name), None)
    return user


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_principal(user: User) -> Principal:
    return Principal("user", user.id or 0, user.site_id, role=user.role, name=user.full_name or user.username)


def device_principal(device: Device) -> Principal:
    return Principal(
        "device",
        device.id or 0,
        device.site_id,
        device_kind=device.kind,
        name=device.name,
        settings=dict(device.settings or {}),
    )


def check_login(session: Session, username: str, password: str) -> User:
    """The active account if the password is right; BadCredentials otherwise, after the same work whether or
    not the username exists. Throttling is the caller's (server.signin)."""
    user = find_user(session, username)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)  # same work whether or not the user exists
        raise BadCredentials()
    if not verify_password(user.password_hash, password):
        raise BadCredentials()
    return user


_DUMMY_HASH = _hasher.hash("luot-timing-equaliser")


def issue_api_token(session: Session, now: datetime, user: User, hours: int) -> str:
    token = new_token()
    session.add(
        ApiToken(
            token_hash=token_hash(token), user_id=user.id or 0, created_at=now, expires_at=now + timedelta(hours=hours)
        )
    )
    return token


def revoke_user_tokens(session: Session, user_id: int, keep: str | None = None) -> int:
    """Revokes the personal tokens of staff member `user_id` (their `ApiToken` rows: Bearer tokens and the rows
    behind cookie sessions; a device's token is the device's, untouched), except the one whose digest is `keep`
    (the caller's own session when they change their own password); returns how many were revoked.

    The rows are written through the ORM in the caller's transaction, so this process's principal cache forgets
    every remembered answer (server.principal_cache); another process notices within its TTL_S."""
    live = select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked).is_(False))
    rows = session.exec(live).all()
    revoked = 0
    for row in rows:
        if row.token_hash != keep:
            row.revoked = True
            session.add(row)
            revoked += 1
    return revoked


# Looked up on every authenticated request: built once.
_DEVICE_BY_TOKEN = select(Device).where(Device.token_hash == bindparam("digest"))
_API_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("digest"))


def principal_for_token(session: Session, now: datetime, token: str) -> Principal | None:
    """A device or staff principal for a Bearer token, or None if unknown, revoked or expired."""
    return principal_for_digest(session, now, token_hash(token))[0]


def principal_for_digest(session: Session, now: datetime, digest: str) -> tuple[Principal | None, datetime | None]:
    """(principal or None, when the token expires — None for a device token) for a token's SHA-256 digest."""
    device = session.exec(_DEVICE_BY_TOKEN, params={"digest": digest}).first()
    if device is not None:
        return (None if device.revoked else device_principal(device)), None
    api_token = session.exec(_API_TOKEN_BY_HASH, params={"digest": digest}).first()
    if api_token is None or api_token.revoked or api_token.expires_at <= now:
        return None, None
    user = session.get(User, api_token.user_id)
    return (user_principal(user) if user is not None and user.active else None), api_token.expires_at


def principal_for_user_id(session: Session, user_id: int) -> Principal | None:
    user = session.get(User, user_id)
    return user_principal(user) if user is not None and user.active else None
