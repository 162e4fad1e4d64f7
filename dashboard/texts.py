"""The language of the manager pages and their translated messages."""

from __future__ import annotations

from typing import Any

from flask import request

from server.context import luot
from server.i18n import pick_language, translate


def language() -> str:
    """?lang= wins, else the server's default language."""
    return pick_language(request.args.get("lang"), None, luot().settings.default_language)


def t(message: str, **params: Any) -> str:
    """`message` (an English msgid) in the page's language."""
    return translate(message, language(), **params)
