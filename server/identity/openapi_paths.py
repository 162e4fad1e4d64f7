"""The citizen's identification and the personal-data API in the OpenAPI document (server/api/openapi.py): paths,
request bodies and answer schemas, kept beside the routes they describe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.api.openapi_schemas import INT, STR, Schema, nullable, obj

SITE = [{"name": "site_code", "in": "path", "required": True, "schema": {"type": "string"}}]
CITIZEN = nullable(
    obj(
        {"kind": {"enum": ["phone", "oidc", "cccd"]}, "phone_masked": nullable(STR), "name": STR},
        example={"kind": "phone", "phone_masked": "+84 9•• ••• 678", "name": ""},
    )
)
COUNTS = obj({k: INT for k in ("tickets", "appointments", "messages", "watches", "codes")})


def identity_paths(op: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Paths built with the document's operation builder `op(summary, auth=, body=, ok=, params=, errors=)`."""
    from server.identity.routes import CodeRequest, VerifyRequest
    from server.privacy.routes import PersonRequest

    return {
        "/api/citizen/{site_code}/consent": {
            "get": op(
                "The consent text shown before a phone number is taken", auth="public", params=SITE, errors=(404,)
            )
        },
        "/api/citizen/{site_code}/otp": {
            "post": op(
                "Send a one-time code to a Vietnamese mobile (consent: true required)",
                auth="public",
                body=CodeRequest,
                ok=202,
                params=SITE,
                errors=(400, 404, 422, 429),
            )
        },
        "/api/citizen/{site_code}/otp/verify": {
            "post": op(
                "Check the code; the browser is then identified for 60 minutes",
                auth="public",
                body=VerifyRequest,
                params=SITE,
                errors=(400, 401, 404, 429),
            )
        },
        "/api/citizen/me": {"get": op("The citizen identified in this browser", auth="public", errors=())},
        "/api/citizen/signout": {"post": op("Forget the citizen of this browser", auth="public", errors=())},
        "/api/privacy/find": {
            "post": op(
                "A citizen's data by phone or ID number (admins; audited)", body=PersonRequest, errors=(400, 401, 403)
            )
        },
        "/api/privacy/delete": {
            "post": op("Delete a citizen's data (admins; audited)", body=PersonRequest, errors=(400, 401, 403))
        },
    }


def identity_answers() -> dict[tuple[str, str], tuple[int, Schema]]:
    """(path, method) → (status, schema) of the success answers of `identity_paths`."""
    rows = {"type": "array", "items": {"type": "object"}}
    texts = obj({"vi": STR, "en": STR})
    return {
        ("/api/citizen/{site_code}/consent", "get"): (200, obj({"version": STR, "text": STR, "texts": texts})),
        ("/api/citizen/{site_code}/otp", "post"): (
            202,
            obj({"sent": {"const": True}, "expires_in": INT}, example={"sent": True, "expires_in": 300}),
        ),
        ("/api/citizen/{site_code}/otp/verify", "post"): (200, obj({"citizen": CITIZEN})),
        ("/api/citizen/me", "get"): (200, obj({"citizen": CITIZEN})),
        ("/api/citizen/signout", "post"): (200, obj({"citizen": {"type": "null"}})),
        ("/api/privacy/find", "post"): (
            200,
            obj({"counts": COUNTS, "tickets": rows, "appointments": rows, "messages": rows}),
        ),
        ("/api/privacy/delete", "post"): (200, obj({"deleted": COUNTS})),
    }
