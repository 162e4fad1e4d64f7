"""Security headers on every answer, and the session cookie's Secure flag behind TLS (issue 14, items 10, 12).

* ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` everywhere: board, counter display
  and phone pages carry tokens in their address, which must not leak to another site in a Referer.
* A Content-Security-Policy without inline script: scripts only from this server (the surfaces' bundles),
  data blocks (``<script type="application/json">``) are not scripts and need nothing. ``frame-ancestors
  'none'`` (and ``X-Frame-Options: DENY``), except board pages when ``LUOT_BOARD_FRAME_ANCESTORS`` names the
  pages allowed to frame them.
* Over HTTPS (directly or, with ``LUOT_TRUSTED_PROXIES``, an ``X-Forwarded-Proto: https`` from the proxy):
  ``Strict-Transport-Security`` and a ``Secure`` session cookie.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

HSTS = "max-age=31536000"
BOARD_ENDPOINTS = frozenset({"display.board"})


def content_security_policy(frame_ancestors: str) -> str:
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "media-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        )
    )


class SessionOverTls(SecureCookieSessionInterface):
    """The session cookie is Secure when the request came over HTTPS (or SESSION_COOKIE_SECURE says so).

    Also spares the requests that carry no session cookie (Bearer clients: clerk consoles, kiosks, boards) the
    signing serializer Flask builds for every request, and builds it once per key set for the others (issue 13:
    about a tenth of an empty request's own time); on the way out, a session nobody read or changed costs nothing
    (Flask would set no cookie and add no `Vary: Cookie` for it either)."""

    _signing: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._signing
        if cached is None or cached[0] != keys:
            cached = self._signing = (keys, super().get_signing_serializer(app))
        return cached[1]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        unsent = "HTTP_COOKIE" not in request.environ or not request.cookies.get(self.get_cookie_name(app))
        if app.secret_key and unsent:  # (no Cookie header at all: not even parsed)
            return self.session_class()  # no cookie: nothing to verify, an empty session as Flask would give
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # an empty session nobody read or changed (a Bearer call): no cookie and no Vary, as Flask decides
        super().save_session(app, session, response)


def install_security_headers(app: Flask, board_frame_ancestors: str = "") -> None:
    """Adds the headers above to every response of `app` and makes the session cookie Secure over HTTPS."""
    app.session_interface = SessionOverTls()
    strict = content_security_policy("'none'")
    boards = content_security_policy(board_frame_ancestors.strip()) if board_frame_ancestors.strip() else strict
    always = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        present = {key.lower() for key, _ in headers.items()}  # one pass; a header the view set is kept
        framable = request.endpoint in BOARD_ENDPOINTS and boards is not strict
        wanted = [
            *always,
            ("Content-Security-Policy", boards if framable else strict),
            *(() if framable else (("X-Frame-Options", "DENY"),)),
            *((("Strict-Transport-Security", HSTS),) if request.is_secure else ()),
        ]
        for key, value in wanted:
            if key.lower() not in present:
                headers.add(key, value)
        return response
