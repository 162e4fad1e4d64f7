"""Who is asking: staff (argon2 passwords, session cookie or Bearer token) and devices (Bearer token)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam
from sqlmodel import Session, select

from server.domain.errors import N_, DomainError
from server.models import ApiToken, Device, User

_hasher = PasswordHasher()


class AuthError(DomainError):
    code, status, message = "unauthorized", 401, N_("Please sign in, or give a valid token.")


class Forbidden(DomainError):
    code, status, message = "forbidden", 403, N_("You are not allowed to do this.")


class BadCredentials(AuthError):
    code, status, message = "bad_credentials", 401, N_("Wrong username or password.")


class AccountLocked(AuthError):
    code, status, message = "account_locked", 423, N_("Too many failed sign-ins: try again in {minutes} minutes.")


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
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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


def check_login(
    session: Session, now: datetime, username: str, password: str, max_failures: int, lockout_minutes: int
) -> User:
    """Verifies a password; locks the account for a while after `max_failures` wrong ones."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)  # same work whether or not the user exists
        raise BadCredentials()
    if user.locked_until is not None and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        raise AccountLocked(minutes=minutes)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
        session.add(user)
        raise BadCredentials()
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
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


# Looked up on every authenticated request: built once.
_DEVICE_BY_TOKEN = select(Device).where(Device.token_hash == bindparam("digest"))
_API_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("digest"))


def principal_for_token(session: Session, now: datetime, token: str) -> Principal | None:
    """A device or staff principal for a Bearer token, or None if unknown, revoked or expired."""
    digest = token_hash(token)
    device = session.exec(_DEVICE_BY_TOKEN, params={"digest": digest}).first()
    if device is not None:
        return None if device.revoked else device_principal(device)
    api_token = session.exec(_API_TOKEN_BY_HASH, params={"digest": digest}).first()
    if api_token is None or api_token.revoked or api_token.expires_at <= now:
        return None
    user = session.get(User, api_token.user_id)
    return user_principal(user) if user is not None and user.active else None


def principal_for_user_id(session: Session, user_id: int) -> Principal | None:
    user = session.get(User, user_id)
    return user_principal(user) if user is not None and user.active else None
