"""On PostgreSQL, two requests of the tracking page's "tell me" form for one ticket at the same moment (a double
click, or two tabs) each save the watch: the second waits for the first's row and replaces it, instead of failing
on the unique ticket id with an error page. (On SQLite the write lock already serialises them.)"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from sqlalchemy import text
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.configuration.site_settings import check_site_settings
from server.db import Database
from server.domain import queueing
from server.messaging.outbox import watch_ticket
from server.models import Site, TicketWatch
from server.settings import load_settings
from tests.scaleout.conftest import ScaleWorld

NOON = datetime(2026, 11, 18, 10, 0, tzinfo=LOCAL_TZ)
WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")
SMS = {"sms": {"url": "http://127.0.0.1:9/sms", "body": '{"to": "{phone}", "text": "{text}"}'}}


def _blocked_on_a_lock(db: Database, timeout: float = 10.0) -> bool:
    """Whether another connection is waiting on a row or index lock, polled with back-off up to `timeout`."""
    deadline, delay = time.monotonic() + timeout, 0.01
    while time.monotonic() < deadline:
        with db.read() as session:
            waiting = session.execute(WAITING).scalar_one()
        if waiting:
            return True
        time.sleep(delay)  # polling the server's own view of who waits, not guessing a duration
        delay = min(delay * 2, 0.2)
    return False


def test_two_forms_for_one_ticket_at_once_both_save_the_watch(scale_world: ScaleWorld):
    db = Database(load_settings(environ={}, database_url=scale_world.database_url))
    try:
        with db.write() as session:
            site = session.get(Site, scale_world.world.site_id)
            assert site is not None
            site.settings = check_site_settings({**site.settings, "messaging": SMS})
            session.add(site)
            ticket = queueing.issue_ticket(session, NOON, site_id=site.id or 0, service_code="TP-A").ticket
            assert ticket is not None
            ticket_id = ticket.id
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with db.write() as session:
                    watch_ticket(session, ticket_id=ticket_id, address="0912 000 002", near_turn=False, called=True)
            except BaseException as exc:  # the test reports it
                errors.append(exc)

        with db.write() as session:
            watch_ticket(session, ticket_id=ticket_id, address="0912 000 001", near_turn=True, called=True)
            other = threading.Thread(target=second)
            other.start()
            assert _blocked_on_a_lock(db), "the second form waits for the first's row"
        other.join(timeout=30)
        assert not other.is_alive()
        assert errors == []
        with db.read() as session:
            watches = session.exec(select(TicketWatch)).all()
        assert [(w.ticket_id, w.address, w.near_turn, w.called) for w in watches] == [
            (ticket_id, "+84912000002", False, True)
        ]
    finally:
        db.dispose()
