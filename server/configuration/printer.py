"""Whether a kiosk's `printer` setting names a printer the server can use, and why not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.domain.vocabulary import Label
from server.printing.backends import PrinterError, open_printer

EXAMPLE = "network:10.0.0.21:9100"


def is_agent(spec: str) -> bool:
    """`agent` or `agent:<note>`: the kiosk PC's own printer, driven by `luot kiosk-agent`."""
    return spec == "agent" or spec.startswith("agent:")


def syntax_check(spec: str) -> None:
    """Raises PrinterError("invalid_spec") for a spec `open_printer` cannot read (nothing is opened)."""
    if spec and not is_agent(spec):
        open_printer(spec)


def printer_problem(spec: str, check: Callable[[str], Any] | None = None) -> Label | None:
    """None when `spec` is usable ("" = no printer, "agent" = the kiosk PC's own printer); else the reason in
    both languages. `check` raises PrinterError for a spec the server may not use (the operator's allowance
    when there is one; by default only the syntax)."""
    spec = spec.strip()
    if not spec or is_agent(spec):
        return None
    if "://" in spec:
        return Label(
            f"“{spec}” không phải cách ghi máy in: máy in mạng ghi là network:ĐỊA_CHỈ[:CỔNG], ví dụ {EXAMPLE}.",
            f"“{spec}” is not a printer setting: a network printer is written network:HOST[:PORT], e.g. {EXAMPLE}.",
        )
    try:
        (check or syntax_check)(spec)
    except PrinterError as exc:
        return Label(exc.message_vi, exc.message_en)
    return None
