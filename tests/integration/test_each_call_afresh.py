"""A new call starts afresh, the clerk acting answers for the citizen, and a past day stays past.

Found by trying the counters as clerks do (a transfer after three recalls, a takeover mid-service, a hold across
midnight, one request key reused): each case lost a citizen or blamed the wrong clerk before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.domain import errors
from server.domain.queueing import (
    call_next,
    close_counter,
    finish,
    hold,
    issue_ticket,
    no_show,
    open_counter,
    rate,
    recall,
    return_ticket,
    start,
    transfer,
)
from server.models import Appointment, Rating, Service, Ticket


def _row(luot, ticket_id: int) -> Ticket:
    with luot.db.read() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def test_a_transferred_citizen_gets_the_whole_recall_limit_again_at_the_new_counter(run, open_all):
    world = open_all
    ticket = run(issue_ticket, site_id=world.site_id, service_code="CA-X").ticket
    c3, clerk3 = world.counters["c3"], world.users["clerk3"]
    run(call_next, c3, clerk3)
    for _ in range(3):  # the site's recall limit, used up at the first counter
        run(recall, c3, clerk3)
    run(transfer, c3, clerk3, "TP-A")
    c1, clerk1 = world.counters["c1"], world.users["clerk1"]
    called = run(call_next, c1, clerk1).ticket
    assert called.id == ticket.id and called.recall_count == 0
    for _ in range(3):
        assert run(recall, c1, clerk1).ticket.status == "called"
    assert run(recall, c1, clerk1).ticket.status == "no_show"  # the limit holds, per call


def test_a_citizen_back_from_hold_gets_the_whole_recall_limit_again(run, open_all):
    world = open_all
    ticket = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    for _ in range(3):
        run(recall, c1, clerk)
    run(hold, c1, clerk, "đi photo")
    run(return_ticket, ticket.id, clerk)
    run(call_next, c1, clerk)
    assert run(recall, c1, clerk).ticket.status == "called"


def test_after_a_takeover_the_clerk_who_serves_answers_for_the_citizen_and_the_rating(run, open_all, luot):
    world = open_all
    ticket = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    c2, caller, server_clerk = world.counters["c2"], world.users["clerk2"], world.users["clerk1"]
    run(call_next, c2, caller)
    run(close_counter, world.counters["c1"], server_clerk)  # clerk1 leaves counter 1 to take over counter 2
    run(open_counter, c2, server_clerk, takeover=True)
    run(start, c2, server_clerk)
    run(finish, c2, server_clerk)
    assert _row(luot, ticket.id).clerk_id == server_clerk
    run(rate, ticket.id, "unsatisfied", source="phone", reasons=())
    with luot.db.read() as s:
        rating = s.exec(select(Rating).where(Rating.ticket_id == ticket.id)).one()
    assert rating.clerk_id == server_clerk


def test_a_no_show_after_a_takeover_is_the_acting_clerks(run, open_all, luot):
    world = open_all
    ticket = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    c2 = world.counters["c2"]
    run(call_next, c2, world.users["clerk2"])
    run(close_counter, world.counters["c3"], world.users["clerk3"])
    run(open_counter, c2, world.users["clerk3"], takeover=True)
    run(no_show, c2, world.users["clerk3"])
    assert _row(luot, ticket.id).clerk_id == world.users["clerk3"]


def _called_before_midnight(run, world, clock):
    """A TP-A ticket issued and called at counter 1 at 23:50 local: (ticket, counter, clerk)."""
    clock.set(datetime(2026, 11, 18, 23, 50, tzinfo=LOCAL_TZ))
    ticket = run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    return ticket, c1, clerk


@pytest.mark.parametrize("action", ["transfer", "hold"])
def test_a_citizen_at_a_counter_across_midnight_can_be_finished_not_put_back_in_a_line(run, open_all, clock, action):
    ticket, c1, clerk = _called_before_midnight(run, open_all, clock)
    clock.set(datetime(2026, 11, 19, 0, 5, tzinfo=LOCAL_TZ))
    with pytest.raises(errors.TicketOfEarlierDay) as refused:
        if action == "transfer":
            run(transfer, c1, clerk, "CA-X")
        else:
            run(hold, c1, clerk, "")
    assert refused.value.params == {"number": ticket.display_number}
    assert run(finish, c1, clerk).ticket.status == "done"  # what the day close leaves to the clerk still works


def test_a_citizen_held_before_midnight_is_not_returned_to_a_line_after_it(run, open_all, clock, luot):
    ticket, c1, clerk = _called_before_midnight(run, open_all, clock)
    run(hold, c1, clerk, "")
    clock.set(datetime(2026, 11, 19, 0, 5, tzinfo=LOCAL_TZ))  # before the day close has run
    with pytest.raises(errors.TicketOfEarlierDay):
        run(return_ticket, ticket.id, clerk)
    assert _row(luot, ticket.id).status == "held"


def test_a_request_key_names_one_request_not_another_booking_or_another_day(run, world, luot, clock):
    with luot.db.write() as s:
        for code in ("HEN-1", "HEN-2"):
            s.add(
                Appointment(site_id=world.site_id, service_id=1, code=code, slot_at=clock.now() + timedelta(minutes=5))
            )
    first = run(issue_ticket, site_id=world.site_id, appointment_code="HEN-1", issuer_key="k", idempotency_key="x")
    again = run(issue_ticket, site_id=world.site_id, appointment_code="hen-1", issuer_key="k", idempotency_key="x")
    assert again.ticket.id == first.ticket.id and not again.created  # a retry of the same check-in
    with pytest.raises(errors.IdempotencyConflict):
        run(issue_ticket, site_id=world.site_id, appointment_code="HEN-2", issuer_key="k", idempotency_key="x")
    with pytest.raises(errors.IdempotencyConflict):  # the booking's service by code is another request too
        run(issue_ticket, site_id=world.site_id, service_code="TP-A", issuer_key="k", idempotency_key="x")
    plain = run(issue_ticket, site_id=world.site_id, service_code="TP-B", issuer_key="k", idempotency_key="y")
    clock.advance(days=1)
    with pytest.raises(errors.IdempotencyConflict):  # yesterday's ticket is not today's answer
        run(issue_ticket, site_id=world.site_id, service_code="TP-B", issuer_key="k", idempotency_key="y")
    with luot.db.read() as s:
        second = s.exec(select(Appointment).where(Appointment.code == "HEN-2")).one()
    assert second.ticket_id is None and plain.created


@pytest.mark.parametrize("stored", [float("inf"), 1e308, 0.0, -5.0])
def test_a_service_default_that_is_no_usable_number_does_not_break_issuing(client, world, luot, stored):
    with luot.db.write() as s:
        service = s.exec(select(Service).where(Service.code == "TP-B")).one()
        service.default_service_minutes = stored  # written past the forms, as an old database may hold it
        s.add(service)
    headers = {"Authorization": f"Bearer {world.kiosk_token}"}
    for code in ("TP-A", "TP-B"):  # TP-A shares counter 1 with TP-B: one pool, one play
        answer = client.post("/api/v1/tickets", json={"service": code}, headers=headers)
        assert answer.status_code == 201, answer.get_json()
    services = client.get("/api/v1/services?site=HN", headers=headers)
    assert services.status_code == 200


def test_a_ticket_committed_is_answered_even_when_its_figures_fail(client, world, luot, monkeypatch):
    import server.api.tickets as tickets

    def broken(_ticket):
        raise OverflowError("a figure that cannot be told")

    monkeypatch.setattr(tickets, "figures", broken)
    answer = client.post(
        "/api/v1/tickets", json={"service": "TP-A"}, headers={"Authorization": f"Bearer {world.kiosk_token}"}
    )
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["display_number"] == "1001" and body["status"] == "waiting" and body["estimated_wait_minutes"] is None
    assert _row(luot, body["id"]).status == "waiting"
