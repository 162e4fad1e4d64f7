"""Closing past days: yesterday's waiting and held tickets are cancelled (dated on their own day), a
citizen at a counter across midnight is left alone, today's line is untouched, and a second close does
nothing."""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner
from sqlmodel import select

from server.clock import LOCAL_TZ, ManualClock, local_midnight
from server.commands import cli
from server.context import Luot
from server.domain import queueing
from server.maintenance import close_past_days_now
from server.models import Ticket, TicketEvent
from server.stats.compute import INDEX, tally_sites
from tests.support.world import World


def local(day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def status_of(luot: Luot, ticket_id: int) -> str:
    with luot.db.read() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.status


def test_past_waiting_and_held_tickets_are_cancelled_once_and_counted_on_their_day(
    luot: Luot, world: World, clock: ManualClock
):
    run, c1, c3 = luot.run, world.counters["c1"], world.counters["c3"]
    clerk1, clerk3 = world.users["clerk1"], world.users["clerk3"]

    def issue(service: str) -> int:
        outcome = run(queueing.issue_ticket, site_id=world.site_id, service_code=service)
        assert outcome.ticket is not None
        return outcome.ticket.id

    clock.set(local(18, 16, 0))
    waiting, held, served_late = issue("TP-A"), issue("CA-X"), issue("TP-B")
    run(queueing.open_counter, c3, clerk3)
    run(queueing.call_next, c3, clerk3)
    run(queueing.hold, c3, clerk3, note="đi photo giấy tờ")
    run(queueing.open_counter, c1, clerk1)
    clock.set(local(18, 23, 50))
    assert run(queueing.call_next, c1, clerk1).ticket.id == waiting  # TP-A came first: it is at counter 1
    run(queueing.start, c1, clerk1)
    clock.set(local(19, 0, 5))  # Thursday: Wednesday is over
    today = issue("TP-A")

    result = close_past_days_now(luot)

    assert result.cancelled == {"waiting": 1, "held": 1}
    assert status_of(luot, served_late) == "cancelled" and status_of(luot, held) == "cancelled"
    assert status_of(luot, waiting) == "serving"  # at the counter across midnight: the clerk finishes it
    assert status_of(luot, today) == "waiting"
    with luot.db.read() as session:
        events = session.exec(select(TicketEvent).where(TicketEvent.kind == "cancelled")).all()
    assert {e.ticket_id for e in events} == {served_late, held}
    assert all(e.at < local_midnight(local(19, 0, 0).date()) for e in events)  # dated on Wednesday
    assert all(e.data["reason"] == "day_closed" for e in events)
    with luot.db.read() as session:
        wednesday = tally_sites(
            session, [world.site_id], local_midnight(local(18, 0, 0).date()), local_midnight(local(19, 0, 0).date())
        )
    assert sum(row[INDEX["cancelled"]] for row in wednesday.rows.values()) == 2

    assert close_past_days_now(luot).total == 0  # nothing twice
    run(queueing.finish, c1, clerk1)
    assert status_of(luot, waiting) == "done"


def test_the_day_close_command_reports_what_it_did(settings, monkeypatch):
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(settings.instance_path))
    answer = CliRunner().invoke(cli, ["day-close"])
    assert answer.exit_code == 0, answer.output
    assert "Cancelled 0 ticket(s) of past days." in answer.output
