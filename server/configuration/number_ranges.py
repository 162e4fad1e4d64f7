"""Two number ranges of a site that would print the same ticket number ("12" twice in the hall), and what to
use instead: a prefix no range of the site uses, or the next free block of numbers."""

from __future__ import annotations

import string
from dataclasses import dataclass

from sqlmodel import Session, col, select

from server.models import NumberSequence, Service


@dataclass(frozen=True)
class Clash:
    services: list[str]  # service codes already giving these numbers
    free_prefix: str  # a letter no range of the site uses ("" if all are taken)
    free_first: int  # the next free block with the same prefix and length
    free_last: int


def range_clash(session: Session, site_id: int, prefix: str, first: int, last: int) -> Clash | None:
    """None when [first, last] with `prefix` overlaps no range of the site; else who clashes and suggestions."""
    ranges = session.exec(select(NumberSequence).where(NumberSequence.site_id == site_id)).all()
    same = [r for r in ranges if r.prefix == prefix]
    clashing = [r for r in same if r.first_number <= last and first <= r.last_number]
    if not clashing:
        return None
    services = session.exec(
        select(Service.code).where(col(Service.sequence_id).in_([r.id for r in clashing])).order_by(Service.code)
    ).all()
    used = {r.prefix for r in ranges}
    free_prefix = next((letter for letter in string.ascii_uppercase if letter not in used), "")
    top = max(r.last_number for r in same)
    start = (top // 1000 + 1) * 1000 + 1
    return Clash(list(services) or [r.code for r in clashing], free_prefix, start, start + (last - first))
