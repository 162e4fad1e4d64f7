"""Turns every error into JSON {"error": {"code", "message", "messages": {vi, en}}} (HTML pages excepted).

An HTTP error (werkzeug's 404, 405, 416 …) is JSON, with its message in both languages, except a 404 or 405 of
an HTML page, which keeps the plain page a browser shows. A request is answered in JSON (`wants_json`) when its
path is an API path (``/api/…``, ``/dashboard/api/…``), when the view it reached (or, for a 405, the view of its
URL) is marked `answers_json`, or when the client asks for JSON (``Accept``, a JSON body).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request
from flask.globals import request_ctx
from flask_limiter import RateLimitExceeded
from flask_limiter import RequestLimit as BreachedLimit
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.domain.errors import N_, DomainError
from server.domain.vocabulary import Label
from server.i18n import both, pick_language

log = logging.getLogger(__name__)

#: status → (code, English msgid): every HTTP error werkzeug defines (`werkzeug.exceptions.default_exceptions`).
HTTP_MESSAGES = {
    400: ("bad_request", N_("The request is not valid.")),
    401: ("unauthorized", N_("Please sign in, or give a valid token.")),
    403: ("forbidden", N_("You are not allowed to do this.")),
    404: ("not_found", N_("Not found.")),
    405: ("method_not_allowed", N_("This method is not allowed here.")),
    406: ("not_acceptable", N_("The answer cannot be given in a format this request accepts.")),
    408: ("request_timeout", N_("The request took too long to arrive; please try again.")),
    409: ("conflict", N_("The request conflicts with the current state; reload and try again.")),
    410: ("gone", N_("This is no longer available.")),
    411: ("length_required", N_("The request body must be sent with its length (Content-Length).")),
    412: ("precondition_failed", N_("A condition of the request is not met.")),
    413: ("too_large", N_("The request is too large.")),
    414: ("uri_too_long", N_("The address of the request is too long.")),
    415: ("unsupported_media_type", N_("Send JSON (Content-Type: application/json).")),
    416: ("range_not_satisfiable", N_("The requested range is outside the file.")),
    417: ("expectation_failed", N_("The Expect header of the request cannot be met.")),
    418: ("teapot", N_("This server does not brew coffee.")),
    421: ("misdirected_request", N_("This request was sent to a server that cannot answer it.")),
    422: ("unprocessable", N_("The request is well formed but cannot be processed.")),
    423: ("locked", N_("This is locked for now.")),
    424: ("failed_dependency", N_("An earlier step this request depends on failed.")),
    428: ("precondition_required", N_("This request must be conditional.")),
    429: ("rate_limited", N_("Too many requests: please wait a moment.")),  # a 429 whose wait is unknown
    431: ("headers_too_large", N_("The request headers are too large.")),
    451: ("unavailable_for_legal_reasons", N_("This is not available for legal reasons.")),
    500: ("internal_error", N_("Something went wrong on the server; it has been logged.")),
    501: ("not_implemented", N_("The server does not support this request.")),
    502: ("bad_gateway", N_("A server behind this one did not answer properly; please try again.")),
    503: ("unavailable", N_("The service is unavailable for a moment; please try again.")),
    504: ("gateway_timeout", N_("A server behind this one did not answer in time; please try again.")),
    505: ("http_version_not_supported", N_("This HTTP version is not supported.")),
}
#: A 429 whose wait is known (a rate limit, Retry-After): the wait, as `wait_label` says it.
RATE_LIMITED_FOR = N_("Too many requests: please try again in {wait}.")
#: Any other status (a non-standard one): the status in the message, still in both languages.
OTHER_HTTP_ERROR = ("http_error", N_("The request could not be handled (HTTP {number})."))

View = TypeVar("View", bound=Callable[..., Any])


def answers_json(view: View) -> View:
    """Marks a view outside ``/api/`` that answers JSON, so that its HTTP errors (a 404 it aborts with, a 405
    for its URL) are JSON too. Put it under the route decorator."""
    view.answers_json = True  # type: ignore[attr-defined]
    return view


def _endpoint() -> str | None:
    """The endpoint the request reached; for a 405, the one its URL reaches with an allowed method."""
    if request.url_rule is not None:
        return request.url_rule.endpoint
    problem, adapter = request.routing_exception, request_ctx.url_adapter
    if isinstance(problem, MethodNotAllowed) and problem.valid_methods and adapter is not None:
        try:
            endpoint, _args = adapter.match(method=next(iter(problem.valid_methods)))
        except HTTPException:
            return None
        return str(endpoint)
    return None


def _client_asks_json() -> bool:
    """The client prefers JSON to HTML (the surfaces' scripts send ``Accept: application/json``) or sent JSON."""
    accept = request.accept_mimetypes
    return request.is_json or accept["application/json"] > accept["text/html"]


def wants_json() -> bool:
    """Whether an error of this request is answered in JSON (see the module)."""
    if request.path.startswith("/api/") or "/api/" in request.path:
        return True
    endpoint = _endpoint()
    view = current_app.view_functions.get(endpoint) if endpoint else None
    return bool(getattr(view, "answers_json", False)) or _client_asks_json()


def error_response(code: str, message: str, status: int, **params: Any) -> Response:
    messages = both(message, **params)
    language = pick_language(request.args.get("lang"), request.headers.get("Accept-Language"))
    response = jsonify({"error": {"code": code, "message": messages[language], "messages": messages}})
    response.status_code = status
    return response


def wait_label(seconds: float) -> Label:
    """A wait as a citizen reads it, in both languages: seconds under a minute, else whole minutes (rounded up)."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return Label(f"{whole} giây", "1 second" if whole == 1 else f"{whole} seconds")
    minutes = math.ceil(whole / 60)
    return Label(f"{minutes} phút", "1 minute" if minutes == 1 else f"{minutes} minutes")


def limit_wait(breached: BreachedLimit) -> Label:
    """How long until the breached limit lets the client in again: its window's reset, counted as Flask-Limiter
    counts the Retry-After header (whole seconds, cut)."""
    return wait_label(int(breached.reset_at - time.time()))


def _known_wait(error: HTTPException) -> Label | None:
    """The wait of a 429: the rate limit this request broke, or the Retry-After the error carries; else None."""
    if isinstance(error, RateLimitExceeded):
        from server.extensions import limiter

        breached = limiter.current_limit
        return limit_wait(breached) if breached is not None and breached.breached else None
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        return wait_label(retry_after)
    return None


def http_error_response(error: HTTPException, status: int) -> Response:
    """The JSON answer of an HTTP error, translated, keeping the headers it needs (Allow of a 405,
    Content-Range of a 416, WWW-Authenticate …)."""
    code, message = HTTP_MESSAGES.get(status, OTHER_HTTP_ERROR)
    wait = _known_wait(error) if status == 429 else None
    if wait is not None:
        message = RATE_LIMITED_FOR
    response = error_response(code, message, status, number=status, wait=wait)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def install_error_handlers(app: Flask) -> None:
    from server.committed import committed_response

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        if error.status >= 500 and (recorded := committed_response()) is not None:
            return recorded  # e.g. a read after the commit met a database outage
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
        if isinstance(error, RateLimitExceeded) and error.response is not None:
            return error  # the page its limit answers with (`on_breach`), e.g. the tracking page's form
        if status in (404, 405) and not wants_json():
            return error  # a page: the browser's plain error page
        return http_error_response(error, status)

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
        if (recorded := committed_response()) is not None:
            return recorded
        code, message = HTTP_MESSAGES[500]
        return error_response(code, message, 500)
