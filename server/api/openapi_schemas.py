"""Response schemas of the OpenAPI document: every 2xx answer of REST v1, with enums and examples (issue 14).

JSON Schema 2020-12 (OpenAPI 3.1). Shapes follow server.payloads and the routes; enums come from
server.domain.vocabulary and from every DomainError code, so a new status or error code is documented by
itself. tests/integration/test_openapi_answers.py checks the answers of the API contract tests against them.
"""

from __future__ import annotations

from typing import Any

from server.domain.vocabulary import PRIORITY_CODES, CounterStatus, DeviceKind, RatingScore, Role, TicketStatus

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


INT, STR, BOOL, NUM = {"type": "integer"}, {"type": "string"}, {"type": "boolean"}, {"type": "number"}
TIME = {"type": "string", "format": "date-time"}


def obj(properties: dict[str, Schema], required: tuple[str, ...] | None = None, example: Any = None) -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }
    if example is not None:
        schema["examples"] = [example]
    return schema


def error_codes() -> list[str]:
    """Every error code an answer may carry: the domain's and the HTTP layer's."""
    import server.api.auth_routes
    import server.api.support
    import server.auth
    import server.request_body
    import server.runner  # noqa: F401
    from server.domain import errors
    from server.errors_http import HTTP_MESSAGES

    codes: set[str] = {code for code, _message in HTTP_MESSAGES.values()}
    codes |= {"csrf_failed", "http_error", "invalid_body", "bad_request"}
    pending = [errors.DomainError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if isinstance(getattr(cls, "code", None), str):
            codes.add(cls.code)
    return sorted(codes)


PUBLIC_TICKET_EXAMPLE = {
    "id": 42,
    "display_number": "1001",
    "number": 1001,
    "status": "waiting",
    "priority": "",
    "service_id": 3,
    "agency_id": 1,
    "counter_id": None,
    "counter_number": None,
    "issued_at": "2026-11-18T09:00:00+07:00",
    "queue_since": "2026-11-18T09:00:00+07:00",
    "recall_count": 0,
    "transferred": False,
}


def components() -> dict[str, Schema]:
    status = {"type": "string", "enum": [str(s) for s in TicketStatus]}
    priority = nullable({"type": "string", "enum": ["", *PRIORITY_CODES]})  # "": ordinary
    named = obj({"code": STR, "name": STR, "name_en": STR})
    public_ticket = obj(
        {
            "id": INT,
            "display_number": STR,
            "number": INT,
            "status": ref("TicketStatus"),
            "priority": ref("Priority"),
            "service_id": INT,
            "agency_id": INT,
            "counter_id": nullable(INT),
            "counter_number": nullable(INT),
            "issued_at": TIME,
            "queue_since": TIME,
            "recall_count": INT,
            "transferred": BOOL,
        },
        example=PUBLIC_TICKET_EXAMPLE,
    )
    counter = obj(
        {
            "id": INT,
            "number": INT,
            "name": STR,
            "status": {"type": "string", "enum": [str(s) for s in CounterStatus]},
            "service_ids": {"type": "array", "items": INT},
            "staffed": BOOL,
            "current": nullable(ref("PublicTicket")),
            "pause_reason": STR,
            "site_id": INT,
        },
        required=("id", "number", "status", "service_ids", "current", "pause_reason"),
        example={
            "id": 1,
            "number": 1,
            "name": "",
            "status": "open",
            "service_ids": [3, 4],
            "staffed": True,
            "current": None,
            "pause_reason": "",
            "site_id": 1,
        },
    )
    outlook = {
        "waiting_ahead": INT,
        "estimated_wait_minutes": nullable(INT),
        "no_counter_open": BOOL,
        "opens_at": nullable(TIME),
    }
    issued = obj(
        {
            "id": INT,
            "number": INT,
            "display_number": STR,
            "priority": ref("Priority"),
            "status": ref("TicketStatus"),
            "issued_at": TIME,
            "service": named,
            "agency": named,
            "site": obj({"code": STR, "name": STR}),
            "counters": {"type": "array", "items": INT},
            "tracking_token": STR,
            "tracking_url": STR,
            "repeated": BOOL,
            "print": {"type": "object"},
            **outlook,
        },
        required=("id", "number", "display_number", "status", "issued_at", "service", "agency", "site"),
        example={
            "id": 42,
            "number": 1001,
            "display_number": "1001",
            "priority": "",
            "status": "waiting",
            "issued_at": "2026-11-18T09:00:00+07:00",
            "service": {"code": "TP-A", "name": "Cấp phiếu lý lịch tư pháp", "name_en": ""},
            "agency": {"code": "TP", "name": "Sở Tư pháp", "name_en": "Department of Justice"},
            "site": {"code": "HN", "name": "Trung tâm Phục vụ hành chính công"},
            "counters": [1, 2],
            "tracking_token": "q2v…",
            "waiting_ahead": 0,
            "estimated_wait_minutes": None,
            "no_counter_open": False,
            "opens_at": None,
        },
    )
    tracked = obj(
        {
            "id": INT,
            "display_number": STR,
            "number": INT,
            "priority": ref("Priority"),
            "issued_at": TIME,
            "service": named,
            "agency": named,
            "site": obj({"code": STR, "name": STR}),
            "counters": {"type": "array", "items": INT},
            "status": ref("TicketStatus"),
            "now_serving": nullable(STR),
            "counter": nullable(obj({"number": INT, "name": STR})),
            **outlook,
        },
        required=("id", "display_number", "status", "service", "agency", "site", "waiting_ahead"),
    )
    user = obj(
        {
            "id": INT,
            "username": STR,
            "role": {"type": "string", "enum": [str(r) for r in Role]},
            "full_name": STR,
            "site_id": nullable(INT),
        },
        example={"id": 3, "username": "clerk01", "role": "clerk", "full_name": "Nguyễn Văn A", "site_id": 1},
    )
    token_row = obj(
        {"id": INT, "user_id": INT, "created_at": TIME, "expires_at": TIME, "revoked": BOOL, "current": BOOL},
        example={
            "id": 7,
            "user_id": 3,
            "created_at": "2026-11-18T08:00:00+07:00",
            "expires_at": "2026-11-18T20:00:00+07:00",
            "revoked": False,
            "current": True,
        },
    )
    messages = obj({"vi": STR, "en": STR})
    error = obj(
        {
            "error": obj(
                {"code": {"type": "string", "enum": error_codes()}, "message": STR, "messages": messages},
            )
        },
        example={
            "error": {
                "code": "bad_credentials",
                "message": "Sai tên đăng nhập hoặc mật khẩu.",
                "messages": {"vi": "Sai tên đăng nhập hoặc mật khẩu.", "en": "Wrong username or password."},
            }
        },
    )
    return {
        "TicketStatus": status,
        "Priority": priority,
        "RatingScore": {"type": "string", "enum": [str(s) for s in RatingScore]},
        "PublicTicket": public_ticket,
        "Counter": counter,
        "IssuedTicket": issued,
        "TrackedTicket": tracked,
        "User": user,
        "TokenRow": token_row,
        "Error": error,
    }


def counter_answer() -> Schema:
    return obj(
        {
            "ticket": nullable(ref("PublicTicket")),
            "counter": ref("Counter"),
            "finished": nullable(ref("PublicTicket")),
            "notice": obj({"code": STR, "messages": obj({"vi": STR, "en": STR})}),
        },
        required=("ticket", "counter"),
    )


def answers() -> dict[tuple[str, str], tuple[int, Schema]]:
    """(path, method) → (status, schema) of the success answer (counter actions: see counter_answer)."""
    device = {"type": "string", "enum": ["", *(str(k) for k in DeviceKind)]}
    return {
        ("/healthz", "get"): (
            200,
            obj(
                {"status": {"const": "ok"}, "database": STR, "async_mode": STR, "time": TIME},
                example={
                    "status": "ok",
                    "database": "ok",
                    "async_mode": "eventlet",
                    "time": "2026-11-18T09:00:00+07:00",
                },
            ),
        ),
        ("/api/v1/openapi.json", "get"): (
            200,
            obj({"openapi": STR, "paths": {"type": "object"}}, ("openapi", "paths")),
        ),
        ("/api/v1/auth/token", "post"): (
            200,
            obj(
                {"token": STR, "token_type": {"const": "Bearer"}, "expires_in": INT, "user": ref("User")},
                example={"token": "…", "token_type": "Bearer", "expires_in": 43200, "user": {"id": 3}},
            ),
        ),
        ("/api/v1/auth/login", "post"): (200, obj({"user": ref("User"), "csrf_token": STR})),
        ("/api/v1/auth/logout", "post"): (
            200,
            obj({"ok": {"const": True}, "signed_out": nullable({"type": "string", "enum": ["token", "session"]})}),
        ),
        ("/api/v1/auth/me", "get"): (
            200,
            obj(
                {
                    "kind": {"type": "string", "enum": ["user", "device"]},
                    "id": INT,
                    "role": {"type": "string", "enum": ["", *(str(r) for r in Role)]},
                    "device_kind": device,
                    "site_id": nullable(INT),
                    "name": STR,
                    "csrf_token": nullable(STR),  # null for a Bearer caller: it needs none
                }
            ),
        ),
        ("/api/v1/auth/tokens", "get"): (200, obj({"tokens": {"type": "array", "items": ref("TokenRow")}})),
        ("/api/v1/auth/tokens/{token_id}/revoke", "post"): (200, obj({"token": ref("TokenRow")})),
        ("/api/v1/services", "get"): (
            200,
            obj(
                {
                    "site": obj({"id": INT, "code": STR, "name": STR, "kind": STR}),
                    "now": TIME,
                    "agencies": {"type": "array", "items": {"type": "object"}},
                }
            ),
        ),
        ("/api/v1/tickets", "post"): (201, ref("IssuedTicket")),
        ("/api/v1/tickets/{token}", "get"): (200, ref("TrackedTicket")),
        ("/api/v1/tickets/{ticket_id}/return", "post"): (200, obj({"ticket": ref("PublicTicket")})),
        ("/api/v1/tickets/{ref}/rating", "post"): (
            201,
            obj(
                {
                    "ticket": ref("PublicTicket"),
                    "score": ref("RatingScore"),
                    "source": {"type": "string", "enum": ["tablet", "phone"]},
                }
            ),
        ),
        ("/api/v1/counters/{counter_id}/dossiers", "post"): (
            200,
            obj({"ticket": ref("PublicTicket"), "dossiers": {"type": "array", "items": STR}}),
        ),
        ("/api/v1/exports/onestop", "get"): (  # format=json; format=csv (the default) answers text/csv
            200,
            obj(
                {
                    "from": STR,
                    "to": STR,
                    "fields": {"type": "array", "items": STR},
                    "tickets": {"type": "array", "items": {"type": "object"}},
                }
            ),
        ),
        ("/api/v1/counters/{counter_id}", "get"): (
            200,
            obj(
                {
                    "counter": {
                        "allOf": [
                            ref("Counter"),
                            obj(
                                {
                                    "waiting": {"type": "array", "items": {"type": "object"}},
                                    "held": {"type": "array", "items": {"type": "object"}},
                                }
                            ),
                        ]
                    }
                }
            ),
        ),
    }
