"""One typed settings object, read from LUOT_* environment variables and an optional TOML file.

Every setting is declared once in SETTINGS (name, type, default, help); the README documents each
(a test checks that). Precedence: explicit overrides > environment > TOML file (LUOT_CONFIG) > default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


@dataclass(frozen=True)
class SettingSpec:
    name: str
    type: type
    default: Any
    help: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec("instance_dir", str, "instance", "Folder for the SQLite database, secret key, audio cache."),
    SettingSpec("database_url", str, "", "SQLAlchemy URL; empty = SQLite file in the instance folder."),
    SettingSpec("async_mode", str, "eventlet", "Server concurrency: eventlet, gevent or threading."),
    SettingSpec("message_queue", str, "", "Socket.IO message queue (redis://…) for several server processes."),
    SettingSpec("redis_timeout", float, 2.0, "Seconds Redis may take to connect or answer before a request gets 503."),
    SettingSpec("trusted_proxies", int, 0, "Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto count."),
    SettingSpec("host", str, "127.0.0.1", "Address `luot serve` listens on."),
    SettingSpec("port", int, 5000, "Port `luot serve` listens on."),
    SettingSpec("public_url", str, "", "Base URL printed in ticket QR codes; empty = http://host:port."),
    SettingSpec("secret_key", str, "", "Session signing key; empty = the key `luot init` wrote."),
    SettingSpec("sqlite_synchronous", str, "FULL", "SQLite synchronous pragma: FULL survives power loss."),
    SettingSpec("ticket_rate_limit", str, "60/minute", "Ticket issuing limit per kiosk device or user."),
    SettingSpec(
        "login_max_failures", int, 5, "Failed sign-ins per username (×4 per address) before tries must wait 1, 2, 4… s."
    ),
    SettingSpec("login_max_delay_seconds", int, 60, "Longest wait between sign-in tries after repeated failures."),
    SettingSpec("api_token_hours", int, 12, "Lifetime of a Bearer token from /api/v1/auth/token."),
    SettingSpec("default_language", str, "vi", "Language of pages and messages when none is asked for."),
    SettingSpec("log_level", str, "INFO", "Logging level."),
    SettingSpec("clock_start", str, "", "ISO instant the server clock starts at (simulation); empty = now."),
    SettingSpec("clock_speed", float, 1.0, "How many times faster than real time the clock runs."),
    SettingSpec("voice_pack_dir", str, "", "Folder of recorded clips that replaces espeak-ng."),
    SettingSpec("espeak_path", str, "espeak-ng", "The espeak-ng program used for announcements."),
    SettingSpec("db_pool_size", int, 20, "Database connections kept open (never below the worker pool)."),
    SettingSpec("socket_phones_per_token", int, 5, "Live connections one ticket's tracking token may hold."),
    SettingSpec("socket_phones_per_address", int, 50, "Live phone (tracking) connections from one client address."),
    SettingSpec(
        "board_frame_ancestors", str, "", "Pages allowed to frame hall boards (CSP frame-ancestors); empty = none."
    ),
    SettingSpec("socket_allowed_origins", str, "", "Other origins whose pages may open cookie-signed-in sockets."),
    SettingSpec("printer_dir", str, "", "Folder kiosk `file:`/`pdf:` printers must be in; empty = instance/printers."),
    SettingSpec("printer_ports", str, "9100", "TCP ports `network:` printers may use (e.g. 9100,9101-9103)."),
    SettingSpec(
        "printer_networks",
        str,
        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7",
        "Address ranges `network:` printers must be in (comma-separated CIDR).",
    ),
)


def _coerce(spec: SettingSpec, raw: Any) -> Any:
    if spec.type is bool:
        return str(raw).lower() in {"1", "true", "yes", "on"}
    try:
        return spec.type(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"LUOT_{spec.name.upper()}: expected {spec.type.__name__}, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    instance_dir: str = "instance"
    database_url: str = ""
    async_mode: str = "eventlet"
    message_queue: str = ""
    redis_timeout: float = 2.0
    trusted_proxies: int = 0
    host: str = "127.0.0.1"
    port: int = 5000
    public_url: str = ""
    secret_key: str = ""
    sqlite_synchronous: str = "FULL"
    ticket_rate_limit: str = "60/minute"
    login_max_failures: int = 5
    login_max_delay_seconds: int = 60
    api_token_hours: int = 12
    default_language: str = "vi"
    log_level: str = "INFO"
    clock_start: str = ""
    clock_speed: float = 1.0
    voice_pack_dir: str = ""
    espeak_path: str = "espeak-ng"
    db_pool_size: int = 20
    socket_phones_per_token: int = 5
    socket_phones_per_address: int = 50
    board_frame_ancestors: str = ""
    socket_allowed_origins: str = ""
    printer_dir: str = ""
    printer_ports: str = "9100"
    printer_networks: str = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    extra: dict[str, Any] = field(default_factory=dict)

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
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def validate(self) -> None:
        if self.async_mode not in {"eventlet", "gevent", "threading"}:
            raise ValueError(f"LUOT_ASYNC_MODE must be eventlet, gevent or threading, not {self.async_mode!r}")
        if self.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError("LUOT_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.redis_timeout <= 0:
            raise ValueError("LUOT_REDIS_TIMEOUT must be a positive number of seconds")
        if self.trusted_proxies < 0:
            raise ValueError("LUOT_TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front")
        from server.printing.targets import parse_networks, parse_ports

        try:
            parse_ports(self.printer_ports)
            parse_networks(self.printer_networks)
        except ValueError as exc:
            raise ValueError(f"LUOT_PRINTER_PORTS / LUOT_PRINTER_NETWORKS: {exc}") from exc


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
