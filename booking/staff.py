"""Staff booking for a citizen who phones: the same endpoints as the citizen's page, with the staff member's
sign-in (Bearer token or session cookie + CSRF), plus the day's bookings of a site and cancel/move by id."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from pydantic import BaseModel

from server.api.support import InvalidBody, current_principal, parse_body, require
from server.auth import Forbidden, Principal
from server.calendar_bounds import parse_day
from server.clock import local_date
from server.context import luot
from server.domain import booking as use
from server.domain import booking_errors as refused
from server.domain.vocabulary import STAFF_ROLES, Label
from server.errors_http import answers_json
from server.models import Appointment

staff_pages = Blueprint("booking_staff", __name__, template_folder="templates")


class StaffMove(BaseModel):
    slot: Any


def staff_of(site_id: int) -> Principal | None:
    """The signed-in staff member if they may work for `site_id`; None for a citizen (no staff sign-in)."""
    principal = current_principal()
    if principal is None or not principal.is_staff:
        return None
    if principal.role not in STAFF_ROLES or not principal.may_see_site(site_id):
        raise Forbidden()
    return principal


def _site_staff(site_code: str) -> tuple[Principal, int]:
    from booking.routes import site_of

    require(staff_roles=STAFF_ROLES)
    with luot().db.read() as db_session:
        site = site_of(db_session, site_code)
    principal = staff_of(site.id or 0)
    assert principal is not None
    return principal, site.id or 0


@staff_pages.get("/book/<site_code>/staff/day")
@answers_json
def day_json(site_code: str) -> ResponseReturnValue:
    """The bookings of a day (?date=YYYY-MM-DD, default today) per service."""
    from booking.views import day_bookings

    _principal, site_id = _site_staff(site_code)
    ctx = luot()
    day = parse_day(request.args["date"][:10]) if request.args.get("date") else local_date(ctx.clock.now())
    if day is None:  # beyond 2000–2100: DateOutOfRange (server.calendar_bounds)
        raise InvalidBody(detail=Label("date: ngày dạng YYYY-MM-DD", "date: YYYY-MM-DD"))
    with ctx.db.read() as db_session:
        return jsonify({"date": day.isoformat(), "services": day_bookings(db_session, site_id, day, ctx.clock.now())})


def _appointment(site_id: int, appointment_id: int) -> Appointment:
    with luot().db.read() as db_session:
        appointment = db_session.get(Appointment, appointment_id)
    if appointment is None or appointment.site_id != site_id:
        raise refused.UnknownBooking()
    return appointment


@staff_pages.post("/book/<site_code>/staff/<int:appointment_id>/cancel")
@answers_json
def staff_cancel(site_code: str, appointment_id: int) -> ResponseReturnValue:
    from booking.routes import _changed

    _principal, site_id = _site_staff(site_code)
    _appointment(site_id, appointment_id)
    site = _site(site_id)
    return _changed("cancelled", site, "", use.cancel, appointment_id=appointment_id)


@staff_pages.post("/book/<site_code>/staff/<int:appointment_id>/move")
@answers_json
def staff_move(site_code: str, appointment_id: int) -> ResponseReturnValue:
    from booking.routes import MoveRequest, _aware, _changed

    _principal, site_id = _site_staff(site_code)
    body = parse_body(MoveRequest)
    _appointment(site_id, appointment_id)
    at = _aware(body.slot)  # staff are not held to the link's cap on moves: they talk to the citizen
    return _changed("changed", _site(site_id), "", use.move, appointment_id=appointment_id, slot_at=at, max_moves=None)


def _site(site_id: int) -> Any:
    from server.models import Site

    with luot().db.read() as db_session:
        return db_session.get(Site, site_id)


def _sign_in_first() -> ResponseReturnValue | None:
    """A page asked without a sign-in (a bookmark, an expired session): the dashboard's sign-in, then back here."""
    if current_principal() is not None:
        return None
    return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))


@staff_pages.get("/book/<site_code>/staff")
def staff_page(site_code: str) -> ResponseReturnValue:
    """The staff page: the day's bookings per service; book, move and cancel for a citizen who phones."""
    from booking.pages import staff_page_response

    if (signed_in := _sign_in_first()) is not None:
        return signed_in
    _principal, site_id = _site_staff(site_code)
    return staff_page_response(site_code, site_id)


@staff_pages.get("/book/staff")
def staff_home() -> ResponseReturnValue:
    """The dashboard's link: the bookings page of the staff member's site (province staff: the first site)."""
    from sqlmodel import col, select

    from server.models import Site

    if (signed_in := _sign_in_first()) is not None:
        return signed_in
    principal = require(staff_roles=STAFF_ROLES)
    with luot().db.read() as db_session:
        sites = db_session.exec(select(Site).order_by(col(Site.code))).all()
    mine = [s for s in sites if principal.may_see_site(s.id or 0)]
    if not mine:
        abort(404)
    chosen = next((s for s in mine if s.id == principal.site_id), mine[0])
    return redirect(f"/book/{chosen.code}/staff")
