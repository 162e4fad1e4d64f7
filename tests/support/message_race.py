"""Two outbox workers with their own database engines (as two server processes have) sending the same queue at
once, to prove each message is claimed, and so sent, exactly once."""

from __future__ import annotations

import threading

from sqlmodel import select

from server.clock import SystemClock
from server.configuration.site_settings import check_site_settings
from server.db import Database
from server.messaging.outbox import MessageKind, enqueue
from server.messaging.worker import MessageWorker
from server.models import OutboxMessage, Site
from server.settings import Settings
from tests.support.gateway import Gateway

ROUNDS = 50  # bounded: each round sends at most a batch


def queue_messages(db: Database, site_id: int, gateway: Gateway, count: int) -> None:
    clock = SystemClock()
    with db.write() as session:
        site = session.get(Site, site_id)
        assert site is not None
        sms = {"url": f"{gateway.url}/sms", "body": '{"to": "{phone}", "ref": "{id}"}'}
        site.settings = check_site_settings({**site.settings, "messaging": {"sms": sms}})
        session.add(site)
        for number in range(count):
            enqueue(
                session,
                site_id=site_id,
                kind=MessageKind.OTP,
                address=f"+8491234{number:04d}",
                params={"code": str(number)},
                dedupe_key=f"race:{number}",
                now=clock.now(),
            )
        session.commit()


def race(settings: Settings, workers: int = 2) -> list[int]:
    """Runs `workers` workers (own engines) at once until the queue is empty; returns each one's sends."""
    start = threading.Barrier(workers)
    sent = [0] * workers
    engines = [Database(settings) for _ in range(workers)]

    def run(index: int) -> None:
        worker = MessageWorker(engines[index], SystemClock(), spawn=lambda *a: None)
        start.wait(10)
        for _ in range(ROUNDS):
            if not worker.run_once():
                break
        sent[index] = worker.sent

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    return sent


def statuses(db: Database) -> list[tuple[str, int]]:
    with db.read() as session:
        return [(r.status, r.attempts) for r in session.exec(select(OutboxMessage)).all()]
