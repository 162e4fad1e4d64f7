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
from server.printing.jobs import PrintService
from server.realtime import Hub
from server.runner import Runner
from server.settings import Settings
from server.signin_throttle import SignInThrottle
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
    after_issue: list[AfterIssue] = field(default_factory=list)
    signins: SignInThrottle = field(default_factory=SignInThrottle)


def luot() -> Luot:
    """The app's context (inside a request or an app context)."""
    return current_app.extensions["luot"]
