"""Figures written the reader's way (Babel): Vietnamese 1.234 · 1,8 · 95,5%; English 1,234 · 1.8 · 95.5%.

The same everywhere a person reads a figure: the history page, the charts, the PDF report and the
`;`-separated CSV (Excel with Vietnamese regional settings). The live page writes them alike in the browser
(dashboard/js/_format.js, Intl with vi-VN).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import format_decimal, format_percent

LOCALES = {"vi": "vi", "en": "en_GB"}


def _locale(language: str) -> str:
    return LOCALES.get(language, "vi")


def count(value: float | None, language: str = "vi") -> str:
    """A whole number with thousands separators ("1.234"); "–" for none."""
    return "–" if value is None else format_decimal(round(value), "#,##0", locale=_locale(language))


def decimal(value: float | None, language: str = "vi", places: int = 1) -> str:
    """A number with `places` decimals ("1,8"); "–" for none."""
    if value is None:
        return "–"
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, pattern, locale=_locale(language))


def share_to_tenth(share: float) -> Decimal:
    """A share 0…1 as the exact decimal of its percentage's tenth, rounded half up (0.9565 → Decimal("0.957")).

    The figures' shares are rounded so already (server.stats.rows._share: once, half up, on the integers): for
    them this only turns the float into its decimal, so Babel (half even) and `%.1f` (half even on the binary
    value) have no tie left to decide. A share from elsewhere is rounded the same way here."""
    return Decimal(repr(float(share))).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def percent(share: float | None, language: str = "vi") -> str:
    """A share 0…1 as a percentage with one decimal, half up ("95,7%" for 0.957); "–" for none."""
    return "–" if share is None else format_percent(share_to_tenth(share), "#,##0.0%", locale=_locale(language))


def figure(value: Any, kind: str, language: str = "vi") -> str:
    """A history figure by its kind: int (count), min (minutes, one decimal), share (percentage)."""
    if kind == "share":
        return percent(value, language)
    if kind == "min":
        return decimal(value, language)
    return count(value, language)


def tick(value: float, language: str = "vi") -> str:
    """An axis label: whole numbers without decimals, others with one."""
    return count(value, language) if float(value).is_integer() else decimal(value, language)
