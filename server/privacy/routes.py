"""Admin API for one citizen's personal data (blueprint `privacy`, admins only; a site's admin sees their site).

- POST /api/privacy/find   {phone?, id_number?, email?} → {"counts", "tickets", "appointments", "messages"}
- POST /api/privacy/delete {phone?, id_number?, email?} → {"deleted": counts}
Both are written to the audit log (who, when, which kind of identifier, masked, and the counts: never the number).
Cookie sessions need the CSRF token, as every staff change does; Bearer tokens do not.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field

from server.api.support import InvalidBody, parse_body, require
from server.auth import Principal
from server.context import luot
from server.domain.vocabulary import Label, Role
from server.privacy.audit import audit_person
from server.privacy.person import Person, delete_person, find_person, person_of

privacy = Blueprint("privacy", __name__, url_prefix="/api/privacy")


class PersonRequest(BaseModel):
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


def _person(principal: Principal) -> Person:
    body = parse_body(PersonRequest)
    try:
        return person_of(
            current_app.secret_key or "",
            phone=body.phone,
            id_number=body.id_number,
            site_id=principal.site_id,
            email=body.email,
        )
    except ValueError:
        one_of = Label("cần một trong phone, id_number hoặc email", "phone, id_number or email: one is required")
        raise InvalidBody(detail=one_of) from None


@privacy.post("/find")
def find() -> ResponseReturnValue:
    principal = require(staff_roles=(Role.ADMIN,))
    person = _person(principal)
    with luot().db.write() as db_session:
        data = find_person(db_session, person)
        counts = data.counts()
        audit_person(db_session, luot().clock.now(), principal, "read", person, counts)
    result: dict[str, Any] = {
        "counts": counts,
        "tickets": data.tickets,
        "appointments": data.appointments,
        "messages": data.messages,
    }
    return jsonify(result)


@privacy.post("/delete")
def delete() -> ResponseReturnValue:
    principal = require(staff_roles=(Role.ADMIN,))
    person = _person(principal)
    with luot().db.write() as db_session:
        counts = delete_person(db_session, person)
        audit_person(db_session, luot().clock.now(), principal, "delete", person, counts)
    return jsonify({"deleted": counts})
