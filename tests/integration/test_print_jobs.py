"""Server-side kiosk printing: issued tickets reach the kiosk's printer as the rendered image, once, with
retries and status reports when the printer is out of paper or unreachable; agent printers get jobs by
Socket.IO until they acknowledge them."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlmodel import select

from server.auth import token_hash
from server.db import Database
from server.models import Device, Ticket
from server.printing.escpos_decode import decode_escpos
from server.printing.jobs import PrintService, RetryPolicy, ticket_from_json, ticket_print, ticket_to_json
from server.printing.layout import load_builtin_layout
from server.printing.render_image import render_ticket_image
from server.printing.ticket_data import TicketPrint
from server.process import ServerProcess
from tests.support.api import bearer, issue, staff_token
from tests.support.world import World, build_world

DLE_EOT_PRINTER, DLE_EOT_PAPER = b"\x10\x04\x01", b"\x10\x04\x04"
STATUS_OK, PAPER_OUT = b"\x12", b"\x72"  # fixed bits 1 and 4; paper end adds bits 5-6
RASTER = b"\x1dv0"
FAST = RetryPolicy(retry_delays=(0.05, 0.05), max_age=30.0, ack_timeout=0.2, agent_resends=3, probe_every=0.05)
WAIT = 10.0  # generous upper bound for anything to arrive; tests never sleep for it
#: The stand-in printers listen on 127.0.0.1 at a random port: the operator allows that here (issue 14).
LOOPBACK_PRINTERS = {"LUOT_PRINTER_PORTS": "1-65535", "LUOT_PRINTER_NETWORKS": "127.0.0.0/8"}


class PrinterListener:
    """A thermal printer on 127.0.0.1: takes raw TCP jobs and answers DLE EOT status queries like a real one.

    `closed` is set each time a connection closes; `jobs` holds the bytes of each closed connection and
    `closed_at` its perf_counter time.
    """

    def __init__(self, port: int = 0, paper: bytes | None = STATUS_OK) -> None:
        self.paper = paper  # what DLE EOT 4 answers; None: a printer that never answers status queries
        self.jobs: list[bytes] = []
        self.closed_at: list[float] = []
        self.closed = threading.Event()
        self._changed = threading.Condition()
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                received = bytearray()
                while chunk := self.request.recv(65536):
                    received += chunk
                    if listener.paper is not None:
                        for _ in range(chunk.count(DLE_EOT_PRINTER)):
                            self.request.sendall(STATUS_OK)
                        for _ in range(chunk.count(DLE_EOT_PAPER)):
                            self.request.sendall(listener.paper)
                with listener._changed:
                    listener.jobs.append(bytes(received))
                    listener.closed_at.append(time.perf_counter())
                    listener.closed.set()
                    listener._changed.notify_all()

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server(("127.0.0.1", port), Handler)
        self.port: int = self._server.server_address[1]
        self.spec = f"network:127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="printer-listener", daemon=True
        )

    def __enter__(self) -> PrinterListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def tickets(self) -> list[bytes]:
        """The connections that carried a printed image (not just status queries)."""
        with self._changed:
            return [job for job in self.jobs if RASTER in job]

    def wait_for_tickets(self, count: int, timeout: float = WAIT) -> list[bytes]:
        with self._changed:
            self._changed.wait_for(lambda: sum(RASTER in job for job in self.jobs) >= count, timeout)
        return self.tickets()

    def wait_for_connections(self, count: int, timeout: float = WAIT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.jobs) >= count, timeout)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configure_kiosk(db: Database, token: str = "kiosk-token-1", **settings: Any) -> int:
    """Give the test kiosk device settings (printer, layout, agency_ids…); returns its id."""
    with db.write() as session:
        device = session.exec(select(Device).where(Device.token_hash == token_hash(token))).one()
        device.settings = {**(device.settings or {}), **settings}
        session.add(device)
        session.flush()
        return device.id or 0


def same_image(a, b) -> bool:
    return a.mode == b.mode == "1" and a.size == b.size and a.tobytes() == b.tobytes()


def received(client) -> dict[str, list[dict[str, Any]]]:
    """Everything a Socket.IO test client has been sent since last asked, by event name."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for message in client.get_received():
        by_name.setdefault(message["name"], []).append(message["args"][0])
    return by_name


@pytest.fixture
def settings(settings):
    return replace(settings, printer_ports=LOOPBACK_PRINTERS["LUOT_PRINTER_PORTS"], printer_networks="127.0.0.0/8")


@pytest.fixture
def printing(app) -> Iterator[PrintService]:
    service: PrintService = app.extensions["luot"].print_jobs
    service.policy = FAST
    yield service
    service.close()


@pytest.fixture
def printer() -> Iterator[PrinterListener]:
    with PrinterListener() as listener:
        yield listener


# ------------------------------------------------------------------ printers the server reaches


def test_a_kiosk_ticket_reaches_the_network_printer_as_the_rendered_image(client, world, luot, printing, printer):
    configure_kiosk(luot.db, printer=printer.spec, layout="ticket_80mm")
    ticket = issue(client, world.kiosk_token, "TP-A", key="tap-1")
    assert ticket["print"]["status"] == "queued"

    (job_bytes,) = printer.wait_for_tickets(1)
    decoded = decode_escpos(job_bytes)
    assert decoded.width_dots == 576 and decoded.has_cut and len(decoded.images) == 1
    with luot.db.read() as session:
        row = session.get(Ticket, ticket["id"])
    expected = TicketPrint(
        centre_name="Trung tâm Phục vụ hành chính công thử nghiệm",
        agency="Sở Tư pháp",
        service="Cấp phiếu lý lịch tư pháp",
        display_number="1001",
        waiting_ahead=0,
        estimated_wait_minutes=None,
        issued_at=row.issued_at,
        counters=("Quầy 1", "Quầy 2"),
        tracking_url=f"{luot.settings.base_url}/t/{row.tracking_token}",
        wait_note="Chưa có quầy mở",  # nobody opened a counter: no minutes are promised
    )
    assert same_image(decoded.images[0], render_ticket_image(expected, load_builtin_layout("ticket_80mm")))
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts) == ("printed", 1)


def test_a_58mm_kiosk_prints_384_dots_wide(client, world, luot, printing, printer):
    configure_kiosk(luot.db, printer=printer.spec, layout="ticket_58mm")
    issue(client, world.kiosk_token, "CA-X", key="tap-58")
    (job_bytes,) = printer.wait_for_tickets(1)
    assert decode_escpos(job_bytes).width_dots == 384


def test_the_same_tap_twice_prints_one_ticket(client, world, luot, printing, printer):
    configure_kiosk(luot.db, printer=printer.spec)
    first = issue(client, world.kiosk_token, "TP-A", key="double-tap")
    second = issue(client, world.kiosk_token, "TP-A", key="double-tap")
    assert second["id"] == first["id"] and second["repeated"] is True
    assert second["print"]["job_id"] == first["print"]["job_id"]  # the first tap's job, not a new one
    job = printing.job(first["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT) and job.status == "printed"
    assert len(printer.wait_for_tickets(1)) == 1  # the one job has printed; nothing else was queued


def test_the_kiosk_hears_how_its_print_ended(client, world, luot, socketio, app, printing, printer):
    configure_kiosk(luot.db, printer=printer.spec)
    kiosk = socketio.test_client(app, auth={"token": world.kiosk_token})
    kiosk.get_received()
    ticket = issue(client, world.kiosk_token, "TP-A", key="result")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    results = received(kiosk).get("print.result", [])
    assert [(r["ticket_id"], r["status"]) for r in results] == [(ticket["id"], "printed")]
    kiosk.disconnect()


def test_paper_out_is_retried_then_reported_to_the_kiosk_and_the_managers(
    client, world, luot, socketio, app, printing, printer
):
    device_id = configure_kiosk(luot.db, printer=printer.spec)
    printer.paper = PAPER_OUT
    kiosk = socketio.test_client(app, auth={"token": world.kiosk_token})
    manager = socketio.test_client(app, auth={"token": staff_token(client, "manager")})
    kiosk.get_received(), manager.get_received()

    ticket = issue(client, world.kiosk_token, "TP-A", key="no-paper")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts, job.error) == ("failed", 3, "paper_out")
    assert printer.tickets() == []  # nothing was printed on an empty roll
    for client_ in (kiosk, manager):
        statuses = received(client_).get("printer.status", [])
        assert [s["status"] for s in statuses] == ["paper_out"]
        assert statuses[0]["device_id"] == device_id and "hết giấy" in statuses[0]["detail"]["vi"]

    printer.paper = STATUS_OK  # the roll is changed: the printer is asked again and found ready
    assert printing.wait_for(lambda: printing.state(device_id).status == "online", WAIT)
    assert [s["status"] for s in received(manager).get("printer.status", [])] == ["online"]
    kiosk.disconnect(), manager.disconnect()


def test_an_unreachable_printer_is_reported_offline_and_the_ticket_still_issued(client, world, luot, printing):
    device_id = configure_kiosk(luot.db, printer=f"network:127.0.0.1:{closed_port()}")
    ticket = issue(client, world.kiosk_token, "TP-A", key="offline")
    assert ticket["display_number"] == "1001"
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts, job.error) == ("failed", 3, "printer_offline")
    assert printing.state(device_id).status == "offline"
    # The next ticket's response already carries what is known about the printer.
    later = issue(client, world.kiosk_token, "TP-A", key="offline-2")
    assert later["print"]["printer"]["status"] == "offline"


def test_a_ticket_too_old_to_matter_is_not_printed(client, world, luot, printing, printer):
    printing.policy = replace(FAST, max_age=0.0)
    configure_kiosk(luot.db, printer=printer.spec)
    ticket = issue(client, world.kiosk_token, "TP-A", key="stale")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts) == ("expired", 0)
    assert printer.tickets() == []


def test_a_status_request_answers_the_kiosk_with_its_printer_and_a_manager_with_all(
    client, world, luot, socketio, app, printing
):
    device_id = configure_kiosk(luot.db, printer="dummy")
    kiosk = socketio.test_client(app, auth={"token": world.kiosk_token})
    manager = socketio.test_client(app, auth={"token": staff_token(client, "manager")})
    board = socketio.test_client(app, auth={"token": world.board_token})
    for client_ in (kiosk, manager, board):
        client_.get_received()
        client_.emit("printer.status.request")
    (status,) = received(kiosk)["printer.status"]
    assert (status["device_id"], status["printer"], status["status"]) == (device_id, "dummy", "unknown")
    assert [s["device_id"] for s in received(manager)["printer.status"]] == [device_id]
    assert "printer.status" not in received(board)
    kiosk.disconnect(), manager.disconnect(), board.disconnect()


def test_a_malformed_printer_setting_fails_at_once_and_says_why(client, world, luot, printing):
    device_id = configure_kiosk(luot.db, printer="lpt:1")
    ticket = issue(client, world.kiosk_token, "TP-A", key="bad-spec")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts, job.error) == ("failed", 1, "invalid_spec")  # no retry can fix it
    assert printing.state(device_id).detail_vi.startswith("Cấu hình máy in không hợp lệ")


def test_tickets_issued_by_staff_or_by_a_kiosk_without_printer_print_nothing(client, world, luot, printing):
    assert issue(client, world.kiosk_token, "TP-A")["print"] == {"status": "none"}
    clerk = staff_token(client, "clerk1")
    assert "print" not in issue(client, clerk, "TP-A")


@pytest.mark.slow
@pytest.mark.parametrize("async_mode", ["eventlet", "gevent", "threading"])
def test_each_async_mode_prints_off_the_hub(tmp_path: Path, printer: PrinterListener, async_mode: str):
    server = ServerProcess(tmp_path / "instance", async_mode=async_mode, env=LOOPBACK_PRINTERS)

    def populate(db: Database) -> World:
        world = build_world(db)
        configure_kiosk(db, printer=printer.spec)
        return world

    server.prepare(populate)
    server.start()
    try:
        response = requests.post(
            f"{server.url}/api/v1/tickets", json={"service": "TP-A"}, timeout=10, headers=bearer("kiosk-token-1")
        )
        assert response.status_code == 201, response.text
        (job_bytes,) = printer.wait_for_tickets(1)
    finally:
        server.stop()
    decoded = decode_escpos(job_bytes)
    assert decoded.has_cut
    assert same_image(
        decoded.images[0], render_ticket_image(ticket_print(response.json()), load_builtin_layout("ticket_80mm"))
    )


# ------------------------------------------------------------------ the printed ticket


def test_the_printed_ticket_carries_priority_counters_and_wait(client, world, luot):
    issue(client, world.kiosk_token, "TP-A")
    payload = issue(client, world.kiosk_token, "TP-A", priority="elderly")
    ticket = ticket_print(payload)
    assert ticket.priority_label == "ƯU TIÊN · Người cao tuổi"
    assert ticket.counters == ("Quầy 1", "Quầy 2")
    assert ticket.waiting_ahead == payload["waiting_ahead"]
    assert ticket.issued_at == datetime.fromisoformat(payload["issued_at"])
    assert ticket_from_json(ticket_to_json(ticket)) == ticket


def test_nobody_ahead_leaves_the_wait_line_out(client, world):
    payload = issue(client, world.kiosk_token, "CA-X")
    assert payload["waiting_ahead"] == 0
    assert ticket_print(payload).estimated_wait_minutes is None
    assert ticket_print(payload).priority_label is None


# ------------------------------------------------------------------ printers on the kiosk PC (agent)


def test_agent_jobs_are_sent_again_until_received_then_settled_by_the_ack(client, world, luot, socketio, app, printing):
    device_id = configure_kiosk(luot.db, printer="agent")
    agent = socketio.test_client(app, auth={"token": world.kiosk_token})
    manager = socketio.test_client(app, auth={"token": staff_token(client, "manager")})
    agent.get_received(), manager.get_received()

    ticket = issue(client, world.kiosk_token, "TP-A", key="agent-1")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and ticket["print"]["status"] == "sent"
    assert printing.wait_for(lambda: job.sends >= 2, WAIT)  # no receipt: sent again
    jobs = received(agent)["print.job"]
    assert len(jobs) >= 2 and {j["job_id"] for j in jobs} == {job.id}
    assert ticket_from_json(jobs[0]["ticket"]) == ticket_print(ticket)
    assert jobs[0]["layout"] == "ticket_80mm" and 0 < jobs[0]["expires_in"] <= FAST.max_age

    assert agent.emit("print.ack", {"job_id": job.id, "state": "received"}, callback=True) == {"ok": True}
    assert job.status == "received"
    reply = agent.emit(
        "print.ack", {"job_id": job.id, "state": "printed", "attempts": 2, "status": "online"}, callback=True
    )
    assert reply == {"ok": True}
    assert job.settled.is_set() and (job.status, job.attempts) == ("printed", 2)
    heard = received(manager)
    assert [r["status"] for r in heard["print.result"]] == ["printed"]
    assert [s["status"] for s in heard["printer.status"]] == ["online"]
    assert printing.state(device_id).status == "online"
    agent.disconnect(), manager.disconnect()


def test_an_agent_that_never_answers_is_reported_offline(client, world, luot, socketio, app, printing):
    device_id = configure_kiosk(luot.db, printer="agent")
    ticket = issue(client, world.kiosk_token, "TP-A", key="agent-silent")
    job = printing.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.error, job.sends) == ("failed", "agent_timeout", FAST.agent_resends + 1)
    state = printing.state(device_id)
    assert (state.status, state.code) == ("offline", "agent_unreachable")


def test_an_agent_reconnecting_gets_its_pending_jobs_and_reports_its_printer(
    client, world, luot, socketio, app, printing
):
    printing.policy = replace(FAST, ack_timeout=30.0)  # only the hello sends the job again here
    device_id = configure_kiosk(luot.db, printer="agent")
    ticket = issue(client, world.kiosk_token, "TP-A", key="agent-late")
    agent = socketio.test_client(app, auth={"token": world.kiosk_token})
    agent.get_received()
    reply = agent.emit(
        "print.hello", {"printer": "usb:04b8:0e15", "status": "paper_out", "code": "paper_out"}, callback=True
    )
    assert reply == {"ok": True, "device_id": device_id, "pending": 1}
    assert [j["ticket_id"] for j in received(agent)["print.job"]] == [ticket["id"]]
    assert printing.state(device_id).status == "paper_out"


def test_acks_from_another_device_are_refused(client, world, luot, socketio, app, printing):
    configure_kiosk(luot.db, printer="agent")
    ticket = issue(client, world.kiosk_token, "TP-A", key="agent-other")
    board = socketio.test_client(app, auth={"token": world.board_token})
    reply = board.emit("print.ack", {"job_id": ticket["print"]["job_id"], "state": "printed"}, callback=True)
    assert reply == {"ok": False, "error": "unknown_job"}
    assert printing.job(ticket["print"]["job_id"]).status == "sent"
    board.disconnect()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"attempts": "abc"}, "attempts"),
        ({"attempts": -1}, "attempts"),
        ({"attempts": 1.5}, "attempts"),
        ({"attempts": [2]}, "attempts"),
        ({"code": {"nested": "object"}}, "code"),
        ({"message_vi": "x" * 10_000}, "message_vi"),
        ({"status": 5}, "status"),
        ({"state": ["printed"]}, "state"),
        ({"job_id": None}, "job_id"),
    ],
)
def test_a_malformed_ack_is_refused_and_leaves_the_job_as_it_was(
    client, world, luot, socketio, app, printing, change, field
):
    printing.policy = replace(FAST, ack_timeout=30.0)  # the job is not resent while the test runs
    device_id = configure_kiosk(luot.db, printer="agent")
    agent = socketio.test_client(app, auth={"token": world.kiosk_token})
    ticket = issue(client, world.kiosk_token, "TP-A", key=f"agent-bad-{field}")
    job = printing.job(ticket["print"]["job_id"])
    assert agent.emit("print.ack", {"job_id": job.id, "state": "received"}, callback=True) == {"ok": True}
    agent.get_received()
    malformed = {"job_id": job.id, "state": "printed", "attempts": 1, "status": "online", **change}
    reply = agent.emit("print.ack", malformed, callback=True)
    assert reply == {"ok": False, "error": "invalid_ack", "field": field}
    assert (job.status, job.attempts, job.error, job.settled.is_set()) == ("received", 0, "", False)
    assert "print.result" not in received(agent)
    assert printing.state(device_id).status != "online"  # the malformed ack's printer report was not applied
    reply = agent.emit("print.ack", {"job_id": job.id, "state": "printed", "attempts": 1}, callback=True)
    assert reply == {"ok": True} and job.settled.is_set() and job.status == "printed"
    agent.disconnect()


@pytest.mark.parametrize("payload", [["print.ack"], "printed", 42])
def test_an_ack_that_is_not_an_object_is_refused(client, world, luot, socketio, app, printing, payload):
    configure_kiosk(luot.db, printer="agent")
    agent = socketio.test_client(app, auth={"token": world.kiosk_token})
    assert agent.emit("print.ack", payload, callback=True) == {"ok": False, "error": "invalid_ack", "field": "message"}
    agent.disconnect()


def test_a_malformed_printer_report_is_refused_and_a_hello_still_gets_its_jobs(
    client, world, luot, socketio, app, printing
):
    printing.policy = replace(FAST, ack_timeout=30.0)
    device_id = configure_kiosk(luot.db, printer="agent")
    ticket = issue(client, world.kiosk_token, "TP-A", key="agent-bad-hello")
    agent = socketio.test_client(app, auth={"token": world.kiosk_token})
    agent.get_received()
    before = printing.state(device_id)
    reply = agent.emit("printer.report", {"status": "paper_out", "message_en": ["not", "text"]}, callback=True)
    assert reply == {"ok": False, "error": "invalid_report", "field": "message_en"}
    assert agent.emit("printer.report", "paper_out", callback=True)["error"] == "invalid_report"
    reply = agent.emit("print.hello", {"status": "paper_out", "code": 7}, callback=True)
    assert reply == {"ok": True, "device_id": device_id, "pending": 1, "refused": "code"}
    assert [j["ticket_id"] for j in received(agent)["print.job"]] == [ticket["id"]]
    assert printing.state(device_id) == before
    agent.disconnect()


def test_kiosk_devices_only_issue_tickets_with_their_own_token(client, world):
    response = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.board_token))
    assert response.status_code == 403
