"""Whether a write that failed may still have been recorded: the database went away during its COMMIT.

A client whose connection breaks after it sent COMMIT cannot know whether the server committed: the answer was
lost, not the transaction (PostgreSQL documents it with `txid_status()`: "the application may be unable to tell
whether a transaction committed"; SQLite's COMMIT on a full or failing disk is the same question locally). So a
failure there must not be answered 503 "nothing was recorded": the drills caught a kiosk told so for a ticket
that was in the database. It is answered 503 `storage_unconfirmed` instead ("it may have been recorded; the
same request again is safe") — a kiosk's tap repeats with its Idempotency-Key and gets the ticket if it exists,
a console's action carries its `ticket_id` and is refused 409 if the call went through.

`watch(engine)` marks the request when a write connection sends COMMIT (`sending`); the Session's `after_commit` (or
`answered()`, for a transaction committed on its connection alone) clears the mark once the database has answered.
`unconfirmed()` tells the error handlers which 503 to give.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from server.domain.errors import N_, DomainError

_SENT = "luot_commit_sent"


class StorageUnconfirmed(DomainError):
    """503: the database stopped answering while it was committing; the write may or may not be there."""

    code, status, message = (
        "storage_unconfirmed",
        503,
        N_(
            "The database stopped answering while saving; it may have been recorded. "
            "Please try again in a moment: the same request again is never recorded twice."
        ),
    )


def watch(engine: Engine) -> None:
    """Marks the current request when one of `engine`'s write connections (execution option `luot_write`)
    sends COMMIT."""
    event.listen(engine, "commit", sending)


def sending(conn: Any) -> None:
    """Marks the current request: write connection `conn` is sending COMMIT (the engine's commit event; a COMMIT
    sent on the DBAPI connection, `server.write_transaction`, calls it itself)."""
    if has_request_context() and conn.get_execution_options().get("luot_write"):
        setattr(g, _SENT, True)


@event.listens_for(Session, "after_commit")
def _answered(_session: Session) -> None:
    answered()


def answered() -> None:
    """The database answered this request's COMMIT: clears the mark (a Session's commit does it by itself; a
    transaction committed on its connection alone, `server.db.WriteTransaction`, calls it)."""
    if has_request_context():
        g.pop(_SENT, None)


def unconfirmed() -> bool:
    """True when this request's last write sent COMMIT and never heard back."""
    return has_request_context() and bool(g.get(_SENT))
