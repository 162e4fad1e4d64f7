"""The OpenAPI 3.1 document of REST v1 (a test checks every route is in it)."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from server.api import api
from server.api.auth_routes import Credentials
from server.api.counters import (
    AtCounterRequest,
    DossiersRequest,
    HoldRequest,
    OpenRequest,
    PauseRequest,
    TransferRequest,
)
from server.api.openapi_schemas import answers, components, counter_answer
from server.api.tickets import IssueRequest, RatingRequest
from server.identity.openapi_paths import identity_answers, identity_paths

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(
    summary: str,
    *,
    auth: str = "bearer",
    body: Any = None,
    ok: int = 200,
    params: list | None = None,
    errors: tuple[int, ...] = (400, 401, 403, 404, 409),
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {str(ok): {"description": "OK"}}}
    for status in errors:
        operation["responses"][str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": ERROR}},
        }
    operation["security"] = [] if auth == "public" else [{"bearer": []}, {"cookie": []}]
    if body is not None:
        schema = body.model_json_schema(ref_template="#/components/schemas/{model}")
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": schema}}}
    if params:
        operation["parameters"] = params
    return operation


def _path_param(name: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


COUNTER = [_path_param("counter_id")]
#: Said of every action on the citizen at the counter (the body's `ticket_id` is described in its schema).
NAMES_TICKET = "; with `ticket_id`, refused (409 `ticket_changed`, nothing done) unless that ticket is at the counter"
COUNTER_ACTIONS = {
    "open": ("Take the counter (takeover=true to take one left open by a crashed browser)", OpenRequest),
    "close": ("Leave the counter", None),
    "next": (
        "Call the next citizen (finishes the one being served; if nobody waits, 200 with ticket null, "
        "`finished` and a `notice`)" + NAMES_TICKET,
        AtCounterRequest,
    ),
    "recall": ("Call the current ticket again" + NAMES_TICKET, AtCounterRequest),
    "start": ("Start serving the called citizen" + NAMES_TICKET, AtCounterRequest),
    "finish": ("Finish the current service, attaching the dossier codes given" + NAMES_TICKET, DossiersRequest),
    "dossiers": ("Attach dossier codes (mã hồ sơ) to the citizen at the counter" + NAMES_TICKET, DossiersRequest),
    "no-show": ("The called citizen did not come" + NAMES_TICKET, AtCounterRequest),
    "transfer": (
        "Send the citizen to another service or agency, keeping their original time" + NAMES_TICKET,
        TransferRequest,
    ),
    "hold": ("Put the citizen aside (fetching a document)" + NAMES_TICKET, HoldRequest),
    "pause": ("Pause the counter (break)", PauseRequest),
    "resume": ("Resume the counter", None),
}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/healthz": {"get": _op("Liveness and database check", auth="public", errors=(503,))},
        "/api/v1/openapi.json": {"get": _op("This document", auth="public", errors=())},
        "/api/v1/auth/token": {
            "post": _op("Bearer token for programs", auth="public", body=Credentials, errors=(400, 401, 429))
        },
        "/api/v1/auth/login": {
            "post": _op("Session cookie for browser pages", auth="public", body=Credentials, errors=(400, 401, 429))
        },
        "/api/v1/auth/logout": {
            "post": _op("Revoke the Bearer token presented, else end the browser session", errors=(400, 401, 403))
        },
        "/api/v1/auth/me": {"get": _op("Who am I (and a CSRF token)", errors=(401,))},
        "/api/v1/auth/tokens": {
            "get": _op(
                "My Bearer tokens and browser sessions (admins: ?user_id=)",
                params=[{"name": "user_id", "in": "query", "schema": {"type": "integer"}}],
                errors=(401, 403),
            )
        },
        "/api/v1/auth/tokens/{token_id}/revoke": {
            "post": _op(
                "Revoke a token or end a session at once", params=[_path_param("token_id")], errors=(401, 403, 404)
            )
        },
        "/api/v1/services": {
            "get": _op(
                "Agencies and services with waiting count and estimated wait",
                auth="public",
                errors=(404,),
                params=[{"name": "site", "in": "query", "schema": {"type": "string"}}],
            )
        },
        "/api/v1/tickets": {
            "post": _op(
                "Issue a ticket (kiosk device token or staff); Idempotency-Key header",
                body=IssueRequest,
                ok=201,
                params=[{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 128}}],
                errors=(400, 401, 403, 404, 409, 429),
            )
        },
        "/api/v1/tickets/{token}": {
            "get": _op(
                "Public status of a ticket by tracking token",
                auth="public",
                params=[_path_param("token", "string")],
                errors=(404,),
            )
        },
        "/api/v1/tickets/{ticket_id}/return": {
            "post": _op("A held citizen is back", params=[_path_param("ticket_id")])
        },
        "/api/v1/tickets/{ref}/rating": {
            "post": _op(
                "Rate a finished service: by id (the serving counter's rating tablet, within the site's window) or by "
                "tracking token (the citizen's phone, until the day ends); staff get 403",
                auth="public",
                body=RatingRequest,
                ok=201,
                params=[_path_param("ref", "string")],
            )
        },
        "/api/v1/counters/{counter_id}": {"get": _op("Counter state, waiting line and held tickets", params=COUNTER)},
        "/api/v1/exports/onestop": {
            "get": _op(
                "Per ticket: site, agency, service, counter, clerk, dossier codes, times, waits, rating (managers)",
                params=[
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "site", "in": "query", "schema": {"type": "string"}},
                    {"name": "format", "in": "query", "schema": {"enum": ["csv", "json"]}},
                ],
                errors=(400, 401, 403),
            )
        },
    }
    for action, (summary, body) in COUNTER_ACTIONS.items():
        paths[f"/api/v1/counters/{{counter_id}}/{action}"] = {"post": _op(summary, body=body, params=COUNTER)}
    paths.update(identity_paths(_op))  # the citizen's identification and personal data (issue 18)
    _describe_answers(paths)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lượt API", "version": "1", "description": "Queue management for service centres."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": components(),
        },
    }


def _describe_answers(paths: dict[str, Any]) -> None:
    """Puts the schema of each success answer into the document (issue 14: every 2xx has one)."""
    known = {**answers(), **identity_answers()}
    for path, methods in paths.items():
        for method, operation in methods.items():
            _status, schema = known.get((path, method)) or (200, counter_answer())
            responses = operation["responses"]
            if path == "/api/v1/tickets":  # the same tap again (Idempotency-Key) answers 200 with the same ticket
                responses["200"] = {"description": "OK"}
            for code, response in responses.items():
                if code.startswith("2"):
                    response["content"] = {"application/json": {"schema": schema}}


@api.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
