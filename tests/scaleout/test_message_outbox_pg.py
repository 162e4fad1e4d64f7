"""On PostgreSQL, the outbox's migration, its insert-once (ON CONFLICT DO NOTHING) and two workers with their own
engines (two processes) claiming the same queue: each message is sent exactly once."""

from __future__ import annotations

from server.db import Database
from server.messaging.outbox import MessageKind, enqueue
from server.settings import load_settings
from tests.scaleout.conftest import ScaleWorld
from tests.support.gateway import Gateway
from tests.support.message_race import queue_messages, race, statuses


def test_two_workers_on_postgresql_send_each_message_once(scale_world: ScaleWorld):
    settings = load_settings(environ={}, database_url=scale_world.database_url)
    db = Database(settings)
    gateway = Gateway()
    try:
        queue_messages(db, scale_world.world.site_id, gateway, 60)
        with db.write() as session:
            again = enqueue(
                session,
                site_id=scale_world.world.site_id,
                kind=MessageKind.OTP,
                address="+84912340000",
                params={"code": "0"},
                dedupe_key="race:0",
            )
            session.commit()
        sent = race(settings)
        refs = [r.json()["ref"] for r in gateway.requests]
        rows = statuses(db)
    finally:
        gateway.close()
        db.dispose()
    assert again is False
    assert sorted(refs) == sorted(f"race:{n}" for n in range(60)), "each message sent once"
    assert sum(sent) == 60 and rows == [("sent", 1)] * 60
    print(f"two workers on PostgreSQL: {sent}")
