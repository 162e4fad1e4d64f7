"""Personal data (Law 91/2025): the purge removes exactly what the README's "Personal data" section says and nothing
else (every table dumped and compared before and after); an admin finds and deletes one citizen's data (audited,
never the number in clear); `luot privacy purge` and the daily run of `luot serve` do the purge."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlmodel import col, select, update

from server.clock import ManualClock
from server.context import Luot
from server.domain import queueing
from server.domain.vocabulary import Channel
from server.identity.citizen import IdentityKind, person_key
from server.identity.otp import send_code
from server.messaging.outbox import MessageKind, enqueue, watch_ticket
from server.models import Appointment, OutboxMessage, Service, Ticket
from server.privacy.purge import RULES
from server.stats.models import AuditEntry
from tests.conftest import WEDNESDAY_9AM
from tests.support.api import bearer, staff_token
from tests.support.citizens import enable_sms
from tests.support.openapi_check import checked_client
from tests.support.world import World

PHONE = "+84912345678"


@pytest.fixture
def client(app):
    """Every JSON answer of these tests is also checked against the OpenAPI document."""
    return checked_client(app.test_client())


README = Path(__file__).parents[2] / "README.md"


def seed_day(luot: Luot, world: World, clock: ManualClock, when: datetime, tag: str, queued: bool = False) -> dict:
    """One citizen's day: an online number with a turn alert, a booking, a one-time code, a sent message (and one
    still queued when `queued`)."""
    clock.set(when)
    key = person_key(luot.settings.secret_key or _secret(luot), IdentityKind.PHONE, PHONE)
    ticket = luot.run(
        queueing.issue_ticket, site_id=world.site_id, service_code="TP-A", channel=Channel.ONLINE, person_key=key
    ).ticket
    with luot.db.write() as session:
        service_id = session.exec(select(Service.id).where(Service.code == "CA-X")).one()
        booking = Appointment(
            site_id=world.site_id,
            service_id=service_id,
            code=f"BK-{tag}",
            slot_at=when,
            person_key=key,
            contact=PHONE,  # for the booking's messages (booking/privacy.py)
            card_key="c" * 64,  # the CCCD given to check in with the ID card
        )
        session.add(booking)
        session.flush()
        watch_ticket(session, ticket_id=ticket.id, address=PHONE, near_turn=True, called=True, now=when)
        send_code(session, when, secret=_secret(luot), site_id=world.site_id, phone=PHONE)
        params = {"service": "Xuất nhập cảnh", "slot": "09:00", "code": booking.code, "link": "http://x/b"}
        enqueue(
            session,
            site_id=world.site_id,
            kind=MessageKind.BOOKING_CONFIRMED,
            address=PHONE,
            params=params,
            dedupe_key=f"booked:{tag}",
            appointment_id=booking.id,
            now=when,
        )
        session.execute(update(OutboxMessage).where(col(OutboxMessage.created_at) == when).values(status="sent"))
        if queued:
            enqueue(
                session,
                site_id=world.site_id,
                kind=MessageKind.CALLED,
                address=PHONE,
                params={"display_number": ticket.display_number, "counter": "2"},
                dedupe_key=f"called:{tag}",
                ticket_id=ticket.id,
                now=when,
            )
    return {"ticket": ticket.id, "booking": booking.id}


def _secret(luot: Luot) -> str:
    return (luot.settings.instance_path / "secret_key").read_text().strip()


def dump(luot: Luot) -> dict[str, dict[Any, dict[str, Any]]]:
    """Every row of every table (by primary key or rowid), as SQLite holds it."""
    path = luot.settings.instance_path / "luot.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            table: {row["rowid"]: dict(row) for row in connection.execute(f"SELECT rowid AS rowid, * FROM {table}")}
            for table in tables
            if not table.startswith("sqlite_")
        }


def changes(before: dict, after: dict) -> dict[str, dict[str, Any]]:
    """table → {"deleted": rowids, "added": rowids, "columns": {rowid: changed column names}}, for tables that
    changed."""
    found: dict[str, dict[str, Any]] = {}
    for table in before.keys() | after.keys():
        old, new = before.get(table, {}), after.get(table, {})
        columns = {
            rowid: sorted(name for name in old[rowid] if old[rowid][name] != new[rowid][name])
            for rowid in old.keys() & new.keys()
            if old[rowid] != new[rowid]
        }
        deleted, added = sorted(old.keys() - new.keys()), sorted(new.keys() - old.keys())
        if columns or deleted or added:
            found[table] = {"deleted": deleted, "added": added, "columns": columns}
    return found


@pytest.fixture
def days(luot: Luot, world: World, clock: ManualClock) -> dict[str, dict]:
    enable_sms(luot, world.site_id)
    seeded = {
        "old": seed_day(luot, world, clock, WEDNESDAY_9AM - timedelta(days=40), "old"),
        "recent": seed_day(luot, world, clock, WEDNESDAY_9AM - timedelta(days=5), "recent", queued=True),
        "today": seed_day(luot, world, clock, WEDNESDAY_9AM, "today"),
    }
    clock.set(WEDNESDAY_9AM + timedelta(hours=2))
    return seeded


def test_the_purge_removes_what_the_readme_says_and_nothing_else(luot: Luot, days):
    from server.privacy.daily import purge_now

    before = dump(luot)
    counts = purge_now(luot, 30)
    after = dump(luot)
    found = changes(before, after)
    old_ticket, old_booking = days["old"]["ticket"], days["old"]["booking"]
    assert found["ticket"] == {"deleted": [], "added": [], "columns": {old_ticket: ["person_key"]}}
    booking_columns = {rowid: sorted(columns) for rowid, columns in found["appointment"].pop("columns").items()}
    assert found["appointment"] == {"deleted": [], "added": []}
    assert booking_columns == {  # contacts of finished days; keys (person, card) older than 30 days
        old_booking: ["card_key", "contact", "person_key"],
        days["recent"]["booking"]: ["contact"],
    }
    codes_before = before["onetimecode"]
    finished = [rowid for rowid, row in codes_before.items() if row["created_at"] < "2026-11-17 17:00:00"]
    assert len(finished) == 2 and found["onetimecode"] == {"deleted": finished, "added": [], "columns": {}}
    watches = {row["ticket_id"]: rowid for rowid, row in before["ticketwatch"].items()}
    gone = sorted([watches[days["old"]["ticket"]], watches[days["recent"]["ticket"]]])
    assert found["ticketwatch"] == {"deleted": gone, "added": [], "columns": {}}
    sent_before_today = [
        rowid
        for rowid, row in before["outboxmessage"].items()
        if row["status"] == "sent" and row["created_at"] < "2026-11-17 17:00:00"  # local midnight of the 18th
    ]
    assert len(sent_before_today) == 4  # a code and a confirmation on each finished day
    cleared = found["outboxmessage"]
    assert cleared == {
        "deleted": [],
        "added": [],
        "columns": {rowid: ["address", "params", "text"] for rowid in sent_before_today},
    }
    queued = [r for r in after["outboxmessage"].values() if r["status"] == "queued"]
    assert queued and all(r["address"] == PHONE for r in queued)  # may still be sent: kept
    assert set(found) == {"ticket", "appointment", "onetimecode", "ticketwatch", "outboxmessage"}
    assert counts == {
        "ticket.person_key": 1,
        "appointment.person_key": 1,
        "onetimecode": 2,
        "outboxmessage.address/params/text": 4,
        "ticketwatch": 2,
        "appointment.contact": 2,
        "appointment.card_key": 1,
    }
    purge_now(luot, 30)
    assert changes(after, dump(luot)) == {}  # a second run changes nothing


def test_the_readme_names_every_purge_rule_and_no_other(app):  # the app registers the bookings' rules
    section = README.read_text().split("## Personal data", 1)[1].split("\n## ", 1)[0]
    for rule in RULES:
        assert f"`{rule.name}`" in section, f"README 'Personal data' does not name {rule.name}"
    purged = "`luot privacy purge" + section.split("What `luot privacy purge", 1)[1].split("Other modules add", 1)[0]
    named = {name for name in re.findall(r"`([^`]+)`", purged) if re.fullmatch(r"[a-z]+(\.[a-z_/]+)?", name)}
    assert named == {rule.name for rule in RULES}  # the purge paragraph names no rule that does not exist


def test_older_than_zero_removes_every_finished_days_keys_but_not_todays(luot: Luot, days):
    from server.privacy.daily import purge_now

    counts = purge_now(luot, 0)
    assert counts["ticket.person_key"] == 2 and counts["appointment.person_key"] == 2
    with luot.db.read() as session:
        kept = session.exec(select(Appointment).where(col(Appointment.person_key).is_not(None))).all()
    assert [a.code for a in kept] == ["BK-today"]


def test_an_admin_finds_and_deletes_a_citizens_data_and_the_audit_log_keeps_no_number(client, luot: Luot, days):
    admin = staff_token(client, "admin")
    found = client.post("/api/privacy/find", json={"phone": "0912 345 678"}, headers=bearer(admin))
    assert found.status_code == 200, found.get_json()
    body = found.get_json()
    assert body["counts"]["tickets"] == 3 and body["counts"]["appointments"] == 3 and body["counts"]["codes"] == 3
    assert body["counts"]["messages"] >= 6 and body["counts"]["watches"] == 3
    assert PHONE not in found.get_data(as_text=True) and "912345678" not in found.get_data(as_text=True)
    deleted = client.post("/api/privacy/delete", json={"phone": "0912345678"}, headers=bearer(admin))
    assert deleted.status_code == 200 and deleted.get_json()["deleted"] == body["counts"]
    again = client.post("/api/privacy/find", json={"phone": "0912345678"}, headers=bearer(admin)).get_json()
    assert again["counts"] == {"tickets": 0, "appointments": 0, "messages": 0, "watches": 0, "codes": 0}
    with luot.db.read() as session:
        messages = session.exec(select(OutboxMessage)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.entity == "personal_data")).all()
    assert messages and all(m.address == "" and m.params == {} and m.text == "" for m in messages)
    assert all(m.status in ("sent", "failed") for m in messages)  # nothing left to go out to the deleted number
    with luot.db.read() as session:
        bookings = session.exec(select(Appointment)).all()
    assert [(a.person_key, a.card_key, a.contact) for a in bookings] == [(None, None, None)] * 3
    assert [e.action for e in entries] == ["read", "delete", "read"]
    assert all("912345678" not in e.summary and "+84 9•• ••• 678" in e.summary for e in entries)
    text = str([(e.summary, e.changes) for e in entries])
    assert not re.search(r"\d{9}", text)


def test_only_admins_may_look_up_personal_data(client, world, days):
    clerk = staff_token(client, "clerk1")
    assert client.post("/api/privacy/find", json={"phone": PHONE}, headers=bearer(clerk)).status_code == 403
    assert client.post("/api/privacy/find", json={"phone": PHONE}).status_code == 401
    admin = staff_token(client, "admin")
    refused = client.post("/api/privacy/find", json={}, headers=bearer(admin))
    assert refused.status_code == 400 and refused.get_json()["error"]["messages"]["vi"]


def test_luot_privacy_purge_runs_from_the_command_line(luot: Luot, days, monkeypatch):
    from server.commands import cli

    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(luot.settings.instance_path))
    monkeypatch.setenv("LUOT_CLOCK_START", (WEDNESDAY_9AM + timedelta(hours=2)).isoformat())  # "today" of the seed
    result = CliRunner().invoke(cli, ["privacy", "purge", "--older-than", "30d"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "ticket.person_key: 1",
        "appointment.person_key: 1",
        "onetimecode: 2",
        "outboxmessage.address/params/text: 4",
        "ticketwatch: 2",
        "appointment.contact: 2",
        "appointment.card_key: 1",
    ]
    assert CliRunner().invoke(cli, ["privacy", "purge", "--older-than", "soon"]).exit_code == 2


def test_the_housekeeping_of_serve_purges_once_each_local_day(luot: Luot, world: World, clock: ManualClock, days):
    """Round 1 purges; a key of an old day added before round 2 (same day) stays; round 3 (the next day) purges it."""
    from server.maintenance import run_day_close_forever

    class Stop(Exception):
        pass

    def keyed_tickets() -> int:
        with luot.db.read() as session:
            return len(session.exec(select(Ticket.id).where(col(Ticket.person_key).is_not(None))).all())

    seen: list[int] = []

    class Rounds:
        def sleep(self, seconds: float) -> None:
            seen.append(keyed_tickets())
            if len(seen) == 1:
                with luot.db.write() as session:
                    session.execute(
                        update(Ticket).where(col(Ticket.id) == days["old"]["ticket"]).values(person_key="f" * 64)
                    )
            elif len(seen) == 2:
                clock.advance(days=1)
            else:
                raise Stop

    with pytest.raises(Stop):
        run_day_close_forever(luot, Rounds())
    assert seen == [2, 3, 2]  # recent and today keep theirs; the old one is purged on the new day only


def test_the_admin_page_finds_and_deletes_in_the_page_language(client, luot: Luot, days):
    admin = bearer(staff_token(client, "admin"))
    empty = client.get("/admin/privacy/", headers=admin)
    assert empty.status_code == 200 and "Dữ liệu cá nhân" in empty.get_data(as_text=True)
    found = client.post("/admin/privacy/", headers=admin, data={"phone": "0912 345 678", "action": "find"})
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and 'id="found"' in page and "BK-old" in page and "Xóa dữ liệu này" in page
    assert "912345678" not in page.replace(" ", "").replace("0912345678", "")  # only the number the admin typed
    bad = client.post("/admin/privacy/?lang=en", headers=admin, data={"phone": "12", "action": "find"})
    assert bad.status_code == 400 and "Vietnamese mobile phone number" in bad.get_data(as_text=True)
    gone = client.post("/admin/privacy/", headers=admin, data={"phone": "0912345678", "action": "delete"})
    assert gone.status_code == 200 and 'id="deleted"' in gone.get_data(as_text=True)
    with luot.db.read() as session:
        keyed = session.exec(select(Appointment).where(col(Appointment.person_key).is_not(None))).all()
        actions = [e.action for e in session.exec(select(AuditEntry).where(AuditEntry.entity == "personal_data"))]
    assert keyed == [] and actions == ["read", "delete"]
    clerk = bearer(staff_token(client, "clerk1"))
    assert client.get("/admin/privacy/", headers=clerk).status_code == 403


def test_the_admin_page_names_what_it_found_and_deleted_in_the_page_language(client, luot: Luot, days):
    """The counts were listed by their internal keys ("tickets", "watches", "codes") in the Vietnamese page too."""
    admin = bearer(staff_token(client, "admin"))
    found = client.post("/admin/privacy/", headers=admin, data={"phone": "0912 345 678", "action": "find"})
    table = found.get_data(as_text=True).split('id="found"')[1].split("</table>")[0]
    assert "Lịch hẹn" in table and "Cảnh báo đến lượt" in table and "Mã xác thực" in table
    for key in ("tickets", "appointments", "messages", "watches", "codes"):
        assert f"<td>{key}</td>" not in table
    english = client.post("/admin/privacy/?lang=en", headers=admin, data={"phone": "0912345678", "action": "find"})
    assert "<td>Turn alerts</td>" in english.get_data(as_text=True)
    gone = client.post("/admin/privacy/", headers=admin, data={"phone": "0912345678", "action": "delete"})
    said = gone.get_data(as_text=True).split('id="deleted">')[1].split("</p>")[0]
    assert said.startswith("Đã xóa: Số thứ tự ") and "appointments" not in said and "Lịch hẹn" in said


def test_a_citizen_who_left_an_e_mail_can_have_it_found_and_deleted(client, luot: Luot, world: World):
    """The tracking page takes an e-mail where the site sends e-mail; the admin's search took only a phone or an
    ID number, so that address (in the turn alert and its messages) could not be found or deleted on request."""
    from server.configuration.site_settings import check_site_settings
    from server.models import Site, TicketWatch

    with luot.db.write() as session:
        site = session.get(Site, world.site_id)
        assert site is not None
        site.settings = check_site_settings(
            {**site.settings, "messaging": {"email": {"host": "127.0.0.1", "sender": "hcc@example.vn"}}}
        )
        session.add(site)
    ticket = luot.run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    with luot.db.write() as session:
        watch_ticket(session, ticket_id=ticket.id, address="Lan.Nguyen@Example.VN", near_turn=True, called=True)
        params = {"display_number": ticket.display_number, "counter": "2"}
        address = "Lan.Nguyen@example.vn"
        enqueue(session, site_id=world.site_id, kind=MessageKind.CALLED, address=address, params=params, dedupe_key="c")
    admin = bearer(staff_token(client, "admin"))
    found = client.post("/api/privacy/find", json={"email": " lan.nguyen@EXAMPLE.vn "}, headers=admin)
    assert found.status_code == 200, found.get_json()
    assert found.get_json()["counts"] == {"tickets": 0, "appointments": 0, "messages": 1, "watches": 1, "codes": 0}
    assert "nguyen" not in found.get_data(as_text=True).lower()
    gone = client.post("/api/privacy/delete", json={"email": "Lan.Nguyen@example.vn"}, headers=admin)
    assert gone.status_code == 200 and gone.get_json()["deleted"]["watches"] == 1
    page = client.post("/admin/privacy/", headers=admin, data={"email": "lan.nguyen@example.vn", "action": "find"})
    assert page.status_code == 200 and "<td>Cảnh báo đến lượt</td><td>0</td>" in page.get_data(as_text=True)
    bad = client.post("/api/privacy/find", json={"email": "not-an-address"}, headers=admin)
    assert bad.status_code == 400 and bad.get_json()["error"]["messages"]["en"]
    with luot.db.read() as session:
        assert session.exec(select(TicketWatch)).all() == []
        (message,) = session.exec(select(OutboxMessage)).all()
        entries = session.exec(select(AuditEntry).where(AuditEntry.entity == "personal_data")).all()
    assert message.address == "" and message.status == "failed"
    assert entries and all("nguyen" not in (e.summary or "").lower() and "l•@example.vn" in e.summary for e in entries)


def test_bookings_are_found_and_deleted_by_their_contact_and_their_id_card(client, luot: Luot, world: World, clock):
    """A booking made by staff for a citizen who phoned carries the CCCD's key (as person and card key) and the
    phone as its contact, not the phone's key; a citizen signed in by phone who gave their CCCD has the card key.
    The admin's search by phone finds the first by its contact, by e-mail the second by its contact, by ID number
    both; deleting clears every personal column of a booking (person key, card key, contact); the page lists them."""
    from server.domain import booking
    from tests.support.booking_world import OFFICE_HOURS

    enable_sms(luot, world.site_id)
    with luot.db.write() as session:
        service = session.exec(select(Service).where(Service.code == "TP-A")).one()
        service.bookable, service.opening_hours, service.booking_cutoff_minutes = True, OFFICE_HOURS, 0
        session.add(service)
    secret = _secret(luot)
    card = person_key(secret, IdentityKind.CCCD, "001099012345")
    clock.set(WEDNESDAY_9AM)
    slot = WEDNESDAY_9AM + timedelta(hours=1)
    staff_made = luot.run(
        booking.book, site_id=world.site_id, service_code="TP-A", slot_at=slot, card_key=card, contact=PHONE
    )
    signed_in = luot.run(
        booking.book,
        site_id=world.site_id,
        service_code="TP-A",
        slot_at=slot + timedelta(days=1),
        person_key=person_key(secret, IdentityKind.PHONE, "+84987654321"),
        card_key=card,
        contact="Lan@example.vn",
    )
    admin = bearer(staff_token(client, "admin"))
    by_phone = client.post("/api/privacy/find", json={"phone": "0912345678"}, headers=admin).get_json()
    assert [a["code"] for a in by_phone["appointments"]] == [staff_made.appointment.code]
    by_mail = client.post("/api/privacy/find", json={"email": "lan@example.VN"}, headers=admin).get_json()
    assert [a["code"] for a in by_mail["appointments"]] == [signed_in.appointment.code]
    by_card = client.post("/api/privacy/find", json={"id_number": "001099012345"}, headers=admin).get_json()
    assert by_card["counts"]["appointments"] == 2
    page = client.post("/admin/privacy/", headers=admin, data={"phone": "0912345678", "action": "find"})
    assert staff_made.appointment.code in page.get_data(as_text=True)
    gone = client.post("/api/privacy/delete", json={"phone": "0912345678"}, headers=admin)
    assert gone.status_code == 200 and gone.get_json()["deleted"]["appointments"] == 1
    gone = client.post("/api/privacy/delete", json={"id_number": "001099012345"}, headers=admin)
    assert gone.status_code == 200 and gone.get_json()["deleted"]["appointments"] == 1  # the other one
    with luot.db.read() as session:
        rows = session.exec(select(Appointment)).all()
    assert [(a.person_key, a.card_key, a.contact) for a in rows] == [(None, None, None)] * 2
    assert {a.code for a in rows} == {staff_made.appointment.code, signed_in.appointment.code}  # anonymous, kept
