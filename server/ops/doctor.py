"""`luot doctor`: one line per check of what a centre's server needs, and an exit status for scripts.

Each check returns a `Check` (name, status ok | warn | fail, one-line explanation). `run_checks` takes a
`Probes` whose fields replace what a test cannot change on a machine (the kernel's clock state, the font list);
everything else is the real thing: the database, the disk, espeak-ng, the printers, Redis and the public URL.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from server.ops.failures import explain, on_read_only_disk, read_only_line
from server.settings import Settings

OK, WARN, FAIL = "ok", "warn", "fail"
TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised (no NTP, chrony or timesyncd)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN or FAIL
    detail: str

    def line(self) -> str:
        return f"{self.status.upper():<4}  {self.name:<10}  {self.detail}"


def kernel_clock_synchronised() -> bool | None:
    """True when the kernel says an NTP client keeps the clock in step (adjtimex state, what timedatectl's
    NTPSynchronized reads); None when it cannot be asked."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex with modes = 0: read only
        state = libc.adjtimex(timex)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


@dataclass(frozen=True)
class Probes:
    """What the checks read from the machine, replaceable in tests."""

    clock_synchronised: Callable[[], bool | None] = kernel_clock_synchronised
    font_candidates: Sequence[str | Path] | None = None  # None: the ticket renderer's own list
    min_free_mb: int = 1024
    timeout: float = 3.0


def check_database(settings: Settings) -> Check:
    from sqlalchemy.exc import SQLAlchemyError

    from server.ops.guards import Refusal, check_revision

    try:
        revision = check_revision(settings.resolved_database_url)
    except Refusal as exc:
        return Check("database", FAIL, str(exc))
    except SQLAlchemyError as exc:
        return Check("database", FAIL, explain(exc, settings) or f"not reachable: {str(exc).splitlines()[0]}")
    kind = settings.resolved_database_url.split(":", 1)[0]
    return Check("database", OK, f"{kind} reachable, at revision {revision} (the code's head)")


def check_disk(settings: Settings, min_free_mb: int) -> Check:
    folder = settings.instance_path
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if on_read_only_disk(folder):  # the database may still be read: nothing could be recorded
        return Check("disk", FAIL, read_only_line(folder, settings))
    free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
    if free_mb < min_free_mb:
        return Check(
            "disk",
            FAIL,
            f"{free_mb} MB free on {folder}, less than {min_free_mb} MB: the day's tickets, "
            "backups and audio need room; free some space",
        )
    return Check("disk", OK, f"{free_mb} MB free on {folder}")


def check_clock(synchronised: bool | None) -> Check:
    if synchronised is None:
        return Check("clock", WARN, "cannot ask the kernel whether the clock is synchronised")
    if not synchronised:
        return Check(
            "clock",
            FAIL,
            "the clock is not synchronised (NTP): a wrong clock puts tickets on the wrong "
            "day and makes waits wrong. Point systemd-timesyncd or chrony at a server on the LAN",
        )
    return Check("clock", OK, "synchronised by NTP")


def check_voice(settings: Settings) -> Check:
    if settings.voice_pack_dir:
        pack = Path(settings.voice_pack_dir)
        if (pack / "chime.wav").is_file():
            return Check("voice", OK, f"voice pack {pack}")
        return Check("voice", FAIL, f"LUOT_VOICE_PACK_DIR={pack} has no chime.wav")
    found = shutil.which(settings.espeak_path)
    if found is None:
        return Check(
            "voice",
            FAIL,
            f"{settings.espeak_path} not found: calls will not be spoken "
            "(apt-get install espeak-ng, or set LUOT_VOICE_PACK_DIR)",
        )
    return Check("voice", OK, f"espeak-ng at {found}")


def check_fonts(candidates: Sequence[str | Path] | None) -> Check:
    from server.printing.render_image import FontNotFoundError, resolve_font

    try:
        regular, bold = resolve_font(False, candidates), resolve_font(True, candidates)
    except FontNotFoundError as exc:
        return Check("fonts", FAIL, f"{exc} (apt-get install fonts-dejavu-core fonts-noto-core)")
    return Check("fonts", OK, f"{regular.name}, {bold.name}")


def check_printers(settings: Settings, timeout: float) -> list[Check]:
    """One check per configured printer of a kiosk that is not revoked (agent printers: the kiosk agent's job)."""
    from sqlmodel import select

    from server.db import Database
    from server.models import Device
    from server.printing.backends import PrinterError, PrinterStatus, open_printer

    db = Database(settings)
    try:
        with db.read() as session:
            devices = [
                (d.name, str((d.settings or {}).get("printer") or ""))
                for d in session.exec(select(Device))
                if not d.revoked
            ]
    finally:
        db.dispose()
    checks = []
    for name, spec in devices:
        if not spec or spec == "agent":
            continue
        try:
            status = open_printer(spec, timeout=timeout).status()
        except PrinterError as exc:
            checks.append(Check("printer", FAIL, f"{name}: {spec}: {exc.message_en}"))
            continue
        if status in (PrinterStatus.OFFLINE, PrinterStatus.PAPER_OUT):
            checks.append(Check("printer", FAIL, f"{name}: {spec} is {status.value}"))
        else:
            checks.append(Check("printer", OK, f"{name}: {spec} {status.value}"))
    return checks


def check_redis(settings: Settings) -> Check | None:
    if not settings.message_queue:
        return None
    import redis

    try:
        redis.Redis.from_url(settings.message_queue_url).ping()
    except redis.RedisError as exc:
        return Check("redis", FAIL, f"{settings.message_queue} does not answer: {exc}")
    return Check("redis", OK, f"{settings.message_queue} answers")


def check_public_url(settings: Settings, timeout: float) -> Check:
    url = f"{settings.base_url}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:  # it answered, with an error (an OSError too: told apart first)
        return Check("url", FAIL, f"{url} answered {exc.code}{health_reasons(exc)}")
    except OSError as exc:
        return Check(
            "url",
            FAIL,
            f"{url} does not answer from this machine ({exc}): is `luot serve` running, and is LUOT_PUBLIC_URL right?",
        )
    if status != 200:
        return Check("url", FAIL, f"{url} answered {status}")
    return Check("url", OK, f"{url} answers")


def health_reasons(answer: urllib.error.HTTPError) -> str:
    """What a `/healthz` answer of 503 says is wrong (`server.web.healthz`: the disk full, writes failing, the
    database not answering), as " (reason; reason)", or "" when its body says none of it."""
    try:
        body = json.loads(answer.read(64 * 1024) or b"{}")
    except (OSError, ValueError):
        return ""
    if not isinstance(body, dict):
        return ""
    writes = body.get("writes")
    writes = writes if isinstance(writes, dict) else {}
    reasons = [
        *(["the disk is full"] if body.get("disk") == "full" else []),
        *([f"writes fail: {writes.get('failure') or '?'}"] if writes.get("failing") else []),
        *([f"database: {body.get('database')}"] if body.get("database") not in (None, "ok") else []),
    ]
    return f" ({'; '.join(reasons)})" if reasons else ""


def run_checks(settings: Settings, probes: Probes | None = None) -> list[Check]:
    """Every check, in the order printed. The printers are asked only when the database answers."""
    probes = probes or Probes()

    def guarded(name: str, check: Callable[[], Check | list[Check] | None]) -> list[Check]:
        """A check that meets a known failure (server.ops.failures: a folder it may not read, a damaged
        database …) is a FAIL line naming it; the other checks still run."""
        try:
            done = check()
        except Exception as exc:
            line = explain(exc, settings)
            if line is None:
                raise
            return [Check(name, FAIL, line)]
        return done if isinstance(done, list) else [done] if done is not None else []

    checks = guarded("database", lambda: check_database(settings))
    checks += guarded("disk", lambda: check_disk(settings, probes.min_free_mb))
    checks += guarded("clock", lambda: check_clock(probes.clock_synchronised()))
    checks += guarded("voice", lambda: check_voice(settings))
    checks += guarded("fonts", lambda: check_fonts(probes.font_candidates))
    if checks[0].status == OK:
        checks += guarded("printer", lambda: check_printers(settings, probes.timeout))
    checks += guarded("redis", lambda: check_redis(settings))
    checks += guarded("url", lambda: check_public_url(settings, probes.timeout))
    return checks


def exit_status(checks: Sequence[Check]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(check.status == FAIL for check in checks) else 0
