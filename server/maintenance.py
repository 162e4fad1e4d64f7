"""Housekeeping that runs inside `luot serve`: closing past service days (see server.domain.day_close)."""

from __future__ import annotations

import logging
from typing import Any

from server.context import Luot
from server.domain.day_close import DayClose, close_past_days

log = logging.getLogger(__name__)
DAY_CLOSE_EVERY_SECONDS = 600  # a day's leftovers are closed within ten minutes of local midnight


def close_past_days_now(ctx: Luot) -> DayClose:
    with ctx.db.write() as session:
        result = close_past_days(session, ctx.clock.now())
    if result.total:
        log.info(
            "closed past days: %s tickets cancelled (%s)",
            result.total,
            ", ".join(f"{k} {v}" for k, v in sorted(result.cancelled.items())),
        )
    return result


def run_day_close_forever(ctx: Luot, socketio: Any, every_seconds: float = DAY_CLOSE_EVERY_SECONDS) -> None:
    """A background task: close past days now, then every `every_seconds`; an engine outage is logged, not fatal."""
    while True:
        try:
            close_past_days_now(ctx)
        except Exception:  # the database may be away for a while; the next round tries again
            log.exception("closing past days failed; retrying in %s s", every_seconds)
        socketio.sleep(every_seconds)
