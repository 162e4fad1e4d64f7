"""Request helpers for the API: who is calling, what they sent."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import g, request, session
from pydantic import BaseModel, ValidationError

from server.auth import AuthError, Forbidden, Principal
from server.context import luot
from server.domain.errors import N_, DomainError
from server.principal_cache import cached_principal
from server.sessions import session_principal

Body = TypeVar("Body", bound=BaseModel)


class InvalidBody(DomainError):
    code, status, message = "invalid_body", 400, N_("The request body is not valid: {detail}.")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header.lower().startswith("bearer ") else None


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


def parse_body(model: type[Body]) -> Body:
    """The JSON body validated by a pydantic model; 400 with the reason otherwise."""
    data: Any = request.get_json(silent=True)
    if data is None:
        if request.content_length and request.mimetype != "application/json":
            raise InvalidBody(detail="expected application/json")
        if request.content_length:
            raise InvalidBody(detail="malformed JSON")
        data = {}
    if not isinstance(data, dict):
        raise InvalidBody(detail="expected a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise InvalidBody(detail=f"{where}: {first.get('msg', 'invalid')}") from None
