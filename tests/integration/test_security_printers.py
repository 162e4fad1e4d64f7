"""Issue 14, item 1: a printer target set from the web stays inside what the server's operator allowed.

Files and PDF folders only under the instance's printer folder (or printer devices such as /dev/usb/lp0),
network printers only on allowed ports inside allowed address ranges: refused with a clear message when the
form is saved, and again before a ticket is printed (a setting written before the rule, or by other means).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import select

from server.auth import token_hash
from server.models import Device
from server.printing.backends import PrinterError
from server.printing.targets import PrinterTargets, parse_networks, parse_ports
from tests.support.api import issue
from tests.support.world import PASSWORD

WAIT = 10.0


def targets(tmp_path: Path, **overrides) -> PrinterTargets:
    values = {
        "folder": (tmp_path / "printers").resolve(),
        "ports": parse_ports("9100"),
        "networks": parse_networks("10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"),
        "resolve": lambda host: {"printer.lan": ["192.168.1.50"], "evil.example": ["203.0.113.9"]}.get(host, [host]),
    }
    return PrinterTargets(**{**values, **overrides})


@pytest.mark.parametrize(
    "spec",
    [
        "pdf:{printers}/hall",
        "file:{printers}/lp-test",
        "file:/dev/usb/lp0",
        "network:192.168.1.20",
        "network:10.1.2.3:9100",
        "network:printer.lan",
        "usb:04b8:0e15",
        "serial:/dev/ttyUSB0:19200",
        "dummy",
        "agent",
    ],
)
def test_allowed_targets_pass(tmp_path: Path, spec: str) -> None:
    targets(tmp_path).check(spec.format(printers=tmp_path / "printers"))


@pytest.mark.parametrize(
    "spec",
    [
        "file:{instance}/luot.sqlite3",
        "file:{instance}/secret_key",
        "file:{printers}/../secret_key",
        "file:relative-file",
        "pdf:/tmp/anywhere",
        "pdf:{printers}/../../elsewhere",
        "network:203.0.113.9:9100",
        "network:evil.example",
        "network:192.168.1.20:22",
        "network:127.0.0.1:5432",
        "serial:/etc/passwd:9600",
    ],
)
def test_targets_outside_the_allowance_are_refused(tmp_path: Path, spec: str) -> None:
    with pytest.raises(PrinterError) as refused:
        targets(tmp_path).check(spec.format(printers=tmp_path / "printers", instance=tmp_path))
    assert refused.value.code == "target_not_allowed"
    assert refused.value.message_vi.startswith("Máy in không được phép")


def test_a_symbolic_link_in_the_printer_folder_does_not_lead_out(tmp_path: Path) -> None:
    folder = tmp_path / "printers"
    folder.mkdir()
    (tmp_path / "secret_key").write_text("k")
    (folder / "lp").symlink_to(tmp_path / "secret_key")
    with pytest.raises(PrinterError, match="target_not_allowed"):
        targets(tmp_path).check(f"file:{folder}/lp")


def _admin_session(client) -> str:
    response = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["csrf_token"]


def _save_kiosk(client, csrf: str, site_id: int, printer: str):
    return client.post(
        "/admin/devices/new?lang=en",
        data={
            "csrf_token": csrf,
            "site_id": str(site_id),
            "kind": "kiosk",
            "name": "Kiosk X",
            "settings": json.dumps({"printer": printer}),
        },
    )


@pytest.mark.parametrize("target", ["file:{instance}/luot.sqlite3", "pdf:/tmp/luot-anywhere", "network:8.8.8.8:53"])
def test_the_admin_form_refuses_a_target_outside_the_allowance(client, world, luot, target) -> None:
    csrf = _admin_session(client)
    spec = target.format(instance=luot.settings.instance_path)
    response = _save_kiosk(client, csrf, world.site_id, spec)
    assert response.status_code == 400
    assert "Printer not allowed" in response.get_data(as_text=True)
    with luot.db.read() as session:
        assert session.exec(select(Device).where(Device.name == "Kiosk X")).first() is None


def test_the_admin_form_accepts_a_target_in_the_printer_folder(client, world, luot) -> None:
    csrf = _admin_session(client)
    spec = f"pdf:{luot.settings.instance_path / 'printers' / 'hall'}"
    response = _save_kiosk(client, csrf, world.site_id, spec)
    assert response.status_code == 200, re.sub(r"\s+", " ", response.get_data(as_text=True))[:2000]
    with luot.db.read() as session:
        device = session.exec(select(Device).where(Device.name == "Kiosk X")).one()
    assert device.settings["printer"] == spec


def test_a_stored_target_outside_the_allowance_is_refused_before_printing(client, world, luot) -> None:
    """A printer setting written some other way still cannot truncate the instance's database."""
    database = luot.settings.instance_path / "luot.sqlite3"
    size = database.stat().st_size
    with luot.db.write() as session:
        device = session.exec(select(Device).where(Device.token_hash == token_hash(world.kiosk_token))).one()
        device.settings = {**(device.settings or {}), "printer": f"file:{database}"}
        session.add(device)
    ticket = issue(client, world.kiosk_token, "TP-A", key="stored-bad-target")
    job = luot.print_jobs.job(ticket["print"]["job_id"])
    assert job is not None and job.settled.wait(WAIT)
    assert (job.status, job.attempts, job.error) == ("failed", 1, "target_not_allowed")
    assert database.stat().st_size >= size
    state = luot.print_jobs.state(device.id)
    assert state is not None and "not allowed" in state.detail_en


def test_a_network_printer_is_reached_at_the_address_that_was_checked(tmp_path: Path, client, world, luot) -> None:
    """The server connects to the address it checked, not to the name resolved again (a DNS answer that changes
    in between cannot lead it elsewhere): a name only the check knows still reaches the printer."""
    from tests.integration.test_print_jobs import FAST, PrinterListener, configure_kiosk

    assert targets(tmp_path).check("pdf:{}/x".format(tmp_path / "printers")) == []
    with PrinterListener() as printer:
        luot.print_jobs.policy = FAST
        luot.print_jobs.targets = targets(
            tmp_path,
            ports=parse_ports(str(printer.port)),
            networks=parse_networks("127.0.0.0/8"),
            resolve=lambda host: ["127.0.0.1"] if host == "printer.invalid" else [],
        )
        configure_kiosk(luot.db, printer=f"network:printer.invalid:{printer.port}")
        ticket = issue(client, world.kiosk_token, "TP-A", key="pinned")
        job = luot.print_jobs.job(ticket["print"]["job_id"])
        assert job is not None and job.settled.wait(WAIT)
        assert job.status == "printed", job.error
        assert len(printer.wait_for_tickets(1)) == 1  # the listener records the connection on its own thread
        luot.print_jobs.close()
