"""The settings of each kind of device, as `Device.settings` stores them and the surfaces read them.

kiosk: printer, layout, agency_ids, language, return_seconds, idle_seconds, appointments (kiosk/routes.py,
server/printing/jobs.py); board: agency_ids, layout, rows, orientation, language, notice, title
(display/routes.py); counter display and rating tablet: counter_id, language. A setting left empty is not
stored (the surface uses its default). Keys no form knows are kept as they are (a newer surface's settings).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.configuration.fields import Setting, SettingProblem, check_plain, check_value
from server.domain.errors import N_
from server.domain.vocabulary import DeviceKind

LANGUAGE = Setting(
    "language",
    N_("Language"),
    N_("The language the screen starts in (citizens can switch on the kiosk)."),
    "choice",
    (("", N_("Server default")), ("vi", N_("Vietnamese")), ("en", N_("English"))),
)
AGENCIES = Setting(
    "agency_ids", N_("Agencies shown"), N_("Only these agencies; none ticked = every agency of the site."), "agencies"
)
COUNTER = Setting("counter_id", N_("Counter"), N_("The counter this screen belongs to."), "counter")

KIOSK = (
    Setting(
        "printer",
        N_("Printer"),
        N_(
            "Empty = no printer. network:HOST[:PORT] (port 9100 by default, e.g. network:10.0.0.21:9100), "
            "usb:VID:PID (e.g. usb:04b8:0202), serial:DEVICE[:BAUD], file:PATH, pdf:DIR, dummy, or agent "
            "(a printer on the kiosk PC, driven by luot kiosk-agent)."
        ),
        "printer",
    ),
    Setting(
        "layout",
        N_("Ticket layout"),
        N_("The paper the printer takes."),
        "choice",
        (
            ("", N_("80 mm roll (default)")),
            ("ticket_80mm", N_("80 mm roll")),
            ("ticket_58mm", N_("58 mm roll")),
            ("ticket_pdf", N_("PDF (A6)")),
        ),
    ),
    AGENCIES,
    LANGUAGE,
    Setting(
        "return_seconds",
        N_("Back to the start after (s)"),
        N_("Seconds the ticket stays on screen."),
        "int",
        minimum=3,
        maximum=600,
    ),
    Setting(
        "idle_seconds",
        N_("Idle after (s)"),
        N_("Seconds without a touch before a half-finished choice is dropped."),
        "int",
        minimum=10,
        maximum=3600,
    ),
    Setting(
        "appointments",
        N_("Appointment check-in"),
        N_("Show the “I have an appointment” button."),
        "bool",
        default=True,
    ),
)
BOARD = (
    AGENCIES,
    Setting(
        "layout",
        N_("Layout"),
        N_("Today's calls as a list, or every counter with its current number."),
        "choice",
        (("", N_("Default")), ("calls", N_("Call list")), ("counters", N_("Counter grid"))),
    ),
    Setting(
        "orientation",
        N_("Orientation"),
        N_("How the TV hangs; automatic follows the screen's shape."),
        "choice",
        (("", N_("Automatic")), ("landscape", N_("Landscape")), ("portrait", N_("Portrait"))),
    ),
    Setting("rows", N_("Earlier calls listed"), N_("1 to 12."), "int", minimum=1, maximum=12),
    LANGUAGE,
    Setting("title", N_("Title"), N_("Shown at the top; empty = the site's name."), max_length=100),
    Setting("notice", N_("Notice"), N_("Scrolling text at the bottom; empty = none."), max_length=500),
)
DISPLAY = (COUNTER, LANGUAGE)
SETTINGS: dict[str, tuple[Setting, ...]] = {
    DeviceKind.KIOSK: KIOSK,
    DeviceKind.BOARD: BOARD,
    DeviceKind.COUNTER_DISPLAY: DISPLAY,
    DeviceKind.RATING: DISPLAY,
}
NEEDS_COUNTER = (DeviceKind.COUNTER_DISPLAY, DeviceKind.RATING)
ALL_NAMES = frozenset(s.name for group in SETTINGS.values() for s in group)


def settings_for(kind: str) -> tuple[Setting, ...]:
    return SETTINGS.get(kind, ())


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def check_device_settings(
    kind: str,
    settings: dict[str, Any],
    printer_check: Callable[[str], Any] | None = None,
    *,
    require_counter: bool = True,
) -> dict[str, Any]:
    """The settings as stored: each known setting of the kind checked (SettingProblem with the reason for the
    first bad one), empty ones dropped, other kinds' settings dropped, unknown keys kept. A counter display or
    rating tablet must name its counter (unless `require_counter` is False: the caller checks it)."""
    if not isinstance(settings, dict):
        raise SettingProblem("settings", N_("Expected a JSON object."))
    own = {s.name: s for s in settings_for(kind)}
    result: dict[str, Any] = {}
    for key, value in settings.items():
        if key in own:
            if not is_empty(value):
                result[key] = check_value(own[key], value, printer_check)
        elif key not in ALL_NAMES:
            check_plain(key, value)
            result[key] = value
    if require_counter and kind in NEEDS_COUNTER and "counter_id" not in result:
        raise SettingProblem("counter_id", N_("Choose the counter this screen belongs to."))
    return result
