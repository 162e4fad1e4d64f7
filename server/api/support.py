"""Request helpers for the API: who is calling, what they sent."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import g, request, session
from pydantic import BaseModel, ValidationError

from server.auth import AuthError, Forbidden, Principal, token_hash
from server.context import luot
from server.domain.errors import N_, DomainError
from server.domain.vocabulary import Label
from server.principal_cache import cached_principal
from server.sessions import session_principal

Body = TypeVar("Body", bound=BaseModel)


class InvalidBody(DomainError):
    """`detail`: a `Label` (what is wrong, in both languages) or a plain string (a field name or format)."""

    code, status, message = "invalid_body", 400, N_("The request body is not valid: {detail}.")


#: What pydantic found wrong, by its error type, in both languages ({field} is the field's path).
_PROBLEMS: dict[str, Label] = {
    "missing": Label("thiếu trường bắt buộc {field}", "{field} is required"),
    "string_type": Label("{field} phải là chuỗi ký tự", "{field} must be a string"),
    "string_too_long": Label("{field} quá dài", "{field} is too long"),
    "string_too_short": Label("{field} quá ngắn", "{field} is too short"),
    "too_long": Label("{field} có quá nhiều phần tử", "{field} has too many items"),
    "too_short": Label("{field} có quá ít phần tử", "{field} has too few items"),
    "int_type": Label("{field} phải là số nguyên", "{field} must be a whole number"),
    "int_parsing": Label("{field} phải là số nguyên", "{field} must be a whole number"),
    "int_from_float": Label("{field} phải là số nguyên", "{field} must be a whole number"),
    "float_type": Label("{field} phải là số", "{field} must be a number"),
    "float_parsing": Label("{field} phải là số", "{field} must be a number"),
    "bool_type": Label("{field} phải là true hoặc false", "{field} must be true or false"),
    "bool_parsing": Label("{field} phải là true hoặc false", "{field} must be true or false"),
    "list_type": Label("{field} phải là một danh sách", "{field} must be a list"),
    "dict_type": Label("{field} phải là một đối tượng", "{field} must be an object"),
    "greater_than_equal": Label("{field} quá nhỏ", "{field} is too small"),
    "greater_than": Label("{field} quá nhỏ", "{field} is too small"),
    "less_than_equal": Label("{field} quá lớn", "{field} is too large"),
    "less_than": Label("{field} quá lớn", "{field} is too large"),
    "extra_forbidden": Label("không nhận trường {field}", "{field} is not accepted"),
    "literal_error": Label("{field} không thuộc các giá trị cho phép", "{field} is not one of the allowed values"),
    "enum": Label("{field} không thuộc các giá trị cho phép", "{field} is not one of the allowed values"),
    "date_from_datetime_parsing": Label("{field} phải là ngày YYYY-MM-DD", "{field} must be a date YYYY-MM-DD"),
    "date_parsing": Label("{field} phải là ngày YYYY-MM-DD", "{field} must be a date YYYY-MM-DD"),
    "datetime_parsing": Label("{field} phải là thời điểm ISO 8601", "{field} must be an ISO 8601 instant"),
    "datetime_from_date_parsing": Label("{field} phải là thời điểm ISO 8601", "{field} must be an ISO 8601 instant"),
}
_NOT_VALID = Label("{field} không hợp lệ", "{field} is not valid")
MALFORMED_JSON = Label("JSON không đúng cú pháp", "malformed JSON")
NOT_JSON = Label("cần gửi application/json", "expected application/json")
NOT_AN_OBJECT = Label("cần một đối tượng JSON", "expected a JSON object")


def problem(field: str, kind: str) -> Label:
    """The pydantic error type `kind` about `field` (e.g. "service", "dossiers.0") in both languages."""
    label = _PROBLEMS.get(kind, _NOT_VALID)
    return Label(label.vi.format(field=field), label.en.format(field=field))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header.lower().startswith("bearer ") else None


def current_token_digest() -> str | None:
    """The SHA-256 digest of the token the caller authenticates with: the Bearer token, else the cookie
    session's `sid` (server.sessions); None for an anonymous call."""
    token = bearer_token() or session.get("sid")
    return token_hash(token) if isinstance(token, str) and token else None


def current_principal() -> Principal | None:
    """The caller (Bearer token first, then the session cookie), cached for the request."""
    if "principal" not in g:
        principal = None
        ctx = luot()
        token = bearer_token()
        if token:
            principal = cached_principal(ctx.principals, ctx.db, ctx.clock.now(), token)
            if principal is None:
                raise AuthError()
        elif session.get("user_id"):
            principal = session_principal(ctx)
        g.principal = principal
    return g.principal


def require(*, staff_roles: tuple[str, ...] = (), devices: tuple[str, ...] = ()) -> Principal:
    """The caller, if they are staff with one of `staff_roles` or a device of one of `devices`."""
    principal = current_principal()
    if principal is None:
        raise AuthError()
    if principal.is_staff and principal.role in staff_roles:
        return principal
    if principal.kind == "device" and principal.device_kind in devices:
        return principal
    raise Forbidden()


NESTED_TOO_DEEPLY = Label("JSON lồng nhau quá sâu", "JSON nested too deeply")
_BODY = "luot_json_body"


def json_body() -> Any:
    """The request's JSON body (None for no body or a body of `null`), read once per request and kept: the rate
    limits' key functions and the view see the same answer whichever reads it first, however deep the stack.

    Raises InvalidBody (400) for a body that is not JSON, malformed, or nested deeper than the parser goes (a
    RecursionError, which Flask's `get_json(silent=True)` does not catch); the refusal is kept too."""
    if _BODY not in g:
        try:
            setattr(g, _BODY, _read_json())
        except InvalidBody as refused:
            setattr(g, _BODY, refused)
    kept = getattr(g, _BODY)
    if isinstance(kept, InvalidBody):
        raise kept
    return kept


def _read_json() -> Any:
    try:
        data: Any = request.get_json(silent=True)
    except RecursionError:
        raise InvalidBody(detail=NESTED_TOO_DEEPLY) from None
    if data is None:
        if request.content_length and request.mimetype != "application/json":
            raise InvalidBody(detail=NOT_JSON)
        if request.content_length and request.get_data(cache=True).strip() != b"null":
            raise InvalidBody(detail=MALFORMED_JSON)
    return data


def parse_body(model: type[Body]) -> Body:
    """The JSON body (`json_body`) validated by a pydantic model; 400 with the reason otherwise."""
    data = json_body()
    if data is None and not request.content_length:
        data = {}  # no body: an empty object (a body of `null` is JSON, but not an object)
    if not isinstance(data, dict):
        raise InvalidBody(detail=NOT_AN_OBJECT)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidBody(detail=problem(where, str(first.get("type", "")))) from None


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (None without one): the same key again names the same request, so a
    client whose answer was lost may send it again (kiosk taps, numbers and bookings from a phone). Raises
    InvalidBody (400) for a key longer than 128 characters (one is never cut short into another's)."""
    key = request.headers.get("Idempotency-Key", "").strip() or None
    if key and len(key) > 128:
        raise InvalidBody(detail=Label("Idempotency-Key: tối đa 128 ký tự", "Idempotency-Key: at most 128 characters"))
    return key
