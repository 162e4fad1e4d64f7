"""How a background loop (the message worker, the day close, the booking sweep, the Redis listeners) logs its
failures while something it needs is away (PostgreSQL or Redis down, a disk full): a loop that retries every
second must not write a traceback every second.

- the first failure: one line, with the traceback (or the error's text, `traceback=False`);
- while it keeps failing: a short reminder (how long, how many failed rounds, the last error) at most once every
  `remind_every` seconds (a minute);
- the first round that works again: one line saying it recovered, after how long and how many failed rounds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

REMIND_EVERY_SECONDS = 60.0


class FailureLog:
    """The log of one loop's failures. Call `failed()` from the `except` of a round and `worked()` after a round
    that succeeded; `what` names the round ("the message worker's round")."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        remind_every: float = REMIND_EVERY_SECONDS,
        traceback: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.remind_every = remind_every
        self.traceback = traceback
        self.monotonic = monotonic
        self.failures = 0
        self._since = 0.0
        self._told = 0.0

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def failed(self, exc: BaseException, retry: str = "") -> None:
        """A round failed with `exc` (call it inside the `except`); `retry` says when the next round runs."""
        now = self.monotonic()
        self.failures += 1
        then = f"; {retry}" if retry else ""
        if self.failures == 1:
            self._since = self._told = now
            if self.traceback:
                self.log.error("%s failed%s", self.what, then, exc_info=exc)
            else:
                self.log.warning("%s failed (%s)%s", self.what, _short(exc), then)
        elif now - self._told >= self.remind_every:
            self._told = now
            self.log.warning(
                "%s still failing after %.0f s (%s failed rounds; last: %s)",
                self.what,
                now - self._since,
                self.failures,
                _short(exc),
            )

    def worked(self) -> None:
        """A round succeeded: one line if it had been failing."""
        if not self.failures:
            return
        self.log.warning(
            "%s works again after %.0f s (%s failed rounds)", self.what, self.monotonic() - self._since, self.failures
        )
        self.failures = 0


def _short(exc: BaseException) -> str:
    text = f"{exc.__class__.__name__}: {exc}".splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]
