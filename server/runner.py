"""Runs one use case in one write transaction, then publishes its events (only after the commit)."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.clock import Clock
from server.commit_outcome import StorageUnconfirmed
from server.db import USE_CASE, Database
from server.domain.errors import N_, DomainError
from server.domain.queueing import Outcome
from server.write_health import WriteHealth

log = logging.getLogger(__name__)


class StorageUnavailable(DomainError):
    code, status, message = (
        "storage_unavailable",
        503,
        N_("The database is not answering; nothing was recorded. Please try again in a moment."),
    )


class Runner:
    """Runs use cases: `ready` is asked first (it raises StorageUnavailable when the events could not be
    published); `lines` (the in-memory lines, `server.line_store.LineStore`) is handed to use cases that take a
    `lines` argument and receives each commit's events before the write lock is released (it applies them at
    once, or after the answer and before any read: `LineStore.defer`); `publish` gets them after."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        publish: Callable[[list], None],
        ready: Callable[[], None] | None = None,
        lines: Any = None,
        on_commit: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.db = db
        self.on_commit = on_commit
        self.health = WriteHealth()  # /healthz reports it
        self.clock = clock
        self.publish = publish
        self.ready = ready
        self.lines = lines

    def __call__(self, use_case: Callable[..., Outcome], *args: Any, **kwargs: Any) -> Outcome:
        """Commit once, publish after; a unique-key race (another process) is retried once."""
        if self.ready is not None:
            self.ready()  # refuse before recording anything rather than record what nobody will hear of
        if self.lines is not None and _takes_lines(use_case):
            kwargs.setdefault("lines", self.lines)
        for attempt in (1, 2):
            committing = False
            try:
                with self.db.transaction() as session:
                    session.info[USE_CASE] = True
                    outcome = use_case(session, self.clock.now(), *args, **kwargs)
                    session.flush()  # a failure up to here recorded nothing; one in COMMIT may have recorded it all
                    committing = True
                    session.commit()
                    committing = False
                    self.health.ok()
                    if self.on_commit is not None:
                        self.on_commit(outcome)
                    if self.lines is not None:
                        self._apply(use_case, outcome)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("retrying %s after a concurrent write", use_case.__name__)
            except (OperationalError, InterfaceError, PoolTimeout) as exc:  # PoolTimeout: every connection busy
                log.error("database error in %s%s: %s", use_case.__name__, " at COMMIT" if committing else "", exc)
                self.health.failed(exc)
                if committing:  # the answer was lost, maybe not the write: the lines read it again
                    self._reread()
                    raise StorageUnconfirmed() from exc
                raise StorageUnavailable() from exc
        try:
            self.publish(outcome.events)
        except Exception:  # committed is committed: the caller is told so; clients resync from snapshots
            log.exception("%s was committed but its events were not published", use_case.__name__)
        return outcome

    def _reread(self) -> None:
        """After a COMMIT that never heard back: the in-memory lines are built again from the database."""
        if self.lines is None:
            return
        try:
            self.lines.mark_stale(None)
        except Exception:  # telling the clients may need the engine that just failed; the lines are stale already
            log.exception("the lines were marked stale but their clients could not be told")

    def _apply(self, use_case: Callable[..., Outcome], outcome: Outcome) -> None:
        """The in-memory lines learn the commit while no other writer can come in between."""
        try:
            self.lines.apply(outcome.events)
        except Exception:  # the commit stands; the lines are built again from the database
            log.exception("the lines could not apply %s; rebuilding them", use_case.__name__)
            self.lines.mark_stale(None)


@functools.cache
def _takes_lines(use_case: Callable[..., Outcome]) -> bool:
    return "lines" in inspect.signature(use_case).parameters
