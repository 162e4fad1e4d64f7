"""The clerk's actions on a counter: open, call next, recall, start, finish, no-show, transfer, hold, pause.

The actions on the citizen at the counter (next, recall, start, finish, dossiers, no-show, transfer, hold) take an
optional `ticket_id` in their body: the ticket the console shows (null: nobody). When it is given and another
ticket is at the counter, the action is refused with 409 `ticket_changed`, changing nothing; without it they act
on whoever is at the counter (API clients of before)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from server.api import api
from server.api.support import parse_body, require
from server.auth import Forbidden
from server.context import luot
from server.domain import errors, queueing
from server.domain.dossiers import dossier_codes
from server.domain.events import CounterChanged, TicketFinished
from server.domain.line import SiteLine
from server.domain.vocabulary import STAFF_ROLES
from server.i18n import both
from server.payloads import counter_dict, entry_dict, public_ticket


class OpenRequest(BaseModel):
    takeover: bool = False


class AtCounterRequest(BaseModel):
    """`{ticket_id?: int | null}`: the ticket the caller believes is at the counter (null: nobody)."""

    ticket_id: int | None = Field(
        default=None,
        ge=1,
        strict=True,  # an id: not `true`, "5" or 5.0
        description="The ticket the caller shows at the counter (null: nobody). When another ticket (or nobody) is at "
        "the counter, the action is refused with 409 `ticket_changed` and nothing changes. Left out: the action "
        "acts on whoever is at the counter.",
    )

    def names_ticket(self) -> bool:
        """Whether `ticket_id` was given (null included), i.e. the action is to be refused if it changed."""
        return "ticket_id" in self.model_fields_set


class DossiersRequest(AtCounterRequest):
    dossiers: list[str] = Field(default_factory=list, max_length=20)


class TransferRequest(AtCounterRequest):
    service: str = Field(min_length=1, max_length=32)


class HoldRequest(AtCounterRequest):
    note: str = Field(default="", max_length=300)


class PauseRequest(BaseModel):
    reason: str = Field(default="", max_length=200)


def _respond(counter_id: int, outcome: queueing.Outcome, status: int = 200) -> ResponseReturnValue:
    """A clerk action answers with its ticket and the counter with its current ticket — not the line (the console
    keeps its list from the `counter.line` events)."""
    ticket = public_ticket(outcome.ticket) if outcome.ticket else None
    return jsonify({"ticket": ticket, "counter": _summary_after(counter_id, outcome, ticket)}), status


def _summary_after(counter_id: int, outcome: queueing.Outcome, ticket: dict[str, Any] | None) -> dict[str, Any]:
    """`counter_summary` as the action left the counter: from the outcome when it says all of it (the counter's
    change and, at the counter, the action's own ticket or nobody: a call next, a no-show, a pause), else from the
    line. The line applies the action's events after the answer (`LineStore.defer`); reading it here would apply
    them within the request (issue 13). Either way the same: the line takes the counter from that very event."""
    changed = next(
        (
            event.counter
            for event in reversed(outcome.events)
            if isinstance(event, CounterChanged) and event.counter is not None and event.counter.id == counter_id
        ),
        None,
    )
    if changed is not None:
        if changed.current_ticket_id is None:
            return {**counter_dict(changed, None, staff=True), "site_id": changed.site_id}
        if outcome.ticket is not None and changed.current_ticket_id == outcome.ticket.id:
            return {**counter_dict(changed, ticket, staff=True), "site_id": changed.site_id}
    return counter_summary(counter_id)


def _action(counter_id: int, use_case: Callable[..., queueing.Outcome], **kwargs: Any) -> ResponseReturnValue:
    principal = require(staff_roles=STAFF_ROLES)
    outcome = luot().run(use_case, counter_id, principal.id, **kwargs)
    return _respond(counter_id, outcome)


def _run_at_counter(
    counter_id: int, use_case: Callable[..., queueing.Outcome], body: AtCounterRequest, *args: Any, **kwargs: Any
) -> queueing.Outcome:
    """Runs an action on the citizen at the counter for the signed-in clerk; when the body names a ticket, in the
    same transaction, first refuses (TicketChanged, 409) unless that ticket is the one at the counter."""
    principal = require(staff_roles=STAFF_ROLES)
    if body.names_ticket():
        use_case, kwargs = queueing.expecting_ticket(use_case), {**kwargs, "ticket_id": body.ticket_id}
    return luot().run(use_case, counter_id, principal.id, *args, **kwargs)


def _at_counter_action(
    counter_id: int, use_case: Callable[..., queueing.Outcome], body: AtCounterRequest, **kwargs: Any
) -> ResponseReturnValue:
    """`_run_at_counter`, answered as every clerk action is (`_respond`)."""
    return _respond(counter_id, _run_at_counter(counter_id, use_case, body, **kwargs))


def _line_of(counter_id: int) -> SiteLine:
    ctx = luot()
    site_id = ctx.lines.site_of_counter(counter_id)
    if site_id is None:
        raise errors.UnknownCounter()
    line = ctx.lines.site(site_id)
    if counter_id not in line.counters:
        raise errors.UnknownCounter()
    return line


def counter_summary(counter_id: int) -> dict[str, Any]:
    """The counter (pause reason included: staff only) with the citizen at it, from the line in memory."""
    line = _line_of(counter_id)
    current = line.at_counter.get(counter_id)
    return {
        **counter_dict(line.counters[counter_id], public_ticket(current) if current else None, staff=True),
        "site_id": line.site_id,
    }


def counter_state(counter_id: int) -> dict[str, Any]:
    """The counter with its current ticket, the tickets it may call in the order Call next would take them (with
    why), and the held tickets of its services — all from the line in memory."""
    now = luot().clock.now()
    line = _line_of(counter_id)
    services = set(line.counters[counter_id].service_ids)
    return {
        **counter_summary(counter_id),
        "waiting": [entry_dict(entry, now) for entry in line.counter_order(counter_id, now)],
        "held": [{**public_ticket(t), "note": t.hold_note} for t in line.held.values() if t.service_id in services],
    }


@api.get("/counters/<int:counter_id>")
def show_counter(counter_id: int) -> ResponseReturnValue:
    principal = require(staff_roles=STAFF_ROLES)
    state = counter_state(counter_id)
    if not principal.may_see_site(state["site_id"]):
        raise Forbidden()
    return jsonify({"counter": state})


@api.post("/counters/<int:counter_id>/open")
def open_counter(counter_id: int) -> ResponseReturnValue:
    body = parse_body(OpenRequest)
    return _action(counter_id, queueing.open_counter, takeover=body.takeover)


@api.post("/counters/<int:counter_id>/close")
def close_counter(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.close_counter)


@api.post("/counters/<int:counter_id>/next")
def call_next(counter_id: int) -> ResponseReturnValue:
    """Finish the citizen being served and call the next (`{ticket_id?}`: the one the console shows, null: nobody)."""
    body = parse_body(AtCounterRequest)
    outcome = _run_at_counter(counter_id, queueing.call_next, body)
    if outcome.ticket is None:  # the served citizen is finished (that is committed), but nobody waits: say both
        finished = next(event.ticket for event in outcome.events if isinstance(event, TicketFinished))
        nobody = errors.NoTicketWaiting()
        return jsonify(
            {
                "ticket": None,
                "finished": public_ticket(finished) if finished else None,
                "counter": _summary_after(counter_id, outcome, None),
                "notice": {"code": nobody.code, "messages": both(nobody.text, **nobody.params)},
            }
        )
    return _respond(counter_id, outcome)


@api.post("/counters/<int:counter_id>/recall")
def recall(counter_id: int) -> ResponseReturnValue:
    return _at_counter_action(counter_id, queueing.recall, parse_body(AtCounterRequest))


@api.post("/counters/<int:counter_id>/start")
def start(counter_id: int) -> ResponseReturnValue:
    return _at_counter_action(counter_id, queueing.start, parse_body(AtCounterRequest))


@api.post("/counters/<int:counter_id>/finish")
def finish(counter_id: int) -> ResponseReturnValue:
    """Finish the citizen at the counter, attaching the dossier codes given (`{ticket_id?, dossiers?: [code, …]}`)."""
    body = parse_body(DossiersRequest)
    return _at_counter_action(counter_id, queueing.finish, body, dossiers=body.dossiers)


@api.post("/counters/<int:counter_id>/dossiers")
def attach_dossiers(counter_id: int) -> ResponseReturnValue:
    """Attach dossier codes (mã hồ sơ) to the citizen at the counter (`{ticket_id?, dossiers}`); answers with all of
    the ticket's codes."""
    body = parse_body(DossiersRequest)
    outcome = _run_at_counter(counter_id, queueing.attach_dossiers, body, body.dossiers)
    assert outcome.ticket is not None
    with luot().db.read() as db_session:
        codes = dossier_codes(db_session, outcome.ticket.id)
    return jsonify({"ticket": public_ticket(outcome.ticket), "dossiers": codes})


@api.post("/counters/<int:counter_id>/no-show")
def no_show(counter_id: int) -> ResponseReturnValue:
    return _at_counter_action(counter_id, queueing.no_show, parse_body(AtCounterRequest))


@api.post("/counters/<int:counter_id>/transfer")
def transfer(counter_id: int) -> ResponseReturnValue:
    body = parse_body(TransferRequest)
    return _at_counter_action(counter_id, queueing.transfer, body, service_code=body.service)


@api.post("/counters/<int:counter_id>/hold")
def hold(counter_id: int) -> ResponseReturnValue:
    body = parse_body(HoldRequest)
    return _at_counter_action(counter_id, queueing.hold, body, note=body.note)


@api.post("/counters/<int:counter_id>/pause")
def pause(counter_id: int) -> ResponseReturnValue:
    body = parse_body(PauseRequest)
    return _action(counter_id, queueing.pause_counter, reason=body.reason)


@api.post("/counters/<int:counter_id>/resume")
def resume(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.resume_counter)
