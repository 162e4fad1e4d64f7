"""A manager page's address refused as a page: a date beyond the calendar (server.calendar_bounds) or a history
period longer than a report covers.

Every page of the dashboard and the administration that reads dates from its address (the history, the audit
log, the holiday calendar) answers such an address with the dashboard's own page, status 400, the reason in the
page's language and a link back; a request answered in JSON (server.errors_http.wants_json: the downloads, the
/dashboard/api/ routes, a client asking for JSON) keeps the JSON error of every other refusal.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue

from dashboard.texts import t
from server.domain.errors import DateOutOfRange, DomainError, RangeTooLong
from server.errors_http import error_response, wants_json

PAGE_REFUSALS: tuple[type[DomainError], ...] = (DateOutOfRange, RangeTooLong)


def refused_page(error: DomainError) -> ResponseReturnValue:
    if wants_json():
        return error_response(error.code, error.text, error.status, **error.params)
    lang = request.args.get("lang")
    back = f"{request.path}?lang={lang}" if lang in ("vi", "en") else request.path
    page = render_template("dashboard/refused.html", message=t(error.text, **error.params), code=error.code, back=back)
    return page, error.status


def install(blueprint: Blueprint) -> None:
    """Answers the blueprint's pages' PAGE_REFUSALS with the refusal page (see the module)."""
    for kind in PAGE_REFUSALS:
        blueprint.register_error_handler(kind, refused_page)
