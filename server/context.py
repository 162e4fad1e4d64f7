"""What the app factory builds and the routes use: one typed object on app.extensions['luot'].

Everything a route or a socket handler needs is built once by `create_app` and reached through `luot()`;
blueprints build nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_socketio import SocketIO

from server.clock import Clock
from server.db import Database
from server.line_store import LineStore
from server.messaging.triggers import MessageTriggers
from server.messaging.worker import MessageWorker
from server.principal_cache import PrincipalCache
from server.printing.jobs import PrintService
from server.realtime import Hub
from server.runner import Runner
from server.settings import Settings
from server.signin_throttle import SignInThrottle
from server.stats.live import LiveStats
from server.voice.calls import Announcer

#: After a ticket is issued through the API: (principal, answer) → more fields for the answer (printing).
AfterIssue = Callable[[Any, dict[str, Any]], dict[str, Any] | None]


@dataclass
class Luot:
    settings: Settings
    db: Database
    clock: Clock
    socketio: SocketIO
    hub: Hub
    run: Runner
    announcer: Announcer
    print_jobs: PrintService
    lines: LineStore
    live_stats: LiveStats
    after_issue: list[AfterIssue] = field(default_factory=list)
    #: Told the result (server.domain.day_close.DayClose) of every day close (metrics).
    day_close_watchers: list[Callable[[Any], None]] = field(default_factory=list)
    signins: SignInThrottle = field(default_factory=SignInThrottle)
    #: Token → principal for a moment (issue 13): a clerk's action skips three reads.
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    #: The outbox's sender (started by `luot serve`) and the near-turn/called triggers (server/messaging).
    messages: MessageWorker | None = None
    message_triggers: MessageTriggers | None = None

    def close(self, timeout: float = 5.0) -> None:
        """Stops the message worker (after the message it is sending), lets the figures already scheduled go out
        (they may read the database), then closes its connections. For tests and tools that build an app and drop
        it; `luot serve` ends with its process."""
        if self.messages is not None:
            self.messages.stop(timeout)
        self.hub.outgoing.flush()
        self.hub.figures.settled(timeout)
        self.db.dispose()


def luot() -> Luot:
    """The app's context (inside a request or an app context)."""
    return current_app.extensions["luot"]
