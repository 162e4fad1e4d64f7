"""Printer backends: where a rendered ticket goes (network, USB, serial, file, PDF folder, memory).

``open_printer(spec)`` parses a printer spec from the kiosk configuration:

    network:HOST[:PORT]        raw TCP, port 9100 by default
    usb:VID:PID                hex ids, e.g. usb:04b8:0e15
    serial:/dev/ttyUSB0[:BAUD] 9600 baud by default
    file:/path                 a device file such as /dev/usb/lp0 (each ticket rewrites it)
    pdf:/dir                   one PDF file per ticket in /dir
    dummy                      keeps the ESC/POS bytes in memory (tests, demos)

Every ticket opens a fresh connection and closes it. Connecting waits at most
``timeout`` (3 s), a status query ``STATUS_TIMEOUT`` (1 s), handing over one ticket
``SEND_TIMEOUT`` (10 s). Failures raise ``PrinterError`` with a stable code and a
message in Vietnamese and English. Rendering is CPU work (~15-30 ms); under
eventlet, USB and serial I/O block the hub — call these from a worker thread.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from server.printing.escpos_bytes import ticket_escpos_bytes
from server.printing.layout import Layout, load_builtin_layout
from server.printing.pdf_ticket import render_ticket_pdf
from server.printing.render_image import render_ticket_image
from server.printing.ticket_data import TicketPrint

if TYPE_CHECKING:
    from escpos.escpos import Escpos

DEFAULT_PORT = 9100
DEFAULT_BAUD = 9600
DEFAULT_TIMEOUT = 3.0
#: How long to wait for a printer to answer a real-time status query (DLE EOT).
STATUS_TIMEOUT = 1.0
#: Upper bound for handing one ticket (~50-100 KB) to a printer that reads slowly.
SEND_TIMEOUT = 10.0

# DLE EOT n real-time status (ESC/POS): n=1 printer status, n=4 roll paper sensor.
_DLE_EOT_PRINTER = b"\x10\x04\x01"
_DLE_EOT_PAPER = b"\x10\x04\x04"


class PrinterStatus(enum.StrEnum):
    """What a printer reports, as far as the connection lets us know."""

    ONLINE = "online"
    OFFLINE = "offline"
    PAPER_OUT = "paper_out"
    UNKNOWN = "unknown"


_MESSAGES: dict[str, tuple[str, str]] = {
    "printer_offline": ("Máy in không kết nối được.", "The printer cannot be reached."),
    "paper_out": ("Máy in hết giấy.", "The printer is out of paper."),
    "print_failed": ("In vé không thành công.", "Printing the ticket failed."),
    "invalid_spec": ("Cấu hình máy in không hợp lệ.", "The printer setting is not valid."),
    "layout_mismatch": ("Mẫu vé không phù hợp với máy in.", "The ticket layout does not suit this printer."),
}


class PrinterError(Exception):
    """A printing failure the kiosk can show: a stable ``code`` plus Vietnamese and English text."""

    def __init__(self, code: str, message_vi: str | None = None, message_en: str | None = None) -> None:
        default_vi, default_en = _MESSAGES.get(code, ("Lỗi máy in.", "Printer error."))
        self.code = code
        self.message_vi = message_vi or default_vi
        self.message_en = message_en or default_en
        super().__init__(f"{code}: {self.message_en}")


def _error(code: str, detail: str) -> PrinterError:
    vi, en = _MESSAGES[code]
    return PrinterError(code, f"{vi} ({detail})", f"{en} ({detail})")


@runtime_checkable
class PrinterBackend(Protocol):
    """Something that prints tickets."""

    spec: str

    def print_ticket(self, ticket: TicketPrint, layout: Layout) -> None:
        """Print one ticket; raise PrinterError if it could not be handed to the printer."""
        ...

    def status(self) -> PrinterStatus:
        """Ask the printer how it is; never raises, never blocks beyond the timeout."""
        ...


def _escpos_payload(ticket: TicketPrint, layout: Layout) -> bytes:
    if layout.target != "thermal":
        raise _error("layout_mismatch", f"layout {layout.name!r} is for {layout.target}, not a thermal printer")
    return ticket_escpos_bytes(render_ticket_image(ticket, layout))


def _status_from_replies(printer_byte: bytes, paper_byte: bytes) -> PrinterStatus:
    """Interpret DLE EOT 1 / DLE EOT 4 replies (bit 3 = offline; bits 5-6 = paper end)."""
    from escpos.constants import RT_MASK_NOPAPER, RT_MASK_ONLINE

    if paper_byte and paper_byte[0] & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
        return PrinterStatus.PAPER_OUT
    if printer_byte:
        return PrinterStatus.OFFLINE if printer_byte[0] & RT_MASK_ONLINE else PrinterStatus.ONLINE
    return PrinterStatus.UNKNOWN


class EscposBackend:
    """A printer reached through a python-escpos connection (subclasses: network, USB, serial, file).

    Each ticket opens a connection and closes it. If ``check_paper`` and the printer answers
    real-time status queries, an empty roll raises ``paper_out`` before anything is sent; a
    printer that never answers is printed to anyway (and not asked again before each ticket).
    """

    can_query = True

    def __init__(self, spec: str, timeout: float = DEFAULT_TIMEOUT, check_paper: bool = True) -> None:
        self.spec = spec
        self.timeout = timeout
        self.check_paper = check_paper and self.can_query
        self._answers: bool | None = None  # does this printer answer DLE EOT at all?

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    def print_ticket(self, ticket: TicketPrint, layout: Layout) -> None:
        payload = _escpos_payload(ticket, layout)  # render before connecting: short connections
        with self._open() as printer:
            if self.check_paper and self._answers is not False:
                status = self._query(printer)
                self._answers = status != PrinterStatus.UNKNOWN
                if status == PrinterStatus.PAPER_OUT:
                    raise _error("paper_out", self.spec)
            try:
                self._tune(printer, "send")
                printer._raw(payload)
            except (OSError, AssertionError) as exc:
                raise _error("printer_offline", f"{self.spec}: {_first_line(exc)}") from exc
            except Exception as exc:  # pyusb/pyserial errors have their own classes
                raise _error("print_failed", f"{self.spec}: {type(exc).__name__}: {exc}") from exc

    def status(self) -> PrinterStatus:
        if not self.can_query:
            return PrinterStatus.UNKNOWN
        try:
            with self._open() as printer:
                return self._query(printer)
        except PrinterError:
            return PrinterStatus.OFFLINE

    # -- per connection kind -------------------------------------------------------------
    def _connect(self) -> Escpos:
        """A new, unopened python-escpos printer object."""
        raise NotImplementedError

    def _open_device(self, printer: Escpos) -> None:
        printer.open()

    def _tune(self, printer: Escpos, phase: str) -> None:
        """Set I/O timeouts for ``phase``: "query" (short reads) or "send" (the payload)."""

    def _before_close(self, printer: Escpos) -> None:
        """Last step before the connection is closed."""

    # -- shared ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _open(self) -> Iterator[Escpos]:
        from escpos.exceptions import DeviceNotFoundError

        printer = self._connect()
        try:
            self._open_device(printer)
        except (DeviceNotFoundError, OSError) as exc:
            raise _error("printer_offline", f"{self.spec}: {_first_line(exc)}") from exc
        except Exception as exc:  # e.g. pyusb NoBackendError when libusb is missing
            raise _error("printer_offline", f"{self.spec}: {type(exc).__name__}: {exc}") from exc
        try:
            yield printer
        finally:
            # Never touch printer.device after a failed open: the escpos property re-opens.
            with contextlib.suppress(Exception):
                self._before_close(printer)
            with contextlib.suppress(Exception):
                printer.close()

    def _query(self, printer: Escpos) -> PrinterStatus:
        """Real-time status via DLE EOT 1 and 4; UNKNOWN when the printer stays silent."""
        try:
            self._tune(printer, "query")
            printer_byte = printer.query_status(_DLE_EOT_PRINTER)
            paper_byte = printer.query_status(_DLE_EOT_PAPER) if printer_byte else b""
        except Exception:  # socket/pyusb/pyserial timeouts, NotImplementedError
            return PrinterStatus.UNKNOWN
        return _status_from_replies(printer_byte, paper_byte)


class NetworkBackend(EscposBackend):
    """Raw TCP (port 9100, "JetDirect"). Connect and status reads time out quickly."""

    def __init__(self, spec: str, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.host, self.port = host, port

    def _connect(self) -> Escpos:
        from escpos.printer import Network

        return Network(self.host, port=self.port, timeout=self.timeout)

    def _open_device(self, printer: Escpos) -> None:
        # escpos' Network.open() leaks its socket when the connection is refused;
        # create_connection() closes it, and also resolves IPv6 names.
        printer.device = socket.create_connection((self.host, self.port), timeout=self.timeout)

    def _tune(self, printer: Escpos, phase: str) -> None:
        # Since Python 3.5 the socket timeout bounds the whole sendall(): give the payload longer.
        printer.device.settimeout(STATUS_TIMEOUT if phase == "query" else max(self.timeout, SEND_TIMEOUT))

    def _before_close(self, printer: Escpos) -> None:
        # Closing a socket with unread input makes Linux send RST, which can drop the tail of
        # the ticket still in flight: read whatever the printer sent (status bytes) first.
        sock = printer.device
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # BlockingIOError: nothing (more) to read
            for _ in range(64):
                if not sock.recv(4096):
                    break


class UsbBackend(EscposBackend):
    """A USB printer by vendor/product id (needs pyusb + libusb and access to the device)."""

    def __init__(self, spec: str, vid: int, pid: int, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.vid, self.pid = vid, pid

    def _connect(self) -> Escpos:
        from escpos.printer import Usb

        # pyusb timeouts are in milliseconds; escpos' default 0 would wait forever.
        return Usb(self.vid, self.pid, timeout=int(max(self.timeout, SEND_TIMEOUT) * 1000))

    def _tune(self, printer: Escpos, phase: str) -> None:
        if phase == "query":  # escpos reads without a timeout argument: pyusb uses default_timeout
            printer.device.default_timeout = int(STATUS_TIMEOUT * 1000)


class SerialBackend(EscposBackend):
    """A serial (RS-232 or USB-serial) printer."""

    def __init__(self, spec: str, device: str, baud: int, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.device, self.baud = device, baud

    def _connect(self) -> Escpos:
        from escpos.printer import Serial

        return Serial(self.device, baudrate=self.baud, timeout=STATUS_TIMEOUT)

    def _tune(self, printer: Escpos, phase: str) -> None:
        printer.device.timeout = STATUS_TIMEOUT
        printer.device.write_timeout = max(self.timeout, SEND_TIMEOUT)  # escpos leaves it unbounded


class FileBackend(EscposBackend):
    """A device file such as /dev/usb/lp0; the file is rewritten with each ticket. No status."""

    can_query = False

    def __init__(self, spec: str, path: str, **kwargs: Any) -> None:
        super().__init__(spec, **kwargs)
        self.path = path

    def _connect(self) -> Escpos:
        from escpos.printer import File

        return File(self.path)


@dataclass
class PdfBackend:
    """Writes one PDF per ticket into ``directory`` (atomically). Thermal layouts fall back to
    the bundled ``ticket_pdf`` layout."""

    spec: str
    directory: Path
    last_path: Path | None = None

    def print_ticket(self, ticket: TicketPrint, layout: Layout) -> None:
        if layout.target != "pdf":
            layout = load_builtin_layout("ticket_pdf")
        data = render_ticket_pdf(ticket, layout)
        stamp = ticket.issued_local.strftime("%Y%m%d-%H%M%S")
        safe_number = re.sub(r"[^0-9A-Za-z_-]", "_", ticket.display_number)
        tmp: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".ticket-", suffix=".pdf.part", dir=self.directory)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            target = self.directory / f"{stamp}-{safe_number}.pdf"
            suffix = 1
            while target.exists():
                suffix += 1
                target = self.directory / f"{stamp}-{safe_number}-{suffix}.pdf"
            os.replace(tmp, target)
            self.last_path = target
        except OSError as exc:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            raise _error("printer_offline", f"{self.directory}: {exc.strerror or exc}") from exc

    def status(self) -> PrinterStatus:
        ok = self.directory.is_dir() and os.access(self.directory, os.W_OK | os.X_OK)
        return PrinterStatus.ONLINE if ok else PrinterStatus.OFFLINE


@dataclass
class DummyBackend:
    """Keeps each ticket's ESC/POS bytes in ``outputs`` (tests, demos, dry runs)."""

    spec: str = "dummy"
    outputs: list[bytes] = field(default_factory=list)

    def print_ticket(self, ticket: TicketPrint, layout: Layout) -> None:
        self.outputs.append(_escpos_payload(ticket, layout))

    def status(self) -> PrinterStatus:
        return PrinterStatus.ONLINE


def open_printer(spec: str, *, timeout: float = DEFAULT_TIMEOUT, check_paper: bool = True) -> PrinterBackend:
    """A backend for ``spec`` (see the module docstring). Nothing is opened until a ticket prints.

    Raises PrinterError("invalid_spec") for a malformed spec.
    """
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "dummy" and not rest:
        return DummyBackend(spec)
    if not rest:
        raise _error(
            "invalid_spec",
            f"{spec!r}: expected network:HOST[:PORT], usb:VID:PID, serial:DEVICE[:BAUD], file:PATH, pdf:DIR or dummy",
        )
    options = {"timeout": timeout, "check_paper": check_paper}
    if kind == "network":
        host, port = _host_port(spec, rest)
        return NetworkBackend(spec, host, port, **options)
    if kind == "usb":
        vid, pid = _usb_ids(spec, rest)
        return UsbBackend(spec, vid, pid, **options)
    if kind == "serial":
        device, baud = _serial_args(spec, rest)
        return SerialBackend(spec, device, baud, **options)
    if kind == "file":
        return FileBackend(spec, rest, **options)
    if kind == "pdf":
        return PdfBackend(spec, Path(rest))
    raise _error("invalid_spec", f"{spec!r}: unknown printer kind {kind!r}")


def _host_port(spec: str, rest: str) -> tuple[str, int]:
    match = re.fullmatch(r"(?P<host>[^:\s]+)(?::(?P<port>\d+))?", rest)
    if not match:
        raise _error("invalid_spec", f"{spec!r}: expected network:HOST[:PORT]")
    port = int(match["port"] or DEFAULT_PORT)
    if not 0 < port < 65536:
        raise _error("invalid_spec", f"{spec!r}: port {port} out of range")
    return match["host"], port


def _usb_ids(spec: str, rest: str) -> tuple[int, int]:
    match = re.fullmatch(r"(?:0x)?([0-9A-Fa-f]{1,4}):(?:0x)?([0-9A-Fa-f]{1,4})", rest)
    if not match:
        raise _error("invalid_spec", f"{spec!r}: expected usb:VID:PID in hex, e.g. usb:04b8:0e15")
    return int(match[1], 16), int(match[2], 16)


def _serial_args(spec: str, rest: str) -> tuple[str, int]:
    device, sep, baud = rest.rpartition(":")
    if sep and baud.isdigit():
        return device, int(baud)
    if not rest.startswith("/") and not rest.upper().startswith("COM"):
        raise _error("invalid_spec", f"{spec!r}: expected serial:/dev/ttyUSB0[:BAUD]")
    return rest, DEFAULT_BAUD


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
