"""`luot kiosk-agent` against a running server: it prints the kiosk's jobs on its local printer (a real TCP
listener, or a file), acknowledges them, gets the jobs issued while it was away, retries a printer that is
down and reports it to the kiosk and the managers — and reports it back when it returns."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from server.commands import cli
from server.db import Database
from server.printing.agent import KioskAgent
from server.printing.escpos_decode import decode_escpos
from server.printing.jobs import ticket_print
from server.printing.layout import load_builtin_layout
from server.printing.render_image import render_ticket_image
from server.process import ServerProcess
from tests.integration.test_print_jobs import (
    PAPER_OUT,
    STATUS_OK,
    WAIT,
    PrinterListener,
    closed_port,
    configure_kiosk,
    same_image,
)
from tests.support.ordered_client import OrderedClient
from tests.support.world import PASSWORD, World, build_world

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
KIOSK = "kiosk-token-1"


class Heard:
    """A Socket.IO client (a manager, or the kiosk page) that keeps what it hears and can wait for it."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._changed = threading.Condition()
        self.client = OrderedClient(reconnection=False)
        for name in ("snapshot", "printer.status", "print.result"):
            self.client.on(name, self._keeper(name))
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
        assert self.wait_for("snapshot"), "no snapshot after connecting"

    def _keeper(self, name: str) -> Callable[[dict[str, Any]], None]:
        def keep(payload: dict[str, Any]) -> None:
            with self._changed:
                self.events.append((name, payload))
                self._changed.notify_all()

        return keep

    def heard(self, name: str) -> list[dict[str, Any]]:
        with self._changed:
            return [payload for event, payload in self.events if event == name]

    def wait_for(
        self, name: str, test: Callable[[dict[str, Any]], bool] = lambda payload: True, timeout: float = WAIT
    ) -> dict[str, Any] | None:
        def match() -> dict[str, Any] | None:
            return next((p for event, p in self.events if event == name and test(p)), None)

        with self._changed:
            self._changed.wait_for(lambda: match() is not None, timeout)
            return match()

    def close(self) -> None:
        self.client.disconnect()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerProcess, World]]:
    live = ServerProcess(tmp_path / "instance")

    def populate(db: Database) -> World:
        world = build_world(db)
        configure_kiosk(db, printer="agent", layout="ticket_80mm")
        return world

    world = live.prepare(populate)
    live.start()
    yield live, world  # type: ignore[misc]
    live.stop()


@pytest.fixture
def manager(server) -> Iterator[Heard]:
    live, _world = server
    response = requests.post(
        f"{live.url}/api/v1/auth/token", json={"username": "manager", "password": PASSWORD}, timeout=10
    )
    heard = Heard(live.url, response.json()["token"])
    yield heard
    heard.close()


class RunningAgent:
    def __init__(self, url: str, printer: str, **options: Any) -> None:
        self.agent = KioskAgent(url, KIOSK, printer, **options)
        self.thread = threading.Thread(target=self.agent.run, name="kiosk-agent", daemon=True)

    def __enter__(self) -> KioskAgent:
        self.thread.start()
        assert self.agent.connected.wait(WAIT), "the agent did not connect"
        return self.agent

    def __exit__(self, *exc: object) -> None:
        self.agent.stop()
        self.thread.join(timeout=WAIT)


def issue(url: str, service: str = "TP-A") -> dict[str, Any]:
    response = requests.post(
        f"{url}/api/v1/tickets", json={"service": service}, timeout=10, headers={"Authorization": f"Bearer {KIOSK}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


def result_for(ticket: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    return lambda payload: payload["ticket_id"] == ticket["id"]


def test_the_agent_prints_the_kiosks_ticket_and_acknowledges_it(server, manager):
    live, _world = server
    with PrinterListener() as printer, RunningAgent(live.url, printer.spec):
        ticket = issue(live.url)
        assert ticket["print"]["status"] == "sent"
        (job,) = printer.wait_for_tickets(1)
        result = manager.wait_for("print.result", result_for(ticket))
    decoded = decode_escpos(job)
    assert decoded.width_dots == 576 and decoded.has_cut
    assert same_image(decoded.images[0], render_ticket_image(ticket_print(ticket), load_builtin_layout("ticket_80mm")))
    assert result is not None and (result["status"], result["attempts"]) == ("printed", 1)
    assert [s["status"] for s in manager.heard("printer.status")] == ["online"]


def test_jobs_issued_while_the_agent_was_away_print_when_it_connects(server, manager):
    live, _world = server
    waiting = issue(live.url)  # nobody takes it yet: the server keeps sending it
    with PrinterListener() as printer, RunningAgent(live.url, printer.spec):
        result = manager.wait_for("print.result", result_for(waiting))
        assert len(printer.wait_for_tickets(1)) == 1
    assert result is not None and result["status"] == "printed"


def test_a_printer_that_is_down_is_retried_reported_and_reported_back(server, manager):
    live, _world = server
    port = closed_port()
    kiosk_page = Heard(live.url, KIOSK)
    try:
        with RunningAgent(live.url, f"network:127.0.0.1:{port}", retry_delays=(0.05, 0.05), probe_every=0.05) as agent:
            ticket = issue(live.url)
            result = manager.wait_for("print.result", result_for(ticket))
            assert result is not None and (result["status"], result["attempts"]) == ("failed", 3)
            assert result["error"] == "printer_offline"
            for heard in (manager, kiosk_page):
                offline = heard.wait_for("printer.status", lambda s: s["status"] == "offline")
                assert offline is not None and offline["code"] == "printer_offline"
                assert offline["detail"]["vi"].startswith("Máy in không kết nối được")

            with PrinterListener(port=port):  # the printer is switched back on
                assert manager.wait_for("printer.status", lambda s: s["status"] == "online") is not None
                assert agent.status == "online"
    finally:
        kiosk_page.close()


def test_paper_out_is_reported_and_the_ticket_prints_once_the_roll_is_changed(server, manager):
    live, _world = server
    with PrinterListener() as printer, RunningAgent(live.url, printer.spec, retry_delays=(0.2, 0.4, 0.8, 1.6, 3.2)):
        assert manager.wait_for("printer.status", lambda s: s["status"] == "online") is not None  # said at hello
        printer.paper = PAPER_OUT
        ticket = issue(live.url)
        assert manager.wait_for("printer.status", lambda s: s["status"] == "paper_out") is not None
        printer.paper = STATUS_OK  # a clerk changes the roll while the agent is still retrying
        result = manager.wait_for("print.result", result_for(ticket))
        assert len(printer.wait_for_tickets(1)) == 1
    assert result is not None and result["status"] == "printed" and result["attempts"] >= 2
    assert [s["status"] for s in manager.heard("printer.status")] == ["online", "paper_out", "online"]


def test_the_kiosk_agent_command_prints_to_a_file(server, manager, tmp_path: Path):
    live, _world = server
    target = tmp_path / "lp0"
    with (tmp_path / "agent.log").open("wb") as log:
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "kiosk-agent",
                "--server",
                live.url,
                "--token",
                KIOSK,
                "--printer",
                f"file:{target}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        ticket = issue(live.url)  # printed when the agent connects, whichever comes first
        result = manager.wait_for("print.result", result_for(ticket), timeout=30)
        assert result is not None and result["status"] == "printed", (tmp_path / "agent.log").read_text()
    finally:
        agent.terminate()
        agent.wait(10)
    decoded = decode_escpos(target.read_bytes())
    assert decoded.width_dots == 576 and decoded.has_cut


def test_the_kiosk_agent_command_refuses_a_malformed_printer():
    result = CliRunner().invoke(
        cli, ["kiosk-agent", "--server", "http://127.0.0.1:9", "--token", "t", "--printer", "lpt:1"]
    )
    assert result.exit_code == 1
    assert "printer setting is not valid" in result.output
