"""Which printer targets the server may reach for a kiosk: what the server's operator allowed, nothing more.

A kiosk's ``printer`` setting is typed by an administrator on the web, but the server is the one that opens
the file, creates the folder or connects to the host. So a target must stay inside the operator's settings:

* ``file:PATH`` and ``pdf:DIR``: under the instance's printer folder (``LUOT_PRINTER_DIR``, default
  ``<instance>/printers``), after resolving ``..`` and symbolic links; ``file:`` may also name a printer
  device (``/dev/usb/lp0``, ``/dev/lp0``);
* ``serial:DEVICE``: a serial device (``/dev/ttyUSB0``, ``/dev/ttyS0``, ``/dev/ttyACM0``, ``/dev/serial/…``,
  ``COM3``);
* ``network:HOST[:PORT]``: a port in ``LUOT_PRINTER_PORTS`` (default 9100) and every address the host
  resolves to in ``LUOT_PRINTER_NETWORKS`` (default: the private ranges);
* ``usb:``, ``dummy``, ``agent``: always (nothing on the server's disk or network is named).

``check`` is called when the form is saved and again before each ticket is printed (the settings or the
file system may have changed since). A refusal is a ``PrinterError("target_not_allowed")`` with the reason
in Vietnamese and English.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.printing.backends import PrinterError
    from server.settings import Settings

DEFAULT_NETWORKS = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
DEFAULT_PORTS = "9100"
DEVICE_FILES = re.compile(r"/dev/(usb/lp\d+|lp\d+)")
SERIAL_DEVICES = re.compile(r"/dev/(ttyUSB\d+|ttyS\d+|ttyACM\d+|serial/by-(id|path)/[\w.:+-]+)|COM\d+", re.IGNORECASE)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]


def _refusal(vi: str, en: str) -> PrinterError:
    from server.printing.backends import PrinterError

    return PrinterError("target_not_allowed", f"Máy in không được phép: {vi}", f"Printer not allowed: {en}")


def parse_ports(text: str) -> frozenset[int]:
    """ "9100,9101-9103" → {9100, 9101, 9102, 9103}; raises ValueError for anything else."""
    ports: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if not 0 < first <= last < 65536:
            raise ValueError(f"printer port range {part!r} is not within 1-65535")
        ports.update(range(first, last + 1))
    return frozenset(ports)


def parse_networks(text: str) -> tuple[Network, ...]:
    """ "10.0.0.0/8, 192.168.1.0/24" → networks; raises ValueError for a malformed one."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def _resolve(host: str) -> list[str]:
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        return []


@dataclass(frozen=True)
class PrinterTargets:
    """The operator's allowance: a printer folder, network ports and address ranges."""

    folder: Path
    ports: frozenset[int]
    networks: tuple[Network, ...]
    resolve: Resolver = _resolve

    @classmethod
    def from_settings(cls, settings: Settings) -> PrinterTargets:
        """From Settings (printer_dir, printer_ports, printer_networks); an empty folder = <instance>/printers."""
        folder = settings.printer_dir or str(settings.instance_path / "printers")
        return cls(
            folder=Path(folder).resolve(),
            ports=parse_ports(settings.printer_ports),
            networks=parse_networks(settings.printer_networks),
        )

    def check(self, spec: str) -> list[str]:
        """Raises PrinterError (invalid_spec or target_not_allowed) unless the server may print to `spec`.

        Returns the addresses a network printer's host resolved to (all checked; connect to one of these, not
        to the name again, or a changed DNS answer could lead elsewhere), else []."""
        spec = spec.strip()
        if not spec or spec == "agent" or spec.startswith("agent:"):
            return []
        from server.printing.backends import FileBackend, NetworkBackend, PdfBackend, SerialBackend, open_printer

        backend = open_printer(spec)  # raises invalid_spec for a malformed one
        if isinstance(backend, FileBackend):
            self._check_path(backend.path, devices=True)
        elif isinstance(backend, PdfBackend):
            self._check_path(str(backend.directory), devices=False)
        elif isinstance(backend, SerialBackend):
            if not SERIAL_DEVICES.fullmatch(backend.device):
                raise _refusal(f"{backend.device} không phải cổng nối tiếp", f"{backend.device} is not a serial port")
        elif isinstance(backend, NetworkBackend):
            return self._check_host(backend.host, backend.port)
        return []

    def _check_path(self, raw: str, *, devices: bool) -> None:
        if "\x00" in raw:
            raise _refusal("đường dẫn không hợp lệ", "the path is not valid")
        if devices and DEVICE_FILES.fullmatch(os.path.normpath(raw)) and not Path(raw).is_symlink():
            return
        resolved = Path(raw).resolve()  # what the backend will open: `..` and symbolic links followed
        if resolved != self.folder and self.folder not in resolved.parents:
            where = f"{self.folder}" + (" hoặc /dev/usb/lp…" if devices else "")
            where_en = f"{self.folder}" + (" or /dev/usb/lp…" if devices else "")
            raise _refusal(f"{raw} phải nằm trong {where}", f"{raw} must be inside {where_en}")

    def _check_host(self, host: str, port: int) -> list[str]:
        if port not in self.ports:
            allowed = _ports_text(self.ports)
            raise _refusal(f"cổng {port} (được phép: {allowed})", f"port {port} (allowed: {allowed})")
        addresses = self.resolve(host.strip("[]"))
        if not addresses:
            raise _refusal(f"không tìm thấy địa chỉ của {host}", f"{host} does not resolve")
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if not any(ip in network for network in self.networks if network.version == ip.version):
                ranges = ", ".join(str(n) for n in self.networks) or "—"
                raise _refusal(f"{host} ({ip}) ngoài dải {ranges}", f"{host} ({ip}) is outside {ranges}")
        return addresses


def _ports_text(ports: Iterable[int]) -> str:
    ordered = sorted(ports)
    if len(ordered) > 6:
        return f"{ordered[0]}-{ordered[-1]} ({len(ordered)})"
    return ", ".join(str(p) for p in ordered) or "—"
