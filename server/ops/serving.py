"""The steps `luot serve` takes around `socketio.run`: refuse (server.ops.guards), say where to connect, stop
cleanly on SIGTERM (exit status 0: systemd and `make demo` see a normal stop)."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from server.ops.guards import ServeLock, check_revision, ensure_port_free
from server.ops.lan import reachable_host
from server.settings import Settings

log = logging.getLogger(__name__)


def before_serve(settings: Settings) -> ServeLock | None:
    """Checks the database revision, takes the SQLite serve lock and checks the port; raises
    server.ops.guards.Refusal. The returned lock must stay referenced while the server runs."""
    check_revision(settings.resolved_database_url)
    lock = ServeLock.for_settings(settings)
    if lock is not None:
        lock.acquire()
    try:
        ensure_port_free(settings.host, settings.port)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return lock


def start_lines(settings: Settings) -> list[str]:
    """What `luot serve` prints at start: where it listens, and the address phones and devices must use."""
    lines = [f"Lượt listening on http://{settings.host}:{settings.port} ({settings.async_mode})"]
    if settings.public_url:
        lines.append(f"Public address (LUOT_PUBLIC_URL, in QR codes): {settings.base_url}")
    else:
        host, guessed = reachable_host(settings.host)
        if guessed:
            lines.append(
                f"LAN address (found on this machine's network interfaces; used in QR codes): http://{host}:"
                f"{settings.port} — set LUOT_PUBLIC_URL to choose another"
            )
    return lines


def exit_zero_on_sigterm() -> None:
    """SIGTERM (systemd stop, `kill`) ends the server like Ctrl-C, with exit status 0."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.warning("SIGTERM received: stopping")
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
