"""The site's holiday calendar in the administration: a month of days, each a button that closes or opens it.

GET  /admin/holidays?site=<id>&month=YYYY-MM   the month (default: this month of the site's first allowed site)
POST /admin/holidays                           site_id, day (YYYY-MM-DD), month: toggles the day (audited)

Months and days are within server.calendar_bounds (years 2000–2100): beyond, a 400 page saying so
(dashboard.refusals; JSON `date_out_of_range` to a client asking for JSON); a month that is not YYYY-MM shows
this month, a day that is not a date is a 400.

A closed day (`holiday` table) takes no numbers and offers no booked slots (server.domain.queries.site_rules
folds it into the site's rules); the lines are rebuilt when a day changes.
"""

from __future__ import annotations

import calendar
from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from dashboard.access import ADMIN_ROLES, staff
from dashboard.admin import admin, audit
from server.calendar_bounds import parse_day, parse_month, shifted_month
from server.clock import local_date
from server.context import luot
from server.domain.errors import DateOutOfRange
from server.models import Holiday, Site


def _month(text: str | None, today: date) -> date:
    """The first day of the month asked (YYYY-MM), or of today's month. Raises DateOutOfRange."""
    return parse_month(text) or today.replace(day=1)


@admin.get("/holidays")
def holidays() -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    ctx = luot()
    first = _month(request.args.get("month"), local_date(ctx.clock.now()))
    with ctx.db.read() as db_session:
        sites = [
            s for s in db_session.exec(select(Site).order_by(col(Site.code))).all() if principal.may_see_site(s.id or 0)
        ]
        if not sites:
            abort(404)
        chosen = request.args.get("site", type=int) or sites[0].id
        site = next((s for s in sites if s.id == chosen), None)
        if site is None:
            abort(404)
        last = date(first.year, first.month, calendar.monthrange(first.year, first.month)[1])
        closed = {
            h.day: h.name
            for h in db_session.exec(
                select(Holiday).where(Holiday.site_id == site.id, col(Holiday.day) >= first, col(Holiday.day) <= last)
            ).all()
        }
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return render_template(
        "admin/holidays.html",
        sites=sites,
        site=site,
        first=first,
        weeks=weeks,
        closed=closed,
        previous=shifted_month(first, -1),
        following=shifted_month(first, 1),
    )


@admin.post("/holidays")
def toggle_holiday() -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    ctx = luot()
    site_id = request.form.get("site_id", type=int) or 0
    day = parse_day(request.form.get("day", "")[:10])
    if day is None:
        abort(400)
    if not principal.may_see_site(site_id):
        abort(403)
    with ctx.db.write() as db_session:
        if db_session.get(Site, site_id) is None:
            abort(404)
        existing = db_session.get(Holiday, (site_id, day))
        if existing is None:
            db_session.add(Holiday(site_id=site_id, day=day, name=request.form.get("name", "")[:200]))
            action = "close"
        else:
            db_session.delete(existing)
            action = "open"
        audit(
            db_session,
            principal,
            action,
            "holidays",
            None,
            site_id,
            f"{day.isoformat()} {action}",
            {"day": day.isoformat()},
        )
    ctx.lines.mark_stale(site_id)  # the site's hours changed: its line (estimates, "closed") is built again
    return redirect(url_for("admin.holidays", site=site_id, month=_shown_month(request.form.get("month"), day)))


def _shown_month(text: str | None, day: date) -> str:
    """The month the calendar showed (YYYY-MM), to go back to; the day's month if that is not a month we show."""
    try:
        first = parse_month(text)
    except DateOutOfRange:
        first = None
    return (first or day).strftime("%Y-%m")
