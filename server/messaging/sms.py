"""A generic SMS gateway over HTTP: the site gives a URL template, GET or POST, an optional auth header and a body
template (server/messaging/config.py lists the placeholders). The text is sent unaccented (texts.unaccented).
Any 2xx answer is taken as accepted; the provider's id is read from a JSON answer's `id`, `message_id`, `msg_id`,
`messageId` or `SMSID` when there is one."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

from server.messaging.channels import Outcome, Outgoing, SendResult
from server.messaging.config import SmsConfig
from server.messaging.http_send import http_call, json_of
from server.messaging.texts import unaccented

ID_KEYS = ("id", "message_id", "msg_id", "messageId", "SMSID")


def placeholders(message: Outgoing) -> dict[str, str]:
    digits = message.address.lstrip("+")
    local = "0" + digits[2:] if digits.startswith("84") else digits
    return {
        "phone": message.address,
        "phone_digits": digits,
        "phone_local": local,
        "text": unaccented(message.text),
        "id": message.key,
    }


def fill(template: str, values: dict[str, str], escape: str) -> str:
    """`template` with each {name} replaced by its value escaped for `escape` (url, json, form or raw); other
    braces are left as they are (a JSON body keeps its own)."""
    out = template
    for name, value in values.items():
        if escape == "url":
            value = quote(value, safe="")
        elif escape == "json":
            value = json.dumps(value, ensure_ascii=False)[1:-1]
        elif escape == "form":
            value = quote_plus(value)
        out = out.replace("{" + name + "}", value)
    return out


class SmsChannel:
    def __init__(self, config: SmsConfig) -> None:
        self.config = config

    def send(self, message: Outgoing, timeout: float) -> SendResult:
        values = placeholders(message)
        url = fill(self.config.url, values, "url")
        headers = {"Content-Type": self.config.content_type}
        if self.config.auth_header:
            name, _, value = self.config.auth_header.partition(":")
            headers[name.strip()] = value.strip()
        escape = (
            "json"
            if "json" in self.config.content_type
            else "form"
            if "urlencoded" in self.config.content_type
            else "raw"
        )
        body = fill(self.config.body, values, escape).encode() if self.config.method == "POST" else None
        response, problem = http_call(self.config.method, url, timeout, data=body, headers=headers)
        if response is None:
            assert problem is not None
            return problem
        answer = json_of(response)
        provider_id = next((str(answer[k]) for k in ID_KEYS if answer.get(k) not in (None, "")), "")
        return SendResult(Outcome.SENT, provider_id=provider_id[:128])
