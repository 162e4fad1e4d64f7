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

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

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
    """The session cookie is Secure when the request came over HTTPS (or SESSION_COOKIE_SECURE says so)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def install_security_headers(app: Flask, board_frame_ancestors: str = "") -> None:
    """Adds the headers above to every response of `app` and makes the session cookie Secure over HTTPS."""
    app.session_interface = SessionOverTls()
    strict = content_security_policy("'none'")
    boards = content_security_policy(board_frame_ancestors.strip()) if board_frame_ancestors.strip() else strict

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "no-referrer")
        framable = request.endpoint in BOARD_ENDPOINTS and boards is not strict
        headers.setdefault("Content-Security-Policy", boards if framable else strict)
        if not framable:
            headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
