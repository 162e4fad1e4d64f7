"""Plain pages of the server itself: health check and the tracking redirect."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from server.context import luot
from server.errors_http import answers_json
from server.write_health import disk_free_bytes, disk_full

web = Blueprint("web", __name__)


@web.get("/healthz")
@answers_json
def healthz() -> ResponseReturnValue:
    """200 when the database answers, writes succeed and the disk has room; 503 otherwise, with what a supervisor
    can act on: {status, database, writes: {last_ok, last_failure, failure, failing}, write_probe, disk_free_bytes,
    disk ("ok", "full": under `write_health.DISK_FULL_BELOW_BYTES` free), …}.

    The database is probed on a fresh connection for PostgreSQL (bounded by LUOT_DB_TIMEOUT even when the server
    hangs). After a failed write, a write probe runs (SQLite: a write transaction that rewrites the header's
    user_version) so a supervisor sees the recovery without waiting for a citizen's ticket.
    """
    ctx = luot()
    body: dict[str, Any] = {"async_mode": ctx.settings.async_mode, "time": ctx.clock.now().isoformat()}
    free = body["disk_free_bytes"] = disk_free_bytes(ctx.settings.instance_path)
    full = disk_full(free)
    body["disk"] = "full" if full else "ok"
    try:
        with ctx.db.probe() as conn:
            conn.execute(text("SELECT 1"))
        body["database"] = "ok"
    except Exception as exc:  # a health check reports, it does not raise
        body.update(status="error", database=exc.__class__.__name__, writes=ctx.run.health.report())
        return jsonify(body), 503
    if ctx.run.health.failing and ctx.db.is_sqlite:
        body["write_probe"] = _write_probe(ctx)
    writes = ctx.run.health.report()
    failing = writes["failing"] or full
    body.update(writes=writes, status="error" if failing else "ok")
    return jsonify(body), 503 if failing else 200


def _write_probe(ctx: Any) -> str:
    """A real write to the SQLite file (its header); "ok" clears the failure, else the error's name."""
    try:
        with ctx.db.write() as session:
            version = session.execute(text("PRAGMA user_version")).scalar() or 0
            session.execute(text(f"PRAGMA user_version = {int(version)}"))
        ctx.run.health.ok()
        return "ok"
    except Exception as exc:
        ctx.run.health.failed(exc)
        return exc.__class__.__name__
