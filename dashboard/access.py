"""Who may see which manager page.

- live dashboard: staff (clerk, manager, admin) of the site; province-level staff (no site) every site.
- history, charts, exports: managers and admins, same site rule.
- administration: admins; an admin bound to a site manages that site only (and cannot create sites).
Devices (kiosks, boards, tablets) see none of it. Pages send anonymous visitors to the sign-in page; the
JSON endpoints answer 401/403.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from server.api.support import current_principal
from server.auth import AuthError, Forbidden, Principal
from server.domain.vocabulary import MANAGER_ROLES, STAFF_ROLES, Role
from server.models import Site

LIVE_ROLES = STAFF_ROLES
HISTORY_ROLES = MANAGER_ROLES
ADMIN_ROLES = (Role.ADMIN,)


class PageDenied(Exception):
    """Raised by page guards; turned into a sign-in redirect (anonymous) or a 403 page."""

    def __init__(self, anonymous: bool) -> None:
        super().__init__("denied")
        self.anonymous = anonymous


def staff(roles: tuple[str, ...], *, page: bool) -> Principal:
    principal = current_principal()
    if principal is None:
        if page:
            raise PageDenied(anonymous=True)
        raise AuthError()
    if not principal.is_staff or principal.role not in roles:
        if page:
            raise PageDenied(anonymous=False)
        raise Forbidden()
    return principal


def visible_sites(session: Session, principal: Principal) -> list[Site]:
    statement = select(Site).order_by(col(Site.id))
    if principal.site_id is not None:
        statement = statement.where(Site.id == principal.site_id)
    return list(session.exec(statement).all())


def check_site(principal: Principal, site_id: int, *, page: bool) -> None:
    if not principal.may_see_site(site_id):
        if page:
            raise PageDenied(anonymous=False)
        raise Forbidden()


def denied_response(error: PageDenied) -> ResponseReturnValue:
    if error.anonymous:
        return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
    return render_template("dashboard/denied.html"), 403
