"""The audit entry of an admin's search or deletion of a citizen's data: who, when, the phone and e-mail address
masked, the counts — never the number or the address."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from server.auth import Principal
from server.identity.phone import mask_phone
from server.messaging.addresses import masked
from server.models import User
from server.privacy.person import Person
from server.stats.models import AuditEntry


def audit_person(
    db_session: Session, now: datetime, principal: Principal, action: str, person: Person, counts: dict[str, int]
) -> None:
    """Adds the audit entry (`action`: "read" or "delete", entity "personal_data") in the caller's transaction."""
    user = db_session.get(User, principal.id)
    shown = [mask_phone(person.phone)] if person.phone else []
    if len(person.keys) > (1 if person.phone else 0):
        shown.append("ID ••••")
    if person.email:
        shown.append(masked(person.email))
    db_session.add(
        AuditEntry(
            at=now,
            user_id=principal.id,
            username=user.username if user else principal.name,
            site_id=principal.site_id,
            action=action,
            entity="personal_data",
            summary=f"personal data {action}: {' / '.join(shown)}: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
            changes=dict(counts),
        )
    )
