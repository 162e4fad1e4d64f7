"""Runs one use case in one write transaction, then publishes its events (only after the commit)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from server.clock import Clock
from server.db import Database
from server.domain.errors import N_, DomainError
from server.domain.queueing import Outcome

log = logging.getLogger(__name__)


class StorageUnavailable(DomainError):
    code, status, message = (
        "storage_unavailable",
        503,
        N_("The database is not answering; nothing was recorded. Please try again in a moment."),
    )


class Runner:
    def __init__(
        self, db: Database, clock: Clock, publish: Callable[[list], None], ready: Callable[[], None] | None = None
    ) -> None:
        self.db = db
        self.clock = clock
        self.publish = publish
        self.ready = ready  # raises StorageUnavailable when events could not be published (message queue down)

    def __call__(self, use_case: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
        """Commit once, publish after; a unique-key race (another process) is retried once."""
        if self.ready is not None:
            self.ready()  # refuse before recording anything rather than record what nobody will hear of
        for attempt in (1, 2):
            try:
                with self.db.write() as session:
                    outcome = use_case(session, self.clock.now(), *args, **kwargs)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("retrying %s after a concurrent write", use_case.__name__)
            except OperationalError as exc:
                log.error("database error in %s: %s", use_case.__name__, exc)
                raise StorageUnavailable() from exc
        try:
            self.publish(outcome.events)
        except Exception:  # committed is committed: the caller is told so; clients resync from snapshots
            log.exception("%s was committed but its events were not published", use_case.__name__)
        return outcome
