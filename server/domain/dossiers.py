"""Dossier codes (mã hồ sơ): the one-stop software's codes a clerk attaches to the citizen's ticket.

A ticket may carry several; a code is attached once per ticket (attaching it again changes nothing). The clerk
attaches them while the citizen is at their counter (called or being served) or with Finish.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from server.domain import errors
from server.domain.counters import counter_of_clerk, current_ticket
from server.domain.outcome import Outcome
from server.domain.queries import ticket_view
from server.models import Ticket, TicketDossier

#: What a typed or scanned code may look like: letters, digits and . _ / - (e.g. 000.00.10.H12-250101-0001).
CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/\-]{0,63}")
MAX_PER_TICKET = 20


def clean_codes(codes: Sequence[str]) -> list[str]:
    """The codes stripped, without repeats, in the order given. Raises InvalidDossierCode (400)."""
    result: list[str] = []
    for raw in codes:
        code = raw.strip()
        if not CODE.fullmatch(code):
            raise errors.InvalidDossierCode(value=code[:70])
        if code not in result:
            result.append(code)
    return result


def add_codes(session: Session, ticket: Ticket, codes: Sequence[str], now: datetime, user_id: int) -> list[str]:
    """Attaches the codes not yet on the ticket; returns all of the ticket's codes, in the order attached.
    Raises InvalidDossierCode (400), TooManyDossierCodes (400)."""
    wanted = clean_codes(codes)
    present = dossier_codes(session, ticket.id or 0)
    new = [code for code in wanted if code not in present]
    if len(present) + len(new) > MAX_PER_TICKET:
        raise errors.TooManyDossierCodes(limit=MAX_PER_TICKET)
    for code in new:
        session.add(TicketDossier(ticket_id=ticket.id or 0, code=code, added_at=now, user_id=user_id))
    session.flush()
    return present + new


def dossier_codes(session: Session, ticket_id: int) -> list[str]:
    rows = session.exec(
        select(TicketDossier.code).where(TicketDossier.ticket_id == ticket_id).order_by(col(TicketDossier.id))
    )
    return list(rows.all())


def attach_dossiers(session: Session, now: datetime, counter_id: int, user_id: int, codes: Sequence[str]) -> Outcome:
    """Attach dossier codes to the citizen at the clerk's counter. Raises UnknownCounter, WrongCounter,
    NoCurrentTicket (409), InvalidDossierCode / TooManyDossierCodes (400)."""
    counter = counter_of_clerk(session, counter_id, user_id)
    ticket = current_ticket(session, counter)
    assert ticket is not None
    add_codes(session, ticket, codes, now, user_id)
    return Outcome(ticket_view(session, ticket), [])
