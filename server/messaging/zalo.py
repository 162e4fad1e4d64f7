"""Zalo Notification Service (ZNS): a template message to a phone number registered with Zalo.

POST <url> (default https://business.openapi.zalo.me/message/template), header `access_token: <OA access token>`,
JSON ``{"phone": "84912345678", "template_id": "…", "template_data": {param: value}, "tracking_id": "…"}``.
Answer ``{"error": 0, "message": "Success", "data": {"msg_id": "…", …}}``; a non-zero `error` is a refusal (bad
template or data, phone not on Zalo, quota, token): failed, not retried. The template is registered and approved
with Zalo beforehand; its parameters are the message kind's params (server/messaging/texts.py NEEDS). The access
token expires (about 25 hours) and is renewed outside Lượt: the site's setting holds the current one.
"""

from __future__ import annotations

from server.messaging.channels import RAW_ERROR, Outcome, Outgoing, SendResult
from server.messaging.config import ZaloConfig
from server.messaging.http_send import http_call, json_of


class ZaloChannel:
    def __init__(self, config: ZaloConfig) -> None:
        self.config = config

    def send(self, message: Outgoing, timeout: float) -> SendResult:
        template = self.config.templates.get(message.kind.value)
        if not template:
            return SendResult(Outcome.FAILED, error=f"no Zalo template for {message.kind.value}")
        body = {
            "phone": message.address.lstrip("+"),
            "template_id": template,
            "template_data": message.params,
            "tracking_id": message.key,
        }
        headers = {"access_token": self.config.access_token, "Content-Type": "application/json"}
        response, problem = http_call("POST", self.config.url, timeout, json=body, headers=headers)
        if response is None:
            assert problem is not None
            return problem
        answer = json_of(response)
        if answer.get("error") != 0:
            return SendResult(
                Outcome.FAILED, error=f"Zalo error {answer.get('error')}: {answer.get('message', '')}"[:RAW_ERROR]
            )
        data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
        return SendResult(Outcome.SENT, provider_id=str((data or {}).get("msg_id", ""))[:128])
