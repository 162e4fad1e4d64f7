"""The words of the domain, owned here once: ticket statuses, event kinds, roles, device kinds, counter
statuses, channels, rating scores and the priority classes with their Vietnamese and English labels.

Every other module (queue rules, API, kiosk, printer, console, statistics, exports, CLI) reads these; a
bare status or role string elsewhere is a bug. Values are `StrEnum`s, so they compare equal to the strings
stored in the database and serialise to JSON as those strings.

Sources: the ticket's life follows product.md ("The flows"); the priority classes are the groups Vietnamese
one-stop centres serve first (elderly, people with disabilities, pregnant women, people with small children,
people with merit to the revolution — người có công với cách mạng).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TicketStatus(StrEnum):
    """Where a ticket is in its life (see `server.domain.transitions` for the allowed steps)."""

    WAITING = "waiting"  # in its service's line
    CALLED = "called"  # called to a counter, the citizen walking there
    SERVING = "serving"  # the clerk started the service
    DONE = "done"  # finished
    NO_SHOW = "no_show"  # called and did not come
    HELD = "held"  # put aside (fetching a document), returns to the line later
    CANCELLED = "cancelled"  # never served (its day ended while it waited or was held)


#: A citizen at a counter: the ticket holds the counter.
AT_COUNTER: tuple[TicketStatus, ...] = (TicketStatus.CALLED, TicketStatus.SERVING)
#: Still to be served today: closed (cancelled) when the local day ends.
OPEN_STATUSES: tuple[TicketStatus, ...] = (TicketStatus.WAITING, TicketStatus.HELD)
#: Nothing more will happen to the ticket.
FINAL_STATUSES: tuple[TicketStatus, ...] = (TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)


class EventKind(StrEnum):
    """Kinds of entries in the append-only ticket event log (`ticketevent.kind`)."""

    ISSUED = "issued"
    CALLED = "called"
    RECALLED = "recalled"
    STARTED = "started"
    FINISHED = "finished"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    HELD = "held"
    RETURNED = "returned"
    RATED = "rated"
    CANCELLED = "cancelled"


#: The events that call a citizen to a counter (what a board announces).
CALL_KINDS: tuple[EventKind, ...] = (EventKind.CALLED, EventKind.RECALLED)


class CounterEventKind(StrEnum):
    """Kinds of entries in the counter-session log (`counterevent.kind`)."""

    OPENED = "opened"
    PAUSED = "paused"
    RESUMED = "resumed"
    CLOSED = "closed"
    TAKEN_OVER = "taken_over"


class CounterStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class Role(StrEnum):
    """Staff roles: a clerk serves at a counter; a manager reads statistics; an admin also configures."""

    CLERK = "clerk"
    MANAGER = "manager"
    ADMIN = "admin"


#: Every staff role (who may use the console and the live dashboard).
STAFF_ROLES: tuple[Role, ...] = (Role.CLERK, Role.MANAGER, Role.ADMIN)
#: Who may read history, downloads and exports.
MANAGER_ROLES: tuple[Role, ...] = (Role.MANAGER, Role.ADMIN)


class DeviceKind(StrEnum):
    """Registered devices, each with its own token."""

    KIOSK = "kiosk"
    BOARD = "board"
    COUNTER_DISPLAY = "counter_display"
    RATING = "rating"


class Channel(StrEnum):
    """How a ticket was issued."""

    KIOSK = "kiosk"
    STAFF = "staff"
    APPOINTMENT = "appointment"
    API = "api"
    ONLINE = "online"  # a number for today taken from a phone (issue 18); same standing as a kiosk number


class RatingScore(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    UNSATISFIED = "unsatisfied"


#: The scale a site shows unless it sets its own (Rất hài lòng / Hài lòng / Không hài lòng).
DEFAULT_RATING_SCALE: tuple[RatingScore, ...] = (
    RatingScore.VERY_SATISFIED,
    RatingScore.SATISFIED,
    RatingScore.UNSATISFIED,
)


#: Where a rating came from. Only the citizen's own sources count in any statistic.
class RatingSource(StrEnum):
    TABLET = "tablet"  # the rating tablet of the counter that served the ticket
    PHONE = "phone"  # the tracking page opened from the ticket's QR code
    STAFF = "staff"  # old databases only: staff may no longer rate


CITIZEN_SOURCES: tuple[str, ...] = (RatingSource.TABLET, RatingSource.PHONE)
#: Reasons offered after a negative score unless the site sets its own (`rating_reasons`).
DEFAULT_RATING_REASONS: tuple[str, ...] = (
    "Chờ lâu",
    "Thái độ cán bộ",
    "Hướng dẫn chưa rõ",
    "Hồ sơ phải bổ sung nhiều lần",
    "Cơ sở vật chất",
)
#: Scores after which the reasons are offered unless the site sets its own (`rating_reason_scores`).
DEFAULT_REASON_SCORES: tuple[str, ...] = (RatingScore.UNSATISFIED,)
#: Scores the managers' live page lists as they arrive (not satisfied).
NEGATIVE_SCORES: tuple[str, ...] = (RatingScore.UNSATISFIED, RatingScore.NEUTRAL)
#: Scores that count as satisfied in the satisfaction figure.
SATISFIED_SCORES: tuple[RatingScore, ...] = (RatingScore.VERY_SATISFIED, RatingScore.SATISFIED)


@dataclass(frozen=True)
class Label:
    """A word shown to people, in both languages."""

    vi: str
    en: str

    def __call__(self, language: str) -> str:
        return self.en if language == "en" else self.vi

    def __str__(self) -> str:
        return self.en


@dataclass(frozen=True)
class PriorityClass:
    code: str
    label: Label


PRIORITY_CLASSES: tuple[PriorityClass, ...] = (
    PriorityClass("elderly", Label("Người cao tuổi", "Elderly person")),
    PriorityClass("disabled", Label("Người khuyết tật", "Person with a disability")),
    PriorityClass("pregnant", Label("Phụ nữ mang thai", "Pregnant woman")),
    PriorityClass("child", Label("Người có con nhỏ", "Person with a small child")),
    PriorityClass("merit", Label("Người có công với cách mạng", "Person with merit to the revolution")),
)
PRIORITY_CODES: tuple[str, ...] = tuple(p.code for p in PRIORITY_CLASSES)
#: The label of a ticket without a priority class (code "").
ORDINARY = Label("Thông thường", "Ordinary")

SCORE_LABELS: dict[RatingScore, Label] = {
    RatingScore.VERY_SATISFIED: Label("Rất hài lòng", "Very satisfied"),
    RatingScore.SATISFIED: Label("Hài lòng", "Satisfied"),
    RatingScore.NEUTRAL: Label("Bình thường", "Neutral"),
    RatingScore.UNSATISFIED: Label("Không hài lòng", "Unsatisfied"),
}

CHANNEL_LABELS: dict[Channel, Label] = {
    Channel.KIOSK: Label("Kiosk", "Kiosk"),
    Channel.STAFF: Label("Cán bộ cấp số", "Staff"),
    Channel.APPOINTMENT: Label("Lịch hẹn", "Appointment"),
    Channel.API: Label("API", "API"),
    Channel.ONLINE: Label("Lấy số trực tuyến", "Online"),
}


def priority_label(code: str, language: str = "vi") -> str:
    """The label of a priority class ("" = ordinary) in `language`; an unknown code is shown as it is."""
    if not code:
        return ORDINARY(language)
    for priority in PRIORITY_CLASSES:
        if priority.code == code:
            return priority.label(language)
    return code


def vocabulary_labels() -> tuple[Label, ...]:
    """Every label above: the translation layer serves their English text as msgids (server.i18n)."""
    return (ORDINARY, *(p.label for p in PRIORITY_CLASSES), *SCORE_LABELS.values(), *CHANNEL_LABELS.values())
