"""`make demo`: opening hours, 30 finished days of history rolled up, and tickets at any hour until the site's
rule is turned off."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session, col, func, select

from server.clock import LOCAL_TZ, SystemClock, local_date
from server.commands import cli
from server.db import Database
from server.demo_data import DEMO_PASSWORDS, OFFICE_HOURS, SATURDAY_AGENCIES, seed_demo
from server.demo_history import fill_history
from server.domain.hours import is_open
from server.models import Agency, Service, Site, Ticket
from server.settings import load_settings
from server.stats.models import StatsRolledDay
from tests.support.api import bearer
from tests.support.forms import form_of, post

ROOT = Path(__file__).parents[2]


def test_make_demo_asks_for_thirty_days_of_history():
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "luot seed-demo --history-days 30" in recipe


def test_seed_demo_plays_thirty_days_within_opening_hours_and_rolls_them_up(tmp_path, monkeypatch, migrated_instance):
    shutil.copytree(migrated_instance, tmp_path / "inst")
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(tmp_path / "inst"))
    runner = CliRunner()
    result = runner.invoke(cli, ["seed-demo", "--history-days", "30"])
    assert result.exit_code == 0, result.output
    played = int(re.search(r"History: (\d+) tickets", result.output)[1])
    assert played > 10_000
    today = local_date(SystemClock().now())
    db = Database(load_settings())
    with db.read() as s:
        services = {sv.id: sv for sv in s.exec(select(Service))}
        agencies = {a.id: a.code for a in s.exec(select(Agency))}
        for service in services.values():
            assert service.opening_hours["periods"] == OFFICE_HOURS["periods"], service.code
            assert service.opening_hours["days"] == [0, 1, 2, 3, 4]
        saturday = {agencies[sv.agency_id] for sv in services.values() if "5" in sv.opening_hours.get("by_day", {})}
        assert set(SATURDAY_AGENCIES) <= saturday and "SXD" not in saturday
        rolled = s.exec(select(StatsRolledDay.site_id, StatsRolledDay.day)).all()
        assert {d for _s, d in rolled} == {today - timedelta(days=n) for n in range(1, 31)}
        assert len(rolled) == 30 * s.exec(select(func.count()).select_from(Site)).one()
        per_day = defaultdict(set)
        for ticket in s.exec(select(Ticket)):
            assert ticket.service_date < today
            assert is_open(services[ticket.origin_service_id].opening_hours, ticket.issued_at), ticket.issued_at
            per_day[ticket.service_date].add(agencies[ticket.agency_id])
        saturdays = [d for d in per_day if d.weekday() == 5]
        assert saturdays and all(per_day[d] <= saturday for d in saturdays)
        assert not [d for d in per_day if d.weekday() == 6]
        assert all(len(per_day[d]) >= 20 for d in per_day if d.weekday() < 5)
    db.dispose()
    again = runner.invoke(cli, ["seed-demo", "--history-days", "30"])
    assert "Demo data already present." in again.output and "History: 0 tickets" in again.output


def demo_token(client, username: str) -> dict[str, str]:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORDS[username]})
    assert reply.status_code == 200, reply.get_json()
    return bearer(reply.get_json()["token"])


def test_history_and_its_charts_are_full_on_first_look(luot, client, clock):
    with Session(luot.db.engine) as session:
        seed_demo(session)
        session.commit()
        fill_history(session, clock.now(), 30)
    page = client.get("/dashboard/history", headers=demo_token(client, "manager"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    issued = re.search(r'data-figure="issued"><span class="label">[^<]*</span><span class="value">([^<]+)<', html)
    assert int(issued[1].replace(".", "").replace("\u202f", "")) > 10_000
    trend = html.split('data-chart="trend"', 1)[1].split("</svg>", 1)[0]
    assert trend.count("<circle") >= 3 * 20  # arrivals, served and wait on each working day


def test_the_demo_takes_tickets_at_midnight_until_its_rule_is_turned_off(luot, client, clock):
    with luot.db.write() as session:
        seed_demo(session)
    clock.set(datetime(2026, 11, 22, 23, 30, tzinfo=LOCAL_TZ))  # a Sunday night
    kiosk = bearer("demo-kiosk-1")
    taken = client.post("/api/v1/tickets", json={"service": "STP-LLTP"}, headers=kiosk)
    assert taken.status_code == 201, taken.get_json()
    offered = client.get("/api/v1/services", headers=kiosk).get_json()
    assert all(s["open_now"] for a in offered["agencies"] for s in a["services"])
    with luot.db.read() as session:
        site_id = session.exec(select(Site.id).where(col(Site.code) == "TTHCC")).one()
    admin = demo_token(client, "admin")
    form = client.get(f"/admin/sites/{site_id}", headers=admin).get_data(as_text=True)
    assert re.search(r'name="rule-issue_outside_hours" checked', form)
    turned_off = post(
        client,
        admin,
        f"/admin/sites/{site_id}",
        form_of(client, admin, f"/admin/sites/{site_id}"),
        **{"rule-issue_outside_hours": []},
    )
    assert turned_off.status_code == 302, turned_off.get_data(as_text=True)[:3000]
    with luot.db.read() as session:
        assert "issue_outside_hours" not in session.get(Site, site_id).settings
    refused = client.post("/api/v1/tickets", json={"service": "STP-LLTP"}, headers=kiosk)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "service_closed"
    offered = client.get("/api/v1/services", headers=kiosk).get_json()
    assert not any(s["open_now"] for a in offered["agencies"] for s in a["services"])
