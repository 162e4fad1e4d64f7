"""What the manager dashboard shows of a site's messages today: counts by status, and the messages that failed or
are late, with their last error. Addresses are masked (addresses.masked); no secret of the channels appears.

A message is *late* when it is still queued or being sent more than LATE_AFTER after it was queued (a gateway
down, retries waiting). Today = the site's local day (Asia/Ho_Chi_Minh), by the time the message was queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from server.clock import local_date, local_midnight, local_time_text
from server.messaging.addresses import masked
from server.models import OutboxMessage, table_of

LATE_AFTER = timedelta(minutes=5)
PROBLEMS_SHOWN = 50
STATUSES = ("queued", "sending", "sent", "failed")
OUTBOX = table_of(OutboxMessage)


def message_health(session: Session, site_id: int, now: datetime) -> dict[str, Any]:
    """``{"counts": {queued, sending, sent, failed}, "late": n, "problems": [row, …]}`` for today; a row is
    ``{"id", "kind", "channel", "to" (masked), "status", "late": bool, "attempts", "last_error", "queued_at",
    "queued_local" (HH:MM in Hà Nội), "next_attempt_at", "sent_at"}`` (ISO times), failed and late ones, newest
    first, at most PROBLEMS_SHOWN."""
    since = local_midnight(local_date(now))
    late_before = now - LATE_AFTER
    today = sa.and_(OUTBOX.c.site_id == site_id, OUTBOX.c.created_at >= since)
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(
        sa.select(OUTBOX.c.status, sa.func.count()).where(today).group_by(OUTBOX.c.status)
    ).all():
        counts[status] = int(count)
    is_late = sa.and_(OUTBOX.c.status.in_(("queued", "sending")), OUTBOX.c.created_at < late_before)
    late = int(session.execute(sa.select(sa.func.count()).where(today, is_late)).scalar() or 0)
    rows = session.execute(
        sa.select(OUTBOX)
        .where(today, sa.or_(OUTBOX.c.status == "failed", is_late))
        .order_by(OUTBOX.c.created_at.desc(), OUTBOX.c.id.desc())
        .limit(PROBLEMS_SHOWN)
    ).all()
    return {"counts": counts, "late": late, "problems": [_row(r, late_before) for r in rows]}


def _row(row: Any, late_before: datetime) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "to": masked(row.address),
        "status": row.status,
        "late": row.status in ("queued", "sending") and row.created_at < late_before,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "queued_at": iso(row.created_at),
        "queued_local": local_time_text(row.created_at, "%H:%M"),
        "next_attempt_at": iso(row.next_attempt_at),
        "sent_at": iso(row.sent_at),
    }
