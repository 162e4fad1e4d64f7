"""The Socket.IO session id of the event being handled, typed.

Flask-SocketIO sets ``flask.request.sid`` while it runs a handler; Flask's ``Request`` does not declare it.
"""

from __future__ import annotations

from flask import request


def current_sid() -> str:
    """The sid (str) of the client whose connect/event handler is running; outside a handler: AttributeError."""
    sid: str = request.sid  # type: ignore[attr-defined]  # set per event by Flask-SocketIO
    return sid
