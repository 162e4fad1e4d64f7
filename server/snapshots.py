"""The full current state a (re)connecting client draws from, read from the site's line in memory (no query but
the site's catalogue, which the line store keeps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.domain.line import SiteLine
from server.domain.outlook import service_figures
from server.line_store import SiteCatalogue
from server.payloads import call_dict, counter_dict, public_ticket, queue_dict


def site_snapshot(line: SiteLine, catalogue: SiteCatalogue, now: datetime) -> dict[str, Any]:
    """{now, site, rules, agencies, services, queues, counters, recent_calls} of a site."""
    figures = service_figures(line, now)
    services = catalogue.services_at(now)
    return {
        "now": now.isoformat(),
        "site": catalogue.site,
        "rules": {
            "rating_scale": list(line.rules.rating_scale),
            "rating_reasons": list(line.rules.rating_reasons),
            "rating_reason_scores": list(line.rules.rating_reason_scores),
            "recall_limit": line.rules.recall_limit,
            "no_show_after_recall_limit": line.rules.no_show_after_recall_limit,
        },
        "agencies": catalogue.agencies,
        "services": services,
        "queues": [queue_dict(figures[s["id"]]) for s in services if s["id"] in figures],
        "counters": [
            counter_dict(counter, _current(line, counter.id))
            for counter in sorted(line.counters.values(), key=lambda c: c.number)
        ],
        "recent_calls": [call_dict(call, line.counters) for call in line.recent_calls],
    }


def _current(line: SiteLine, counter_id: int) -> dict[str, Any] | None:
    ticket = line.at_counter.get(counter_id)
    return public_ticket(ticket) if ticket is not None else None
