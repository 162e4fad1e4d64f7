"""Creating sites, agencies, services, counters, users and devices (seed data, tests, administration)."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlmodel import Session

from server.auth import canonical_username, find_user, hash_password, token_hash, username_problem
from server.domain.hours import validate_opening_hours
from server.domain.vocabulary import DeviceKind, Role
from server.models import Agency, Counter, CounterService, Device, NumberSequence, Service, Site, User


def create_site(session: Session, code: str, name: str, kind: str = "centre", **settings: Any) -> Site:
    site = Site(code=code, name=name, kind=kind, settings=settings)
    session.add(site)
    session.flush()
    return site


def create_agency(
    session: Session, site: Site, code: str, name: str, name_en: str = "", floor: str = "", sort_order: int = 0
) -> Agency:
    agency = Agency(site_id=site.id or 0, code=code, name=name, name_en=name_en, floor=floor, sort_order=sort_order)
    session.add(agency)
    session.flush()
    return agency


def create_sequence(
    session: Session, site: Site, code: str, prefix: str = "", first: int = 1, last: int = 999
) -> NumberSequence:
    if first < 0 or last < first:
        raise ValueError(f"number range {first}–{last} is empty")
    sequence = NumberSequence(site_id=site.id or 0, code=code, prefix=prefix, first_number=first, last_number=last)
    session.add(sequence)
    session.flush()
    return sequence


def create_service(
    session: Session,
    agency: Agency,
    code: str,
    name: str,
    *,
    name_en: str = "",
    sequence: NumberSequence | None = None,
    prefix: str = "",
    first: int = 1,
    last: int = 999,
    daily_cap: int | None = None,
    opening_hours: dict | None = None,
    target_wait_minutes: int = 15,
    target_service_minutes: int = 20,
    default_service_minutes: float = 6.0,
    sort_order: int = 0,
) -> Service:
    """A service with its own number range, or sharing `sequence` with other services."""
    site = session.get(Site, agency.site_id)
    assert site is not None
    validate_opening_hours(opening_hours or {})
    if sequence is None:
        sequence = create_sequence(session, site, code, prefix, first, last)
    service = Service(
        site_id=site.id or 0,
        agency_id=agency.id or 0,
        sequence_id=sequence.id or 0,
        code=code,
        name=name,
        name_en=name_en,
        daily_cap=daily_cap,
        opening_hours=opening_hours or {},
        target_wait_minutes=target_wait_minutes,
        target_service_minutes=target_service_minutes,
        default_service_minutes=default_service_minutes,
        sort_order=sort_order,
    )
    session.add(service)
    session.flush()
    return service


def create_counter(
    session: Session,
    site: Site,
    number: int,
    services: list[Service],
    name: str = "",
    floor: str = "",
    weights: dict[str, int] | None = None,
) -> Counter:
    """A counter serving `services` (weights by service code; default 1)."""
    counter = Counter(site_id=site.id or 0, number=number, name=name or f"Quầy {number}", floor=floor)
    session.add(counter)
    session.flush()
    for service in services:
        weight = (weights or {}).get(service.code, 1)
        session.add(CounterService(counter_id=counter.id or 0, service_id=service.id or 0, weight=weight))
    session.flush()
    return counter


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str = Role.CLERK,
    site: Site | None = None,
    full_name: str = "",
    password_hash: str | None = None,
) -> User:
    """A staff account; `password_hash` lets bulk seeding hash a shared demo password once."""
    if role not in set(Role):
        raise ValueError(f"role must be one of {', '.join(Role)}")
    problem = username_problem(unicodedata.normalize("NFC", username))
    if problem:
        raise ValueError(f"username {username!r}: {problem}")
    username = canonical_username(username)
    if find_user(session, username) is not None:
        raise ValueError(f"user {username!r} exists already")
    user = User(
        username=username,
        password_hash=password_hash or hash_password(password),
        role=role,
        site_id=site.id if site else None,
        full_name=full_name,
    )
    session.add(user)
    session.flush()
    return user


def create_device(session: Session, site: Site, kind: str, name: str, token: str, **settings: Any) -> Device:
    """Registers a kiosk, board, counter display or rating tablet; only the token's hash is stored."""
    if kind not in set(DeviceKind):
        raise ValueError(f"device kind must be one of {', '.join(DeviceKind)}")
    device = Device(site_id=site.id or 0, kind=kind, name=name, token_hash=token_hash(token), settings=settings)
    session.add(device)
    session.flush()
    return device
