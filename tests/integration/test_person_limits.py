"""Per-person limits (server/domain/person_limits.py): at most 2 numbers and bookings a day per person at a site
and 1 per service, counting every channel and not-yet-checked-in bookings together; configurable per site; two
concurrent requests of one person never both pass (threads, separate engines, one SQLite file)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from server.clock import local_date
from server.configuration.site_settings import check_site_settings
from server.context import Luot
from server.db import Database
from server.domain import queueing
from server.domain.errors import DomainError
from server.domain.person_limits import (
    PersonDailyLimitReached,
    PersonLimits,
    PersonServiceLimitReached,
    check_person_limits,
)
from server.domain.vocabulary import Channel, TicketStatus
from server.models import Appointment, Service, Site, Ticket
from tests.support.world import World

ANNA = "a" * 64
BINH = "b" * 64


def take(luot: Luot, world: World, service: str, person: str | None = ANNA, channel: str = Channel.ONLINE):
    return luot.run(
        queueing.issue_ticket, site_id=world.site_id, service_code=service, channel=channel, person_key=person
    )


def service_id(luot: Luot, code: str) -> int:
    with luot.db.read() as session:
        return session.exec(select(Service.id).where(Service.code == code)).one()


def test_one_number_per_service_and_two_a_day_across_channels(luot, world):
    first = take(luot, world, "TP-A", channel=Channel.KIOSK)
    with pytest.raises(PersonServiceLimitReached) as refused:
        take(luot, world, "TP-A", channel=Channel.ONLINE)
    assert refused.value.status == 409
    take(luot, world, "TP-B", channel=Channel.ONLINE)
    with pytest.raises(PersonDailyLimitReached) as daily:
        take(luot, world, "CA-X", channel=Channel.STAFF)
    assert daily.value.params == {"count": 2, "limit": 2}
    take(luot, world, "CA-X", person=BINH)  # someone else
    take(luot, world, "TP-A", person=None)  # anonymous kiosk numbers are not limited
    take(luot, world, "TP-A", person=None)
    with luot.db.read() as session:
        stored = session.get(Ticket, first.ticket.id)
    assert stored is not None and stored.person_key == ANNA


def test_a_booking_not_yet_checked_in_counts_and_is_counted_once_when_checked_in(luot, world):
    now = luot.clock.now()
    with luot.db.write() as session:
        session.add(
            Appointment(
                site_id=world.site_id, service_id=service_id(luot, "CA-X"), code="BK1", slot_at=now, person_key=ANNA
            )
        )
    with pytest.raises(PersonServiceLimitReached):
        take(luot, world, "CA-X")
    take(luot, world, "TP-A")
    with pytest.raises(PersonDailyLimitReached):
        take(luot, world, "TP-B")
    checked_in = luot.run(queueing.issue_ticket, site_id=world.site_id, appointment_code="BK1")  # not refused
    with luot.db.read() as session:
        ticket = session.get(Ticket, checked_in.ticket.id)
        assert ticket is not None and ticket.person_key == ANNA
        held = check_limits(session, world, "TP-B", PersonLimits(per_day=3, per_service=1))
    assert held is None  # the booking and its ticket count once: 2 held, a third is allowed under per_day=3


def check_limits(session, world, service: str, limits: PersonLimits):
    sid = session.exec(select(Service.id).where(Service.code == service)).one()
    now_day = local_date(session.exec(select(Ticket.issued_at)).first())
    return check_person_limits(
        session, site_id=world.site_id, person_key=ANNA, service_id=sid, day=now_day, limits=limits
    )


def test_other_days_other_sites_and_cancelled_numbers_do_not_count(luot, world, clock):
    take(luot, world, "TP-A")
    with luot.db.write() as session:  # a number given back before being served
        ticket = session.exec(select(Ticket)).one()
        ticket.status = TicketStatus.CANCELLED
        session.add(ticket)
    take(luot, world, "TP-A")
    take(luot, world, "TP-B")
    clock.advance(days=1)
    take(luot, world, "TP-A")
    luot.run(queueing.issue_ticket, site_id=world.other_site_id, service_code="UB-1", person_key=ANNA)


def test_a_site_sets_its_own_limits_and_zero_means_none(luot, world):
    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        assert site is not None
        site.settings = check_site_settings({**site.settings, "person_limit_per_day": 0, "person_limit_per_service": 2})
        session.add(site)
    take(luot, world, "TP-A")
    take(luot, world, "TP-A")
    with pytest.raises(PersonServiceLimitReached):
        take(luot, world, "TP-A")
    for code in ("TP-B", "CA-X", "CA-Y"):
        take(luot, world, code)


def test_limit_settings_are_checked():
    from server.configuration.fields import SettingProblem

    with pytest.raises(SettingProblem):
        check_site_settings({"person_limit_per_day": -1})
    assert check_site_settings({"person_limit_per_day": 2}) == {}  # the default is not stored


def test_the_refusal_is_given_in_vietnamese_and_english(luot, world, client):
    from server.i18n import both

    take(luot, world, "TP-A")
    with pytest.raises(PersonServiceLimitReached) as refused:
        take(luot, world, "TP-A")
    texts = both(refused.value.text, **refused.value.params)
    assert "at most 1 per person" in texts["en"] and "tối đa 1" in texts["vi"]


@pytest.mark.parametrize(("services", "winners"), [(["TP-A"] * 12, 1), (["TP-A", "TP-B", "CA-X", "CA-Y"] * 3, 2)])
def test_concurrent_requests_of_one_person_never_pass_the_limit_together(luot, world, settings, services, winners):
    """Twelve threads, each with its own engine (as separate processes would have), start together on one SQLite
    file: exactly the allowed number of tickets is issued, the others are refused by the limit."""
    barrier = threading.Barrier(len(services))
    outcomes: list[str] = []
    lock = threading.Lock()
    now = luot.clock.now()

    def request(code: str) -> None:
        db = Database(settings)
        try:
            barrier.wait(timeout=30)
            with db.write() as session:
                queueing.issue_ticket(
                    session, now, site_id=world.site_id, service_code=code, channel=Channel.ONLINE, person_key=ANNA
                )
            result = "issued"
        except DomainError as exc:
            result = exc.code
        finally:
            db.dispose()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=request, args=(code,)) for code in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == len(services)
    assert outcomes.count("issued") == winners, outcomes
    assert set(outcomes) - {"issued"} <= {"person_service_limit", "person_daily_limit"}
    with luot.db.read() as session:
        kept = session.exec(select(Ticket).where(Ticket.person_key == ANNA)).all()
    assert len(kept) == winners


def test_bookings_of_another_day_do_not_count(luot, world):
    now = luot.clock.now()
    with luot.db.write() as session:
        session.add(
            Appointment(
                site_id=world.site_id,
                service_id=service_id(luot, "TP-A"),
                code="BK2",
                slot_at=now + timedelta(days=1),
                person_key=ANNA,
            )
        )
    take(luot, world, "TP-A")


def test_the_limit_reads_go_through_the_person_indexes(migrated_instance):
    """The statements check_person_limits runs, compiled for SQLite, read the person's rows by index."""
    import sqlite3
    from datetime import UTC, date, datetime

    from sqlalchemy.dialects import sqlite as sqlite_dialect

    from server.domain import person_limits

    def plan(statement, **params) -> str:
        sql = str(
            statement.params(**params).compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True})
        )
        with sqlite3.connect(migrated_instance / "luot.sqlite3") as connection:
            return " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))

    day, start = date(2026, 11, 18), datetime(2026, 11, 17, 17, tzinfo=UTC)
    tickets = plan(person_limits._TICKETS, person_key=ANNA, day=day, site_id=1)
    assert "ix_ticket_person_day" in tickets
    bookings = plan(person_limits._APPOINTMENTS, person_key=ANNA, start=start, end=start + timedelta(days=1))
    assert "ix_appointment_person_key" in bookings


def test_public_answers_never_carry_the_person_key(luot, world, client):
    """The tracking answer (what the phone page and the board's snapshot read) of an identified citizen's ticket."""
    ticket = take(luot, world, "TP-A").ticket
    tracked = client.get(f"/api/v1/tickets/{ticket.tracking_token}")
    assert tracked.status_code == 200 and ANNA not in tracked.get_data(as_text=True)
    assert "person" not in str(tracked.get_json())
    page = client.get(f"/t/{ticket.tracking_token}")
    assert page.status_code == 200 and ANNA not in page.get_data(as_text=True)


def bookable(luot: Luot, world: World, *codes: str) -> None:
    from tests.support.booking_world import OFFICE_HOURS

    with luot.db.write() as session:
        for service in session.exec(select(Service).where(Service.site_id == world.site_id)).all():
            if service.code in codes:
                service.bookable, service.online_numbers = True, True
                service.opening_hours, service.slot_capacity, service.booking_cutoff_minutes = OFFICE_HOURS, 2, 0
                session.add(service)


def at(hour: int, minute: int = 0, day: int = 18):
    from datetime import datetime

    from server.clock import LOCAL_TZ

    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def book(luot: Luot, world: World, service: str, slot_at, person: str = ANNA):
    from server.domain import booking

    return luot.run(
        booking.book, site_id=world.site_id, service_code=service, slot_at=slot_at, person_key=person
    ).appointment


def test_a_lapsed_or_cancelled_booking_no_longer_counts(luot, world, clock):
    """A booking not checked in `booking_lapse_minutes` (60) after its slot has lapsed, whether or not the sweep has
    written it yet: the person may take a number for that service again. A cancelled one frees its place too."""
    from server.domain import booking
    from server.maintenance import sweep_bookings_now

    bookable(luot, world, "TP-A", "TP-B")
    clock.set(at(8))
    book(luot, world, "TP-A", at(8, 15))
    with pytest.raises(PersonServiceLimitReached):
        take(luot, world, "TP-A")
    clock.set(at(9, 14))  # one minute before its lapse: it still counts
    with pytest.raises(PersonServiceLimitReached):
        take(luot, world, "TP-A")
    clock.set(at(9, 15))  # lapsed, not yet swept
    take(luot, world, "TP-A")
    with luot.db.read() as session:
        assert session.exec(select(Appointment.status)).one() == "booked"
    assert sweep_bookings_now(luot)[0] == 1  # written as lapsed: still not counted
    later = book(luot, world, "TP-B", at(10, 0))
    with pytest.raises(PersonDailyLimitReached):
        take(luot, world, "CA-X")
    luot.run(booking.cancel, appointment_id=later.id)
    take(luot, world, "CA-X")
    with luot.db.read() as session:
        statuses = sorted(session.exec(select(Appointment.status)).all())
    assert statuses == ["cancelled", "lapsed"]


def test_moving_a_booking_to_another_day_is_held_to_that_days_limits(luot, world, clock):
    from server.domain import booking
    from server.models import BookingSlot

    bookable(luot, world, "TP-A", "TP-B", "CA-X")
    clock.set(at(8))
    today = book(luot, world, "TP-A", at(9))
    book(luot, world, "TP-A", at(9, 0, day=19))
    with pytest.raises(PersonServiceLimitReached):  # TP-A is already booked on the 19th
        luot.run(booking.move, appointment_id=today.id, slot_at=at(10, 0, day=19))
    with luot.db.read() as session:  # nothing of the refused move stayed: no seat taken on the 19th at 10:00
        seats = {(s.slot_at, s.booked) for s in session.exec(select(BookingSlot)).all()}
        assert session.get(Appointment, today.id).slot_at == at(9)
    assert seats == {(at(9), 1), (at(9, 0, day=19), 1)}
    book(luot, world, "TP-B", at(9, 0, day=20))
    other = book(luot, world, "TP-B", at(11, 0), person=BINH)
    take(luot, world, "TP-A", person=BINH)  # Binh holds 2 today: moving within today still works
    assert luot.run(booking.move, appointment_id=other.id, slot_at=at(11, 15)).appointment.slot_at == at(11, 15)
    luot.run(booking.move, appointment_id=today.id, slot_at=at(10, 0, day=20))  # TP-A + TP-B on the 20th: 2
    third = book(luot, world, "CA-X", at(9, 0, day=23))
    with pytest.raises(PersonDailyLimitReached):
        luot.run(booking.move, appointment_id=third.id, slot_at=at(11, 0, day=20))


def test_two_concurrent_moves_to_one_day_never_both_pass_the_limit(luot, world, clock, settings):
    """Two bookings of TP-A (the 18th, the 20th) moved to the 19th at the same instant by two threads with their own
    engines (as two processes): exactly one is moved, the other is refused by the per-service limit."""
    from server.domain import booking

    bookable(luot, world, "TP-A")
    clock.set(at(8))
    ids = [book(luot, world, "TP-A", at(9)).id, book(luot, world, "TP-A", at(9, 0, day=20)).id]
    now = clock.now()
    barrier = threading.Barrier(len(ids))
    outcomes: list[str] = []
    lock = threading.Lock()

    def request(appointment_id: int, minute: int) -> None:
        db = Database(settings)
        try:
            barrier.wait(timeout=30)
            with db.write() as session:
                booking.move(session, now, appointment_id=appointment_id, slot_at=at(10, minute, day=19))
            result = "moved"
        except DomainError as exc:
            result = exc.code
        finally:
            db.dispose()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=request, args=(i, 15 * n)) for n, i in enumerate(ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["moved", "person_service_limit"], outcomes
    with luot.db.read() as session:
        days = sorted(local_date(a.slot_at).day for a in session.exec(select(Appointment)).all())
    assert days in ([18, 19], [19, 20])
