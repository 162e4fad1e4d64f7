"""Administration pages (/admin): sites, agencies, services, counters and their services, users and roles,
kiosks and boards (tokens, settings), and the audit log of every change made here or by `luot config import`.

One generic list/form per kind of thing, described by an `Entity`; each save validates everything first and
writes in one transaction, with an audit entry. Admins bound to a site see and change only that site.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from dashboard import admin_fields as af
from dashboard.access import ADMIN_ROLES, PageDenied, staff
from dashboard.devices_page import device_address, qr_svg
from dashboard.refusals import install as install_refusals
from dashboard.texts import language, t
from server.api.support import current_token_digest
from server.auth import (
    Principal,
    canonical_username,
    find_user,
    hash_password,
    revoke_user_tokens,
    token_hash,
    username_problem,
)
from server.calendar_bounds import parse_day
from server.clock import LOCAL_TZ, local_midnight
from server.configuration import figures
from server.configuration.device_settings import NEEDS_COUNTER
from server.configuration.device_settings import SETTINGS as DEVICE_SETTINGS
from server.configuration.fields import SettingProblem
from server.configuration.number_ranges import range_clash
from server.configuration.site_settings import COUNTER_CLERKS, REPORT, check_counter_clerks, rule_settings
from server.context import luot
from server.domain.hours import HoursError
from server.domain.vocabulary import DeviceKind, Role
from server.i18n import translate
from server.models import Agency, Counter, CounterService, Device, NumberSequence, Service, Site, User
from server.printing.targets import PrinterTargets
from server.provisioning import create_sequence
from server.stats.models import AuditEntry

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
install_refusals(admin)  # a date beyond the calendar (audit log, holiday calendar): a page, not JSON
SITE_KINDS = ("centre", "branch", "point")
AGENCY_KINDS = (DeviceKind.KIOSK, DeviceKind.BOARD)


class Invalid(Exception):
    """A refused form: the field (or setting) named and the reason, in the page's language."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message

    @classmethod
    def of(cls, problem: SettingProblem | HoursError, field_name: str = "") -> Invalid:
        """A configuration module's refusal (English msgid + params) in the page's language."""
        name = getattr(problem, "field", "") or field_name
        return cls(name, translate(problem.text, language(), **problem.params))


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    # text | int | float | bool | select | checkgroup | password | hours | site_settings | device_settings
    kind: str = "text"
    required: bool = False
    choices: Callable[[Session, Principal], list[tuple[Any, str]]] | None = None
    help: str = ""
    #: checkgroup: the choices in groups (heading, [(value, label)]), e.g. services by agency.
    groups: Callable[[Session, Principal], list[tuple[str, list[tuple[Any, str]]]]] | None = None
    #: Device kinds this field applies to (empty: every kind).
    kinds: tuple[str, ...] = ()
    #: int and float fields: the values allowed (server.configuration.figures).
    bounds: figures.Bounds | None = None


@dataclass(frozen=True)
class Entity:
    name: str
    title: str
    model: type[Any]
    fields: tuple[Field, ...]
    columns: tuple[str, ...]
    save: Callable[[Session, Any, dict[str, Any], Principal], Any]
    values: Callable[[Session, Any], dict[str, Any]]
    site_of: Callable[[Any], int | None] = lambda item: getattr(item, "site_id", None)
    order: tuple[Any, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------- choices


def site_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    statement = select(Site).order_by(Site.code)
    if principal.site_id is not None:
        statement = statement.where(Site.id == principal.site_id)
    return [(s.id, f"{s.code} · {s.name}") for s in db_session.exec(statement)]


def _scoped(statement: Any, model: type[Any], principal: Principal) -> Any:
    if principal.site_id is None:
        return statement
    return statement.where((model.id if model is Site else model.site_id) == principal.site_id)


def agency_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    sites = {s.id: s.code for s in db_session.exec(select(Site))}
    rows = db_session.exec(_scoped(select(Agency), Agency, principal).order_by(Agency.site_id, Agency.sort_order))
    return [(a.id, f"{sites.get(a.site_id, '?')} · {a.code} · {a.name}") for a in rows]


def sequence_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    sites = {s.id: s.code for s in db_session.exec(select(Site))}
    rows = db_session.exec(
        _scoped(select(NumberSequence), NumberSequence, principal).order_by(NumberSequence.site_id, NumberSequence.code)
    )
    return [("", t("(its own new range)"))] + [
        (q.id, f"{sites.get(q.site_id, '?')} · {q.code} ({q.prefix}{q.first_number}–{q.prefix}{q.last_number})")
        for q in rows
    ]


def service_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    sites = {s.id: s.code for s in db_session.exec(select(Site))}
    rows = db_session.exec(_scoped(select(Service), Service, principal).order_by(Service.site_id, Service.code))
    return [(s.id, f"{sites.get(s.site_id, '?')} · {s.code} · {s.name}") for s in rows]


def counter_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    sites = {s.id: s.code for s in db_session.exec(select(Site))}
    rows = db_session.exec(_scoped(select(Counter), Counter, principal).order_by(Counter.site_id, Counter.number))
    return [("", "—")] + [(c.id, f"{sites.get(c.site_id, '?')} · {c.number} · {c.name}") for c in rows]


def service_groups(db_session: Session, principal: Principal) -> list[tuple[str, list[tuple[Any, str]]]]:
    """Services by agency (site · agency), in the kiosk's order: the counter form's ticks."""
    sites = {s.id: s.code for s in db_session.exec(select(Site))}
    agencies = db_session.exec(_scoped(select(Agency), Agency, principal).order_by(Agency.site_id, Agency.sort_order))
    services = db_session.exec(_scoped(select(Service), Service, principal).order_by(Service.sort_order)).all()
    groups = []
    for agency in agencies:
        own = [(s.id, f"{s.code} · {s.name}") for s in services if s.agency_id == agency.id]
        if own:
            groups.append((f"{sites.get(agency.site_id, '?')} · {agency.name}", own))
    return groups


def agency_groups(db_session: Session, principal: Principal) -> list[tuple[str, list[tuple[Any, str]]]]:
    """Agencies by site: a kiosk's or board's ticks."""
    agencies = db_session.exec(_scoped(select(Agency), Agency, principal).order_by(Agency.sort_order)).all()
    return [
        (f"{site.code} · {site.name}", [(a.id, f"{a.code} · {a.name}") for a in agencies if a.site_id == site.id])
        for site in db_session.exec(_scoped(select(Site), Site, principal).order_by(Site.code))
        if any(a.site_id == site.id for a in agencies)
    ]


def optional_site_choices(db_session: Session, principal: Principal) -> list[tuple[Any, str]]:
    choices = site_choices(db_session, principal)
    return choices if principal.site_id is not None else [("", t("Every site (province level)")), *choices]


def fixed(*values: str) -> Callable[[Session, Principal], list[tuple[Any, str]]]:
    return lambda _s, _p: [(v, t(v)) for v in values]


# ---------------------------------------------------------------- saving


def _require_site(principal: Principal, site_id: int | None) -> None:
    if principal.site_id is not None and site_id != principal.site_id:
        raise Invalid("site_id", t("You can only manage your own site."))


def _unique(db_session: Session, statement: Any, item: Any, field_name: str) -> None:
    other = db_session.exec(statement).first()
    if other is not None and other is not item:
        raise Invalid(field_name, t("This code is already used."))


def save_site(db_session: Session, item: Site | None, v: dict[str, Any], principal: Principal) -> Site:
    if item is None and principal.site_id is not None:
        raise Invalid("code", t("Only province-level administrators can create sites."))
    _unique(db_session, select(Site).where(Site.code == v["code"]), item, "code")
    if v["kind"] not in SITE_KINDS:
        raise Invalid("kind", t("Unknown value."))
    _check_clerk_names(db_session, item, v["settings"])
    item = item or Site(code=v["code"], name=v["name"])
    for key in ("code", "name", "kind", "address", "settings"):
        setattr(item, key, v[key])
    return item


def _check_clerk_names(db_session: Session, site: Site | None, settings: dict[str, Any]) -> None:
    """The counters of `counter_clerks` are the site's, and its usernames staff who may work there: its own users
    or province-level ones (a new site has neither counters nor users of its own yet). Raises Invalid at the box
    of other settings."""
    if COUNTER_CLERKS not in settings:
        return
    site_id = site.id if site is not None else None
    staff_of_site = select(User.username).where(or_(col(User.site_id).is_(None), col(User.site_id) == site_id))
    counters = set(db_session.exec(select(Counter.number).where(Counter.site_id == site_id)))
    try:
        check_counter_clerks(settings[COUNTER_CLERKS], set(db_session.exec(staff_of_site)), counters)
    except SettingProblem as problem:
        raise Invalid.of(af.in_other_box(problem, settings)) from problem


def save_agency(db_session: Session, item: Agency | None, v: dict[str, Any], principal: Principal) -> Agency:
    _require_site(principal, v["site_id"])
    _unique(db_session, select(Agency).where(Agency.site_id == v["site_id"], Agency.code == v["code"]), item, "code")
    item = item or Agency(site_id=v["site_id"], code=v["code"], name=v["name"])
    for key in ("site_id", "code", "name", "name_en", "floor", "sort_order", "active"):
        setattr(item, key, v[key])
    return item


# Booked slots and online numbers (issue 18; server/domain/booking_rules.py); their bounds are figures.SERVICE's.
BOOKING_DEFAULTS = {"slot_minutes": 15, "slot_capacity": 1, "booking_days_ahead": 7, "booking_cutoff_minutes": 60}
BOOKING_FIELDS = ("bookable", "online_numbers", *BOOKING_DEFAULTS)

# The service's own fields, as the form edits them and the edit page shows them.
SERVICE_FIELDS = (
    "code",
    "name",
    "name_en",
    "daily_cap",
    "opening_hours",
    "target_wait_minutes",
    "target_service_minutes",
    "default_service_minutes",
    "sort_order",
    "active",
    *BOOKING_FIELDS,
)


def save_service(db_session: Session, item: Service | None, v: dict[str, Any], principal: Principal) -> Service:
    agency = db_session.get(Agency, v["agency_id"])
    if agency is None:
        raise Invalid("agency_id", t("Unknown value."))
    _require_site(principal, agency.site_id)
    _unique(
        db_session, select(Service).where(Service.site_id == agency.site_id, Service.code == v["code"]), item, "code"
    )
    _check_booking(v)  # the figures are within their bounds (parse_form: server.configuration.figures)
    sequence = db_session.get(NumberSequence, v["sequence_id"]) if v["sequence_id"] else None
    if sequence is not None and sequence.site_id != agency.site_id:
        raise Invalid("sequence_id", t("The number range must belong to the same site."))
    if sequence is None:
        site = db_session.get(Site, agency.site_id)
        assert site is not None  # an agency's site: a foreign key
        first, last = v["first_number"] or 1, v["last_number"] or 999
        if first < 0 or last < first:
            raise Invalid("last_number", t("The number range is empty."))
        _check_range(db_session, agency.site_id, v["prefix"] or "", first, last)
        code = v["code"]
        while db_session.exec(
            select(NumberSequence).where(NumberSequence.site_id == agency.site_id, NumberSequence.code == code)
        ).first():
            code += "+"
        sequence = create_sequence(db_session, site, code, v["prefix"] or "", first, last)
    item = item or Service(
        site_id=agency.site_id, agency_id=agency.id or 0, sequence_id=sequence.id or 0, code=v["code"], name=v["name"]
    )
    item.site_id, item.agency_id, item.sequence_id = agency.site_id, agency.id or 0, sequence.id or 0
    for key in SERVICE_FIELDS:
        setattr(item, key, v[key])
    return item


def _check_booking(v: dict[str, Any]) -> None:
    """Booking settings: an empty figure takes its default; a bookable service needs opening hours."""
    for name, default in BOOKING_DEFAULTS.items():
        if v.get(name) is None:
            v[name] = default
    v["bookable"], v["online_numbers"] = bool(v.get("bookable")), bool(v.get("online_numbers"))
    if v["bookable"] and not v.get("opening_hours"):
        raise Invalid("opening_hours", t("A bookable service needs opening hours (slots are cut from them)."))


def _check_range(db_session: Session, site_id: int, prefix: str, first: int, last: int) -> None:
    """A new range must not print numbers another range of the site prints: suggest a prefix or a free block."""
    clash = range_clash(db_session, site_id, prefix, first, last)
    if clash is not None:
        raise Invalid(
            "prefix",
            t(
                "Numbers {range} are already given by {services}: two citizens would hold the same number. "
                "Use a prefix (e.g. {prefix}) or the free range {free}.",
                range=f"{prefix}{first}–{prefix}{last}",
                services=", ".join(clash.services),
                prefix=clash.free_prefix or "—",
                free=f"{prefix}{clash.free_first}–{prefix}{clash.free_last}",
            ),
        )


def save_counter(db_session: Session, item: Counter | None, v: dict[str, Any], principal: Principal) -> Counter:
    _require_site(principal, v["site_id"])
    _unique(
        db_session,
        select(Counter).where(Counter.site_id == v["site_id"], Counter.number == v["number"]),
        item,
        "number",
    )
    services = [db_session.get(Service, sid) for sid in v["service_ids"]]
    if any(s is None or s.site_id != v["site_id"] for s in services):
        raise Invalid("service_ids", t("A counter can only serve services of its own site."))
    item = item or Counter(site_id=v["site_id"], number=v["number"])
    for key in ("site_id", "number", "name", "floor"):
        setattr(item, key, v[key])
    db_session.add(item)
    db_session.flush()
    weights = {
        row.service_id: row.weight
        for row in db_session.exec(select(CounterService).where(CounterService.counter_id == item.id))
    }
    db_session.execute(delete(CounterService).where(col(CounterService.counter_id) == item.id))
    for sid in v["service_ids"]:
        db_session.add(CounterService(counter_id=item.id or 0, service_id=sid, weight=weights.get(sid, 1)))
    return item


def save_user(db_session: Session, item: User | None, v: dict[str, Any], principal: Principal) -> User:
    if principal.site_id is not None:
        _require_site(principal, v["site_id"])
    if v["role"] not in set(Role):
        raise Invalid("role", t("Unknown value."))
    problem = username_problem(unicodedata.normalize("NFC", v["username"]))
    if problem:
        raise Invalid("username", t(problem))
    v = {**v, "username": canonical_username(v["username"])}
    existing = find_user(db_session, v["username"])
    if existing is not None and (item is None or existing.id != item.id):
        raise Invalid("username", t("This username is already used."))
    if item is None and not v["password"]:
        raise Invalid("password", t("Required."))
    if v["password"] and len(v["password"]) < 8:
        raise Invalid("password", t("At least 8 characters."))
    if item is not None and item.id == principal.id and (v["role"] != Role.ADMIN or not v["active"]):
        raise Invalid("role", t("You cannot remove your own administration rights."))
    ends_sessions = item is not None and bool(v["password"] or (item.active and not v["active"]))
    item = item or User(username=v["username"], password_hash="")
    for key in ("username", "full_name", "role", "site_id", "active"):
        setattr(item, key, v[key])
    if v["password"]:
        item.password_hash = hash_password(v["password"])
        item.failed_logins, item.locked_until = 0, None
    if ends_sessions:
        _end_sessions(db_session, item, principal)
    return item


def _end_sessions(db_session: Session, user: User, principal: Principal) -> None:
    """A new password or a deactivation signs `user` out everywhere: their cookie sessions and Bearer tokens are
    revoked (devices keep theirs). An admin changing their own password keeps the session they are using."""
    keep = current_token_digest() if user.id == principal.id else None
    revoke_user_tokens(db_session, user.id or 0, keep=keep)


def save_device(db_session: Session, item: Device | None, v: dict[str, Any], principal: Principal) -> Device:
    _require_site(principal, v["site_id"])
    if v["kind"] not in set(DeviceKind):
        raise Invalid("kind", t("Unknown value."))
    settings = dict(v["settings"])
    if v["agency_ids"] and v["kind"] in AGENCY_KINDS:
        settings["agency_ids"] = v["agency_ids"]
    else:
        settings.pop("agency_ids", None)
    if v["counter_id"] and v["kind"] in NEEDS_COUNTER:
        settings["counter_id"] = v["counter_id"]
    else:
        settings.pop("counter_id", None)
    for agency_id in settings.get("agency_ids", []):
        agency = db_session.get(Agency, agency_id)
        if agency is None or agency.site_id != v["site_id"]:
            raise Invalid("agency_ids", t("A device can only show agencies of its own site."))
    if v["kind"] in NEEDS_COUNTER and not v["counter_id"]:
        raise Invalid("counter_id", t("Choose the counter this screen belongs to."))
    if v["counter_id"]:
        counter = db_session.get(Counter, v["counter_id"])
        if counter is None or counter.site_id != v["site_id"]:
            raise Invalid("counter_id", t("A device can only show counters of its own site."))
    item = item or Device(
        site_id=v["site_id"], kind=v["kind"], name=v["name"], token_hash=token_hash(secrets.token_urlsafe(24))
    )
    for key in ("site_id", "kind", "name", "revoked"):
        setattr(item, key, v[key])
    item.settings = settings
    return item


def _device_values(_s: Session, d: Device) -> dict[str, Any]:
    settings = dict(d.settings or {})
    return {
        "site_id": d.site_id,
        "kind": d.kind,
        "name": d.name,
        "revoked": d.revoked,
        "agency_ids": settings.pop("agency_ids", []),
        "counter_id": settings.pop("counter_id", None),
        "settings": settings,
    }


def _counter_values(db_session: Session, c: Counter) -> dict[str, Any]:
    ids = db_session.exec(select(CounterService.service_id).where(CounterService.counter_id == c.id)).all()
    return {"site_id": c.site_id, "number": c.number, "name": c.name, "floor": c.floor, "service_ids": sorted(ids)}


def _service_values(db_session: Session, s: Service) -> dict[str, Any]:
    sequence = db_session.get(NumberSequence, s.sequence_id)
    return {
        **{k: getattr(s, k) for k in ("agency_id", *SERVICE_FIELDS)},
        "sequence_id": s.sequence_id,
        "prefix": sequence.prefix if sequence else "",
        "first_number": sequence.first_number if sequence else None,
        "last_number": sequence.last_number if sequence else None,
    }


def _attrs(*names: str) -> Callable[[Session, Any], dict[str, Any]]:
    return lambda _s, item: {name: getattr(item, name) for name in names}


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "sites",
            "Sites",
            Site,
            (
                Field("code", "Code", required=True),
                Field("name", "Name", required=True),
                Field("kind", "Kind", "select", True, fixed(*SITE_KINDS)),
                Field("address", "Address"),
                Field("settings", "Queue rules, calendar and reports", "site_settings"),
            ),
            ("code", "name", "kind"),
            save_site,
            _attrs("code", "name", "kind", "address", "settings"),
            site_of=lambda s: s.id,
            order=(Site.code,),
        ),
        Entity(
            "agencies",
            "Agencies",
            Agency,
            (
                Field("site_id", "Site", "select", True, site_choices),
                Field("code", "Code", required=True),
                Field("name", "Name", required=True),
                Field("name_en", "English name"),
                Field("floor", "Floor"),
                Field("sort_order", "Order", "int", bounds=figures.SORT_ORDER),
                Field("active", "Active", "bool"),
            ),
            ("site_id", "code", "name", "active"),
            save_agency,
            _attrs("site_id", "code", "name", "name_en", "floor", "sort_order", "active"),
            order=(Agency.site_id, Agency.sort_order),
        ),
        Entity(
            "services",
            "Services",
            Service,
            (
                Field("agency_id", "Agency", "select", True, agency_choices),
                Field("code", "Code", required=True),
                Field("name", "Name", required=True),
                Field("name_en", "English name"),
                Field(
                    "sequence_id",
                    "Number range",
                    "select",
                    False,
                    sequence_choices,
                    help="Services of an agency may share one range of numbers.",
                ),
                Field("prefix", "Prefix (new range)"),
                Field("first_number", "First number (new range)", "int", bounds=figures.TICKET_NUMBER),
                Field("last_number", "Last number (new range)", "int", bounds=figures.TICKET_NUMBER),
                Field("daily_cap", "Daily cap", "int", bounds=figures.SERVICE["daily_cap"]),
                Field(
                    "opening_hours",
                    "Opening hours",
                    "hours",
                    help="Up to three receiving periods a day; leave a day empty to close it.",
                ),
                Field(
                    "target_wait_minutes",
                    "Target wait (min)",
                    "int",
                    True,
                    bounds=figures.SERVICE["target_wait_minutes"],
                ),
                Field(
                    "target_service_minutes",
                    "Target service (min)",
                    "int",
                    True,
                    bounds=figures.SERVICE["target_service_minutes"],
                ),
                Field(
                    "default_service_minutes",
                    "Typical service (min)",
                    "float",
                    True,
                    bounds=figures.SERVICE["default_service_minutes"],
                ),
                Field("sort_order", "Order", "int", bounds=figures.SORT_ORDER),
                Field("active", "Active", "bool"),
                Field("bookable", "Bookable", "bool"),
                Field("online_numbers", "Online numbers for today", "bool"),
                Field("slot_minutes", "Slot length (min)", "int", bounds=figures.SERVICE["slot_minutes"]),
                Field("slot_capacity", "Places per slot", "int", bounds=figures.SERVICE["slot_capacity"]),
                Field("booking_days_ahead", "Days ahead", "int", bounds=figures.SERVICE["booking_days_ahead"]),
                Field(
                    "booking_cutoff_minutes",
                    "Latest booking (min before the slot)",
                    "int",
                    bounds=figures.SERVICE["booking_cutoff_minutes"],
                ),
            ),
            ("site_id", "agency_id", "code", "name", "target_wait_minutes", "active"),
            save_service,
            _service_values,
            order=(Service.site_id, Service.agency_id, Service.sort_order),
        ),
        Entity(
            "counters",
            "Counters",
            Counter,
            (
                Field("site_id", "Site", "select", True, site_choices),
                Field("number", "Counter number", "int", True, bounds=figures.COUNTER_NUMBER),
                Field("name", "Name"),
                Field("floor", "Floor"),
                Field("service_ids", "Services served", "checkgroup", False, service_choices, groups=service_groups),
            ),
            ("site_id", "number", "name", "status"),
            save_counter,
            _counter_values,
            order=(Counter.site_id, Counter.number),
        ),
        Entity(
            "users",
            "Users and roles",
            User,
            (
                Field("username", "Username", required=True),
                Field("full_name", "Full name"),
                Field("role", "Role", "select", True, fixed(*Role)),
                Field("site_id", "Site", "select", False, optional_site_choices),
                Field(
                    "password",
                    "New password",
                    "password",
                    help="Leave empty to keep the current password. A new password, or unticking Active, signs the "
                    "user out of every session and revokes their tokens.",
                ),
                Field("active", "Active", "bool"),
            ),
            ("username", "full_name", "role", "site_id", "active", "locked_until"),
            save_user,
            _attrs("username", "full_name", "role", "site_id", "active"),
            order=(User.username,),
        ),
        Entity(
            "devices",
            "Kiosks and boards",
            Device,
            (
                Field("site_id", "Site", "select", True, site_choices),
                Field("kind", "Kind", "select", True, fixed(*DeviceKind)),
                Field("name", "Name", required=True),
                Field(
                    "agency_ids",
                    "Agencies shown (none ticked = every agency)",
                    "checkgroup",
                    False,
                    agency_choices,
                    groups=agency_groups,
                    kinds=AGENCY_KINDS,
                ),
                Field("counter_id", "Counter", "select", False, counter_choices, kinds=NEEDS_COUNTER),
                Field("settings", "Settings", "device_settings"),
                Field("revoked", "Revoked", "bool"),
            ),
            ("site_id", "kind", "name", "revoked"),
            save_device,
            _device_values,
            order=(Device.site_id, Device.name),
        ),
    )
}


# ---------------------------------------------------------------- form handling


def _choice_values(f: Field, db_session: Session, principal: Principal) -> dict[str, Any]:
    """The values a choice field allows, by their text in the form."""
    return {str(v): v for v, _l in f.choices(db_session, principal)} if f.choices else {}


def _parse_field(f: Field, db_session: Session, principal: Principal) -> Any:
    if f.kind == "bool":
        return f.name in request.form
    if f.kind == "checkgroup":
        chosen = request.form.getlist(f.name)
        if any(r not in _choice_values(f, db_session, principal) for r in chosen):
            raise Invalid(f.name, t("Unknown value."))
        return sorted(int(r) for r in chosen)
    if f.kind in STRUCTURED:
        return _parse_structured(f)
    raw = request.form.get(f.name, "").strip()
    if f.required and raw == "":
        raise Invalid(f.name, t("Required."))
    try:
        return _parse_text(f, raw, db_session, principal)
    except ValueError as exc:
        raise Invalid(f.name, t("Not a valid value: {detail}", detail=str(exc))) from exc


def printer_check() -> Callable[[str], Any]:
    """What a kiosk's printer setting must pass on save: a target the server's operator allows
    (server.printing.targets; it reads the spec first and says why it cannot)."""
    return PrinterTargets.from_settings(luot().settings).check


def _parse_structured(f: Field) -> Any:
    """Opening hours, site settings or device settings from their inputs, checked; Invalid with the reason."""
    try:
        if f.kind == "hours":
            return af.check_hours(af.read_hours(request.form, f.name))
        if f.kind == "site_settings":
            return af.check_site_form(af.read_site_settings(request.form, f.name))
        kind = request.form.get("kind", "")
        return af.check_device_form(kind, af.read_device_settings(request.form, f.name, kind), printer_check())
    except (SettingProblem, HoursError) as problem:
        raise Invalid.of(problem, f.name) from problem


def _structured_value(f: Field, value: Any, *, posted: bool) -> Any:
    """What a structured field's inputs show: the stored value, or (`posted`) the refused form as typed."""
    if f.kind == "hours":
        return af.read_hours(request.form, f.name) if posted else af.hours_form_value(value)
    if f.kind == "site_settings":
        return af.read_site_settings(request.form, f.name) if posted else af.site_form_value(value)
    if posted:
        kind = request.form.get("kind", "")
        return {**af.read_device_settings(request.form, f.name, kind), "kind": kind}
    return af.device_form_value(value)


STRUCTURED = ("hours", "site_settings", "device_settings")


def _parse_text(f: Field, raw: str, db_session: Session, principal: Principal) -> Any:
    """One single-valued field from its stripped text; ValueError for text that is not of the field's kind,
    Invalid for a number out of the field's bounds (infinite, "not a number" and absurd values included)."""
    if f.kind in ("int", "float"):
        if f.bounds is None:
            raise TypeError(f"the number field {f.name} has no bounds")
        try:
            return f.bounds.parse(f.name, raw) if raw else None
        except SettingProblem as problem:
            raise Invalid.of(problem) from problem
    if f.kind == "select":
        allowed = _choice_values(f, db_session, principal)
        if raw not in allowed and not (raw == "" and not f.required):
            raise Invalid(f.name, t("Unknown value."))
        return allowed.get(raw) if raw else None
    return raw


def parse_form(entity: Entity, db_session: Session, principal: Principal) -> dict[str, Any]:
    """The entity's fields from the posted form, typed; raises Invalid (field, message) for the first bad one."""
    values: dict[str, Any] = {f.name: _parse_field(f, db_session, principal) for f in entity.fields}
    for name in ("sort_order",):
        if name in values and values[name] is None:
            values[name] = 0
    for name in ("name_en", "floor", "address", "full_name", "prefix", "name"):
        if name in values and values[name] is None:
            values[name] = ""
    return values


def audit(
    db_session: Session,
    principal: Principal,
    action: str,
    entity: str,
    item_id: int | None,
    site_id: int | None,
    summary: str,
    changes: dict[str, Any],
) -> None:
    user = db_session.get(User, principal.id) if principal.is_staff else None
    db_session.add(
        AuditEntry(
            at=luot().clock.now(),
            user_id=principal.id if principal.is_staff else None,
            username=user.username if user else principal.name,
            site_id=site_id,
            action=action,
            entity=entity,
            entity_id=item_id,
            summary=summary[:500],
            changes=changes,
        )
    )


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        if key == "password":
            if after.get(key):
                changes[key] = ["***", "***"]
            continue
        if before.get(key) != after.get(key):
            changes[key] = [before.get(key), after.get(key)]
    return changes


def _entity(name: str) -> Entity:
    if name not in ENTITIES:
        abort(404)
    return ENTITIES[name]


def _load(db_session: Session, entity: Entity, item_id: int, principal: Principal) -> Any:
    item = db_session.get(entity.model, item_id)
    if item is None:
        abort(404)
    site_id = entity.site_of(item)
    if principal.site_id is not None and site_id != principal.site_id:
        raise PageDenied(anonymous=False)
    return item


def _labels(db_session: Session) -> dict[str, dict[Any, str]]:
    return {
        "site_id": {s.id: s.code for s in db_session.exec(select(Site))},
        "agency_id": {a.id: a.code for a in db_session.exec(select(Agency))},
    }


@admin.get("/")
def index() -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    return render_template("admin/index.html", entities=ENTITIES.values(), principal=principal)


@admin.get("/<name>/")
def list_items(name: str) -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    entity = _entity(name)
    with luot().db.read() as db_session:
        statement: Any = select(entity.model).order_by(*entity.order)
        if principal.site_id is not None:
            statement = statement.where(
                (entity.model.id if entity.model is Site else entity.model.site_id) == principal.site_id
            )
        items = db_session.exec(statement).all()
        labels = _labels(db_session)
    signins = luot().signins
    locks = {u.id: signins.user_state(u.username) for u in items} if entity.model is User else {}
    return render_template(
        "admin/list.html",
        entity=entity,
        items=items,
        labels=labels,
        locks=locks,
        now=luot().clock.now(),
        local_tz=LOCAL_TZ,
    )


NEW_TOKEN = "admin_new_device_token"  # session key: a device's new token, shown once on its page


def _form_page(
    entity: Entity, item_id: int | None, values: dict[str, Any], error: Invalid | None = None
) -> ResponseReturnValue:
    """The edit page. After a refused save (`error`) the inputs show what was typed."""
    principal = staff(ADMIN_ROLES, page=True)
    posted = error is not None
    with luot().db.read() as db_session:
        choices = {f.name: f.choices(db_session, principal) for f in entity.fields if f.choices}
        groups = {f.name: f.groups(db_session, principal) for f in entity.fields if f.groups}
        device = _new_device(db_session, entity, item_id)
    shown = dict(values)
    for f in entity.fields:
        if f.kind in STRUCTURED:
            shown[f.name] = _structured_value(f, values.get(f.name), posted=posted)
    return render_template(
        "admin/form.html",
        entity=entity,
        item_id=item_id,
        values=shown,
        choices=choices,
        groups=groups,
        error=error,
        device=device,
        device_kinds=DEVICE_SETTINGS,
        rule_settings=rule_settings(),
        report_settings=REPORT.values(),
        weekdays=WEEKDAY_NAMES,
        periods=range(af.PERIODS_PER_DAY),
    ), 400 if error else 200


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _new_device(db_session: Session, entity: Entity, item_id: int | None) -> dict[str, Any] | None:
    """A device's token given on the last request (shown once): its full address and a QR code of it."""
    if entity.name != "devices" or item_id is None:
        return None
    given = session.get(NEW_TOKEN)
    if not given or given.get("id") != item_id:
        return None
    session.pop(NEW_TOKEN)
    device = db_session.get(Device, item_id)
    if device is None:
        return None
    address = device_address(device.kind, given["token"])
    return {"token": given["token"], "url": address, "qr": qr_svg(address)}


def _form_values(request_form: Any, entity: Entity) -> dict[str, Any]:
    """The simple fields of a refused form, as typed."""
    return {
        f.name: (request_form.getlist(f.name) if f.kind == "checkgroup" else request_form.get(f.name))
        for f in entity.fields
        if f.kind not in STRUCTURED and (f.name in request_form or f.kind == "checkgroup")
    }


NEW_ITEM_DEFAULTS = {
    "active": True,
    "target_wait_minutes": 15,
    "target_service_minutes": 20,
    "default_service_minutes": 6.0,
}


@admin.route("/<name>/new", methods=["GET", "POST"])
@admin.route("/<name>/<int:item_id>", methods=["GET", "POST"])
def edit(name: str, item_id: int | None = None) -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    entity = _entity(name)
    ctx = luot()
    if request.method == "GET":
        with ctx.db.read() as db_session:
            item = _load(db_session, entity, item_id, principal) if item_id is not None else None
            values = (
                entity.values(db_session, item)
                if item is not None
                else {**NEW_ITEM_DEFAULTS, "site_id": principal.site_id}
            )
        return _form_page(entity, item_id, values)
    try:
        saved_id, label = _save(entity, item_id, principal)
    except Invalid as error:
        return _form_page(entity, item_id, _form_values(request.form, entity), error)
    flash(t("Saved: {what}", what=label), "saved")
    if entity.name == "devices" and item_id is None:
        return redirect(url_for("admin.edit", name=entity.name, item_id=saved_id))
    return redirect(url_for("admin.list_items", name=entity.name))


def _save(entity: Entity, item_id: int | None, principal: Principal) -> tuple[int, str]:
    """Checks and saves the posted form in one transaction with its audit entry; (id, label). A new device gets
    its token (kept in the session for its page). Raises Invalid."""
    with luot().db.write() as db_session:
        item = _load(db_session, entity, item_id, principal) if item_id is not None else None
        values = parse_form(entity, db_session, principal)
        before = entity.values(db_session, item) if item is not None else {}
        item = entity.save(db_session, item, values, principal)
        db_session.add(item)
        db_session.flush()
        if entity.name == "devices" and item_id is None:
            token = secrets.token_urlsafe(24)
            item.token_hash = token_hash(token)
            session[NEW_TOKEN] = {"id": item.id, "token": token}
        after = entity.values(db_session, item)
        label = getattr(item, "code", None) or getattr(item, "username", None) or getattr(item, "name", "")
        audit(
            db_session,
            principal,
            "update" if item_id else "create",
            entity.name,
            item.id,
            entity.site_of(item),
            f"{entity.name} {label}",
            _diff(before, {**after, "password": values.get("password")}),
        )
        return item.id, str(label)


@admin.post("/devices/<int:item_id>/token")
def new_device_token(item_id: int) -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    entity = ENTITIES["devices"]
    token = secrets.token_urlsafe(24)
    with luot().db.write() as db_session:
        device = _load(db_session, entity, item_id, principal)
        device.token_hash = token_hash(token)
        db_session.add(device)
        audit(db_session, principal, "token", "devices", device.id, device.site_id, f"devices {device.name}", {})
    session[NEW_TOKEN] = {"id": item_id, "token": token}
    return redirect(url_for("admin.edit", name="devices", item_id=item_id))


@admin.post("/users/<int:item_id>/unlock")
def unlock_user(item_id: int) -> ResponseReturnValue:
    """Ends the slow-down after repeated failed sign-ins (server.signin_throttle: this process forgets the
    username's failures) and any lock stored on the account, with an audit entry."""
    principal = staff(ADMIN_ROLES, page=True)
    ctx = luot()
    with ctx.db.write() as db_session:
        user = _load(db_session, ENTITIES["users"], item_id, principal)
        failures, _slowed = ctx.signins.user_state(user.username)
        user.locked_until, user.failed_logins = None, 0
        db_session.add(user)
        audit(
            db_session,
            principal,
            "unlock",
            "users",
            user.id,
            user.site_id,
            f"users {user.username}",
            {"failed_sign_ins": [failures, 0]},
        )
        name = user.username
    ctx.signins.clear_user(name)
    flash(t("Unlocked: {what}", what=name), "saved")
    return redirect(url_for("admin.list_items", name="users"))


@admin.get("/audit")
def audit_log() -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    args = request.args
    statement = select(AuditEntry).order_by(col(AuditEntry.id).desc())
    if principal.site_id is not None:
        statement = statement.where(AuditEntry.site_id == principal.site_id)
    if args.get("user"):
        statement = statement.where(AuditEntry.username == args["user"])
    if args.get("entity"):
        statement = statement.where(AuditEntry.entity == args["entity"])
    if args.get("action"):
        statement = statement.where(AuditEntry.action == args["action"])
    if args.get("q"):
        statement = statement.where(col(AuditEntry.summary).contains(args["q"]))
    for name, op in (("from", "ge"), ("to", "lt")):
        day = parse_day(args.get(name))  # a date beyond the calendar: a 400 page (DateOutOfRange: dashboard.refusals)
        if day is None:
            continue
        if op == "ge":
            statement = statement.where(AuditEntry.at >= local_midnight(day))
        else:
            statement = statement.where(AuditEntry.at < local_midnight(day + timedelta(days=1)))
    page = max(args.get("page", 1, type=int), 1)
    with luot().db.read() as db_session:
        entries = db_session.exec(statement.offset((page - 1) * 100).limit(101)).all()
        names = select(AuditEntry.username).distinct()
        if principal.site_id is not None:  # a site's admin learns only its own site's users
            names = names.where(
                AuditEntry.site_id == principal.site_id,
                col(AuditEntry.username).in_(select(User.username).where(User.site_id == principal.site_id)),
            )
        users = sorted({u for u in db_session.exec(names) if u})
    return render_template(
        "admin/audit.html",
        entries=entries[:100],
        more=len(entries) > 100,
        page=page,
        users=users,
        entities=[*ENTITIES, "config"],
        args=args,
        local_tz=LOCAL_TZ,
        query={k: v for k, v in args.items() if k != "page"},
    )
