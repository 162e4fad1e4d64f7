"""The queue use cases on a real SQLite file, with a steerable clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.domain import errors
from server.domain.outlook import ticket_outlook
from server.domain.queueing import (
    call_next,
    close_counter,
    finish,
    hold,
    issue_ticket,
    no_show,
    open_counter,
    pause_counter,
    rate,
    recall,
    resume_counter,
    return_ticket,
    start,
    transfer,
)
from server.models import Appointment, Ticket, TicketEvent


def issue(run, world, service: str, **kwargs):
    return run(issue_ticket, site_id=world.site_id, service_code=service, **kwargs)


def test_numbers_follow_the_sequence_and_services_can_share_one(run, world):
    numbers = [issue(run, world, code).ticket.display_number for code in ("TP-A", "TP-B", "TP-A", "CA-X", "CA-X")]
    assert numbers == ["1001", "1002", "1003", "A001", "A002"]


def test_numbers_restart_at_local_midnight_not_utc_midnight(run, world, clock):
    clock.set(datetime(2026, 11, 18, 23, 58, tzinfo=LOCAL_TZ))
    assert issue(run, world, "TP-A").ticket.display_number == "1001"
    clock.set(datetime(2026, 11, 19, 6, 59, tzinfo=LOCAL_TZ))  # 23:59 UTC on the 18th
    first_of_day = issue(run, world, "TP-A").ticket
    assert first_of_day.display_number == "1001"
    assert first_of_day.service_date == "2026-11-19"
    assert issue(run, world, "TP-A").ticket.display_number == "1002"


def test_yesterdays_waiting_tickets_are_not_called_today(run, open_all, clock):
    world = open_all
    issue(run, world, "TP-A")
    clock.advance(days=1)
    with pytest.raises(errors.NoTicketWaiting):
        run(call_next, world.counters["c1"], world.users["clerk1"])


def test_a_closed_service_refuses_with_a_reason(run, world, clock):
    clock.set(datetime(2026, 11, 18, 12, 15, tzinfo=LOCAL_TZ))  # lunch break
    with pytest.raises(errors.ServiceClosed):
        issue(run, world, "CA-Y")


def test_the_daily_cap_refuses_the_next_citizen(run, world):
    issue(run, world, "CA-Y")
    issue(run, world, "CA-Y")
    with pytest.raises(errors.DailyCapReached) as refused:
        issue(run, world, "CA-Y")
    assert refused.value.params == {"cap": 2}


def test_the_same_idempotency_key_gives_the_same_ticket(run, world, luot):
    first = issue(run, world, "TP-A", issuer_key="device:1", idempotency_key="tap-1")
    again = issue(run, world, "TP-A", issuer_key="device:1", idempotency_key="tap-1")
    assert again.ticket.id == first.ticket.id and again.created is False and again.events == []
    other_device = issue(run, world, "TP-A", issuer_key="device:2", idempotency_key="tap-1")
    assert other_device.ticket.id != first.ticket.id
    with pytest.raises(errors.IdempotencyConflict):
        issue(run, world, "CA-X", issuer_key="device:1", idempotency_key="tap-1")
    with luot.db.read() as s:
        assert len(s.exec(select(Ticket)).all()) == 2


def test_unknown_service_and_priority_are_refused(run, world):
    with pytest.raises(errors.UnknownService):
        issue(run, world, "NOPE")
    with pytest.raises(errors.InvalidPriority):
        issue(run, world, "TP-A", priority="vip")
    with pytest.raises(errors.UnknownService):
        run(issue_ticket, site_id=world.other_site_id, service_code="TP-A")


def test_waiting_ahead_and_estimate_at_issue(run, open_all, luot):
    world = open_all
    for _ in range(4):
        issue(run, world, "TP-A")
    fifth = issue(run, world, "TP-A")
    line = luot.lines.site(world.site_id)
    outlook = ticket_outlook(line, fifth.ticket.id, luot.clock.now())
    assert outlook.ahead == 4
    assert outlook.wait_minutes == 12  # 4 ahead × 6 min ÷ 2 open counters
    priority = issue(run, world, "TP-A", priority="elderly")
    assert ticket_outlook(line, priority.ticket.id, luot.clock.now()).ahead == 0


def test_call_next_serves_priority_then_the_oldest_and_finishes_the_current_one(run, open_all, clock):
    world = open_all
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    plain = issue(run, world, "TP-A").ticket
    clock.advance(minutes=1)
    elderly = issue(run, world, "TP-B", priority="elderly").ticket
    assert run(call_next, c1, clerk).ticket.id == elderly.id
    run(start, c1, clerk)
    outcome = run(call_next, c1, clerk)
    assert outcome.ticket.id == plain.id
    assert [e.kind for e in outcome.events][:2] == ["finished", "called"]


def test_a_called_ticket_must_be_started_or_marked_before_the_next_call(run, open_all):
    world = open_all
    issue(run, world, "TP-A")
    issue(run, world, "TP-A")
    run(call_next, world.counters["c1"], world.users["clerk1"])
    with pytest.raises(errors.TicketStillCalled):
        run(call_next, world.counters["c1"], world.users["clerk1"])


def test_recall_past_the_limit_becomes_a_no_show(run, open_all, luot):
    world = open_all
    ticket = issue(run, world, "TP-A").ticket
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    call_ids = {run(recall, c1, clerk).events[0].call_id for _ in range(3)}
    assert len(call_ids) == 3
    outcome = run(recall, c1, clerk)
    assert outcome.ticket.status == "no_show"
    with luot.db.read() as s:
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]
    assert kinds == ["issued", "called", "recalled", "recalled", "recalled", "no_show"]


def test_no_show_frees_the_counter(run, open_all):
    world = open_all
    issue(run, world, "TP-A")
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    assert run(no_show, c1, clerk).ticket.status == "no_show"
    with pytest.raises(errors.NoCurrentTicket):
        run(finish, c1, clerk)


def test_a_transferred_ticket_keeps_its_original_time_ahead_of_later_arrivals(run, open_all, clock):
    world = open_all
    moved = issue(run, world, "TP-A").ticket
    clock.advance(minutes=5)
    later = issue(run, world, "CA-X").ticket
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    run(start, c1, clerk)
    outcome = run(transfer, c1, clerk, "CA-X")
    assert outcome.ticket.status == "waiting" and outcome.ticket.agency_id != moved.agency_id
    assert outcome.ticket.display_number == moved.display_number
    assert run(call_next, world.counters["c3"], world.users["clerk3"]).ticket.id == moved.id
    assert later.id != moved.id
    with pytest.raises(errors.InvalidTransfer):
        run(start, world.counters["c3"], world.users["clerk3"])
        run(transfer, world.counters["c3"], world.users["clerk3"], "CA-X")


def test_hold_frees_the_counter_and_return_puts_the_ticket_back_first(run, open_all, clock):
    world = open_all
    held = issue(run, world, "TP-A").ticket
    clock.advance(minutes=2)
    issue(run, world, "TP-A")
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    assert run(hold, c1, clerk, "đi photo giấy tờ").ticket.status == "held"
    clock.advance(minutes=10)
    assert run(return_ticket, held.id, clerk).ticket.status == "waiting"
    assert run(call_next, c1, clerk).ticket.id == held.id


def test_a_paused_counter_calls_nobody_until_resumed(run, open_all):
    world = open_all
    issue(run, world, "TP-A")
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(pause_counter, c1, clerk, "nghỉ giải lao")
    with pytest.raises(errors.CounterPaused):
        run(call_next, c1, clerk)
    run(resume_counter, c1, clerk)
    assert run(call_next, c1, clerk).ticket is not None


def test_one_clerk_holds_one_counter_and_one_counter_one_clerk(run, world):
    run(open_counter, world.counters["c1"], world.users["clerk1"])
    with pytest.raises(errors.ClerkHasCounter):
        run(open_counter, world.counters["c2"], world.users["clerk1"])
    with pytest.raises(errors.CounterTaken):
        run(open_counter, world.counters["c1"], world.users["clerk2"])
    with pytest.raises(errors.WrongCounter):
        run(call_next, world.counters["c1"], world.users["clerk2"])
    run(open_counter, world.counters["c1"], world.users["clerk2"], takeover=True)
    with pytest.raises(errors.WrongCounter):
        run(call_next, world.counters["c1"], world.users["clerk1"])
    run(close_counter, world.counters["c1"], world.users["clerk2"])
    run(open_counter, world.counters["c2"], world.users["clerk1"])


def test_a_rating_is_stored_once_and_only_after_finish(run, open_all):
    world = open_all
    ticket = issue(run, world, "TP-A").ticket
    with pytest.raises(errors.RatingNotAllowed):
        run(rate, ticket.id, "satisfied", source="phone")
    c1, clerk = world.counters["c1"], world.users["clerk1"]
    run(call_next, c1, clerk)
    run(finish, c1, clerk)
    with pytest.raises(errors.InvalidScore):
        run(rate, ticket.id, "neutral", source="phone")  # not on this site's default scale
    run(rate, ticket.id, "satisfied", "Nhanh, chu đáo", source="tablet", tablet_counter_id=c1)
    with pytest.raises(errors.AlreadyRated):
        run(rate, ticket.id, "very_satisfied", source="phone")


def test_an_appointment_is_checked_in_once_and_called_in_its_slot(run, open_all, luot, clock):
    world = open_all
    with luot.db.write() as s:
        s.add(
            Appointment(site_id=world.site_id, service_id=1, code="HEN-42", slot_at=clock.now() + timedelta(minutes=5))
        )
    issue(run, world, "TP-A", priority="elderly")
    booked = run(issue_ticket, site_id=world.site_id, appointment_code="HEN-42").ticket
    with pytest.raises(errors.AppointmentUsed):
        run(issue_ticket, site_id=world.site_id, appointment_code="HEN-42")
    with pytest.raises(errors.UnknownAppointment):
        run(issue_ticket, site_id=world.site_id, appointment_code="HEN-00")
    assert run(call_next, world.counters["c1"], world.users["clerk1"]).ticket.id == booked.id


def test_an_appointment_of_another_day_names_its_day_at_the_kiosk(run, open_all, luot, clock):
    """A citizen who comes a day early is told when to come (not "no appointment"); a past one stays unknown."""
    from server.clock import LOCAL_TZ
    from server.i18n import both

    world = open_all
    tomorrow = (clock.now() + timedelta(days=1)).astimezone(LOCAL_TZ).replace(hour=9, minute=30)
    with luot.db.write() as s:
        s.add(Appointment(site_id=world.site_id, service_id=1, code="HEN-43", slot_at=tomorrow))
        s.add(Appointment(site_id=world.site_id, service_id=1, code="HEN-44", slot_at=tomorrow - timedelta(days=2)))
    with pytest.raises(errors.AppointmentOtherDay) as early:
        run(issue_ticket, site_id=world.site_id, appointment_code="HEN-43")
    messages = both(early.value.text, **early.value.params)
    assert f"09:30 ngày {tomorrow:%d/%m/%Y}" in messages["vi"] and f"09:30 on {tomorrow:%d/%m/%Y}" in messages["en"]
    with pytest.raises(errors.UnknownAppointment):
        run(issue_ticket, site_id=world.site_id, appointment_code="HEN-44")


def test_a_clerk_cannot_take_a_counter_of_another_site(run, world, luot):
    from server.models import Counter

    with luot.db.read() as s:
        foreign = s.exec(select(Counter).where(Counter.site_id == world.other_site_id)).first()
    with pytest.raises(errors.WrongCounter):
        run(open_counter, foreign.id, world.users["clerk1"])
    run(open_counter, foreign.id, world.users["otherclerk"])
