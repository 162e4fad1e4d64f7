"""Downloads are built in a child process (server.stats.export_worker): same bytes as an in-process build,
the requested language, and a clean JSON error when the child fails or runs out of time.

The scenario is test_exports.py's (hand-computed figures there): Wednesday 18/11/2026 at site HN, exported on
Thursday.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import sys
from pathlib import Path

import pytest
import requests

from server.domain import queueing
from server.errors_http import HTTP_MESSAGES
from server.i18n import translate
from server.process import ServerProcess
from server.stats import export_worker, exports, queries
from tests.integration._live import Api
from tests.integration.test_exports import CA, QUERY, TOTAL, TP, local
from tests.support.api import bearer, staff_token
from tests.support.world import build_world


@pytest.fixture
def played(luot, world, clock):
    """T1 TP-A served and rated, T2 CA-X served, T3 TP-A never called (see test_exports.py)."""
    run, c1, c3 = luot.run, world.counters["c1"], world.counters["c3"]
    clerk1, clerk3 = world.users["clerk1"], world.users["clerk3"]
    clock.set(local(9, 0))
    run(queueing.open_counter, c1, clerk1)
    run(queueing.open_counter, c3, clerk3)
    t1 = run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A").ticket
    clock.set(local(9, 5))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="CA-X")
    clock.set(local(9, 10))
    run(queueing.call_next, c1, clerk1)
    run(queueing.start, c1, clerk1)
    clock.set(local(9, 16))
    run(queueing.finish, c1, clerk1)
    run(queueing.rate, t1.id, "very_satisfied", source="phone")
    clock.set(local(9, 20))
    run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    clock.set(local(9, 25))
    run(queueing.call_next, c3, clerk3)
    run(queueing.start, c3, clerk3)
    clock.set(local(9, 33))
    run(queueing.finish, c3, clerk3)
    clock.set(local(10, 0, 19))
    return world


@pytest.fixture
def jobs(monkeypatch) -> list[export_worker.Job]:
    """The jobs the route hands to export_worker.run (which still runs them)."""
    seen: list[export_worker.Job] = []
    real_run = export_worker.run

    def spy(settings, job, timeout=None):
        seen.append(job)
        return real_run(settings, job, timeout)

    monkeypatch.setattr(export_worker, "run", spy)
    return seen


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def in_this_process(*_args, **_kwargs):
    raise AssertionError("the export was built in the server's process")


def test_the_child_builds_the_same_file_as_an_in_process_build(client, luot, played, jobs, monkeypatch):
    manager = staff_token(client, "manager")
    bodies = {}
    with monkeypatch.context() as server_process:  # nothing may read the history or lay out a report here
        server_process.setattr(queries, "history", in_this_process)
        server_process.setattr(exports, "Report", in_this_process)
        for kind, extra in (("csv", ""), ("pdf", ""), ("csv", "&lang=en")):
            response = client.get(f"/dashboard/export.{kind}?{QUERY}{extra}", headers=bearer(manager))
            assert response.status_code == 200, response.get_data(as_text=True)[:500]
            name = f"luot-2026-11-18-2026-11-18.{kind}"
            assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
            assert response.mimetype == {"csv": "text/csv", "pdf": "application/pdf"}[kind]
            bodies[kind + extra] = response.data
    assert csv_rows(bodies["csv"])[1:] == [TP, CA, TOTAL]
    english = csv_rows(bodies["csv&lang=en"])
    assert english[0][:3] == ["Agency", "Arrivals", "Served"] and english[-1][0] == "Total"
    assert bodies["pdf"].startswith(b"%PDF")
    # the same jobs built here, now that this process may: byte for byte what the children sent
    assert [job.kind for job in jobs] == ["csv", "pdf", "csv"]
    for job, body in zip(jobs, bodies.values(), strict=True):
        assert export_worker.build(job, luot.settings) == body


def test_a_failing_child_gives_a_clean_json_error(client, luot, played, monkeypatch, caplog):
    # the request still reads its own database; the child is sent to one that cannot be opened
    missing = luot.settings.instance_path / "missing" / "luot.sqlite3"
    monkeypatch.setattr(luot, "settings", dataclasses.replace(luot.settings, database_url=f"sqlite:///{missing}"))
    with caplog.at_level(logging.ERROR, logger="dashboard.routes"):
        response = client.get(f"/dashboard/export.pdf?{QUERY}", headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 500
    error = response.get_json()["error"]
    assert error["code"] == "export_failed"
    assert error["message"] == translate(HTTP_MESSAGES[500][1], "vi")
    assert "Traceback" not in response.get_data(as_text=True)
    assert "unable to open database file" in caplog.text  # the child's stderr is in the server log


def test_a_child_that_runs_out_of_time_is_killed_and_answers_504(client, played, monkeypatch):
    stuck = [sys.executable, "-c", "import sys, threading; sys.stdin.buffer.read(); threading.Event().wait()"]
    monkeypatch.setattr(export_worker, "COMMAND", stuck)
    monkeypatch.setattr(export_worker, "TIMEOUT", 1.0)
    response = client.get(f"/dashboard/export.csv?{QUERY}", headers=bearer(staff_token(client, "manager")))
    assert response.status_code == 504
    assert response.get_json()["error"]["code"] == "export_timeout"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_real_server_waits_for_the_child_cooperatively(tmp_path: Path, mode: str) -> None:
    """Under monkey-patching the wait goes through the green subprocess module; the file still arrives."""
    server = ServerProcess(tmp_path / "instance", async_mode=mode)
    server.prepare(build_world)
    server.start()
    api = Api(server.url)
    try:
        manager = api.login("manager")
        response = requests.get(
            f"{server.url}/dashboard/export.csv?{QUERY}&lang=en", headers=bearer(manager), timeout=60
        )
        assert response.status_code == 200, response.text[:500]
        rows = csv_rows(response.content)
        assert rows[0][:3] == ["Agency", "Arrivals", "Served"]
        assert rows[-1][:3] == ["Total", "0", "0"]
    finally:
        api.close()
        server.stop()
