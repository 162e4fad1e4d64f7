"""Administration page for one citizen's personal data (/admin/privacy): find it by phone or ID number, see what is
kept, delete it (audited). The same functions as the admin API (server/privacy/routes.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from dashboard.access import ADMIN_ROLES, staff
from dashboard.texts import t
from server.context import luot
from server.domain.errors import N_, DomainError
from server.i18n import translate
from server.privacy.audit import audit_person
from server.privacy.person import PersonData, delete_person, find_person, person_of

#: What the counts of `PersonData.counts()` are, as the page names them (English msgids, vi-identity.po).
KIND_LABELS = {
    "tickets": N_("Numbers"),
    "appointments": N_("Bookings"),
    "messages": N_("Messages"),
    "watches": N_("Turn alerts"),
    "codes": N_("One-time codes"),
}

privacy_page = Blueprint("privacy_page", __name__, url_prefix="/admin/privacy", template_folder="templates")


@privacy_page.route("/", methods=["GET", "POST"])
def page() -> ResponseReturnValue:
    principal = staff(ADMIN_ROLES, page=True)
    phone = request.form.get("phone", "").strip()[:32]
    id_number = request.form.get("id_number", "").strip()[:32]
    email = request.form.get("email", "").strip()[:254]
    found: PersonData | None = None
    deleted: dict[str, int] | None = None
    problem = ""
    if request.method == "POST":
        try:
            person = person_of(
                current_app.secret_key or "",
                phone=phone or None,
                id_number=id_number or None,
                site_id=principal.site_id,
                email=email or None,
            )
        except DomainError as exc:
            problem = translate(exc.text, _language(), **exc.params)
        except ValueError:
            problem = t("Give a phone number, an ID number or an e-mail address.")
        else:
            with luot().db.write() as db_session:
                if request.form.get("action") == "delete":
                    deleted = delete_person(db_session, person)
                    audit_person(db_session, luot().clock.now(), principal, "delete", person, deleted)
                else:
                    found = find_person(db_session, person)
                    audit_person(db_session, luot().clock.now(), principal, "read", person, found.counts())
    status = 400 if problem else 200
    page_html = render_template(
        "admin/privacy.html",
        phone=phone,
        id_number=id_number,
        email=email,
        found=found,
        deleted=_named(deleted) if deleted is not None else None,
        problem=problem,
        labels=KIND_LABELS,
    )
    return page_html, status


def _named(counts: dict[str, int]) -> str:
    """ "Numbers 1, Bookings 0, …" in the page's language, in the order of `counts`."""
    return ", ".join(f"{t(KIND_LABELS.get(kind, kind))} {count}" for kind, count in counts.items())


def _language() -> str:
    from dashboard.texts import language

    return language()
