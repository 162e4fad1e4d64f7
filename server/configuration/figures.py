"""The bounds of the setup's numbers: what the administration's forms and `luot config import` accept.

Every number an administrator types for an agency, a number range, a service or a counter is checked here, by
the same bounds wherever it comes from, so nothing infinite, "not a number" or absurdly large reaches the
database (a service's typical minutes of `inf` or 1e308 once broke every estimate of its counters):

    agency / service  sort_order                 whole, -9999 … 9999
    number range      first_number, last_number  whole, 0 … 999999
    service           daily_cap                  whole, 0 … 100000 (empty: no cap)
                      target_wait_minutes        whole, 1 … 480
                      target_service_minutes     whole, 1 … 480
                      default_service_minutes    a number, 0.1 … 480 (typical service)
                      slot_minutes               whole, 5 … 1440
                      slot_capacity              whole, 1 … 1440
                      booking_days_ahead         whole, 0 … 365
                      booking_cutoff_minutes     whole, 0 … 1440
    counter           number                     whole, 1 … 999
                      weight (of a service)      whole, 1 … 100

`Bounds.check` raises SettingProblem (an English msgid with its parameters) for a value out of its bounds; a
bound with a fraction is said the reader's way (0,1 in Vietnamese, 0.1 in English).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from server.configuration.fields import SettingProblem
from server.domain.errors import N_
from server.domain.vocabulary import Label

_WHOLE_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")  # 6.5 or, the Vietnamese way, 6,5
MAX_DIGITS = 15  # a typed number with more digits before its point is beyond every bound below


def _said(bound: int | float) -> int | Label:
    """A bound as a refusal says it: a whole number as is, a fraction with the decimal comma in Vietnamese."""
    if bound == int(bound):
        return int(bound)
    return Label(str(bound).replace(".", ","), str(bound))


@dataclass(frozen=True)
class Bounds:
    """A number's allowed values: `minimum` … `maximum`, whole numbers only unless `whole` is False (then a
    bound may have a fraction: a typical service of at least 0.1 minute)."""

    minimum: int | float
    maximum: int | float
    whole: bool = True

    def check(self, name: str, value: object) -> int | float:
        """`value` (a number) when it is finite and within bounds. Raises SettingProblem(name, reason)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingProblem(name, N_("Must be a whole number.") if self.whole else N_("Must be a number."))
        if isinstance(value, float) and math.isnan(value):
            raise SettingProblem(name, N_("Must be a number."))
        if value < self.minimum:
            raise SettingProblem(name, N_("Must be at least {minimum}."), minimum=_said(self.minimum))
        if value > self.maximum:  # infinity too
            raise SettingProblem(name, N_("Must be at most {maximum}."), maximum=_said(self.maximum))
        if self.whole and value != int(value):
            raise SettingProblem(name, N_("Must be a whole number."))
        return int(value) if self.whole else float(value)

    def parse(self, name: str, text: str) -> int | float:
        """A form's text (digits, and for a number one decimal point or comma) as a checked number. Raises
        SettingProblem; text such as "inf", "nan", "1e308" or "1_000" is not a number here."""
        if not (_WHOLE_TEXT if self.whole else _NUMBER_TEXT).fullmatch(text):
            raise SettingProblem(name, N_("Must be a whole number.") if self.whole else N_("Must be a number."))
        if len(text.lstrip("+-0").split(".")[0].split(",")[0]) > MAX_DIGITS:  # past any bound, and past int()'s
            return self.check(name, -math.inf if text.startswith("-") else math.inf)
        return self.check(name, int(text) if self.whole else float(text.replace(",", ".")))


SORT_ORDER = Bounds(-9999, 9999)
TICKET_NUMBER = Bounds(0, 999_999)
COUNTER_NUMBER = Bounds(1, 999)
COUNTER_WEIGHT = Bounds(1, 100)

#: A service's own numbers, by field name (the administration's form and the config file use the same names).
SERVICE: dict[str, Bounds] = {
    "sort_order": SORT_ORDER,
    "daily_cap": Bounds(0, 100_000),
    "target_wait_minutes": Bounds(1, 480),
    "target_service_minutes": Bounds(1, 480),
    "default_service_minutes": Bounds(0.1, 480, whole=False),  # 1e-7 minutes made every estimate nil
    "slot_minutes": Bounds(5, 1440),
    "slot_capacity": Bounds(1, 1440),
    "booking_days_ahead": Bounds(0, 365),
    "booking_cutoff_minutes": Bounds(0, 1440),
}
