"""Checks real API answers against the OpenAPI document (issue 14, item 19).

`checked_client(client)` wraps a Flask test client: every answer to a documented path and method is validated
(jsonschema-rs, JSON Schema 2020-12) against the document's schema for its status — the success schema for
2xx, the Error schema otherwise — and counted in `client.checked`. An undocumented 2xx status fails.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema_rs

from server.api.openapi import document

_DOC = document()
_ROUTES = [
    (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in sorted(_DOC["paths"], key=len)
]


def _path_of(url: str) -> str | None:
    bare = url.split("?", 1)[0]
    matches = [path for pattern, path in _ROUTES if pattern.match(bare)]
    # The most specific template: fewest placeholders (/tickets/{ticket_id}/return before /tickets/{token}).
    return min(matches, key=lambda p: (p.count("{"), -len(p)), default=None)


def check_answer(method: str, url: str, status: int, body: Any) -> bool:
    """Validates one answer; False when the path is not in the document (nothing to check)."""
    path = _path_of(url)
    if path is None or method.lower() not in _DOC["paths"][path]:
        return False
    responses = _DOC["paths"][path][method.lower()]["responses"]
    if 200 <= status < 300:
        assert str(status) in responses, f"{method} {path} answered {status}, not in the document"
        schema = responses[str(status)]["content"]["application/json"]["schema"]
    else:
        schema = {"$ref": "#/components/schemas/Error"}
    validator = jsonschema_rs.validator_for({**schema, "components": _DOC["components"]})
    problems = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, f"{method} {url} → {status} breaks the OpenAPI schema: {problems[:5]}"
    return True


def checked_client(client: Any) -> Any:
    """The same client; each JSON answer to a documented route is checked against the document."""
    original = client.open
    client.checked = []

    def open_and_check(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        request = response.request
        if response.is_json and check_answer(request.method, request.path, response.status_code, response.get_json()):
            client.checked.append((request.method, request.path, response.status_code))
        return response

    client.open = open_and_check
    return client
