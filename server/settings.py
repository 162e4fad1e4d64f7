"""One typed settings object, read from LUOT_* environment variables and an optional TOML file.

Every setting is declared once, as a field of `Settings` (type, default and help text in its metadata);
`SETTINGS` lists them for the loader and `python -m server.settings --markdown` prints the README table
(a test checks the README matches). Precedence: explicit overrides > environment > TOML file (LUOT_CONFIG)
> default.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class SettingsError(ValueError):
    """A LUOT_* value (or the LUOT_CONFIG file) that cannot be used; the message names it and says what is
    accepted, in one line (the `luot` commands print it as `Error: …`)."""


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
        """Raises SettingsError for the first value that cannot be used: every numeric setting is checked against
        its range (NUMBER_RANGES), every word, URL and list against what the server accepts."""
        if self.async_mode not in {"eventlet", "gevent", "threading"}:
            raise SettingsError(f"LUOT_ASYNC_MODE must be eventlet, gevent or threading, not {self.async_mode!r}")
        if self.sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise SettingsError("LUOT_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.trusted_proxies < 0:
            raise SettingsError("LUOT_TRUSTED_PROXIES must be 0 (no proxy) or the number of proxies in front")
        for name, (low, high, meaning) in NUMBER_RANGES.items():
            value = getattr(self, name)
            if not (math.isfinite(value) and low <= value <= high):
                raise SettingsError(f"LUOT_{name.upper()} must be {meaning}, not {value}")
        self._check_addresses()
        self._check_words()
        self._check_limits()

    def _check_addresses(self) -> None:
        _check_database_url(self.database_url)
        if self.message_queue and urlsplit(self.message_queue).scheme not in ("redis", "rediss"):
            raise SettingsError(
                "LUOT_MESSAGE_QUEUE must be empty (one server process) or a Redis URL such as redis://HOST:6379/0 "
                "(rediss:// with TLS); no other kind of queue is supported"
            )
        if self.public_url and urlsplit(self.public_url).scheme not in ("http", "https"):
            raise SettingsError(
                f"LUOT_PUBLIC_URL must be an http:// or https:// address (it goes into QR codes), "
                f"not {self.public_url!r}"
            )

    def _check_words(self) -> None:
        if self.log_level.upper() not in LOG_LEVELS:
            raise SettingsError(f"LUOT_LOG_LEVEL must be {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.clock_start:
            try:
                datetime.fromisoformat(self.clock_start)
            except ValueError:
                raise SettingsError(
                    "LUOT_CLOCK_START must be an ISO date and time such as 2026-03-02T07:30:00+07:00 (empty: now), "
                    f"not {self.clock_start!r}"
                ) from None
        from server.i18n import LANGUAGES

        if self.default_language not in LANGUAGES:
            raise SettingsError(
                f"LUOT_DEFAULT_LANGUAGE must be {' or '.join(LANGUAGES)}, not {self.default_language!r}"
            )

    def _check_limits(self) -> None:
        from limits import parse_many

        for name in RATE_LIMITS:  # refused here, not at the first request (where no limit would apply)
            try:
                parse_many(getattr(self, name))
            except ValueError:
                raise SettingsError(
                    f"LUOT_{name.upper()} must be rate limits such as 30/hour or 3/15minutes;6/day"
                ) from None
        from server.printing.targets import parse_networks, parse_ports

        for name, parse in (("printer_ports", parse_ports), ("printer_networks", parse_networks)):
            try:
                parse(getattr(self, name))
            except ValueError as exc:
                raise SettingsError(f"LUOT_{name.upper()}: {exc}") from exc


#: The numeric settings' ranges: (lowest, highest, what the message says is expected). A value outside would
#: start a server that then fails (a pool of -5 connections never hands one out, a negative privacy period
#: fails the daily purge), so each is refused at start.
NUMBER_RANGES: dict[str, tuple[float, float, str]] = {
    "redis_timeout": (0.001, 3600, "a positive number of seconds"),
    "trusted_proxies": (0, 10, "0 (no proxy) or the number of proxies in front (at most 10)"),
    "port": (1, 65535, "a port number from 1 to 65535"),
    "login_max_failures": (1, 1_000_000_000, "a number of failed sign-ins, at least 1"),
    "login_max_delay_seconds": (1, 86400, "a number of seconds from 1 to 86400"),
    "api_token_hours": (1, 8760, "a number of hours from 1 to 8760 (a year)"),
    "clock_speed": (0.001, 100000, "a positive number (1 = real time)"),
    "db_pool_size": (1, 1000, "a number of connections from 1 to 1000"),
    "db_timeout": (0.001, 3600, "a positive number of seconds"),
    "audio_cache_mib": (1, 1048576, "a size in MiB from 1 to 1048576"),
    "audio_cache_days": (1, 36500, "a number of days from 1 to 36500"),
    "socket_phones_per_token": (1, 100000, "a number of connections from 1 to 100000"),
    "socket_phones_per_address": (1, 100000, "a number of connections from 1 to 100000"),
    "privacy_days": (1, 36500, "a number of days from 1 to 36500"),
}

#: LUOT_LOG_LEVEL's accepted words.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: LUOT_DATABASE_URL's accepted schemes (the drivers installed with Lượt).
DATABASE_SCHEMES = ("sqlite", "postgresql+psycopg")


def _check_database_url(url: str) -> None:
    if not url:
        return
    scheme = urlsplit(url).scheme if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        shown = f"{scheme}:// is not supported" if scheme else "it is not a URL"
        if scheme == "postgresql":
            shown = "postgresql:// needs the driver named: postgresql+psycopg://"
        raise SettingsError(
            "LUOT_DATABASE_URL must be empty (SQLite in the instance folder), sqlite:////PATH/FILE.sqlite3 or "
            f"postgresql+psycopg://USER:PASSWORD@HOST/NAME; {shown}"
        )
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(url)
    except ArgumentError:
        raise SettingsError("LUOT_DATABASE_URL: cannot read the URL (a character that needs %-encoding?)") from None


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


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}
_KINDS = {int: "a whole number", float: "a number", str: "text", bool: "1 or 0 (true or false)"}


def _coerce(spec: SettingSpec, raw: Any) -> Any:
    name = f"LUOT_{spec.name.upper()}"
    if spec.type is bool:
        word = str(raw).strip().lower()
        if word not in _TRUE | _FALSE:
            raise SettingsError(f"{name} must be {_KINDS[bool]}, not {raw!r}")
        return word in _TRUE
    if spec.type in (int, float) and isinstance(raw, bool):
        raise SettingsError(f"{name} must be {_KINDS[spec.type]}, not {raw!r}")
    try:
        return spec.type(raw.strip() if isinstance(raw, str) and spec.type is not str else raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SettingsError(f"{name} must be {_KINDS.get(spec.type, spec.type.__name__)}, not {raw!r}") from exc


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


def _read_config_file(path: str) -> dict[str, Any]:
    """The [luot] table of the LUOT_CONFIG file (UTF-8, a byte-order mark allowed); SettingsError otherwise."""
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise SettingsError(f"LUOT_CONFIG={path}: no such file") from None
    except PermissionError:
        raise SettingsError(
            f"LUOT_CONFIG={path}: permission denied (the service user must be able to read it)"
        ) from None
    except IsADirectoryError:
        raise SettingsError(f"LUOT_CONFIG={path} is a folder, not a TOML file") from None
    except UnicodeDecodeError:
        raise SettingsError(f"LUOT_CONFIG={path} is not UTF-8 text: save it as UTF-8") from None
    try:
        table = tomllib.loads(text).get("luot", {})
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"LUOT_CONFIG={path} is not valid TOML: {exc}") from None
    if not isinstance(table, dict):
        raise SettingsError(f"LUOT_CONFIG={path}: [luot] must be a table of settings")
    return table


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from a TOML file (LUOT_CONFIG), the environment and explicit overrides; raises
    SettingsError (one line naming the setting) for a value that cannot be used."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_file = env.get("LUOT_CONFIG")
    if config_file:
        values.update(_read_config_file(config_file))
    for spec in SETTINGS:
        key = f"LUOT_{spec.name.upper()}"
        if key in env:
            values[spec.name] = env[key]
    values.update(overrides)
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    specs = {spec.name: spec for spec in SETTINGS}
    coerced = {k: (_coerce(specs[k], v) if k in specs else v) for k, v in values.items()}
    settings = Settings(**coerced)
    settings.validate()
    return settings


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m server.settings --markdown")
    sys.stdout.write(markdown_table())
