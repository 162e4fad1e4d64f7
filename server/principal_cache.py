"""Who a Bearer token or a session token belongs to, remembered for a moment (issue 13).

Every clerk action, kiosk tap and board request starts by turning its token into a principal: three reads
(device, API token, user) in a read transaction — about a fifth of a call next. The answer is kept for
`TTL_S` seconds per token digest. Any write this process makes to a user, an API token or a device (sign-out,
revocation, role or settings change, deactivation) forgets every remembered answer at once (ORM listeners: at
the flush, and again at the commit, since a request reading in between still saw the old row), so a revocation
here takes effect on the next request; another process (a second server, a
`luot` command) is heard within `TTL_S` at most.

Each answer is kept for a random part of `TTL_S` (between half and all of it), so the tokens of clerks who all
started together do not all run out in the same instant: 20 clerks pressing Next at once used to find their 20
answers gone in the same round every `TTL_S` seconds and wait for 20 reads together (the round's p99, issue 13).
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from server.auth import Principal, principal_for_digest, token_hash
from server.db import Database
from server.models import ApiToken, Device, User

TTL_S = 2.0  # the longest a revocation made by another process may go unnoticed here
SIZE = 4096  # tokens remembered (a province's clerks, kiosks and boards on one server)
_WATCHED = (ApiToken, Device, User)

_generation = 0  # bumped by every flush that writes a watched row, in any session of this process, and its commit
_WROTE = "luot.wrote_auth_rows"  # session.info: this transaction flushed a watched row


def _bump_on_auth_write(session: Session, _context: Any) -> None:
    global _generation
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _WATCHED):
            _generation += 1
            session.info[_WROTE] = True
            return


def _bump_again_on_commit(session: Session) -> None:
    """A request that read a token between the flush and the commit still saw the old row (e.g. not yet revoked)
    and remembered it under the flush's generation; bumped again once the change is visible, it is forgotten."""
    global _generation
    if session.info.pop(_WROTE, False):
        _generation += 1


def _forget_rolled_back_write(session: Session) -> None:
    session.info.pop(_WROTE, None)


event.listen(Session, "after_flush", _bump_on_auth_write)
event.listen(Session, "after_commit", _bump_again_on_commit)
event.listen(Session, "after_rollback", _forget_rolled_back_write)


class PrincipalCache:
    """digest → (principal or None, remembered until, generation); None caches an unknown token too, so a
    flood of bad tokens costs one read each per `TTL_S`, not one per request."""

    def __init__(
        self,
        ttl_s: float = TTL_S,
        size: int = SIZE,
        monotonic: Callable[[], float] = time.monotonic,
        spread: Callable[[], float] = random.random,
    ) -> None:
        self.ttl_s, self.size, self.monotonic, self.spread = ttl_s, size, monotonic, spread
        self._entries: OrderedDict[str, tuple[Principal | None, float, int, datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(
        self, digest: str, now: datetime, load: Callable[[], tuple[Principal | None, datetime | None]]
    ) -> Principal | None:
        """The remembered principal of `digest`, or `load()` → (principal, token expiry or None) remembered.
        A token is never answered past its own expiry (`now`: the app clock)."""
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None:
            principal, until, generation, expires_at = entry
            fresh = until > self.monotonic() and generation == _generation
            if fresh and (expires_at is None or expires_at > now):
                return principal
        generation = _generation
        principal, expires_at = load()
        with self._lock:
            kept = self.ttl_s * (0.5 + 0.5 * self.spread())  # spread: not every token runs out at once
            self._entries[digest] = (principal, self.monotonic() + kept, generation, expires_at)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cached_principal(cache: PrincipalCache, db: Database, now: datetime, token: str) -> Principal | None:
    """`principal_for_token` through `cache`: reads the database only when the token is not remembered."""
    digest = token_hash(token)

    def load() -> tuple[Principal | None, datetime | None]:
        with db.read() as session:
            return principal_for_digest(session, now, digest)

    return cache.lookup(digest, now, load)
