"""The purge as `luot serve` runs it (once each local day, after the day close) and as
`luot privacy purge` runs it: one write transaction, counts logged."""

from __future__ import annotations

import logging

from server.context import Luot
from server.privacy.purge import purge

log = logging.getLogger(__name__)


def purge_now(ctx: Luot, older_than_days: int | None = None) -> dict[str, int]:
    """Purges personal data of finished days, keeping person keys `older_than_days` days (default:
    LUOT_PRIVACY_DAYS); rule name → rows changed."""
    days = ctx.settings.privacy_days if older_than_days is None else older_than_days
    with ctx.db.write() as session:
        counts = purge(session, ctx.clock.now(), days)
    if any(counts.values()):
        log.info("personal data purged: %s", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return counts
