"""What the dashboard, the exports and the bench ask: today live (from the log) and history (roll-ups + today)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from server.clock import local_date, local_midnight
from server.domain.vocabulary import CHANNEL_LABELS as VOCABULARY_CHANNELS
from server.domain.vocabulary import ORDINARY, PRIORITY_CLASSES, Label, TicketStatus
from server.models import Agency, Counter, Service, Site, Ticket, User
from server.stats.compute import INDEX, KEY_FIELDS, Tally, service_infos, tally_sites, tally_window
from server.stats.live import LiveStats
from server.stats.models import MEASURES, StatsDetail, StatsHourly
from server.stats.rollup import missing_days
from server.stats.rows import combine, empty_row, figures
from server.stats.waits import Waits, decode

BREAKDOWNS = ("site", "agency", "service", "counter", "clerk", "priority", "channel", "day")
FINE_ONLY = ("counter", "clerk", "priority", "channel")


def today_window(now: datetime) -> tuple[datetime, datetime]:
    """Today so far: from local midnight up to and including `now` (events later than the clock are ignored)."""
    today = local_date(now)
    return local_midnight(today), min(now + timedelta(seconds=1), local_midnight(today + timedelta(days=1)))


# ---------------------------------------------------------------- filters


@dataclass(frozen=True)
class Filters:
    first: date
    last: date
    site_ids: tuple[int, ...]
    agency_id: int | None = None
    service_id: int | None = None
    counter_id: int | None = None
    clerk_id: int | None = None
    priority: str | None = None
    channel: str | None = None
    by: str = "agency"

    @property
    def fine(self) -> bool:
        return self.by in FINE_ONLY or any(
            v is not None for v in (self.counter_id, self.clerk_id, self.priority, self.channel)
        )

    def matches(self, key: tuple) -> bool:
        values = dict(zip(KEY_FIELDS, key, strict=True))
        if values["site_id"] not in self.site_ids or not self.first <= values["day"] <= self.last:
            return False
        for name, wanted in (
            ("agency_id", self.agency_id),
            ("service_id", self.service_id),
            ("counter_id", self.counter_id),
            ("clerk_id", self.clerk_id),
            ("priority", self.priority),
            ("channel", self.channel),
        ):
            if wanted is not None and values[name] != wanted:
                return False
        return True

    def as_query(self) -> dict[str, str]:
        query = {"from": self.first.isoformat(), "to": self.last.isoformat(), "by": self.by}
        if len(self.site_ids) == 1:
            query["site"] = str(self.site_ids[0])
        for name in ("agency_id", "service_id", "counter_id", "clerk_id", "priority", "channel"):
            value = getattr(self, name)
            if value is not None:
                query[name.removesuffix("_id")] = str(value)
        return query


def _where(table: type[Any], filters: Filters, last: date) -> list[Any]:
    clauses = [col(table.site_id).in_(filters.site_ids), col(table.day) >= filters.first, col(table.day) <= last]
    for name in ("agency_id", "service_id", "counter_id", "clerk_id", "priority", "channel"):
        value = getattr(filters, name)
        if value is not None:
            clauses.append(col(getattr(table, name)) == value)
    return clauses


def _sums(table: type) -> list[Any]:
    return [func.max(getattr(table, m)) if m == "wait_max" else func.sum(getattr(table, m)) for m in MEASURES]


# ---------------------------------------------------------------- history


@dataclass
class History:
    filters: Filters
    totals: list[int] = field(default_factory=empty_row)
    by_day: dict[date, list[int]] = field(default_factory=dict)
    by_hour: dict[int, list[int]] = field(default_factory=dict)
    heat: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))  # (weekday, hour) → issued
    breakdown: dict[Any, list[int]] = field(default_factory=dict)
    #: breakdown key → its name: a text, or a vocabulary `Label` (priority, channel) the report writes in its language
    labels: dict[Any, str | Label] = field(default_factory=dict)
    # the exact waits behind each p90 (server.stats.waits): of the total, per day, per hour, per breakdown key
    waits_total: Waits = field(default_factory=Waits)
    waits_by_day: dict[date, Waits] = field(default_factory=lambda: defaultdict(Waits))
    waits_by_hour: dict[int, Waits] = field(default_factory=lambda: defaultdict(Waits))
    waits_breakdown: dict[Any, Waits] = field(default_factory=lambda: defaultdict(Waits))
    #: (day, site id) pairs of the range's finished days that have no roll-up and are NOT counted above: the
    #: figures are incomplete while it is not empty (every surface says so: server.stats.exports.Report)
    missing: list[tuple[date, int]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every finished day of the range is counted."""
        return not self.missing

    def add(self, day: date, hour: int, row: list[int] | tuple[int, ...]) -> None:
        combine(self.totals, row)
        combine(self.by_day.setdefault(day, empty_row()), row)
        combine(self.by_hour.setdefault(hour, empty_row()), row)
        self.heat[(day.weekday(), hour)] += int(row[INDEX["issued"]] or 0)

    def add_breakdown(self, key: Any, row: list[int] | tuple[int, ...]) -> None:
        combine(self.breakdown.setdefault(key, empty_row()), row)

    def add_waits(self, day: date, hour: int, key: Any, waits: Any) -> None:
        """Exact wait seconds (a list or a decoded roll-up blob) counted on that day, hour and breakdown key."""
        self.waits_total.add(waits)
        self.waits_by_day[day].add(waits)
        self.waits_by_hour[hour].add(waits)
        self.waits_breakdown[key].add(waits)

    def total_figures(self) -> dict[str, Any]:
        return figures(self.totals, self.waits_total)

    def day_figures(self, day: date) -> dict[str, Any]:
        return figures(self.by_day[day], self.waits_by_day.get(day))

    def hour_figures(self, hour: int) -> dict[str, Any]:
        return figures(self.by_hour[hour], self.waits_by_hour.get(hour))

    def breakdown_figures(self, key: Any) -> dict[str, Any]:
        return figures(self.breakdown[key], self.waits_breakdown.get(key))

    def days_in_range(self) -> list[date]:
        count = (self.filters.last - self.filters.first).days + 1
        return [self.filters.first + timedelta(days=i) for i in range(count)]


def breakdown_key(filters: Filters, key: tuple) -> Any:
    values = dict(zip(KEY_FIELDS, key, strict=True))
    return (
        values["day"]
        if filters.by == "day"
        else values[filters.by if filters.by in ("priority", "channel") else f"{filters.by}_id"]
    )


def history(session: Session, filters: Filters, now: datetime, *, from_log: bool = False) -> History:
    """Figures for the filtered range: finished days from the roll-ups, today live from the event log.

    A finished day of a site without a roll-up is counted from the event log when `from_log` (the downloads,
    built in a child process where time matters less: server.stats.export_worker), else left out and named in
    `History.missing` (the page, which rolls up a bounded number first: dashboard.routes.load_history)."""
    today = local_date(now)
    result = History(filters)
    last_past = min(filters.last, today - timedelta(days=1))
    table: type[Any] = StatsDetail if filters.fine else StatsHourly
    if filters.first <= last_past and filters.site_ids:
        where = _where(table, filters, last_past)
        for day, hour, *row in session.exec(
            select(table.day, table.hour, *_sums(table)).where(*where).group_by(table.day, table.hour)
        ):
            result.add(day, hour, row)
        if filters.by == "day":
            for day, row in result.by_day.items():
                result.add_breakdown(day, row)
            column = table.day
        else:
            column = getattr(table, filters.by if filters.by in ("priority", "channel") else f"{filters.by}_id")
            for value, *row in session.exec(select(column, *_sums(table)).where(*where).group_by(column)):
                result.add_breakdown(value, row)
        # the exact waits of every row (4 bytes per first call): the p90s of the total, days, hours and keys.
        # Blobs are joined per group first (bytes concatenation), then counted once per group in C.
        blobs: dict[tuple[str, Any], list[bytes]] = defaultdict(list)
        for day, hour, value, blob in session.execute(
            select(table.day, table.hour, column, table.waits).where(*where, col(table.waits).is_not(None))
        ):
            blobs[("day", day)].append(blob)
            blobs[("hour", hour)].append(blob)
            blobs[("key", value)].append(blob)
        for (kind, key), parts in blobs.items():
            waits = decode(b"".join(parts))
            targets: dict[str, Any] = {
                "day": result.waits_by_day,
                "hour": result.waits_by_hour,
                "key": result.waits_breakdown,
            }
            target = targets[kind]
            target[key].add(waits)
            if kind == "day":
                result.waits_total.add(waits)
    missing = missing_days(session, list(filters.site_ids), filters.first, last_past)
    if missing and from_log:  # after the roll-ups: their by-day breakdown is copied from `by_day` above
        add_tally(result, tally_missing(session, missing))
    else:
        result.missing = missing
    if filters.first <= today <= filters.last:
        add_tally(result, tally_sites(session, list(filters.site_ids), *today_window(now)))
    result.labels = breakdown_labels(session, filters.by, list(result.breakdown))
    return result


def add_tally(result: History, tally: Tally) -> None:
    """Adds the rows and exact waits of a tally read from the event log (today, or finished days without a
    roll-up) that match the history's filters, on their own day and hour."""
    filters = result.filters
    grouped: dict[tuple[date, int, Any], list[int]] = {}  # (day, hour, breakdown key): fewer additions below
    for key, row in tally.rows.items():
        if filters.matches(key):
            combine(grouped.setdefault((key[0], key[1], breakdown_key(filters, key)), empty_row()), row)
    for (day, hour, key), row in grouped.items():
        result.add(day, hour, row)
        result.add_breakdown(key, row)
    for key, samples in tally.samples.items():
        if filters.matches(key):
            result.add_waits(key[0], key[1], breakdown_key(filters, key), samples)


def missing_runs(missing: list[tuple[date, int]]) -> dict[tuple[date, date], list[int]]:
    """(first day, last day) of each run of consecutive missing days → the sites missing all of it: a run is
    read from the log in one pass (a whole range after the roll-ups were emptied is one run for every site)."""
    by_site: dict[int, list[date]] = defaultdict(list)
    for day, site_id in missing:
        by_site[site_id].append(day)
    runs: dict[tuple[date, date], list[int]] = defaultdict(list)
    for site_id, site_days in sorted(by_site.items()):
        site_days.sort()
        start = end = site_days[0]
        for day in site_days[1:]:
            if day != end + timedelta(days=1):
                runs[(start, end)].append(site_id)
                start = day
            end = day
        runs[(start, end)].append(site_id)
    return runs


def tally_missing(session: Session, missing: list[tuple[date, int]]) -> Tally:
    """The figures of finished site-days that have no roll-up, computed from the event log as `rollup_day`
    would (server.stats.compute; targets as configured now), without writing anything."""
    tally = Tally()
    site_ids = sorted({site_id for _day, site_id in missing})
    services = service_infos(session, site_ids)
    for (first, last), sites in sorted(missing_runs(missing).items()):
        tally_window(session, sites, local_midnight(first), local_midnight(last + timedelta(days=1)), tally, services)
    return tally


def agency_hour_rows(session: Session, filters: Filters, now: datetime) -> tuple[dict[tuple[int, int], list[int]], int]:
    """Summed measures per (agency, hour of day) over the range, and the number of days that had arrivals."""
    today = local_date(now)
    last_past = min(filters.last, today - timedelta(days=1))
    table: type[Any] = StatsDetail if filters.fine else StatsHourly
    rows: dict[tuple[int, int], list[int]] = {}
    active_days: set[date] = set()
    if filters.first <= last_past and filters.site_ids:
        where = _where(table, filters, last_past)
        for agency, hour, *row in session.exec(
            select(table.agency_id, table.hour, *_sums(table)).where(*where).group_by(table.agency_id, table.hour)
        ):
            combine(rows.setdefault((agency, hour), empty_row()), row)
        active_days.update(session.exec(select(table.day).where(*where, table.issued > 0).distinct()).all())
    if filters.first <= today <= filters.last:
        for key, row in tally_sites(session, list(filters.site_ids), *today_window(now)).rows.items():
            if filters.matches(key):
                combine(rows.setdefault((key[3], key[1]), empty_row()), row)
                if row[INDEX["issued"]]:
                    active_days.add(today)
    return rows, len(active_days)


#: The vocabulary's labels (server.domain.vocabulary.Label: Vietnamese and English) of the priority classes ("" is
#: ordinary) and of the channels; a page or file writes them in its own language (`label(language)`).
PRIORITY_LABELS: dict[str, Label] = {"": ORDINARY, **{p.code: p.label for p in PRIORITY_CLASSES}}
CHANNEL_LABELS: dict[str, Label] = {str(channel): label for channel, label in VOCABULARY_CHANNELS.items()}


def breakdown_labels(session: Session, by: str, keys: list[Any]) -> dict[Any, str | Label]:
    """Breakdown key → its name: dd/mm/yyyy for days, the vocabulary's `Label` for priority classes and channels
    (an unknown code stays as it is), the name from the catalogue for the rest ("—" for key 0: no clerk…)."""
    if by == "day":
        return {k: k.strftime("%d/%m/%Y") for k in keys}
    if by == "priority":
        return {k: PRIORITY_LABELS.get(k, k) for k in keys}
    if by == "channel":
        return {k: CHANNEL_LABELS.get(k, k) for k in keys}
    ids = [k for k in keys if k]
    labels: dict[Any, str | Label] = {0: "—"}
    if by == "site":
        labels.update({s.id: s.name for s in session.exec(select(Site).where(col(Site.id).in_(ids)))})
    elif by == "agency":
        labels.update({a.id: a.name for a in session.exec(select(Agency).where(col(Agency.id).in_(ids)))})
    elif by == "service":
        services = session.exec(select(Service).where(col(Service.id).in_(ids)))
        labels.update({s.id: f"{s.code} · {s.name}" for s in services})
    elif by == "counter":
        counters = session.exec(select(Counter).where(col(Counter.id).in_(ids)))
        labels.update({c.id: c.name or f"Quầy {c.number}" for c in counters})
    elif by == "clerk":
        users = session.exec(select(User).where(col(User.id).in_(ids)))
        labels.update({u.id: u.full_name or u.username for u in users})
    return {k: labels.get(k, f"#{k}") for k in keys}


# ---------------------------------------------------------------- today, live


def live_site(live: LiveStats, site_id: int, now: datetime) -> dict[str, Any]:
    """Today's figures of one site per service and agency, and its total (server.stats.live: kept in memory,
    fed by the committed events; a constant-size answer)."""
    return live.answer(site_id, now)


def province_today(session: Session, live: LiveStats, site_ids: list[int], now: datetime) -> dict[str, Any]:
    """Per site and in total: waiting now, longest wait, counters, and today's served/wait/satisfaction (from
    the live figures kept per site; the province's p90 merges the sites' exact waits)."""
    today = local_date(now)
    sites = session.exec(select(Site).where(col(Site.id).in_(site_ids)).order_by(col(Site.id))).all()
    waiting = {
        site_id: (count, oldest)
        for site_id, count, oldest in session.exec(
            select(Ticket.site_id, func.count(), func.min(Ticket.queue_since))
            .where(
                col(Ticket.site_id).in_(site_ids), Ticket.service_date == today, Ticket.status == TicketStatus.WAITING
            )
            .group_by(col(Ticket.site_id))
        )
    }
    counters: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for site_id, status, count in session.exec(
        select(Counter.site_id, Counter.status, func.count())
        .where(col(Counter.site_id).in_(site_ids))
        .group_by(col(Counter.site_id), col(Counter.status))
    ):
        counters[site_id][status] = count
    per_site: dict[int, list[int]] = {}
    site_waits: dict[int, Any] = {}
    all_waits = Waits()
    for site_id in site_ids:
        figures_today = live.site(site_id, now)
        per_site[site_id] = figures_today.row(list(figures_today.tally.rows))
        site_waits[site_id] = figures_today.tally.site_waits
        all_waits.add(figures_today.tally.site_waits.values)
    rows, total = [], empty_row()
    total_waiting, total_longest = 0, 0
    for site in sites:
        count, oldest = waiting.get(site.id or 0, (0, None))
        longest = int((now - _aware(oldest)).total_seconds()) if oldest else 0
        row = per_site.get(site.id or 0, empty_row())
        combine(total, row)
        total_waiting += count
        total_longest = max(total_longest, longest)
        rows.append(
            {
                "id": site.id,
                "code": site.code,
                "name": site.name,
                "kind": site.kind,
                "waiting": count,
                "longest_wait_seconds": longest,
                "open": counters[site.id or 0]["open"],
                "paused": counters[site.id or 0]["paused"],
                **figures(row, site_waits.get(site.id or 0)),
            }
        )
    return {
        "day": today.isoformat(),
        "now": now.isoformat(),
        "sites": rows,
        "total": {
            "waiting": total_waiting,
            "longest_wait_seconds": total_longest,
            "open": sum(r["open"] for r in rows),
            "paused": sum(r["paused"] for r in rows),
            **figures(total, all_waits),
        },
    }


def _aware(value: Any) -> datetime:
    """MIN() over a UTC column comes back naive (or as text on SQLite): read it as UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
