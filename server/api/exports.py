"""The one-stop export for a province's integrator: `GET /api/v1/exports/onestop` (managers and admins)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, request
from flask.typing import ResponseReturnValue
from sqlmodel import select

from server.api import api
from server.api.support import InvalidBody, require
from server.auth import Forbidden
from server.calendar_bounds import parse_day
from server.clock import local_date
from server.context import luot
from server.domain.vocabulary import MANAGER_ROLES, Label
from server.models import Site
from server.stats.onestop import onestop_rows, to_csv, to_json

MAX_DAYS = 92


def _day(name: str) -> date:
    """A required day of the query string. Raises InvalidBody (not a date) or DateOutOfRange (beyond 2000–2100)."""
    day = parse_day(request.args.get(name))
    if day is None:
        raise InvalidBody(detail=Label(f"cần {name}=YYYY-MM-DD", f"{name}=YYYY-MM-DD is required"))
    return day


@api.get("/exports/onestop")
def onestop() -> ResponseReturnValue:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD[&site=CODE][&format=csv|json]: per ticket of those local days, the fields
    of server.stats.onestop.FIELDS. A manager bound to a site gets that site only (another site: 403)."""
    principal = require(staff_roles=MANAGER_ROLES)
    first, last = _day("from"), _day("to")
    kind = request.args.get("format", "csv")
    if kind not in ("csv", "json"):
        raise InvalidBody(detail=Label("format=csv hoặc format=json", "format=csv or format=json"))
    if last < first or last - first > timedelta(days=MAX_DAYS - 1):
        raise InvalidBody(detail=Label(f"from ≤ to, tối đa {MAX_DAYS} ngày", f"from ≤ to, at most {MAX_DAYS} days"))
    ctx = luot()
    with ctx.db.read() as db_session:
        query = select(Site)
        code = request.args.get("site")
        if code:
            query = query.where(Site.code == code[:32])
        sites = [s for s in db_session.exec(query).all() if principal.may_see_site(s.id or 0)]
        if code and not sites:
            raise Forbidden()
        rows = onestop_rows(db_session, first, last, [s.id or 0 for s in sites], local_date(ctx.clock.now()))
    name = f"luot-onestop-{first.isoformat()}-{last.isoformat()}.{kind}"
    # "text/csv": Flask adds "; charset=utf-8" to a text type itself (given here too, the header said it twice)
    body, mimetype = (to_csv(rows), "text/csv") if kind == "csv" else (to_json(rows, first, last), "application/json")
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
