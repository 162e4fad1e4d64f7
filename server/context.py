"""What the app factory builds and the routes use: one object on app.extensions['luot']."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from server.clock import Clock
from server.db import Database
from server.realtime import Hub
from server.runner import Runner
from server.settings import Settings


@dataclass
class Luot:
    settings: Settings
    db: Database
    clock: Clock
    hub: Hub
    run: Runner
    voice: Any = None
    after_issue: list[Callable[..., dict[str, Any] | None]] = field(default_factory=list)


def luot() -> Luot:
    return current_app.extensions["luot"]
