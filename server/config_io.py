"""The whole setup as one readable TOML file: `luot config export FILE` / `luot config import FILE`.

Layout (one [[site]] per site, its parts nested; users last):

    format = 1
    [[site]]          code, name, kind, address, [site.settings] (queue rules)
    [[site.agency]]   code, name, name_en, floor, sort_order, active
    [[site.sequence]] code, prefix, first, last            (a number range, shared by services)
    [[site.service]]  code, agency, sequence, name, name_en, daily_cap, opening_hours, targets …
    [[site.counter]]  number, name, floor, services = [codes], weights = {code = n} (only weights ≠ 1)
    [[site.device]]   name, kind, token_hash, revoked, [site.device.settings] (agencies/counter by code)
    [[user]]          username, full_name, role, site (code; absent = province level), active, password_hash

Export is deterministic (sorted by codes), so export → import into an empty database → export gives the
identical file. Import matches existing rows by their codes (site code, agency code within the site, counter
number, username, device name) and creates or updates them; it never deletes. It validates the whole file
first and writes in one transaction: on any error nothing changes, and the error names the line and reason.
Password and token hashes travel as hashes (argon2 / SHA-256), so signed-in accounts and devices keep working.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from server.auth import canonical_username, revoke_user_tokens
from server.configuration import figures
from server.configuration.device_settings import check_device_settings
from server.configuration.fields import SettingProblem
from server.configuration.site_settings import COUNTER_CLERKS, check_counter_clerks, check_site_settings
from server.domain.hours import validate_opening_hours
from server.domain.rules import SiteRules
from server.domain.vocabulary import DeviceKind, Role
from server.models import Agency, Counter, CounterService, Device, NumberSequence, Service, Site, User
from server.stats.models import AuditEntry

FORMAT = 1
SITE_KINDS = ("centre", "branch", "point")
HEADER = (
    "# Lượt configuration: sites, agencies, number ranges, services, counters, devices and users.\n"
    "# Import with `luot config import FILE` (validated first; nothing changes on error).\n"
)


class ConfigError(Exception):
    """A config file that cannot be imported: where (line) and why."""

    def __init__(self, line: int | None, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}" if line else reason)


# ---------------------------------------------------------------- export


def _clean(value: Any) -> Any:
    """TOML has no null: None values are left out of tables and lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value if v is not None]
    return value


def export_config(session: Session) -> str:
    sites = session.exec(select(Site).order_by(Site.code)).all()
    site_codes = {s.id: s.code for s in sites}
    document: dict[str, Any] = {"format": FORMAT, "site": []}
    for site in sites:
        agencies = session.exec(
            select(Agency).where(Agency.site_id == site.id).order_by(col(Agency.sort_order), col(Agency.code))
        ).all()
        agency_codes = {a.id: a.code for a in agencies}
        sequences = session.exec(
            select(NumberSequence).where(NumberSequence.site_id == site.id).order_by(col(NumberSequence.code))
        ).all()
        sequence_codes = {q.id: q.code for q in sequences}
        services = session.exec(
            select(Service)
            .where(Service.site_id == site.id)
            .order_by(col(Service.agency_id), col(Service.sort_order), col(Service.code))
        ).all()
        services = sorted(services, key=lambda s: (agency_codes.get(s.agency_id, ""), s.sort_order, s.code))
        service_codes = {s.id: s.code for s in services}
        counters = session.exec(select(Counter).where(Counter.site_id == site.id).order_by(col(Counter.number))).all()
        counter_numbers = {c.id: c.number for c in counters}
        devices = session.exec(
            select(Device).where(Device.site_id == site.id).order_by(col(Device.name), col(Device.id))
        ).all()
        entry: dict[str, Any] = {
            "code": site.code,
            "name": site.name,
            "kind": site.kind,
            "address": site.address,
            "settings": _clean(site.settings or {}),
        }
        entry["agency"] = [
            {
                "code": a.code,
                "name": a.name,
                "name_en": a.name_en,
                "floor": a.floor,
                "sort_order": a.sort_order,
                "active": a.active,
            }
            for a in agencies
        ]
        entry["sequence"] = [
            {"code": q.code, "prefix": q.prefix, "first": q.first_number, "last": q.last_number} for q in sequences
        ]
        entry["service"] = [
            _clean(
                {
                    "code": s.code,
                    "agency": agency_codes.get(s.agency_id),
                    "sequence": sequence_codes.get(s.sequence_id),
                    "name": s.name,
                    "name_en": s.name_en,
                    "daily_cap": s.daily_cap,
                    "opening_hours": s.opening_hours or None,
                    "target_wait_minutes": s.target_wait_minutes,
                    "target_service_minutes": s.target_service_minutes,
                    "default_service_minutes": float(s.default_service_minutes),
                    "sort_order": s.sort_order,
                    "active": s.active,
                }
            )
            for s in services
        ]
        entry["counter"] = []
        for c in counters:
            links = session.exec(select(CounterService).where(CounterService.counter_id == c.id)).all()
            codes = sorted(service_codes[link.service_id] for link in links if link.service_id in service_codes)
            weights = {
                service_codes[link.service_id]: link.weight
                for link in links
                if link.weight != 1 and link.service_id in service_codes
            }
            counter: dict[str, Any] = {"number": c.number, "name": c.name, "floor": c.floor, "services": codes}
            if weights:
                counter["weights"] = dict(sorted(weights.items()))
            entry["counter"].append(counter)
        entry["device"] = []
        for d in devices:
            settings = dict(d.settings or {})
            if "agency_ids" in settings:
                settings["agencies"] = [agency_codes.get(i, f"#{i}") for i in settings.pop("agency_ids") or []]
            if "service_ids" in settings:
                settings["services"] = [service_codes.get(i, f"#{i}") for i in settings.pop("service_ids") or []]
            if "counter_id" in settings:
                counter_id = settings.pop("counter_id")
                if counter_id is not None:
                    settings["counter"] = counter_numbers.get(counter_id, -1)
            entry["device"].append(
                {
                    "name": d.name,
                    "kind": d.kind,
                    "token_hash": d.token_hash,
                    "revoked": d.revoked,
                    "settings": _clean(settings),
                }
            )
        document["site"].append(entry)
    users = session.exec(select(User).order_by(User.username)).all()
    document["user"] = [
        _clean(
            {
                "username": u.username,
                "full_name": u.full_name,
                "role": u.role,
                "site": site_codes.get(u.site_id) if u.site_id else None,
                "active": u.active,
                "password_hash": u.password_hash,
            }
        )
        for u in users
    ]
    return HEADER + "\n".join(_emit_table((), document)) + "\n"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
SUB_TABLES = ("settings",)  # dict values written as [a.b.settings] sections; other dicts inline


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _inline(value: Any) -> str:
    """A TOML value on one line (JSON string escapes are valid TOML basic-string escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_inline(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _emit_table(path: tuple[str, ...], table: dict[str, Any]) -> list[str]:
    """Scalars and inline values first, then [sub-tables], then [[arrays of tables]]."""
    lines = [
        f"{_key(k)} = {_inline(v)}"
        for k, v in table.items()
        if not (k in SUB_TABLES and isinstance(v, dict))
        and not (isinstance(v, list) and v and all(isinstance(i, dict) for i in v))
    ]
    for key, value in table.items():
        if key in SUB_TABLES and isinstance(value, dict) and value:
            lines += ["", f"[{'.'.join((*path, key))}]", *(f"{_key(k)} = {_inline(v)}" for k, v in value.items())]
    for key, value in table.items():
        if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
            for item in value:
                lines += ["", f"[[{'.'.join((*path, key))}]]", *_emit_table((*path, key), item)]
    return lines


# ---------------------------------------------------------------- locating lines


_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]\s*(#.*)?$")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.]+)\s*\]\s*(#.*)?$")


class Lines:
    """Maps a path in the parsed document (("site", 2, "service", 0, "agency")) to its line in the text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str, bool]] = []  # (line number, dotted name, is array of tables)
        for number, line in enumerate(self.lines, start=1):
            if match := _HEADER.match(line):
                self.headers.append((number, match.group(1), True))
            elif match := _TABLE.match(line):
                self.headers.append((number, match.group(1), False))

    def _table_start(self, path: tuple[Any, ...]) -> tuple[int, int]:
        """(line, index into headers) of the array-of-tables element a path points at; (0, -1) for the top."""
        start, line, position = 0, 0, -1
        enclosing: list[str] = []
        for index, part in enumerate(path):
            if not isinstance(part, int):
                continue
            dotted = ".".join(p for p in path[:index] if isinstance(p, str))
            seen, found = -1, False
            for h_index in range(start, len(self.headers)):
                number, name, is_array = self.headers[h_index]
                if is_array and name in enclosing:
                    break  # the next element of an enclosing array: ours has fewer items
                if is_array and name == dotted:
                    seen += 1
                    if seen == part:
                        start, line, position, found = h_index + 1, number, h_index, True
                        break
            if not found:
                return line, position
            enclosing.append(dotted)
        return line, position

    def of(self, path: tuple[Any, ...]) -> int | None:
        line, position = self._table_start(path)
        key = path[-1] if path and isinstance(path[-1], str) else None
        if key is None:
            return line or None
        end = self.headers[position + 1][0] if 0 <= position + 1 < len(self.headers) else len(self.lines) + 1
        if position < 0:
            end = self.headers[0][0] if self.headers else len(self.lines) + 1
        begin = line + 1 if line else 1
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(begin, end):
            if pattern.match(self.lines[number - 1]):
                return number
        sub = re.compile(rf"^\s*\[\s*[A-Za-z0-9_.]*\.{re.escape(key)}\s*\]")
        for number in range(begin, len(self.lines) + 1):
            if sub.match(self.lines[number - 1]):
                return number
        return line or None


# ---------------------------------------------------------------- validation


@dataclass
class Checker:
    lines: Lines

    def fail(self, path: tuple[Any, ...], reason: str) -> None:
        raise ConfigError(self.lines.of(path), reason)

    def table(
        self,
        value: Any,
        path: tuple[Any, ...],
        required: dict[str, type | tuple[type, ...]],
        optional: dict[str, type | tuple[type, ...]],
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, "expected a table")
        for key in value:
            if key not in required and key not in optional:
                self.fail((*path, key), f"unknown key {key!r}")
        for key in required:
            if key not in value:
                self.fail(path, f"missing key {key!r}")
        for key, kind in {**required, **optional}.items():
            if key in value:
                item = value[key]
                if (isinstance(item, bool) and kind in (int, float, (int, float))) or not isinstance(item, kind):
                    names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
                    self.fail((*path, key), f"{key}: expected {names}, got {type(item).__name__}")
        return value

    def text(
        self, value: dict[str, Any], path: tuple[Any, ...], key: str, max_length: int, required: bool = False
    ) -> None:
        if key in value and len(value[key]) > max_length:
            self.fail((*path, key), f"{key}: at most {max_length} characters")
        if required and not value.get(key, "").strip():
            self.fail((*path, key), f"{key}: must not be empty")

    def number(self, value: dict[str, Any], path: tuple[Any, ...], key: str, bounds: figures.Bounds) -> None:
        """`value[key]`, if present, is finite and within `bounds` (server.configuration.figures)."""
        if key in value:
            try:
                bounds.check(key, value[key])
            except SettingProblem as problem:
                self.fail((*path, key), str(problem))

    def unique(self, items: list[dict[str, Any]], key: str, path: tuple[Any, ...], what: str) -> None:
        seen: set[Any] = set()
        for index, item in enumerate(items):
            if item[key] in seen:
                self.fail((*path, index, key), f"{what} {item[key]!r} appears twice")
            seen.add(item[key])


STR, INT, BOOL, NUM = str, int, bool, (int, float)
KeyPath = tuple[Any, ...]  # where a value sits in the document: ("site", 0, "service", 2, "code")


def validate(document: dict[str, Any], lines: Lines) -> None:
    """Raises ConfigError for the first problem found (with its line): the document, then each site in order
    (its own fields, agencies, number ranges, services, counters, devices), then the users."""
    check = Checker(lines)
    check.table(document, (), {"format": INT}, {"site": list, "user": list})
    if document["format"] != FORMAT:
        check.fail(("format",), f"format {document['format']} is not supported (expected {FORMAT})")
    sites = document.get("site", [])
    for s_index, site in enumerate(sites):
        _validate_site(check, site, ("site", s_index))
    check.unique(sites, "code", ("site",), "site")
    _validate_users(check, document.get("user", []), {site["code"] for site in sites})


def _validate_site(check: Checker, site: dict[str, Any], path: KeyPath) -> None:
    check.table(
        site,
        path,
        {"code": STR, "name": STR},
        {
            "kind": STR,
            "address": STR,
            "settings": dict,
            "agency": list,
            "sequence": list,
            "service": list,
            "counter": list,
            "device": list,
        },
    )
    check.text(site, path, "code", 32, True)
    check.text(site, path, "name", 200, True)
    if site.get("kind", "centre") not in SITE_KINDS:
        check.fail((*path, "kind"), f"kind must be one of {', '.join(SITE_KINDS)}")
    try:
        SiteRules.from_settings(site.get("settings", {}))
        check_site_settings(site.get("settings", {}))
    except SettingProblem as problem:
        check.fail((*path, "settings"), f"settings: {problem}")
    except (TypeError, ValueError) as exc:
        check.fail((*path, "settings"), f"settings: {exc}")
    agency_codes = _validate_agencies(check, site.get("agency", []), path)
    sequence_codes = _validate_sequences(check, site.get("sequence", []), path)
    service_codes = _validate_services(check, site, path, agency_codes, sequence_codes)
    counter_numbers = _validate_counters(check, site.get("counter", []), path, service_codes)
    _validate_devices(check, site.get("device", []), path, agency_codes, service_codes, counter_numbers)


def _validate_agencies(check: Checker, agencies: list[dict[str, Any]], path: KeyPath) -> set[str]:
    """The site's agency codes, once each agency is valid."""
    for a_index, agency in enumerate(agencies):
        a_path = (*path, "agency", a_index)
        check.table(
            agency,
            a_path,
            {"code": STR, "name": STR},
            {"name_en": STR, "floor": STR, "sort_order": INT, "active": BOOL},
        )
        check.text(agency, a_path, "code", 32, True)
        check.text(agency, a_path, "name", 200, True)
        check.number(agency, a_path, "sort_order", figures.SORT_ORDER)
    check.unique(agencies, "code", (*path, "agency"), "agency")
    return {a["code"] for a in agencies}


def _validate_sequences(check: Checker, sequences: list[dict[str, Any]], path: KeyPath) -> set[str]:
    """The site's number-range codes, once each range is valid and not empty."""
    for q_index, sequence in enumerate(sequences):
        q_path = (*path, "sequence", q_index)
        check.table(sequence, q_path, {"code": STR}, {"prefix": STR, "first": INT, "last": INT})
        check.text(sequence, q_path, "prefix", 8)
        check.number(sequence, q_path, "first", figures.TICKET_NUMBER)
        check.number(sequence, q_path, "last", figures.TICKET_NUMBER)
        first, last = sequence.get("first", 1), sequence.get("last", 999)
        if first < 0 or last < first:
            check.fail((*q_path, "last"), f"number range {first}–{last} is empty")
    check.unique(sequences, "code", (*path, "sequence"), "number range")
    return {q["code"] for q in sequences}


def _validate_services(
    check: Checker, site: dict[str, Any], path: KeyPath, agency_codes: set[str], sequence_codes: set[str]
) -> set[str]:
    """The site's service codes, once each service is valid and names a known agency and number range."""
    services = site.get("service", [])
    for v_index, service in enumerate(services):
        v_path = (*path, "service", v_index)
        check.table(
            service,
            v_path,
            {"code": STR, "agency": STR, "sequence": STR, "name": STR},
            {
                "name_en": STR,
                "daily_cap": INT,
                "opening_hours": dict,
                "target_wait_minutes": INT,
                "target_service_minutes": INT,
                "default_service_minutes": NUM,
                "sort_order": INT,
                "active": BOOL,
            },
        )
        check.text(service, v_path, "code", 32, True)
        check.text(service, v_path, "name", 300, True)
        if service["agency"] not in agency_codes:
            check.fail((*v_path, "agency"), f"unknown agency {service['agency']!r} in site {site['code']}")
        if service["sequence"] not in sequence_codes:
            check.fail((*v_path, "sequence"), f"unknown number range {service['sequence']!r}")
        _validate_service_figures(check, service, v_path)
    check.unique(services, "code", (*path, "service"), "service")
    return {v["code"] for v in services}


def _validate_service_figures(check: Checker, service: dict[str, Any], v_path: KeyPath) -> None:
    try:
        validate_opening_hours(service.get("opening_hours", {}))
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        check.fail((*v_path, "opening_hours"), f"opening_hours: {exc}")
    for key, bounds in figures.SERVICE.items():  # the administration's bounds: finite, neither absurd
        check.number(service, v_path, key, bounds)


def _validate_counters(
    check: Checker, counters: list[dict[str, Any]], path: KeyPath, service_codes: set[str]
) -> set[int]:
    """The site's counter numbers, once each counter serves only known services with whole weights 1 … 100."""
    for c_index, counter in enumerate(counters):
        c_path = (*path, "counter", c_index)
        check.table(counter, c_path, {"number": INT}, {"name": STR, "floor": STR, "services": list, "weights": dict})
        check.number(counter, c_path, "number", figures.COUNTER_NUMBER)
        for code in counter.get("services", []):
            if code not in service_codes:
                check.fail((*c_path, "services"), f"counter {counter['number']}: unknown service {code!r}")
        for code, weight in counter.get("weights", {}).items():
            if code not in counter.get("services", []):
                check.fail((*c_path, "weights"), f"weights: {code!r} is not among the counter's services")
            try:
                figures.COUNTER_WEIGHT.check(code, weight)
            except SettingProblem as problem:
                check.fail((*c_path, "weights"), f"weights: {problem}")
    check.unique(counters, "number", (*path, "counter"), "counter")
    return {c["number"] for c in counters}


def _validate_devices(
    check: Checker,
    devices: list[dict[str, Any]],
    path: KeyPath,
    agency_codes: set[str],
    service_codes: set[str],
    counter_numbers: set[int],
) -> None:
    for d_index, device in enumerate(devices):
        d_path = (*path, "device", d_index)
        check.table(device, d_path, {"name": STR, "kind": STR}, {"token_hash": STR, "revoked": BOOL, "settings": dict})
        if device["kind"] not in set(DeviceKind):
            check.fail((*d_path, "kind"), f"kind must be one of {', '.join(DeviceKind)}")
        if "token_hash" in device and not re.fullmatch(r"[0-9a-f]{64}", device["token_hash"]):
            check.fail((*d_path, "token_hash"), "token_hash: expected 64 hexadecimal digits")
        settings = device.get("settings", {})
        for code in settings.get("agencies", []):
            if code not in agency_codes:
                check.fail((*d_path, "settings"), f"device {device['name']!r}: unknown agency {code!r}")
        for code in settings.get("services", []):
            if code not in service_codes:
                check.fail((*d_path, "settings"), f"device {device['name']!r}: unknown service {code!r}")
        if "counter" in settings and settings["counter"] not in counter_numbers:
            check.fail((*d_path, "settings"), f"device {device['name']!r}: unknown counter {settings['counter']}")
        try:  # the same checks as the administration's form; the printer by its syntax (the allowance at use)
            check_device_settings(device["kind"], settings, require_counter=False)
        except SettingProblem as problem:
            check.fail((*d_path, "settings"), f"device {device['name']!r}: {problem}")
    check.unique(devices, "name", (*path, "device"), "device")


def _validate_users(check: Checker, users: list[dict[str, Any]], site_codes: set[str]) -> None:
    for u_index, user in enumerate(users):
        u_path = ("user", u_index)
        check.table(
            user,
            u_path,
            {"username": STR, "role": STR},
            {"full_name": STR, "site": STR, "active": BOOL, "password_hash": STR},
        )
        check.text(user, u_path, "username", 64, True)
        if user["role"] not in set(Role):
            check.fail((*u_path, "role"), f"role must be one of {', '.join(Role)}")
        if "site" in user and user["site"] not in site_codes:
            check.fail((*u_path, "site"), f"unknown site {user['site']!r}")
    check.unique(users, "username", ("user",), "user")


# ---------------------------------------------------------------- import


def parse(text: str) -> dict[str, Any]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line = int(match.group(1)) if match else None
        column = f", column {match.group(2)}" if match else ""
        raise ConfigError(line, f"not valid TOML{column}: {reason}") from None
    validate(document, Lines(text))
    return document


def _upsert(session: Session, model: type, where: list[Any], values: dict[str, Any]) -> Any:
    item = session.exec(select(model).where(*where)).first()
    if item is None:
        item = model(**values)
    else:
        for key, value in values.items():
            setattr(item, key, value)
    session.add(item)
    session.flush()
    return item


def import_config(session: Session, text: str, now: datetime, username: str = "") -> dict[str, int]:
    """Validates `text`, then creates/updates everything in the caller's transaction; returns counts."""
    document = parse(text)
    _check_clerk_names(session, document, Lines(text))
    counts = {"sites": 0, "agencies": 0, "services": 0, "counters": 0, "devices": 0, "users": 0}
    site_ids: dict[str, int] = {}
    for site in document.get("site", []):
        site_ids[site["code"]] = _import_site(session, site)
        for key, items in (
            ("sites", [site]),
            ("agencies", site.get("agency", [])),
            ("services", site.get("service", [])),
            ("counters", site.get("counter", [])),
            ("devices", site.get("device", [])),
        ):
            counts[key] += len(items)
    for user in document.get("user", []):
        _import_user(session, user, site_ids)
        counts["users"] += 1
    session.add(
        AuditEntry(
            at=now,
            username=username,
            action="import",
            entity="config",
            summary="config import: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
            changes={},
        )
    )
    return counts


def _check_clerk_names(session: Session, document: dict[str, Any], lines: Lines) -> None:
    """Each site's `counter_clerks` names counters and staff the site has once the file is imported: its counters
    of the file or already in the database (an import adds and updates, never removes), and users of that site
    or province-level ones, of the file or already in the database (the file's users as the file places them).
    Raises ConfigError."""
    placed = {
        canonical_username(name): code
        for name, code in session.exec(select(User.username, Site.code).outerjoin(Site, col(Site.id) == User.site_id))
    }
    placed.update({canonical_username(user["username"]): user.get("site") for user in document.get("user", [])})
    stored_counters = list(session.exec(select(Counter.number, Site.code).join(Site, col(Site.id) == Counter.site_id)))
    check = Checker(lines)
    for index, site in enumerate(document.get("site", [])):
        settings = site.get("settings", {})
        if COUNTER_CLERKS in settings:
            staff = {name for name, code in placed.items() if code in (None, site["code"])}
            counters = {number for number, code in stored_counters if code == site["code"]}
            counters.update(counter["number"] for counter in site.get("counter", []))
            try:
                check_counter_clerks(settings[COUNTER_CLERKS], staff, counters)
            except SettingProblem as problem:
                check.fail(("site", index, "settings"), f"settings: {problem}")


def _import_site(session: Session, site: dict[str, Any]) -> int:
    """Creates or updates one site with its agencies, number ranges, services, counters and devices; its id."""
    row = _upsert(
        session,
        Site,
        [Site.code == site["code"]],
        {
            "code": site["code"],
            "name": site["name"],
            "kind": site.get("kind", "centre"),
            "address": site.get("address", ""),
            "settings": check_site_settings(site.get("settings", {})),  # as the administration stores them
        },
    )
    site_id = row.id
    agencies = {}
    for agency in site.get("agency", []):
        agencies[agency["code"]] = _upsert(
            session,
            Agency,
            [Agency.site_id == site_id, Agency.code == agency["code"]],
            {
                "site_id": site_id,
                "code": agency["code"],
                "name": agency["name"],
                "name_en": agency.get("name_en", ""),
                "floor": agency.get("floor", ""),
                "sort_order": agency.get("sort_order", 0),
                "active": agency.get("active", True),
            },
        ).id
    sequences = {}
    for sequence in site.get("sequence", []):
        sequences[sequence["code"]] = _upsert(
            session,
            NumberSequence,
            [NumberSequence.site_id == site_id, NumberSequence.code == sequence["code"]],
            {
                "site_id": site_id,
                "code": sequence["code"],
                "prefix": sequence.get("prefix", ""),
                "first_number": sequence.get("first", 1),
                "last_number": sequence.get("last", 999),
            },
        ).id
    services = {}
    for service in site.get("service", []):
        services[service["code"]] = _upsert(
            session,
            Service,
            [Service.site_id == site_id, Service.code == service["code"]],
            {
                "site_id": site_id,
                "agency_id": agencies[service["agency"]],
                "sequence_id": sequences[service["sequence"]],
                "code": service["code"],
                "name": service["name"],
                "name_en": service.get("name_en", ""),
                "daily_cap": service.get("daily_cap"),
                "opening_hours": service.get("opening_hours", {}),
                "target_wait_minutes": service.get("target_wait_minutes", 15),
                "target_service_minutes": service.get("target_service_minutes", 20),
                "default_service_minutes": float(service.get("default_service_minutes", 6.0)),
                "sort_order": service.get("sort_order", 0),
                "active": service.get("active", True),
            },
        ).id
    counters = {}
    for counter in site.get("counter", []):
        row = _upsert(
            session,
            Counter,
            [Counter.site_id == site_id, Counter.number == counter["number"]],
            {
                "site_id": site_id,
                "number": counter["number"],
                "name": counter.get("name", ""),
                "floor": counter.get("floor", ""),
            },
        )
        counters[counter["number"]] = row.id
        session.execute(delete(CounterService).where(col(CounterService.counter_id) == row.id))
        weights = counter.get("weights", {})
        for code in counter.get("services", []):
            session.add(CounterService(counter_id=row.id, service_id=services[code], weight=weights.get(code, 1)))
    _import_devices(session, site_id, site.get("device", []), agencies, services, counters)
    return site_id


def _import_devices(
    session: Session,
    site_id: int,
    devices: list[dict[str, Any]],
    agencies: dict[str, int],
    services: dict[str, int],
    counters: dict[int, int],
) -> None:
    """Devices by name; codes in their settings become ids; a new device without token_hash gets an unusable one."""
    for device in devices:
        settings = dict(device.get("settings", {}))
        if "agencies" in settings:
            settings["agency_ids"] = [agencies[c] for c in settings.pop("agencies")]
        if "services" in settings:
            settings["service_ids"] = [services[c] for c in settings.pop("services")]
        if "counter" in settings:
            settings["counter_id"] = counters[settings.pop("counter")]
        values = {
            "site_id": site_id,
            "name": device["name"],
            "kind": device["kind"],
            "revoked": device.get("revoked", False),
            "settings": settings,
        }
        if "token_hash" in device:
            values["token_hash"] = device["token_hash"]
        elif (
            session.exec(select(Device).where(Device.site_id == site_id, Device.name == device["name"])).first() is None
        ):
            import secrets

            values["token_hash"] = secrets.token_hex(32)  # unusable until an admin sets a new token
        _upsert(session, Device, [Device.site_id == site_id, Device.name == device["name"]], values)


def _import_user(session: Session, user: dict[str, Any], site_ids: dict[str, int]) -> None:
    """Creates or updates one user; a new one without password_hash cannot sign in until an admin sets one."""
    values = {
        "username": user["username"],
        "full_name": user.get("full_name", ""),
        "role": user["role"],
        "site_id": site_ids.get(user["site"]) if "site" in user else None,
        "active": user.get("active", True),
    }
    if "site" in user and user["site"] not in site_ids:
        values["site_id"] = session.exec(select(Site.id).where(Site.code == user["site"])).one()
    existing = session.exec(select(User).where(User.username == user["username"])).first()
    if "password_hash" in user:
        values["password_hash"] = user["password_hash"]
    elif existing is None:
        values["password_hash"] = "!"  # no password: an admin sets one
    if existing is not None and _ends_sessions(existing, values):
        revoke_user_tokens(session, existing.id or 0)
    _upsert(session, User, [User.username == user["username"]], values)


def _ends_sessions(existing: User, values: dict[str, Any]) -> bool:
    """Whether an imported user's new values sign them out everywhere (as in the admin form): another password,
    or an active account deactivated."""
    new_password = values.get("password_hash", existing.password_hash) != existing.password_hash
    return new_password or (existing.active and not values["active"])
