"""Turns every error into JSON {"error": {"code", "message", "messages": {vi, en}}} (HTML pages excepted)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from server.domain.errors import N_, DomainError
from server.i18n import both, pick_language

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: ("bad_request", N_("The request is not valid.")),
    401: ("unauthorized", N_("Please sign in, or give a valid token.")),
    403: ("forbidden", N_("You are not allowed to do this.")),
    404: ("not_found", N_("Not found.")),
    405: ("method_not_allowed", N_("This method is not allowed here.")),
    413: ("too_large", N_("The request is too large.")),
    415: ("unsupported_media_type", N_("Send JSON (Content-Type: application/json).")),
    429: ("rate_limited", N_("Too many requests: please wait a moment.")),
    500: ("internal_error", N_("Something went wrong on the server; it has been logged.")),
}


def error_response(code: str, message: str, status: int, **params: Any) -> Response:
    messages = both(message, **params)
    language = pick_language(request.args.get("lang"), request.headers.get("Accept-Language"))
    response = jsonify({"error": {"code": code, "message": messages[language], "messages": messages}})
    response.status_code = status
    return response


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        response = error_response(error.code, error.text, error.status, **error.params)
        if error.status == 429 and "seconds" in error.params:
            response.headers["Retry-After"] = str(error.params["seconds"])
        return response

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Response:
        return error_response("csrf_failed", N_("The page has expired: reload it and try again."), 400)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Response | HTTPException:
        status = error.code or 500
        if not request.path.startswith("/api/") and status in (404, 405):
            return error
        code, message = HTTP_MESSAGES.get(status, ("http_error", error.name))
        return error_response(code, message, status)

    @app.errorhandler(OverflowError)
    def _too_large_number(error: OverflowError) -> Response:
        """An id or number beyond what the database stores (≥ 2^63), in a path, a query or a body."""
        return error_response("bad_request", N_("A number in the request is out of range."), 400)

    @app.errorhandler(RecursionError)
    def _too_deep(error: RecursionError) -> Response:
        """JSON nested deeper than the parser (or the validation) goes."""
        return error_response("invalid_body", N_("The request body is nested too deeply."), 400)

    from sqlalchemy.exc import DataError, StatementError

    @app.errorhandler(StatementError)
    def _statement(error: StatementError) -> Response:
        if isinstance(error, DataError) or isinstance(getattr(error, "orig", None), OverflowError):
            return error_response("bad_request", N_("A number in the request is out of range."), 400)
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, message = HTTP_MESSAGES[500]
        return error_response(code, message, 500)
