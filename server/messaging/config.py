"""A site's message channels: `Site.settings["messaging"]`, checked when the site's settings are saved (admin
form, `luot config import`) and read by enqueue() and the worker.

Shape (every part optional; a channel absent or with `enabled = false` is not used)::

    [site.settings.messaging]
    max_attempts = 5          # sends tried before a message is marked failed (1–20)
    retry_seconds = 30        # first back-off; then ×2 each attempt, at most 1 hour (1–3600)
    timeout_seconds = 10      # one send's connect and read timeout (1–60)
    [site.settings.messaging.zalo]      # Zalo Notification Service (ZNS), template messages
    url = "https://business.openapi.zalo.me/message/template"
    access_token = "…"                  # secret
    templates = { near_turn = "123456", called = "123457", otp = "…" }   # template id per message kind
    [site.settings.messaging.sms]       # any HTTP SMS gateway
    url = "https://sms.example.vn/send?to={phone}"
    method = "POST"                     # GET or POST
    auth_header = "Authorization: Bearer …"   # "Name: value" (secret), optional
    content_type = "application/json"   # or application/x-www-form-urlencoded, text/plain
    body = '{"to": "{phone}", "text": "{text}", "ref": "{id}"}'
    [site.settings.messaging.email]     # SMTP
    host = "smtp.example.vn"; port = 587; starttls = true; username = "…"; password = "…" (secret)
    sender = "Trung tâm HCC <no-reply@example.vn>"

Placeholders of the SMS url and body: {phone} (+84…), {phone_digits} (84…), {phone_local} (0…), {text}
(unaccented), {id} (the message's dedupe key, the same at every attempt). In the url they are URL-encoded; in a
JSON body JSON-escaped; in a form body form-encoded.

Secrets (`access_token`, `password`, `auth_header`) live only here: the public pages and snapshots never carry
Site.settings; the staff failure page shows none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from server.domain.errors import N_
from server.messaging.texts import MessageKind

ZALO_URL = "https://business.openapi.zalo.me/message/template"
SECRETS = ("access_token", "password", "auth_header")


class ConfigProblem(ValueError):
    """The messaging settings cannot be saved: `text` (an English msgid) says why, `where` names the key."""

    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self.text = text
        super().__init__(f"messaging.{where}: {text}")


@dataclass(frozen=True)
class ZaloConfig:
    url: str
    access_token: str
    templates: dict[str, str]


@dataclass(frozen=True)
class SmsConfig:
    url: str
    method: str = "POST"
    auth_header: str = ""
    content_type: str = "application/json"
    body: str = ""


@dataclass(frozen=True)
class EmailConfig:
    host: str
    sender: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class MessagingConfig:
    """A site's channels (None: not configured) and its retry policy."""

    zalo: ZaloConfig | None = None
    sms: SmsConfig | None = None
    email: EmailConfig | None = None
    max_attempts: int = 5
    retry_seconds: int = 30
    timeout_seconds: int = 10

    def secrets(self) -> list[str]:
        """The configured secrets a gateway's answer or error may echo (an SMS gateway quoting the request's
        Authorization header): the Zalo access token, the SMS auth header's value and its credential, the SMTP
        password and any password in a gateway's URL. `scrubbed()` hides them wherever an answer is logged."""
        found: list[str] = []
        if self.zalo is not None:
            found += [self.zalo.access_token, urlsplit(self.zalo.url).password or ""]
        if self.sms is not None:
            value = self.sms.auth_header.partition(":")[2].strip()
            found += [value, *value.split()[1:], urlsplit(self.sms.url).password or ""]
        if self.email is not None:
            found.append(self.email.password)
        return [secret for secret in found if secret]


def messaging_config(site_settings: dict[str, Any] | None) -> MessagingConfig:
    """The site's channels from its settings; raises ConfigProblem for a malformed part."""
    raw = (site_settings or {}).get("messaging") or {}
    if not isinstance(raw, dict):
        raise ConfigProblem("messaging", N_("Expected a table of channels."))
    return MessagingConfig(
        zalo=_zalo(raw.get("zalo")),
        sms=_sms(raw.get("sms")),
        email=_email(raw.get("email")),
        max_attempts=_int(raw, "max_attempts", 5, 1, 20),
        retry_seconds=_int(raw, "retry_seconds", 30, 1, 3600),
        timeout_seconds=_int(raw, "timeout_seconds", 10, 1, 60),
    )


def check_messaging(site_settings: dict[str, Any]) -> None:
    """For the site settings' check: raises ConfigProblem when the messaging part cannot be used."""
    messaging_config(site_settings)


def _enabled(raw: Any, name: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigProblem(name, N_("Expected a table."))
    return None if raw.get("enabled", True) is False else raw


def _url(raw: dict[str, Any], where: str, default: str = "") -> str:
    url = str(raw.get("url") or default).strip()
    parts = urlsplit(url.replace("{", "").replace("}", ""))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigProblem(f"{where}.url", N_("Must be an http:// or https:// address."))
    return url


def _text(raw: dict[str, Any], key: str, where: str, required: bool = False) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ConfigProblem(f"{where}.{key}", N_("Must be text."))
    if required and not value.strip():
        raise ConfigProblem(f"{where}.{key}", N_("Required."))
    return value.strip()


def _int(raw: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigProblem(key, N_("Must be a whole number in range."))
    return value


def _zalo(raw: Any) -> ZaloConfig | None:
    table = _enabled(raw, "zalo")
    if table is None:
        return None
    templates = table.get("templates") or {}
    if not isinstance(templates, dict) or not all(isinstance(v, str | int) for v in templates.values()):
        raise ConfigProblem("zalo.templates", N_("Expected a template id per message kind."))
    unknown = set(templates) - {k.value for k in MessageKind}
    if unknown:
        raise ConfigProblem("zalo.templates", N_("Unknown message kind."))
    return ZaloConfig(
        url=_url(table, "zalo", ZALO_URL),
        access_token=_text(table, "access_token", "zalo", required=True),
        templates={k: str(v) for k, v in templates.items() if str(v).strip()},
    )


def _sms(raw: Any) -> SmsConfig | None:
    table = _enabled(raw, "sms")
    if table is None:
        return None
    method = _text(table, "method", "sms").upper() or "POST"
    if method not in ("GET", "POST"):
        raise ConfigProblem("sms.method", N_("GET or POST."))
    header = _text(table, "auth_header", "sms")
    if header and ":" not in header:
        raise ConfigProblem("sms.auth_header", N_("Write it as Name: value."))
    return SmsConfig(
        url=_url(table, "sms"),
        method=method,
        auth_header=header,
        content_type=_text(table, "content_type", "sms") or "application/json",
        body=_text(table, "body", "sms"),
    )


def _email(raw: Any) -> EmailConfig | None:
    table = _enabled(raw, "email")
    if table is None:
        return None
    port = table.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigProblem("email.port", N_("Must be a port number."))
    starttls = table.get("starttls", True)
    if not isinstance(starttls, bool):
        raise ConfigProblem("email.starttls", N_("true or false."))
    return EmailConfig(
        host=_text(table, "host", "email", required=True),
        sender=_text(table, "sender", "email", required=True),
        port=port,
        starttls=starttls,
        username=_text(table, "username", "email"),
        password=_text(table, "password", "email"),
    )
