"""Translations: English msgids, Vietnamese (default) and English catalogues in gettext .po files."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

from server.domain.vocabulary import Label, vocabulary_labels

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
CATALOGUES = Path(__file__).parent / "translations"


def nfc(text: str) -> str:
    """NFC-normalise ``text`` (Vietnamese diacritics as precomposed characters)."""
    return unicodedata.normalize("NFC", text)


@cache
def _catalogue(language: str) -> dict[str, str]:
    """All catalogues of a language: translations/vi.po (core) plus translations/vi-<surface>.po, and the
    labels of the domain's vocabulary (priority classes, scores, channels), which own both languages."""
    messages: dict[str, str] = {label.en: label.vi for label in vocabulary_labels()}
    for path in sorted(CATALOGUES.glob(f"{language}*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        messages.update(
            {
                m.id: nfc(m.string)
                for m in catalog
                if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string
            }
        )
    return messages


def translate(message: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message in `language` (falling back to the English msgid), with {params} filled in; a `Label`
    parameter is filled in the same language."""
    text = _catalogue(language).get(message, message) if language != "en" else message
    if not params:
        return text
    return text.format(**{k: v(language) if isinstance(v, Label) else v for k, v in params.items()})


def both(message: str, **params: Any) -> dict[str, str]:
    return {language: translate(message, language, **params) for language in LANGUAGES}


def pick_language(requested: str | None, accept_language: str | None = None, default: str = DEFAULT_LANGUAGE) -> str:
    """An explicit ?lang= wins, then the Accept-Language header, then the default."""
    for candidate in (requested, *(accept_language or "").split(",")):
        code = (candidate or "").split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return default
