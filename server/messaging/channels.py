"""What every channel does (`send` one message, answer a SendResult) and which channel an address goes through.

A phone number goes through Zalo ZNS when the site configured it with a template for the message's kind, else
through the SMS gateway; an e-mail address through SMTP. A send answers one of three outcomes:

- `sent` — the provider took it (its message id kept);
- `retry` — surely not delivered (no connection, the provider answered an error such as HTTP 5xx/429): tried again
  after a back-off;
- `failed` — not to be tried again: refused for good (HTTP 4xx, a bad template) **or uncertain** (the request left
  and no answer came back: it may have been delivered). Each message is sent at most once, so an uncertain send
  is never repeated; it shows as failed on the dashboard with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from server.domain.errors import N_, DomainError
from server.domain.vocabulary import Label
from server.messaging.addresses import Address
from server.messaging.config import MessagingConfig
from server.messaging.texts import MessageKind


class ChannelName(StrEnum):
    ZALO = "zalo"
    SMS = "sms"
    EMAIL = "email"


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


#: How much of a failure's text a channel hands over (`SendResult.error`): all of it up to this bound, so that the
#: worker scrubs the whole text before cutting it to what it keeps (a secret or a code cut in two by an earlier
#: cut would leave a fragment scrubbing cannot recognise). The worker keeps `KEPT_ERROR` characters.
RAW_ERROR = 4000
KEPT_ERROR = 300


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str = ""
    error: str = ""


@dataclass(frozen=True)
class Outgoing:
    """One message as a channel sends it: `text` with accents (SMS channels strip them), `key` the dedupe key
    (tracking id, the same at every attempt)."""

    kind: MessageKind
    address: str
    language: str
    params: dict[str, str]
    text: str
    key: str


class Channel(Protocol):
    def send(self, message: Outgoing, timeout: float) -> SendResult: ...


PHONES = Label("số điện thoại", "phone numbers")
EMAILS = Label("địa chỉ e-mail", "e-mail addresses")


class Unreachable(DomainError):
    code, status, message = (
        "message_channel_missing",
        422,
        N_("This centre cannot send messages to {what}: no channel for it is configured."),
    )


def channel_for(config: MessagingConfig, address: Address, kind: MessageKind) -> ChannelName:
    """The channel a message of `kind` to `address` goes through; Unreachable (its `what`: PHONES or EMAILS) when the
    site configured none for it."""
    if address.kind == "email":
        if config.email is None:
            raise Unreachable(what=EMAILS)
        return ChannelName.EMAIL
    if config.zalo is not None and kind.value in config.zalo.templates:
        return ChannelName.ZALO
    if config.sms is not None:
        return ChannelName.SMS
    raise Unreachable(what=PHONES)
