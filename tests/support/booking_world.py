"""The small test world with booked slots: TP-A (Sở Tư pháp) takes bookings (15-minute slots, 2 places, office
hours, cut-off 0) and gives online numbers; CA-X takes bookings of 1 place (the capacity race)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import select

from server.clock import LOCAL_TZ
from server.db import Database
from server.models import Service
from server.process import ServerProcess
from tests.support.world import World, build_world

OFFICE_HOURS = {"days": [0, 1, 2, 3, 4], "periods": [["07:30", "11:30"], ["13:30", "17:00"]]}
#: Wednesday 18 November 2026, 08:00 in Hà Nội: the clock of the server processes of these tests.
START = datetime(2026, 11, 18, 8, 0, tzinfo=LOCAL_TZ)


def build_booking_world(db: Database) -> World:
    world = build_world(db, appointment_early_minutes=30, appointment_late_minutes=15, booking_lapse_minutes=60)
    with db.write() as session:
        for service in session.exec(select(Service).where(Service.site_id == world.site_id)).all():
            if service.code in ("TP-A", "CA-X"):
                service.bookable = True
                service.opening_hours = OFFICE_HOURS
                service.slot_minutes = 15
                service.slot_capacity = 2 if service.code == "TP-A" else 1
                service.booking_cutoff_minutes = 0
                service.online_numbers = service.code == "TP-A"
                session.add(service)
    return world


def slot(hour: int, minute: int = 0, day: int = 18) -> str:
    """A slot of November 2026 as the API takes it (ISO with the +07:00 offset)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ).isoformat()


@contextmanager
def booking_server(folder: Path, populate: Callable[[Database], Any] | None = None) -> Iterator[ServerProcess]:
    """A server process (eventlet) on `folder`/instance with its clock started at START, populated with the booking
    world (or `populate`); stopped at the end."""
    process = ServerProcess(folder / "instance", env={"LUOT_CLOCK_START": START.isoformat()})
    process.prepare(populate or build_booking_world)
    process.start()
    try:
        yield process
    finally:
        process.stop()
