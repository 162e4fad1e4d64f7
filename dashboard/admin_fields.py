"""The administration's structured fields: weekly opening hours, a site's rules and report words, a device's
settings. Each reads its inputs from the posted form without judging them (`read_*`, so a refused form shows
again as typed) and checks them (`check_*`, raising SettingProblem or HoursError with the reason).

Input names: hours ``hours-<day>-<n>-from|to`` (day 0 = Monday, n = 0…2) and ``hours-always``; site rules
``rule-<name>``, report words ``report-<name>``; device settings ``dev-<kind>-<name>``; keys no form knows
travel in the JSON textarea ``<field>-other``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from server.configuration.device_settings import ALL_NAMES, check_device_settings, settings_for
from server.configuration.fields import Setting, SettingProblem
from server.configuration.site_settings import REPORT, check_site_settings, rule_settings
from server.domain.errors import N_
from server.domain.hours import HoursError, from_weekly_table, validate_opening_hours, weekly_table
from server.domain.vocabulary import Label
from server.i18n import translate

PERIODS_PER_DAY = 3
FORM_ONLY = ("agencies", "counter")  # device settings with a field of their own (choices from the database)


# ---------------------------------------------------------------- opening hours


def read_hours(form: MultiDict, name: str) -> dict[str, Any]:
    """{"always": bool, "week": seven lists of [from, to] as typed (blanks kept out)}."""
    week = []
    for day in range(7):
        periods = []
        for n in range(PERIODS_PER_DAY):
            start = form.get(f"{name}-{day}-{n}-from", "").strip()
            end = form.get(f"{name}-{day}-{n}-to", "").strip()
            if start or end:
                periods.append([start, end])
        week.append(periods)
    return {"always": f"{name}-always" in form, "week": week}


def check_hours(value: dict[str, Any]) -> dict[str, Any]:
    """The stored opening hours ({} = always open). Raises HoursError."""
    if value["always"]:
        return {}
    for periods in value["week"]:
        for start, end in periods:
            if not start or not end:
                raise HoursError(N_("A period needs a start and an end."))
    if not any(value["week"]):
        raise HoursError(N_("Enter at least one period, or tick “Always open”."))
    hours = from_weekly_table(value["week"])
    validate_opening_hours(hours)
    return hours


def hours_form_value(hours: dict[str, Any] | None) -> dict[str, Any]:
    """Stored hours → what the form shows."""
    if not hours:
        return {"always": True, "week": [[] for _ in range(7)]}
    return {"always": False, "week": [[list(p) for p in day] for day in weekly_table(hours)]}


# ---------------------------------------------------------------- site settings


def _read_setting(form: MultiDict, key: str, setting: Setting) -> Any:
    """One setting's raw value from its inputs (a list for multiple choices and dates, a bool for ticks)."""
    if setting.kind == "bool":
        return key in form
    if setting.kind == "scores":
        return form.getlist(key)
    if setting.kind == "dates":
        return [line.strip() for line in re.split(r"[\n,;]+", form.get(key, "")) if line.strip()]
    if setting.kind == "lines":
        return [line.strip() for line in form.get(key, "").splitlines() if line.strip()]
    return form.get(key, "").strip()


def _typed(setting: Setting, raw: Any) -> Any:
    """A form's text as the setting's type (text that is not a number stays text: the check says why)."""
    if setting.kind == "int" and isinstance(raw, str) and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if setting.kind == "dates":
        return [_iso_date(text) for text in raw]
    return raw


def _iso_date(text: str) -> str:
    """30/04/2026 (the Vietnamese way) or 2026-04-30 → 2026-04-30; anything else unchanged."""
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if match:
        try:
            return date(int(match[3]), int(match[2]), int(match[1])).isoformat()
        except ValueError:
            return text
    return text


def _other(form: MultiDict, key: str) -> dict[str, Any]:
    raw = form.get(key, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise SettingProblem("other", N_("Other settings: not valid JSON ({detail})."), detail=str(exc)) from exc
    if not isinstance(value, dict):
        raise SettingProblem("other", N_("Expected a JSON object."))
    return value


def read_site_settings(form: MultiDict, name: str) -> dict[str, Any]:
    """{"values": settings as typed (rules left empty are left out), "other": the JSON text of other keys}."""
    values: dict[str, Any] = {}
    for setting, _default in rule_settings():
        raw = _read_setting(form, f"rule-{setting.name}", setting)
        if raw != "":
            values[setting.name] = _typed(setting, raw)
    for setting in REPORT.values():
        values[setting.name] = form.get(f"report-{setting.name}", "").strip()
    return {"values": values, "other": form.get(f"{name}-other", "")}


def check_site_form(value: dict[str, Any]) -> dict[str, Any]:
    """The stored site settings. Raises SettingProblem."""
    known = {s.name for s, _d in rule_settings()} | set(REPORT)
    other = _other(MultiDict({"o": value["other"]}), "o")
    clash = sorted(set(other) & known)
    if clash:
        raise SettingProblem("other", N_("Other settings: {names} have their own field."), names=", ".join(clash))
    try:
        return check_site_settings({**other, **value["values"]})
    except SettingProblem as problem:
        raise in_other_box(problem, other) from problem


def in_other_box(problem: SettingProblem, other: dict[str, Any]) -> SettingProblem:
    """A refusal of a key typed in the box of other settings, shown at that box and naming the key
    ("Other settings, counter_clerks: …"); a refusal of a field of its own is returned unchanged."""
    key = problem.field.split(".")[0]
    if key not in other:
        return problem
    reason = Label(*(translate(problem.text, language, **problem.params) for language in ("vi", "en")))
    return SettingProblem("other", N_("Other settings, {name}: {reason}"), name=problem.field, reason=reason)


def site_form_value(settings: dict[str, Any] | None) -> dict[str, Any]:
    settings = dict(settings or {})
    known = {s.name for s, _d in rule_settings()} | set(REPORT)
    values = {}
    for setting, default in rule_settings():
        values[setting.name] = settings.get(setting.name, default)
    for name in REPORT:
        values[name] = settings.get(name, "")
    other = {k: v for k, v in settings.items() if k not in known}
    return {"values": values, "other": json.dumps(other, ensure_ascii=False, indent=1) if other else ""}


# ---------------------------------------------------------------- device settings


def read_device_settings(form: MultiDict, name: str, kind: str) -> dict[str, Any]:
    """{"values": the chosen kind's settings as typed, "other": the JSON text of other keys}."""
    values: dict[str, Any] = {}
    for setting in settings_for(kind):
        if setting.kind in FORM_ONLY:
            continue
        raw = _read_setting(form, f"dev-{kind}-{setting.name}", setting)
        values[setting.name] = _typed(setting, raw)
    return {"values": values, "other": form.get(f"{name}-other", "")}


def check_device_form(kind: str, value: dict[str, Any], printer_check: Callable[[str], Any] | None) -> dict[str, Any]:
    """The stored settings (without agency_ids and counter_id, which have fields of their own)."""
    other = _other(MultiDict({"o": value["other"]}), "o")
    clash = sorted(set(other) & ALL_NAMES)
    if clash:
        raise SettingProblem("other", N_("Other settings: {names} have their own field."), names=", ".join(clash))
    try:
        return check_device_settings(kind, {**other, **value["values"]}, printer_check, require_counter=False)
    except SettingProblem as problem:
        raise in_other_box(problem, other) from problem


def device_form_value(settings: dict[str, Any] | None) -> dict[str, Any]:
    settings = {k: v for k, v in (settings or {}).items() if k not in ("agency_ids", "counter_id")}
    other = {k: v for k, v in settings.items() if k not in ALL_NAMES}
    return {
        "values": {k: v for k, v in settings.items() if k in ALL_NAMES},
        "other": json.dumps(other, ensure_ascii=False, indent=1) if other else "",
    }
