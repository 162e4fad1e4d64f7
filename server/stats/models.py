"""Roll-up tables (derived from the ticket event log) and the administration audit log.

Registered on the same SQLModel metadata as server.models, so Alembic sees them (server/migrations/env.py
imports this module). Roll-up rows are derived data: `luot stats rollup` rebuilds any day from the log.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.models import json_column, utc_column

# Upper bounds (minutes) of the wait-histogram buckets w0 … w9; w9 is "90 minutes or more".
WAIT_BUCKETS: tuple[int, ...] = (2, 5, 10, 15, 20, 30, 45, 60, 90)
BUCKET_COLUMNS: tuple[str, ...] = tuple(f"w{i}" for i in range(len(WAIT_BUCKETS) + 1))

# Additive measures of both roll-up tables (wait_max is combined with MAX, everything else with SUM).
MEASURES: tuple[str, ...] = (
    "issued",
    "called",
    "wait_sum",
    "wait_max",
    "within_target",
    *BUCKET_COLUMNS,
    "served",
    "service_sum",
    "service_within",
    "no_show",
    "recalled",
    "transferred_in",
    "transferred_out",
    "held",
    "returned",
    "cancelled",
    "ratings",
    "r_very",
    "r_sat",
    "r_neutral",
    "r_unsat",
    "wait_last_n",
    "wait_last_sum",
)


class _Measures(SQLModel):
    issued: int = 0
    called: int = 0  # tickets whose FIRST call fell in this bucket (= number of waits measured)
    wait_sum: int = 0  # seconds
    wait_max: int = 0
    within_target: int = 0
    w0: int = 0
    w1: int = 0
    w2: int = 0
    w3: int = 0
    w4: int = 0
    w5: int = 0
    w6: int = 0
    w7: int = 0
    w8: int = 0
    w9: int = 0
    served: int = 0
    service_sum: int = 0  # seconds
    service_within: int = 0
    no_show: int = 0
    recalled: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    held: int = 0
    returned: int = 0
    cancelled: int = 0
    ratings: int = 0
    r_very: int = 0
    r_sat: int = 0
    r_neutral: int = 0
    r_unsat: int = 0
    wait_last_n: int = 0  # tickets whose calling ended (finished / no-show) here: waits to their LAST call
    wait_last_sum: int = 0  # seconds, issue → last call or recall (what Qmatic reports as wait)
    # the exact waits (to the first call) counted in this row: sorted uint32 seconds, server.stats.waits.encode
    waits: bytes | None = Field(default=None, sa_type=sa.LargeBinary)


class StatsDetail(_Measures, table=True):
    """Finest grain: local day × hour × site × agency × service × counter × clerk × priority × channel.

    counter_id / clerk_id are 0 where a figure has no counter (arrivals). Used when history is filtered or
    grouped by counter, clerk, priority or channel.
    """

    __tablename__ = "stats_detail"
    __table_args__ = (sa.Index("ix_stats_detail_site_day", "site_id", "day"),)
    day: date = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    site_id: int = Field(primary_key=True)
    agency_id: int = Field(primary_key=True)
    service_id: int = Field(primary_key=True)
    counter_id: int = Field(default=0, primary_key=True)
    clerk_id: int = Field(default=0, primary_key=True)
    priority: str = Field(default="", primary_key=True, max_length=16)
    channel: str = Field(default="", primary_key=True, max_length=16)


class StatsHourly(_Measures, table=True):
    """Coarse grain for fast province-wide history: local day × hour × site × agency × service."""

    __tablename__ = "stats_hourly"
    __table_args__ = (sa.Index("ix_stats_hourly_site_day", "site_id", "day"),)
    day: date = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    site_id: int = Field(primary_key=True)
    agency_id: int = Field(primary_key=True)
    service_id: int = Field(primary_key=True)


class StatsRolledDay(SQLModel, table=True):
    """Which (site, local day) pairs have been rolled up, and when."""

    __tablename__ = "stats_rolled_day"
    day: date = Field(primary_key=True)
    site_id: int = Field(primary_key=True)
    rolled_at: datetime = utc_column(nullable=False)
    events: int = 0


class AuditEntry(SQLModel, table=True):
    """Who changed what in the administration (pages and `luot config import`)."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_at", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(nullable=False)
    user_id: int | None = Field(default=None, index=True)
    username: str = Field(default="", max_length=64)
    site_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=16)  # create | update | delete | token | import
    entity: str = Field(max_length=32)  # site | agency | service | counter | user | device | config
    entity_id: int | None = None
    summary: str = Field(default="", max_length=500)
    changes: dict = json_column()
