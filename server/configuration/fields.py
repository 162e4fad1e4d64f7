"""A setting's description (label, meaning, kind, bounds) and the refusal of a value, with its reason."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.domain.errors import N_
from server.domain.vocabulary import Label


class SettingProblem(ValueError):
    """A setting that cannot be saved: `field` names it, `text` (an English msgid with {params}) says why."""

    def __init__(self, field: str, text: str, **params: Any) -> None:
        self.field = field
        self.text = text
        self.params = params
        english = {k: (v.en if isinstance(v, Label) else v) for k, v in params.items()}
        super().__init__(f"{field}: {text.format(**english) if params else text}")


@dataclass(frozen=True)
class Setting:
    """One setting as a form shows it.

    kind: int | bool | text | choice | scores (a subset of `choices`) | dates (ISO dates) | lines (texts, one a
    line in the form) | printer | agencies
    (agency ids of the site) | counter (a counter id of the site). `choices`: (value, label msgid) pairs.
    """

    name: str
    label: str
    meaning: str = ""
    kind: str = "text"
    choices: tuple[tuple[str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 500
    default: Any = None


def check_value(setting: Setting, value: Any, printer_check: Callable[[str], Any] | None = None) -> Any:
    """`value` as the setting stores it. Raises SettingProblem with the reason. `printer_check(spec)` raises
    PrinterError for a printer the server may not use (default: server.configuration.printer.syntax_check)."""
    if setting.kind == "printer":
        return _check_printer(setting, value, printer_check)
    checker = _CHECKS.get(setting.kind, _check_text)
    return checker(setting, value)


def check_plain(key: str, value: Any) -> None:
    """A setting no form describes (kept as it is) holds plain JSON: no infinite or "not a number" value at any
    depth (JSON has none; Python's json and TOML let them in). Raises SettingProblem(key, reason)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SettingProblem(key, N_("Must be a number."))
    if isinstance(value, dict):
        for item in value.values():
            check_plain(key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_plain(key, item)


def _check_int(setting: Setting, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SettingProblem(setting.name, N_("Must be a whole number."))
    try:
        number = int(value)
    except ValueError as exc:
        raise SettingProblem(setting.name, N_("Must be a whole number.")) from exc
    if setting.minimum is not None and number < setting.minimum:
        raise SettingProblem(setting.name, N_("Must be at least {minimum}."), minimum=setting.minimum)
    if setting.maximum is not None and number > setting.maximum:
        raise SettingProblem(setting.name, N_("Must be at most {maximum}."), maximum=setting.maximum)
    return number


def _check_bool(setting: Setting, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingProblem(setting.name, N_("Must be true or false."))
    return value


def _check_text(setting: Setting, value: Any) -> str:
    if not isinstance(value, str):
        raise SettingProblem(setting.name, N_("Must be text."))
    if len(value) > setting.max_length:
        raise SettingProblem(setting.name, N_("At most {count} characters."), count=setting.max_length)
    return value


def _check_choice(setting: Setting, value: Any) -> str:
    allowed = [v for v, _label in setting.choices]
    if value not in allowed:
        raise SettingProblem(
            setting.name,
            N_("{value} is not one of: {allowed}."),
            value=repr(value),
            allowed=", ".join(v or '""' for v in allowed),
        )
    return str(value)


def _check_scores(setting: Setting, value: Any) -> list[str]:
    allowed = [v for v, _label in setting.choices]
    if not isinstance(value, list | tuple) or not value:
        raise SettingProblem(setting.name, N_("Choose at least one."))
    for item in value:
        if item not in allowed:
            raise SettingProblem(
                setting.name, N_("{value} is not one of: {allowed}."), value=repr(item), allowed=", ".join(allowed)
            )
    return [v for v in allowed if v in value]


def _check_dates(setting: Setting, value: Any) -> list[str]:
    from datetime import date

    from server.calendar_bounds import FIRST_DAY, LAST_DAY, in_calendar

    if not isinstance(value, list | tuple):
        raise SettingProblem(setting.name, N_("Must be a list of dates."))
    days = set()
    for item in value:
        try:
            day = date.fromisoformat(str(item))
        except ValueError as exc:
            raise SettingProblem(setting.name, N_("{date} is not a date (YYYY-MM-DD)."), date=item) from exc
        if not in_calendar(day):
            raise SettingProblem(
                setting.name,
                N_("{date} is outside the dates accepted ({first} to {last})."),
                date=item,
                first=FIRST_DAY.isoformat(),
                last=LAST_DAY.isoformat(),
            )
        days.add(day.isoformat())
    return sorted(days)


def _check_lines(setting: Setting, value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SettingProblem(setting.name, N_("Must be a list of texts."))
    texts = [v.strip() for v in value if v.strip()]
    for text in texts:
        if len(text) > setting.max_length:
            raise SettingProblem(setting.name, N_("At most {count} characters."), count=setting.max_length)
    return list(dict.fromkeys(texts))


def _check_ids(setting: Setting, value: Any) -> list[int]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise SettingProblem(setting.name, N_("Must be a list of ids."))
    return sorted(set(value))


def _check_id(setting: Setting, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise SettingProblem(setting.name, N_("Must be an id."))
    return value


def _check_printer(setting: Setting, value: Any, printer_check: Callable[[str], Any] | None) -> str:
    from server.configuration.printer import printer_problem

    text = _check_text(setting, value).strip()
    reason = printer_problem(text, printer_check)
    if reason is not None:
        raise SettingProblem(setting.name, N_("{reason}"), reason=reason)
    return text


_CHECKS = {
    "int": _check_int,
    "bool": _check_bool,
    "text": _check_text,
    "choice": _check_choice,
    "scores": _check_scores,
    "dates": _check_dates,
    "lines": _check_lines,
    "agencies": _check_ids,
    "counter": _check_id,
}
