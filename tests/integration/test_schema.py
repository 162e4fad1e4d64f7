"""The Alembic scripts build exactly the schema the models declare, and the hot reads use their indexes."""

from __future__ import annotations

import sqlite3

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import server.models  # the tables (SQLModel.metadata)
import server.stats.models  # noqa: F401
from server.db import Database
from server.settings import load_settings


def test_the_migrated_schema_is_the_models_schema(migrated_instance):
    db = Database(load_settings(environ={}, instance_dir=str(migrated_instance)))
    try:
        with db.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    finally:
        db.dispose()


def plan(database, sql: str) -> str:
    with sqlite3.connect(database) as connection:
        return " ".join(row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}"))


def test_todays_line_and_the_daily_cap_read_through_an_index(migrated_instance):
    database = migrated_instance / "luot.sqlite3"
    cap = plan(database, "SELECT count(*) FROM ticket WHERE origin_service_id = 1 AND service_date = '2026-11-30'")
    assert "ix_ticket_origin_day" in cap
    line = plan(
        database,
        "SELECT * FROM ticket WHERE service_date = '2026-11-30' AND site_id = 1 AND status IN ('waiting', 'held')",
    )
    assert "ix_ticket_day_site_status" in line


def test_migration_0005_keeps_old_ratings_and_empties_roll_ups_that_counted_staff_ratings(tmp_path):
    """A database at 0004 with a `staff` rating and a roll-up: after 0005 the rating is kept (with no reasons,
    still never counted) and the roll-ups are gone, to be rebuilt from the citizen ratings only."""
    from server.migrate import upgrade

    database = tmp_path / "old.sqlite3"
    url = f"sqlite:///{database}"
    upgrade(url, "0004")
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO site (id, code, name, kind, address, settings) VALUES (1, 'S', 'S', 'centre', '', '{}')"
        )
        connection.execute(
            "INSERT INTO rating (id, ticket_id, site_id, agency_id, service_id, score, comment, source, at) "
            "VALUES (1, 1, 1, 1, 1, 'very_satisfied', '', 'staff', '2026-11-18 02:00:00.000000')"
        )
        connection.execute(
            "INSERT INTO stats_rolled_day (site_id, day, rolled_at, events) "
            "VALUES (1, '2026-11-18', '2026-11-19 00:00:00', 3)"
        )
    upgrade(url)
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT source, reasons FROM rating").fetchall() == [("staff", "[]")]
        assert connection.execute("SELECT count(*) FROM stats_rolled_day").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM ticketdossier").fetchone() == (0,)
