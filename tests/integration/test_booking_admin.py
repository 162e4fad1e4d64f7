"""Booked slots in the administration and the housekeeping: service booking fields, the holiday calendar (a
closed day offers no slots and takes no numbers), online numbers lapsing at the site's time, the purge of a
booking's contact and card key."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from server.clock import LOCAL_TZ
from server.domain import booking as use
from server.domain.issuing import issue_ticket
from server.domain.online import take_online_number
from server.maintenance import sweep_bookings_now
from server.models import Appointment, Holiday, Service, Site, Ticket, TicketEvent
from server.privacy.daily import purge_now
from tests.support.api import bearer, staff_token
from tests.support.booking_world import OFFICE_HOURS
from tests.support.forms import form_of, post, text_of


def make_bookable(luot, world, code="TP-A", **extra):
    with luot.db.write() as session:
        service = session.exec(select(Service).where(Service.site_id == world.site_id, Service.code == code)).one()
        service.bookable = True
        service.online_numbers = True
        service.opening_hours = OFFICE_HOURS
        service.booking_cutoff_minutes = 0
        for key, value in extra.items():
            setattr(service, key, value)
        session.add(service)


def at(hour, minute=0, day=18):
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def test_a_services_booking_settings_are_form_fields_checked_on_save(client, luot, world):
    admin = bearer(staff_token(client, "admin"))
    with luot.db.read() as session:
        service_id = session.exec(select(Service.id).where(Service.code == "CA-Y")).one()  # has office hours
    path = f"/admin/services/{service_id}"
    form = form_of(client, admin, path)
    assert {"slot_minutes", "slot_capacity", "booking_days_ahead", "booking_cutoff_minutes"} <= set(form)
    assert 'name="bookable"' in client.get(path, headers=admin).get_data(as_text=True)
    refused = post(client, admin, path, form, bookable="on", slot_capacity="0")
    assert refused.status_code == 400 and "slot_capacity" in refused.get_data(as_text=True)
    saved = post(client, admin, path, form, bookable="on", online_numbers="on", slot_minutes="20", slot_capacity="3")
    assert saved.status_code == 302, text_of(saved)
    with luot.db.read() as session:
        service = session.get(Service, service_id)
    assert service.bookable and service.online_numbers and (service.slot_minutes, service.slot_capacity) == (20, 3)


def test_closing_today_in_the_calendar_stops_the_kiosks_at_once(client, luot, world, clock):
    """A day closed mid-morning takes no further number, and reopening it takes them again: the kiosk's tap checks
    the calendar as saved, whatever its line in memory held before."""
    clock.set(at(9, 0, 19))
    kiosk = bearer(world.kiosk_token)
    assert client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=kiosk).status_code == 201
    admin = bearer(staff_token(client, "admin"))
    closed = client.post("/admin/holidays", data={"site_id": world.site_id, "day": "2026-11-19"}, headers=admin)
    assert closed.status_code == 302
    refused = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=kiosk)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "service_closed"
    reopened = client.post("/admin/holidays", data={"site_id": world.site_id, "day": "2026-11-19"}, headers=admin)
    assert reopened.status_code == 302
    assert client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=kiosk).status_code == 201


def test_a_day_closed_in_the_holiday_calendar_offers_no_slots_and_takes_no_numbers(client, luot, world, clock):
    admin = bearer(staff_token(client, "admin"))
    make_bookable(luot, world)
    page = client.get(f"/admin/holidays?site={world.site_id}&month=2026-11", headers=admin)
    assert page.status_code == 200 and 'data-day="2026-11-19"' in page.get_data(as_text=True)
    assert len(client.get("/book/HN/slots?service=TP-A&date=2026-11-19").get_json()["slots"]) == 30  # 16 + 14 quarters
    closed = client.post("/admin/holidays", data={"site_id": world.site_id, "day": "2026-11-19"}, headers=admin)
    assert closed.status_code == 302
    assert client.get("/book/HN/slots?service=TP-A&date=2026-11-19").get_json()["slots"] == []
    days = {d["date"]: d for d in client.get("/book/HN/days?service=TP-A").get_json()["days"]}
    assert days["2026-11-19"] == {"date": "2026-11-19", "weekday": 3, "remaining": 0, "open": False}
    assert "Nghỉ" in text_of(client.get(f"/admin/holidays?site={world.site_id}&month=2026-11", headers=admin))
    clock.set(at(9, 0, 19))
    refused = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "service_closed"
    admin = bearer(staff_token(client, "admin"))  # a new day: a new sign-in
    reopened = client.post("/admin/holidays", data={"site_id": world.site_id, "day": "2026-11-19"}, headers=admin)
    assert reopened.status_code == 302, reopened.get_data(as_text=True)[:300]
    with luot.db.read() as session:
        assert session.exec(select(Holiday)).all() == []
    assert (
        client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token)).status_code == 201
    )


def test_online_numbers_still_waiting_at_the_sites_lapse_time_are_cancelled(luot, world, clock):
    make_bookable(luot, world)
    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        site.settings = {**site.settings, "online_lapse_time": "16:30"}
        session.add(site)
    clock.set(at(9))
    online = luot.run(take_online_number, site_id=world.site_id, service_code="TP-A", person_key="a" * 64)
    kiosk = luot.run(issue_ticket, site_id=world.site_id, service_code="TP-A")
    clock.set(at(16, 29))
    assert sweep_bookings_now(luot) == (0, set())
    clock.set(at(16, 30))
    assert sweep_bookings_now(luot) == (0, {world.site_id})
    with luot.db.read() as session:
        assert session.get(Ticket, online.ticket.id).status == "cancelled"
        assert session.get(Ticket, kiosk.ticket.id).status == "waiting"  # a kiosk number does not lapse
        event = session.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == online.ticket.id, TicketEvent.kind == "cancelled")
        ).one()
    assert event.data == {"reason": "online_lapsed", "previous_status": "waiting"}
    assert luot.lines.site(world.site_id, clock.now()) is not None
    assert sweep_bookings_now(luot) == (0, set())  # once


def test_the_purge_clears_a_bookings_contact_after_its_day_and_its_card_key_after_n_days(luot, world, clock):
    make_bookable(luot, world)
    clock.set(at(8))
    outcome = luot.run(
        use.book,
        site_id=world.site_id,
        service_code="TP-A",
        slot_at=at(9),
        card_key="c" * 64,
        contact="+84912345678",
    )
    clock.set(at(23, 59))
    assert purge_now(luot, 30)["appointment.contact"] == 0  # its day is not over
    clock.set(at(0, 1, 19))
    counts = purge_now(luot, 30)
    assert counts["appointment.contact"] == 1 and counts["appointment.card_key"] == 0
    clock.set(at(0, 1, 19) + timedelta(days=31))
    assert purge_now(luot, 30)["appointment.card_key"] == 1
    with luot.db.read() as session:
        row = session.get(Appointment, outcome.appointment.id)
    assert (row.contact, row.card_key, row.person_key) == (None, None, None)
    assert row.code == outcome.appointment.code and row.slot_at == at(9)  # the booking stays, anonymous


def test_a_booking_confirmation_change_and_cancellation_are_queued_once_for_the_citizens_phone(
    client, luot, world, clock
):
    from server.configuration.site_settings import check_site_settings
    from server.models import OutboxMessage
    from tests.support.citizens import SMS

    make_bookable(luot, world)
    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        site.settings = check_site_settings({**site.settings, "messaging": SMS})
        session.add(site)
    clock.set(at(8))
    with client.session_transaction() as browser:
        browser["citizen"] = {"key": "b" * 64, "kind": "phone", "phone": "+84912345678", "name": "", "exp": 4e9}
    made = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat()})
    assert made.status_code == 201, made.get_json()
    link = f"/book/HN/b/{made.get_json()['secret']}"
    assert client.post(f"{link}/move", json={"slot": at(9, 30).isoformat()}).status_code == 200
    assert client.post(f"{link}/cancel", json={}).status_code == 200
    with luot.db.read() as session:
        queued = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(m.kind, m.address) for m in queued] == [
        ("booking_confirmed", "+84912345678"),
        ("booking_changed", "+84912345678"),
        ("booking_cancelled", "+84912345678"),
    ]
    code = made.get_json()["booking"]["code"]
    assert code in queued[0].text and "09:00 18/11/2026" in queued[0].text and link.split("/b/")[1] in queued[0].text
    assert "09:30 18/11/2026" in queued[1].text


def test_the_dashboards_bookings_link_opens_the_staff_members_site_and_the_poster_prints_its_qr(client, world):
    headers = bearer(staff_token(client, "clerk1"))
    home = client.get("/book/staff", headers=headers)
    assert home.status_code == 302 and home.headers["Location"].endswith("/book/HN/staff")
    assert client.get("/book/HN/staff", headers=headers).status_code == 200
    poster = client.get("/book/HN/poster")
    html = poster.get_data(as_text=True)
    assert poster.status_code == 200 and "<svg" in html and "Đặt lịch hẹn" in html and "/book/HN" in html


def citizen(client, key: str, phone: str) -> None:
    with client.session_transaction() as browser:
        browser["citizen"] = {"key": key * 64, "kind": "phone", "phone": phone, "name": "", "exp": 4e9}


def outbox(luot) -> list[tuple[str, str | None]]:
    from server.models import OutboxMessage

    with luot.db.read() as session:
        return [(m.kind, m.appointment_id) for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_a_booking_and_its_message_commit_together(client, luot, world, clock):
    """The confirmation is queued in the booking's own transaction: a refused booking (slot full) queues nothing, a
    made one exactly one; when the message cannot be written (a trigger of the SQLite file refuses the insert, as a
    full disk would) the booking is not made either — it was committed before, and its message lost."""
    import sqlite3

    from server.models import BookingSlot
    from tests.support.citizens import enable_sms

    make_bookable(luot, world)
    make_bookable(luot, world, "CA-X", slot_capacity=1)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    made = client.post("/book/HN/bookings", json={"service": "CA-X", "slot": at(9).isoformat()})
    assert made.status_code == 201, made.get_json()
    with luot.db.read() as session:
        booked = session.exec(select(Appointment.id)).one()
    assert outbox(luot) == [("booking_confirmed", booked)]
    citizen(client, "c", "+84912345679")
    full = client.post("/book/HN/bookings", json={"service": "CA-X", "slot": at(9).isoformat()})
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_full"
    assert len(outbox(luot)) == 1

    database = luot.settings.instance_path / "luot.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TRIGGER no_room BEFORE INSERT ON outboxmessage BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    lost = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(10).isoformat()})
    assert lost.status_code >= 500
    secret = made.get_json()["secret"]
    moved = client.post(f"/book/HN/b/{secret}/move", json={"slot": at(9, 15).isoformat()})
    assert moved.status_code >= 500
    with luot.db.read() as session:
        kept = session.exec(select(Appointment)).all()
        seats = {(s.service_id, s.slot_at): s.booked for s in session.exec(select(BookingSlot)).all()}
    assert [a.slot_at for a in kept] == [at(9)]  # no TP-A booking without its message; the move undone
    assert list(seats.values()) == [1]  # the seats taken by the failed booking and move were given back
    assert len(outbox(luot)) == 1
    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER no_room")
    assert client.post(f"/book/HN/b/{secret}/move", json={"slot": at(9, 15).isoformat()}).status_code == 200
    assert [kind for kind, _ in outbox(luot)] == ["booking_confirmed", "booking_changed"]


def test_a_booking_with_a_contact_that_is_no_phone_or_e_mail_is_refused_and_nothing_is_kept(client, luot, world, clock):
    from tests.support.citizens import enable_sms

    make_bookable(luot, world)
    enable_sms(luot, world.site_id)
    clock.set(at(8))
    citizen(client, "b", "+84912345678")
    bad = client.post("/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat(), "contact": "call me"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_address"
    assert set(bad.get_json()["error"]["messages"]) == {"vi", "en"}
    spaced = client.post(  # the citizen's own phone, as typed (another is refused: test_booking_retries.py)
        "/book/HN/bookings", json={"service": "TP-A", "slot": at(9).isoformat(), "contact": "0912 345 678"}
    )
    assert spaced.status_code == 201, spaced.get_json()
    with luot.db.read() as session:
        assert [a.contact for a in session.exec(select(Appointment)).all()] == ["+84912345678"]  # stored normalised
    assert len(outbox(luot)) == 1
