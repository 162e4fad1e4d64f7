"""ESC/POS bytes decode back to the rendered image; backends deliver them over real TCP."""

from __future__ import annotations

import os
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from server.printing import backends
from server.printing.backends import (
    DummyBackend,
    FileBackend,
    NetworkBackend,
    PdfBackend,
    PrinterError,
    PrinterStatus,
    SerialBackend,
    UsbBackend,
    open_printer,
)
from server.printing.escpos_bytes import FRAGMENT_HEIGHT, ticket_escpos_bytes
from server.printing.escpos_decode import decode_escpos
from server.printing.layout import load_builtin_layout
from server.printing.render_image import render_ticket_image
from server.printing.ticket_data import sample_ticket

DLE_EOT_PRINTER, DLE_EOT_PAPER = b"\x10\x04\x01", b"\x10\x04\x04"
STATUS_OK, PAPER_OUT = b"\x12", b"\x72"  # fixed bits 1 and 4; paper end adds bits 5-6


def same_image(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode == "1" and a.size == b.size and a.tobytes() == b.tobytes()


# -- bytes ↔ image ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "width"), [("ticket_80mm", 576), ("ticket_58mm", 384)])
def test_escpos_bytes_decode_to_exactly_the_rendered_image(name: str, width: int, capsys) -> None:
    image = render_ticket_image(sample_ticket(), load_builtin_layout(name))
    data = ticket_escpos_bytes(image)
    assert data.startswith(b"\x1b@")  # ESC @ initialise
    assert b"\x1dv0" in data  # GS v 0 raster
    decoded = decode_escpos(data)
    assert decoded.has_cut
    assert decoded.width_dots == width
    assert len(decoded.images) == 1
    assert same_image(decoded.images[0], image)
    # python-escpos prints a warning to stdout when the profile has no paper width: not here.
    assert capsys.readouterr().out == ""


def test_tall_images_are_split_into_fragments_and_reassembled() -> None:
    height = 2 * FRAGMENT_HEIGHT + 123
    image = Image.frombytes("1", (384, height), os.urandom(384 // 8 * height))
    data = ticket_escpos_bytes(image)
    assert data.count(b"\x1dv0") >= 3
    decoded = decode_escpos(data)
    assert len(decoded.images) == 1
    assert same_image(decoded.images[0], image)


def test_escpos_bytes_leave_the_shared_escpos_profile_alone() -> None:
    from escpos.printer import Dummy

    ticket_escpos_bytes(Image.new("1", (576, 10), 1))
    assert Dummy().profile.profile_data["media"]["width"]["pixels"] == "Unknown"


def test_decoder_separates_images_and_skips_text() -> None:
    a = ticket_escpos_bytes(Image.new("1", (384, 16), 0)).replace(b"\x1dV\x00", b"")
    b = ticket_escpos_bytes(Image.new("1", (576, 8), 1))
    decoded = decode_escpos(a + b"hello\n" + b)
    assert [im.size for im in decoded.images] == [(384, 16), (576, 8)]
    assert decoded.width_dots == 576 and decoded.has_cut
    assert not decode_escpos(b"\x1b@hello\n").images


def test_decoder_reports_truncated_raster() -> None:
    data = ticket_escpos_bytes(Image.new("1", (384, 16), 0))
    with pytest.raises(ValueError, match="truncated GS v 0"):
        decode_escpos(data[:100])


# -- a fake network printer on 127.0.0.1 -----------------------------------------------------


@dataclass
class FakePrinter:
    """Accepts raw TCP jobs like a printer on port 9100; optionally answers DLE EOT queries."""

    paper: bytes | None = STATUS_OK  # None: never answers status queries
    jobs: list[bytes] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_jobs(self, count: int, timeout: float = 5) -> bool:
        """Waits until `count` connections have been received and closed."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.jobs) >= count, timeout)

    def handler(self) -> type[socketserver.BaseRequestHandler]:
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                received = bytearray()
                while chunk := self.request.recv(65536):
                    received += chunk
                    if fake.paper is not None:
                        for _ in range(chunk.count(DLE_EOT_PRINTER)):
                            self.request.sendall(STATUS_OK)
                        for _ in range(chunk.count(DLE_EOT_PAPER)):
                            self.request.sendall(fake.paper)
                with fake.arrived:
                    fake.jobs.append(bytes(received))
                    fake.arrived.notify_all()
                fake.done.set()

        return Handler


@pytest.fixture
def fake_printer() -> Iterator[FakePrinter]:
    fake = FakePrinter()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), fake.handler())
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-printer", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raster_only(data: bytes) -> bytes:
    return data[data.index(b"\x1b@") :]


def test_network_backend_delivers_the_ticket_over_tcp(fake_printer: FakePrinter) -> None:
    layout = load_builtin_layout("ticket_80mm")
    printer = open_printer(f"network:127.0.0.1:{fake_printer.port}")
    assert isinstance(printer, NetworkBackend)
    printer.print_ticket(sample_ticket(), layout)
    assert fake_printer.done.wait(5)
    (job,) = fake_printer.jobs
    assert job.startswith(DLE_EOT_PRINTER)  # the paper check came first
    decoded = decode_escpos(job)
    assert decoded.has_cut and decoded.width_dots == 576
    assert same_image(decoded.images[0], render_ticket_image(sample_ticket(), layout))
    assert raster_only(job) == ticket_escpos_bytes(render_ticket_image(sample_ticket(), layout))


def test_network_backend_uses_a_fresh_connection_per_ticket(fake_printer: FakePrinter) -> None:
    printer = open_printer(f"network:127.0.0.1:{fake_printer.port}")
    layout = load_builtin_layout("ticket_58mm")
    for _ in range(3):
        fake_printer.done.clear()
        printer.print_ticket(sample_ticket(), layout)
        assert fake_printer.done.wait(5)
    assert len(fake_printer.jobs) == 3
    assert all(decode_escpos(job).width_dots == 384 for job in fake_printer.jobs)


def test_network_status_online_and_paper_out(fake_printer: FakePrinter) -> None:
    printer = open_printer(f"network:127.0.0.1:{fake_printer.port}")
    assert printer.status() is PrinterStatus.ONLINE
    fake_printer.paper = PAPER_OUT
    assert printer.status() is PrinterStatus.PAPER_OUT


def test_paper_out_refuses_to_print(fake_printer: FakePrinter) -> None:
    fake_printer.paper = PAPER_OUT
    printer = open_printer(f"network:127.0.0.1:{fake_printer.port}")
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    assert info.value.code == "paper_out"
    assert "hết giấy" in info.value.message_vi and "out of paper" in info.value.message_en
    assert fake_printer.done.wait(5)
    assert b"\x1dv0" not in fake_printer.jobs[0]  # nothing was printed


def test_silent_printer_is_printed_to_and_not_asked_again(
    fake_printer: FakePrinter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "STATUS_TIMEOUT", 0.2)
    fake_printer.paper = None
    printer = open_printer(f"network:127.0.0.1:{fake_printer.port}")
    assert printer.status() is PrinterStatus.UNKNOWN
    assert fake_printer.wait_jobs(1)  # the status query's own connection
    layout = load_builtin_layout("ticket_80mm")
    for _ in range(2):
        printer.print_ticket(sample_ticket(), layout)
    assert fake_printer.wait_jobs(3)
    first, second = [job for job in fake_printer.jobs if b"\x1dv0" in job]
    assert decode_escpos(first).has_cut and decode_escpos(second).has_cut
    assert not second.startswith(DLE_EOT_PRINTER)  # learned that it never answers


def test_closed_port_raises_printer_offline_quickly() -> None:
    printer = open_printer(f"network:127.0.0.1:{closed_port()}", timeout=2)
    start = time.perf_counter()
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    assert time.perf_counter() - start < 1.5
    assert info.value.code == "printer_offline"
    assert info.value.message_vi.startswith("Máy in không kết nối được")
    assert printer.status() is PrinterStatus.OFFLINE


# -- other backends --------------------------------------------------------------------------


def test_dummy_backend_keeps_the_bytes() -> None:
    printer = open_printer("dummy")
    assert isinstance(printer, DummyBackend) and printer.status() is PrinterStatus.ONLINE
    layout = load_builtin_layout("ticket_58mm")
    printer.print_ticket(sample_ticket(), layout)
    assert same_image(decode_escpos(printer.outputs[0]).images[0], render_ticket_image(sample_ticket(), layout))


def test_file_backend_writes_the_escpos_stream(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    printer = open_printer(f"file:{target}")
    assert isinstance(printer, FileBackend) and printer.status() is PrinterStatus.UNKNOWN
    printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    assert decode_escpos(target.read_bytes()).width_dots == 576


def test_file_backend_in_a_missing_directory_is_offline(tmp_path: Path) -> None:
    printer = open_printer(f"file:{tmp_path}/missing/lp0")
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    assert info.value.code == "printer_offline"


def test_pdf_backend_writes_one_file_per_ticket(tmp_path: Path) -> None:
    printer = open_printer(f"pdf:{tmp_path}/out")
    assert isinstance(printer, PdfBackend)
    assert printer.status() is PrinterStatus.OFFLINE  # the folder does not exist yet
    for _ in range(2):  # a thermal layout falls back to the bundled PDF layout
        printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["20250314-084712-1023-2.pdf", "20250314-084712-1023.pdf"]
    assert (tmp_path / "out" / files[1]).read_bytes().startswith(b"%PDF-")
    assert printer.status() is PrinterStatus.ONLINE


def test_thermal_backend_refuses_a_pdf_layout() -> None:
    with pytest.raises(PrinterError) as info:
        open_printer("dummy").print_ticket(sample_ticket(), load_builtin_layout("ticket_pdf"))
    assert info.value.code == "layout_mismatch"


@pytest.mark.parametrize(
    ("spec", "kind", "attrs"),
    [
        ("network:10.0.0.5", NetworkBackend, {"host": "10.0.0.5", "port": 9100}),
        ("network:printer-1.local:9101", NetworkBackend, {"host": "printer-1.local", "port": 9101}),
        ("usb:04b8:0e15", UsbBackend, {"vid": 0x04B8, "pid": 0x0E15}),
        ("usb:0x0416:0x5011", UsbBackend, {"vid": 0x0416, "pid": 0x5011}),
        ("serial:/dev/ttyUSB0", SerialBackend, {"device": "/dev/ttyUSB0", "baud": 9600}),
        ("serial:/dev/ttyS1:115200", SerialBackend, {"device": "/dev/ttyS1", "baud": 115200}),
        ("file:/dev/usb/lp0", FileBackend, {"path": "/dev/usb/lp0"}),
        ("pdf:/var/lib/luot/tickets", PdfBackend, {"directory": Path("/var/lib/luot/tickets")}),
        ("dummy", DummyBackend, {}),
    ],
)
def test_open_printer_parses_specs(spec: str, kind: type, attrs: dict[str, object]) -> None:
    printer = open_printer(spec)
    assert isinstance(printer, kind) and printer.spec == spec
    assert isinstance(printer, backends.PrinterBackend)
    for name, value in attrs.items():
        assert getattr(printer, name) == value


@pytest.mark.parametrize(
    "spec", ["", "lpt:1", "network:", "network:host:99999", "network:a:b", "usb:04b8", "usb:zz:01", "serial:ttyUSB0"]
)
def test_open_printer_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(PrinterError) as info:
        open_printer(spec)
    assert info.value.code == "invalid_spec"
    assert "không hợp lệ" in info.value.message_vi


def test_usb_printer_that_is_not_there_is_offline() -> None:
    printer = open_printer("usb:ffff:fffe", timeout=1)
    with pytest.raises(PrinterError) as info:
        printer.print_ticket(sample_ticket(), load_builtin_layout("ticket_80mm"))
    assert info.value.code == "printer_offline"
    assert printer.status() is PrinterStatus.OFFLINE
