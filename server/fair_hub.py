"""eventlet's epoll hub, serving ready connections in the order the kernel reported them.

eventlet 0.41's `poll.Hub.wait` gathers the callbacks of one poll into a `set` before running them, so the
connections found ready together are served in hash order: a request that arrived first may be served last of
its round. With every clerk and kiosk of a lobby waiting at once (issue 13's 16 kiosks + 20 clerks), a round is
~36 requests long, and that order made a request's wait anything from nothing to two rounds: p99 about twice
p50, for issue and call next alike.

`FairHub.wait` does the same work with an insertion-ordered dict: each callback still runs once per poll, and
the ready list of `epoll_wait` (the order in which the sockets became ready) is the order they are served in.
Everything else, timers included, is eventlet's own.

`install()` makes it the hub of the process; `luot serve` calls it in `asyncmode.prepare` before the first
hub exists (eventlet's `use_hub` must run before any listener or timer is registered). An `EVENTLET_HUB` set by
the operator still wins.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from eventlet import patcher
from eventlet.hubs import epolls, hub, use_hub

_select: Any = patcher.original("select")
_time: Any = patcher.original("time")


class FairHub(epolls.Hub):
    """eventlet's epoll hub with first-ready, first-served callbacks (one per descriptor and direction)."""

    @staticmethod
    def is_available() -> bool:
        """eventlet's `use_hub` asks a hub whether it runs here (and warns when it cannot)."""
        return bool(epolls.is_available())

    def wait(self, seconds: float | None = None) -> None:
        readers = self.listeners[self.READ]
        writers = self.listeners[self.WRITE]
        if not readers and not writers:
            if seconds:
                _time.sleep(seconds)
            return
        try:
            ready = self.do_poll(seconds)
        except OSError as error:
            if error.errno == errno.EINTR:
                return
            raise
        if self.debug_blocking:
            self.block_detect_pre()
        # The listeners are looked up before any runs, as eventlet does: one callback cannot invalidate another's.
        callbacks: dict[tuple[Any, int], None] = {}
        noop = hub.noop
        for fileno, event in ready:
            if event & self.READ_MASK:
                callbacks[(readers.get(fileno, noop), fileno)] = None
            if event & self.WRITE_MASK:
                callbacks[(writers.get(fileno, noop), fileno)] = None
            if event & _select.POLLNVAL:
                self.remove_descriptor(fileno)
                continue
            if event & self.EXC_MASK:
                callbacks[(readers.get(fileno, noop), fileno)] = None
                callbacks[(writers.get(fileno, noop), fileno)] = None
        for listener, fileno in callbacks:
            try:
                listener.cb(fileno)
            except self.SYSTEM_EXCEPTIONS:
                raise
            except BaseException:
                self.squelch_exception(fileno, sys.exc_info())
        if self.debug_blocking:
            self.block_detect_post()


def install() -> None:
    """Make `FairHub` this process's eventlet hub (before anything has used the default one), unless the operator
    chose a hub with eventlet's own `EVENTLET_HUB` or epoll is missing (eventlet's default is used then)."""
    if not os.environ.get("EVENTLET_HUB") and FairHub.is_available():
        use_hub(FairHub)
