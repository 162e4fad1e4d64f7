"""The answer a page or a kiosk gets when the database may have done what it asked without saying so (503
`storage_unconfirmed`, server.commit_outcome): the body a browser test puts in place of the real answer once the
real server has carried the request out (Playwright's route.fetch(), then route.fulfill())."""

from __future__ import annotations

from typing import Any

from server.commit_outcome import StorageUnconfirmed
from server.i18n import both


def unconfirmed_body() -> dict[str, Any]:
    """The server's own 503 storage_unconfirmed error, in the API's error shape (Vietnamese message first)."""
    messages = both(StorageUnconfirmed.message)
    return {"error": {"code": StorageUnconfirmed.code, "message": messages["vi"], "messages": messages}}
