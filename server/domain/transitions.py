"""The ticket's life, written once: which action may move a ticket from which status, and to which.

    waiting ──call──▶ called ──start──▶ serving ──finish──▶ done ──rate──▶ done
       ▲  ▲             │ ▲ recall        │
       │  │             ├─┘               │
       │  └─transfer────┼─────────────────┤   (back in a line, keeping its original time)
       │                ├──hold───────────┴──▶ held ──return──▶ waiting
       │                └──no-show──▶ no_show
       └─(waiting, held) ──cancel (the local day ended)──▶ cancelled

Pure: no database, no framework. The use cases in `server.domain.queueing` ask `advance()` before they change
a ticket, so a refused step is always the same `InvalidTransition` whichever use case it came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.domain.errors import InvalidTransition
from server.domain.vocabulary import EventKind, Label, TicketStatus

S = TicketStatus


class Action(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    TRANSFER = "transfer"
    HOLD = "hold"
    RETURN = "return"
    RATE = "rate"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Step:
    """An action allowed from `sources`, leading to `target`, logged as `event`; `label` names the action in a
    refusal ("Không thể gọi lại số 1023 lúc này")."""

    sources: frozenset[TicketStatus]
    target: TicketStatus
    event: EventKind
    label: Label


TRANSITIONS: dict[Action, Step] = {
    Action.CALL: Step(frozenset({S.WAITING}), S.CALLED, EventKind.CALLED, Label("gọi", "called")),
    Action.RECALL: Step(frozenset({S.CALLED}), S.CALLED, EventKind.RECALLED, Label("gọi lại", "recalled")),
    Action.START: Step(frozenset({S.CALLED}), S.SERVING, EventKind.STARTED, Label("bắt đầu phục vụ", "started")),
    Action.FINISH: Step(frozenset({S.CALLED, S.SERVING}), S.DONE, EventKind.FINISHED, Label("kết thúc", "finished")),
    Action.NO_SHOW: Step(
        frozenset({S.CALLED}), S.NO_SHOW, EventKind.NO_SHOW, Label("ghi vắng mặt", "marked as no-show")
    ),
    Action.TRANSFER: Step(
        frozenset({S.CALLED, S.SERVING}), S.WAITING, EventKind.TRANSFERRED, Label("chuyển", "transferred")
    ),
    Action.HOLD: Step(frozenset({S.CALLED, S.SERVING}), S.HELD, EventKind.HELD, Label("tạm giữ", "put on hold")),
    Action.RETURN: Step(frozenset({S.HELD}), S.WAITING, EventKind.RETURNED, Label("đưa trở lại hàng chờ", "returned")),
    Action.RATE: Step(frozenset({S.DONE}), S.DONE, EventKind.RATED, Label("đánh giá", "rated")),
    Action.CANCEL: Step(frozenset({S.WAITING, S.HELD}), S.CANCELLED, EventKind.CANCELLED, Label("huỷ", "cancelled")),
}


def allowed(action: Action, status: str) -> bool:
    """Whether `action` may be taken on a ticket in `status`."""
    return status in TRANSITIONS[action].sources


def advance(action: Action, status: str, number: str = "") -> TicketStatus:
    """The status a ticket in `status` moves to by `action`.

    Raises InvalidTransition (409, naming the ticket `number` and the action in both languages) when the
    action is not allowed from `status`.
    """
    step = TRANSITIONS[action]
    if status not in step.sources:
        raise InvalidTransition(number=number, action=step.label)
    return step.target
