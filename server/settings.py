"""One typed settings object, read from LUOT_* environment variables and an optional TOML file.

Every setting is declared once, as a field of `Settings` (type, default and help text in its metadata);
`SETTINGS` lists them for the loader and `python -m server.settings --markdown` prints the README table
(a test checks the README matches). Precedence: explicit overrides > environment > TOML file (LUOT_CONFIG)
> default.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@dataclass(frozen=True)
class SettingSpec:
    """One setting as the loader and the README see it: `name` (LUOT_<NAME> upper-cased), Python `type`
    (str, int, float or bool), `default` and a one-line `help`."""

    name: str
    type: type
    default: Any
    help: str


def setting(default: Any, help: str) -> Any:
    """A `Settings` field with its default and its README line (kept in the field's metadata)."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    instance_dir: str = setting("instance", "Folder for the SQLite database, secret key, audio cache.")
    database_url: str = setting("", "SQLAlchemy URL; empty = SQLite file in the instance folder.")
    async_mode: str = setting("eventlet", "Server concurrency: eventlet, gevent or threading.")
    message_queue: str = setting("", "Socket.IO message queue (redis://…) for several server processes.")
    redis_timeout: float = setting(2.0, "Seconds Redis may take to connect or answer before a request gets 503.")
    trusted_proxies: int = setting(0, "Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto count.")
    host: str = setting("127.0.0.1", "Address `luot serve` listens on.")
    port: int = setting(5000, "Port `luot serve` listens on.")
    public_url: str = setting("", "Base URL printed in ticket QR codes; empty = http://host:port.")
    secret_key: str = setting("", "Session signing key; empty = the key `luot init` wrote.")
    sqlite_synchronous: str = setting("FULL", "SQLite synchronous pragma: FULL survives power loss.")
    ticket_rate_limit: str = setting("60/minute", "Ticket issuing limit per kiosk device or user.")
    login_max_failures: int = setting(
        5, "Failed sign-ins per username (×4 per address) before tries must wait 1, 2, 4… s."
    )
    login_max_delay_seconds: int = setting(60, "Longest wait between sign-in tries after repeated failures.")
    api_token_hours: int = setting(12, "Lifetime of a Bearer token from /api/v1/auth/token.")
    default_language: str = setting("vi", "Language of pages and messages when none is asked for.")
    log_level: str = setting("INFO", "Logging level.")
    clock_start: str = setting("", "ISO instant the server clock starts at (simulation); empty = now.")
    clock_speed: float = setting(1.0, "How many times faster than real time the clock runs.")
    voice_pack_dir: str = setting("", "Folder of recorded clips that replaces espeak-ng.")
    espeak_path: str = setting("espeak-ng", "The espeak-ng program used for announcements.")
    db_pool_size: int = setting(20, "Database connections kept open (never below the worker pool).")
    db_timeout: float = setting(
        5.0, "Seconds PostgreSQL may take to connect or to free a pooled connection before a request gets 503."
    )
    audio_cache_mib: int = setting(200, "Largest size of the announcement audio cache (MiB); oldest used go first.")
    audio_cache_days: int = setting(7, "Announcement audio not played for this many days is deleted.")
    metrics: bool = setting(False, "Serve Prometheus metrics at /metrics.")
    metrics_token: str = setting("", "Bearer token that /metrics requires; empty = none (keep it on the LAN).")
    socket_phones_per_token: int = setting(5, "Live connections one ticket's tracking token may hold.")
    socket_phones_per_address: int = setting(50, "Live phone (tracking) connections from one client address.")
    board_frame_ancestors: str = setting("", "Pages allowed to frame hall boards (CSP frame-ancestors); empty = none.")
    socket_allowed_origins: str = setting("", "Other origins whose pages may open cookie-signed-in sockets.")
    printer_dir: str = setting("", "Folder kiosk `file:`/`pdf:` printers must be in; empty = instance/printers.")
    printer_ports: str = setting("9100", "TCP ports `network:` printers may use (e.g. 9100,9101-9103).")
    printer_networks: str = setting(
        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
        "Address ranges `network:` printers must be in (comma-separated CIDR).",
    )
    otp_phone_limit: str = setting("3/15minutes;6/day", "One-time codes one phone number may ask for (issue 18).")
    otp_address_limit: str = setting(
        "30/hour",
        "One-time codes sent for one client address (refused requests do not count; a hall's Wi-Fi shares one).",
    )
    otp_verify_limit: str = setting(
        "60/hour",
        "Wrong codes one client address may try (malformed checks and phones with no code do not count; each code"
        " dies after 5 wrong).",
    )
    watch_address_limit: str = setting(
        "120/minute",
        "Tracking-page sign-ups ('tell me when my turn nears') saved for one client address; a hall's Wi-Fi shares"
        " one.",
    )
    watch_ticket_limit: str = setting("5/minute;20/day", "Tracking-page sign-ups saved for one ticket.")
    privacy_days: int = setting(30, "Days person keys (coded phone/ID numbers) are kept; clear contacts go at day end.")
    oidc_issuer: str = setting("", "OpenID Connect provider for citizens (its issuer URL); empty = none.")
    oidc_client_id: str = setting("", "Client id registered with the OpenID Connect provider.")
    oidc_client_secret: str = setting("", "Client secret registered with the OpenID Connect provider.")
    oidc_scopes: str = setting("openid profile", "Scopes asked of the OpenID Connect provider.")
    oidc_id_claim: str = setting("", "Claim holding the 12-digit ID (CCCD) number; empty = the provider's iss|sub.")
    extra: dict[str, Any] = field(default_factory=dict)  # not a setting: no help, not read from LUOT_*

    @property
    def instance_path(self) -> Path:
        return Path(self.instance_dir).resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'luot.sqlite3'}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def message_queue_url(self) -> str:
        """LUOT_MESSAGE_QUEUE with the Redis socket timeouts as URL options, which every Redis client of the app
        (Socket.IO queue, rate limiter, event sequence) reads; options already in the URL win."""
        return with_redis_timeouts(self.message_queue, self.redis_timeout)

    @property
    def message_queue_channel(self) -> str:
        """The Socket.IO pub/sub channel: `luot:<database number>`. Redis pub/sub ignores database numbers, so
        two deployments sharing a Redis server on different databases would otherwise hear each other."""
        database = urlsplit(self.message_queue).path.strip("/") or "0"
        return f"luot:{database}"

    @property
    def base_url(self) -> str:
        """LUOT_PUBLIC_URL, else http://host:port, with the machine's LAN address for 0.0.0.0 (phones open it)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        from server.ops.lan import reachable_host

        return f"http://{reachable_host(self.host)[0]}:{self.port}"

    def validate(self) -> None:
        if self.async_mode not in {"eventlet", "gevent", "threading"}:
            raise ValueError(f"LUOT_ASYNC_MODE must be eventlet, gevent or threading, not {self.async_mode!r}")
        if self.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("LUOT_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.redis_timeout <= 0:
            raise ValueError("LUOT_REDIS_TIMEOUT must be a positive number of seconds")
        if self.trusted_proxies < 0:
            raise ValueError("LUOT_TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front")
        from limits import parse_many

        for name in RATE_LIMITS:  # refused here, not at the first request (where no limit would apply)
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise ValueError(
                    f"LUOT_{name.upper()} must be rate limits such as 30/hour or 3/15minutes;6/day"
                ) from None
        from server.printing.targets import parse_networks, parse_ports

        try:
            parse_ports(self.printer_ports)
            parse_networks(self.printer_networks)
        except ValueError as exc:
            raise ValueError(f"LUOT_PRINTER_PORTS / LUOT_PRINTER_NETWORKS: {exc}") from exc


#: The settings that are rate limits (Flask-Limiter's notation).
RATE_LIMITS = (
    "ticket_rate_limit",
    "otp_phone_limit",
    "otp_address_limit",
    "otp_verify_limit",
    "watch_address_limit",
    "watch_ticket_limit",
)


def _specs() -> tuple[SettingSpec, ...]:
    hints = get_type_hints(Settings)
    return tuple(
        SettingSpec(f.name, hints[f.name], f.default, f.metadata["help"])
        for f in fields(Settings)
        if "help" in f.metadata
    )


SETTINGS: tuple[SettingSpec, ...] = _specs()


def _coerce(spec: SettingSpec, raw: Any) -> Any:
    if spec.type is bool:
        return str(raw).lower() in {"1", "true", "yes", "on"}
    try:
        return spec.type(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"LUOT_{spec.name.upper()}: expected {spec.type.__name__}, got {raw!r}") from exc


def markdown_table() -> str:
    """The README's settings table (GitHub Markdown, one row per setting, ending in a newline)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for spec in SETTINGS:
        default = f"`{spec.default}`" if spec.default != "" else "*(empty)*"
        rows.append(f"| `LUOT_{spec.name.upper()}` | {default} | {spec.help} |")
    return "\n".join(rows) + "\n"


def with_redis_timeouts(url: str, seconds: float) -> str:
    """Adds socket_connect_timeout and socket_timeout to a redis:// or rediss:// URL (redis-py parses both)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    given = {name for name, _ in query}
    query += [(name, str(seconds)) for name in ("socket_connect_timeout", "socket_timeout") if name not in given]
    return urlunsplit(parts._replace(query=urlencode(query)))


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from a TOML file (LUOT_CONFIG), the environment and explicit overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = env.get("LUOT_CONFIG")
    if config_file:
        with open(config_file, "rb") as handle:
            values.update(tomllib.load(handle).get("luot", {}))
    for spec in SETTINGS:
        key = f"LUOT_{spec.name.upper()}"
        if key in env:
            values[spec.name] = env[key]
    values.update(overrides)
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    specs = {spec.name: spec for spec in SETTINGS}
    coerced = {k: (_coerce(specs[k], v) if k in specs else v) for k, v in values.items()}
    settings = Settings(**coerced)
    settings.validate()
    return settings


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m server.settings --markdown")
    sys.stdout.write(markdown_table())
