"""Which devices (kiosks, boards, counter displays, rating tablets) are connected to this server process.

The hub tells `connected` / `disconnected` for every Socket.IO connection of a device (a kiosk's print agent
connects with the kiosk's token and counts as the kiosk). A device is connected while it has one connection
or more; each change is announced to the site's managers as ``device.status``
``{device_id, site_id, connected, since}`` (no ``seq``: not part of the queue's event stream). `since` is when
the state began (ISO, UTC); a device never seen since the process started has none. Kept in memory per
process, like the printers' status: behind nginx's sticky routing each process knows its own devices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.clock import Clock


@dataclass
class _Seen:
    site_id: int
    sids: set[str]
    since: str


class DevicePresence:
    """Connections per device; thread- and greenlet-safe."""

    def __init__(self, clock: Clock, announce: Callable[[int, dict[str, Any]], None]) -> None:
        self.clock = clock
        self.announce = announce  # (site id, payload): emits to managers:<site>
        self._lock = threading.Lock()
        self._devices: dict[int, _Seen] = {}
        self._device_of: dict[str, int] = {}
        self._connected_on: dict[int, int] = {}  # site → devices connected here

    def on_site(self, site_id: int) -> bool:
        """Whether a device (board, counter display, kiosk) of the site is connected to this process now."""
        return self._connected_on.get(site_id, 0) > 0

    def connected(self, sid: str, device_id: int, site_id: int) -> None:
        with self._lock:
            seen = self._devices.setdefault(device_id, _Seen(site_id, set(), ""))
            changed = not seen.sids
            seen.sids.add(sid)
            self._device_of[sid] = device_id
            if changed:
                seen.since = self.clock.now().isoformat()
                self._connected_on[seen.site_id] = self._connected_on.get(seen.site_id, 0) + 1
            payload = self._view(device_id)
        if changed:
            self.announce(site_id, payload)

    def disconnected(self, sid: str) -> None:
        with self._lock:
            device_id = self._device_of.pop(sid, None)
            if device_id is None:
                return
            seen = self._devices[device_id]
            seen.sids.discard(sid)
            if seen.sids:
                return
            seen.since = self.clock.now().isoformat()
            self._connected_on[seen.site_id] -= 1
            payload = self._view(device_id)
        self.announce(seen.site_id, payload)

    def view(self, device_id: int) -> dict[str, Any]:
        """{device_id, connected, since} (since: None when not seen since the process started)."""
        with self._lock:
            return self._view(device_id)

    def _view(self, device_id: int) -> dict[str, Any]:
        seen = self._devices.get(device_id)
        return {
            "device_id": device_id,
            "site_id": seen.site_id if seen else None,
            "connected": bool(seen and seen.sids),
            "since": (seen.since or None) if seen else None,
        }
