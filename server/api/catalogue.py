"""Public list of agencies and services with their live waiting counts and estimates."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from server.api import api
from server.api.support import current_principal
from server.context import luot
from server.domain.errors import N_, DomainError
from server.domain.outlook import service_figures
from server.models import Agency, Service, Site
from server.payloads import agency_dict, queue_dict, service_dict, site_dict


class UnknownSite(DomainError):
    code, status, message = "unknown_site", 404, N_("Unknown site: {site}.")


def resolve_site(db_session: Session, code: str | None) -> Site:
    """The site named by ?site=CODE, else the caller's own site."""
    if code:
        site = db_session.exec(select(Site).where(Site.code == code)).first()
    else:
        principal = current_principal()
        site = db_session.get(Site, principal.site_id) if principal and principal.site_id else None
    if site is None:
        raise UnknownSite(site=code or "")
    return site


@api.get("/services")
def list_services() -> ResponseReturnValue:
    ctx = luot()
    now = ctx.clock.now()
    with ctx.db.read() as db_session:
        site = resolve_site(db_session, request.args.get("site"))
        agencies = db_session.exec(
            select(Agency).where(Agency.site_id == site.id, Agency.active).order_by(col(Agency.sort_order))
        ).all()
        services = db_session.exec(
            select(Service).where(Service.site_id == site.id, Service.active).order_by(col(Service.sort_order))
        ).all()
    line = ctx.lines.site(site.id or 0, now)
    figures = service_figures(line, now)
    result = []
    for agency in agencies:
        entries = []
        for service in (s for s in services if s.agency_id == agency.id):
            issued = line.issued.get(service.id or 0, 0)
            cap_left = None if service.daily_cap is None else max(service.daily_cap - issued, 0)
            entry = service_dict(service, now, line.rules)
            entries.append(
                {
                    **entry,
                    **queue_dict(figures[service.id or 0]),
                    "id": service.id,
                    "remaining_today": cap_left,
                    "available": entry["open_now"] and cap_left != 0,
                }
            )
        result.append({**agency_dict(agency), "services": entries, "waiting": sum(e["waiting"] for e in entries)})
    return jsonify({"site": site_dict(site), "now": now.isoformat(), "agencies": result})
