"""Admin API for one citizen's personal data (blueprint `privacy`, admins only; a site's admin sees their site).

- POST /api/privacy/find   {phone?, id_number?} → {"counts", "tickets", "appointments", "messages"}
- POST /api/privacy/delete {phone?, id_number?} → {"deleted": counts}
Both are written to the audit log (who, when, which kind of identifier, masked, and the counts: never the number).
Cookie sessions need the CSRF token, as every staff change does; Bearer tokens do not.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, Field
from sqlmodel import Session

from server.api.support import InvalidBody, parse_body, require
from server.auth import Principal
from server.context import luot
from server.domain.vocabulary import Role
from server.identity.phone import mask_phone
from server.models import User
from server.privacy.person import Person, delete_person, find_person, person_of
from server.stats.models import AuditEntry

privacy = Blueprint("privacy", __name__, url_prefix="/api/privacy")


class PersonRequest(BaseModel):
    phone: str | None = Field(default=None, max_length=32)
    id_number: str | None = Field(default=None, max_length=32)


def _person(principal: Principal) -> Person:
    body = parse_body(PersonRequest)
    try:
        return person_of(
            current_app.secret_key or "", phone=body.phone, id_number=body.id_number, site_id=principal.site_id
        )
    except ValueError:
        raise InvalidBody(detail="phone or id_number: one is required") from None


def _who(person: Person, body_has_id: bool) -> str:
    parts = [mask_phone(person.phone)] if person.phone else []
    if body_has_id:
        parts.append("ID ••••")
    return " / ".join(parts)


def _audit(db_session: Session, principal: Principal, action: str, person: Person, counts: dict[str, int]) -> None:
    """The audit entry of a search or deletion, in the same transaction."""
    user = db_session.get(User, principal.id)
    described = _who(person, len(person.keys) > (1 if person.phone else 0))
    db_session.add(
        AuditEntry(
            at=luot().clock.now(),
            user_id=principal.id,
            username=user.username if user else principal.name,
            site_id=principal.site_id,
            action=action,
            entity="personal_data",
            summary=f"personal data {action}: {described}: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
            changes=dict(counts),
        )
    )


@privacy.post("/find")
def find() -> ResponseReturnValue:
    principal = require(staff_roles=(Role.ADMIN,))
    person = _person(principal)
    with luot().db.write() as db_session:
        data = find_person(db_session, person)
        counts = data.counts()
        _audit(db_session, principal, "read", person, counts)
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
        _audit(db_session, principal, "delete", person, counts)
    return jsonify({"deleted": counts})
