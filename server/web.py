"""Plain pages of the server itself: health check and the tracking redirect."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from server.context import luot

web = Blueprint("web", __name__)


@web.get("/healthz")
def healthz() -> ResponseReturnValue:
    ctx = luot()
    try:
        with ctx.db.read() as db_session:
            db_session.execute(text("SELECT 1"))
    except Exception as exc:  # a health check reports, it does not raise
        return jsonify({"status": "error", "database": str(exc.__class__.__name__)}), 503
    return jsonify(
        {"status": "ok", "database": "ok", "async_mode": ctx.settings.async_mode, "time": ctx.clock.now().isoformat()}
    )
