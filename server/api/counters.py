"""The clerk's actions on a counter: open, call next, recall, start, finish, no-show, transfer, hold, pause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlmodel import col, select

from server.api import api
from server.api.support import parse_body, require
from server.auth import Forbidden
from server.context import luot
from server.domain import errors, queueing
from server.domain.events import TicketFinished
from server.domain.queries import counter_service_ids, service_queues
from server.domain.vocabulary import STAFF_ROLES, TicketStatus
from server.i18n import both
from server.models import Counter, Ticket
from server.views import counter_dict, public_ticket


class OpenRequest(BaseModel):
    takeover: bool = False


class TransferRequest(BaseModel):
    service: str = Field(min_length=1, max_length=32)


class HoldRequest(BaseModel):
    note: str = Field(default="", max_length=300)


class PauseRequest(BaseModel):
    reason: str = Field(default="", max_length=200)


def _respond(counter_id: int, outcome: queueing.Outcome, status: int = 200) -> ResponseReturnValue:
    return jsonify(
        {"ticket": public_ticket(outcome.ticket) if outcome.ticket else None, "counter": counter_state(counter_id)}
    ), status


def _action(counter_id: int, use_case: Callable[..., queueing.Outcome], **kwargs: Any) -> ResponseReturnValue:
    principal = require(staff_roles=STAFF_ROLES)
    outcome = luot().run(use_case, counter_id, principal.id, **kwargs)
    return _respond(counter_id, outcome)


def counter_state(counter_id: int) -> dict[str, Any]:
    """The counter with its current ticket, its waiting line and the site's held tickets."""
    ctx = luot()
    now = ctx.clock.now()
    with ctx.db.read() as db_session:
        counter = db_session.get(Counter, counter_id)
        if counter is None:
            raise errors.UnknownCounter()
        services = counter_service_ids(db_session, counter_id)
        current = db_session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
        queues = service_queues(db_session, counter.site_id, now, list(services))
        waiting_ids = [tid for q in queues.values() for tid in q.order]
        waiting = db_session.exec(select(Ticket).where(col(Ticket.id).in_(waiting_ids))).all() if waiting_ids else []
        held = db_session.exec(
            select(Ticket).where(
                Ticket.site_id == counter.site_id,
                Ticket.status == TicketStatus.HELD,
                col(Ticket.service_id).in_(list(services)),
            )
        ).all()
    waiting_sorted = sorted(waiting, key=lambda t: t.queue_since)
    return {
        **counter_dict(counter, list(services), public_ticket(current) if current else None),
        "site_id": counter.site_id,
        "waiting": [
            {**public_ticket(t), "wait_seconds": int((now - t.queue_since).total_seconds())} for t in waiting_sorted
        ],
        "held": [{**public_ticket(t), "note": t.hold_note} for t in held],
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
    principal = require(staff_roles=STAFF_ROLES)
    outcome = luot().run(queueing.call_next, counter_id, principal.id)
    if outcome.ticket is None:  # the served citizen is finished (that is committed), but nobody waits: say both
        finished = next(event.ticket for event in outcome.events if isinstance(event, TicketFinished))
        nobody = errors.NoTicketWaiting()
        return jsonify(
            {
                "ticket": None,
                "finished": public_ticket(finished) if finished else None,
                "counter": counter_state(counter_id),
                "notice": {"code": nobody.code, "messages": both(nobody.text, **nobody.params)},
            }
        )
    return _respond(counter_id, outcome)


@api.post("/counters/<int:counter_id>/recall")
def recall(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.recall)


@api.post("/counters/<int:counter_id>/start")
def start(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.start)


@api.post("/counters/<int:counter_id>/finish")
def finish(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.finish)


@api.post("/counters/<int:counter_id>/no-show")
def no_show(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.no_show)


@api.post("/counters/<int:counter_id>/transfer")
def transfer(counter_id: int) -> ResponseReturnValue:
    body = parse_body(TransferRequest)
    return _action(counter_id, queueing.transfer, service_code=body.service)


@api.post("/counters/<int:counter_id>/hold")
def hold(counter_id: int) -> ResponseReturnValue:
    body = parse_body(HoldRequest)
    return _action(counter_id, queueing.hold, note=body.note)


@api.post("/counters/<int:counter_id>/pause")
def pause(counter_id: int) -> ResponseReturnValue:
    body = parse_body(PauseRequest)
    return _action(counter_id, queueing.pause_counter, reason=body.reason)


@api.post("/counters/<int:counter_id>/resume")
def resume(counter_id: int) -> ResponseReturnValue:
    return _action(counter_id, queueing.resume_counter)
