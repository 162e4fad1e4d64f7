"""Why a send failed, without the citizen in it: the error a channel reports is kept in `outboxmessage.last_error`
(shown on the manager's messages page, written to the log, and left by the purge, which empties only the address,
params and text), so nothing personal may stay in it.

Channel errors quote the citizen in many ways: a gateway's refusal echoes the request ("invalid destination
84912345678", the text with its one-time code), a connection error quotes the URL (a GET gateway carries the number
and the text in its query), SMTP names the refused recipient. `scrubbed()` removes every URL query, the address in
any of its forms (a phone's national digits however written, an e-mail address or its local part, URL-encoded or
not, any case), every parameter value of four characters or more (codes, booking codes, links), the site's
configured secrets (an SMS gateway may echo the Authorization header it was sent) and any run of nine or more
digits, each replaced by "•••".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

HIDDEN = "•••"
_QUERY = re.compile(r"\?[^\s'\"()<>\]\[{}]*")
_LONG_DIGITS = re.compile(r"\d{9,}")
_SEPARATOR = r"[\s.\-()]{0,2}"


def scrubbed(error: str, address: str, params: dict[str, str] | None = None, secrets: Iterable[str] = ()) -> str:
    """`error` with the query strings, `address` ("+84912345678" or an e-mail), `params` values and the site's
    configured `secrets` (MessagingConfig.secrets(): a gateway may echo its Authorization header) hidden."""
    text = _QUERY.sub("?" + HIDDEN, error)
    for pattern in _patterns(address, [*(params or {}).values(), *secrets]):
        text = pattern.sub(HIDDEN, text)
    return _LONG_DIGITS.sub(HIDDEN, text)


def _patterns(address: str, values: Iterable[str]) -> list[re.Pattern[str]]:
    found: list[re.Pattern[str]] = []
    if address.startswith("+84") and address[3:].isdigit():
        national = address[3:]  # "+84 91 234 5678", "0912.345.678", "84912345678" all hold these digits in order
        digits = _SEPARATOR.join(re.escape(d) for d in national)
        found.append(re.compile(rf"(?:\+?84|0)?{_SEPARATOR}{digits}"))
    words = [address, *values]
    if "@" in address:
        words.append(address.split("@", 1)[0])
    for word in sorted({w for w in words if len(w) >= 4}, key=len, reverse=True):
        forms = {word, quote(word, safe=""), quote_plus(word)}
        found.append(re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)), re.IGNORECASE))
    return found
