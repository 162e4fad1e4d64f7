"""The manager's view of the messages sent to citizens (server/messaging): today's counts, and the failed and late
messages with their last error — GET /dashboard/messages (page) and GET /dashboard/api/messages (JSON, the shape of
server.messaging.failures.message_health). Managers and admins of the site."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from dashboard.access import HISTORY_ROLES, staff
from dashboard.routes import _api_site_id, _site_choice
from server.context import luot
from server.messaging.failures import LATE_AFTER, message_health
from server.messaging.texts import KIND_LABELS

messages_dashboard = Blueprint("dashboard_messages", __name__, url_prefix="/dashboard", template_folder="templates")


@messages_dashboard.get("/api/messages")
def counts_json() -> ResponseReturnValue:
    site_id = _api_site_id(HISTORY_ROLES)
    ctx = luot()
    with ctx.db.read() as db_session:
        return jsonify(message_health(db_session, site_id, ctx.clock.now()))


@messages_dashboard.get("/messages")
def page() -> ResponseReturnValue:
    principal = staff(HISTORY_ROLES, page=True)
    ctx = luot()
    with ctx.db.read() as db_session:
        sites, site = _site_choice(db_session, principal, request.args.get("site", type=int), page=True)
        health = message_health(db_session, site.id or 0, ctx.clock.now())
    return render_template(
        "dashboard/messages.html",
        sites=sites,
        site=site,
        health=health,
        kinds={str(k): v for k, v in KIND_LABELS.items()},
        late_minutes=int(LATE_AFTER.total_seconds() // 60),
    )
