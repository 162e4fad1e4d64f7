"""The one-stop export round-trips (issue 15): a ticket issued, served with two dossier codes (one during
service, one with Finish), rated by the citizen, exported as CSV and JSON (API and `luot export onestop`), and
every field checked against the database. Cells a spreadsheet would run are neutralised."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.commands import cli
from server.models import Agency, Counter, Rating, Service, Site, Ticket, TicketDossier, User
from server.stats.onestop import FIELD_NAMES
from tests.support.api import act, bearer, issue, staff_token

DAY = "2026-11-18"
FORMULA_NAME = '=HYPERLINK("http://evil.example","Cán bộ")'


@pytest.fixture
def served(client, world, luot, clock):
    """TP-A ticket: issued 09:00, called 09:05 at counter 1 by clerk1 (named with a formula), started 09:06,
    dossier A attached 09:10, finished 09:20 with dossier B, rated on the phone 09:21 with a reason; and an
    unserved second ticket (no dossier, no rating)."""
    with luot.db.write() as session:
        clerk = session.get(User, world.users["clerk1"])
        clerk.full_name = FORMULA_NAME
        session.add(clerk)
    ticket = issue(client, world.kiosk_token, "TP-A")
    waiting = issue(client, world.kiosk_token, "TP-A")
    token = staff_token(client, "clerk1")
    counter = world.counters["c1"]
    act(client, token, counter, "open")
    clock.advance(minutes=5)
    act(client, token, counter, "next")
    clock.advance(minutes=1)
    act(client, token, counter, "start")
    clock.advance(minutes=4)
    attached = act(
        client, token, counter, "dossiers", dossiers=["000.00.10.H12-251118-0001", " 000.00.10.H12-251118-0001"]
    )
    assert attached["dossiers"] == ["000.00.10.H12-251118-0001"]
    clock.advance(minutes=10)
    act(client, token, counter, "finish", dossiers=["H12.99-251118-0002"])
    clock.advance(minutes=1)
    rated = client.post(
        f"/api/v1/tickets/{ticket['tracking_token']}/rating",
        json={"score": "unsatisfied", "reasons": ["Chờ lâu"], "comment": "lâu quá"},
    )
    assert rated.status_code == 201, rated.get_json()
    return {"ticket": ticket, "waiting": waiting}


def expected_row(luot, ticket_id: int) -> dict:
    """The row built by hand from the database (never from the exporter's code)."""
    with luot.db.read() as s:
        t = s.get(Ticket, ticket_id)
        site, agency, service = s.get(Site, t.site_id), s.get(Agency, t.agency_id), s.get(Service, t.service_id)
        counter = s.get(Counter, t.counter_id) if t.counter_id else None
        clerk = s.get(User, t.clerk_id) if t.clerk_id else None
        codes = list(
            s.exec(select(TicketDossier.code).where(TicketDossier.ticket_id == t.id).order_by(TicketDossier.id)).all()
        )
        rating = s.exec(select(Rating).where(Rating.ticket_id == t.id)).first()

    def local(x):
        return x.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if x else ""

    def minutes(a, b):
        return round((a - b).total_seconds() / 60, 1) if a and b else None

    started = (t.started_at or t.called_at) if counter else None
    return {
        "ticket_id": t.id,
        "service_date": t.service_date.isoformat(),
        "ticket_number": t.display_number,
        "status": t.status,
        "site_code": site.code,
        "site_name": site.name,
        "agency_code": agency.code,
        "agency_name": agency.name,
        "service_code": service.code,
        "service_name": service.name,
        "counter_number": counter.number if counter else None,
        "clerk_username": clerk.username if clerk else "",
        "clerk_name": clerk.full_name if clerk else "",
        "dossier_codes": codes,
        "issued_at": local(t.issued_at),
        "called_at": local(t.first_called_at),
        "started_at": local(started),
        "finished_at": local(t.finished_at),
        "wait_minutes": minutes(t.first_called_at, t.issued_at),
        "service_minutes": minutes(t.finished_at, started) if t.finished_at else None,
        "rating": rating.score if rating else "",
        "rating_reasons": rating.reasons if rating else [],
        "rating_source": rating.source if rating else "",
        "rated_at": local(rating.at) if rating else "",
    }


def test_the_json_export_round_trips_every_field(client, world, luot, served):
    manager = bearer(staff_token(client, "manager"))
    response = client.get(f"/api/v1/exports/onestop?from={DAY}&to={DAY}&format=json", headers=manager)
    assert response.status_code == 200, response.get_data(as_text=True)
    document = response.get_json()
    assert document["fields"] == list(FIELD_NAMES)
    rows = {row["ticket_id"]: row for row in document["tickets"]}
    assert set(rows) == {served["ticket"]["id"], served["waiting"]["id"]}
    mine = rows[served["ticket"]["id"]]
    assert mine == expected_row(luot, served["ticket"]["id"])
    # the figures themselves, by hand: issued 09:00, first call 09:05, start 09:06, finish 09:20
    assert (mine["wait_minutes"], mine["service_minutes"]) == (5.0, 14.0)
    assert mine["dossier_codes"] == ["000.00.10.H12-251118-0001", "H12.99-251118-0002"]
    assert (mine["rating"], mine["rating_reasons"], mine["rating_source"]) == ("unsatisfied", ["Chờ lâu"], "phone")
    assert mine["issued_at"] == "2026-11-18T09:00:00+07:00" and mine["finished_at"] == "2026-11-18T09:20:00+07:00"
    assert rows[served["waiting"]["id"]] == expected_row(luot, served["waiting"]["id"])


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Vietnamese right
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def as_csv_text(value) -> str:
    if isinstance(value, list):
        return ";".join(value)
    return "" if value is None else str(value)


def test_the_csv_export_round_trips_and_neutralises_formulas(client, world, luot, served, tmp_path, monkeypatch):
    manager = bearer(staff_token(client, "manager"))
    response = client.get(f"/api/v1/exports/onestop?from={DAY}&to={DAY}", headers=manager)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = {int(row["ticket_id"]): row for row in csv_rows(response.data)}
    expected = expected_row(luot, served["ticket"]["id"])
    mine = rows[served["ticket"]["id"]]
    assert list(mine) == list(FIELD_NAMES)
    for name in FIELD_NAMES:
        if name == "clerk_name":
            assert mine[name] == "'" + FORMULA_NAME  # a formula to Excel: neutralised
        else:
            assert mine[name] == as_csv_text(expected[name]), name
    # the command line gives the same file
    monkeypatch.setenv("LUOT_INSTANCE_DIR", str(luot.settings.instance_dir))
    out = tmp_path / "onestop.csv"
    result = CliRunner().invoke(cli, ["export", "onestop", "--from", DAY, "--to", DAY, "--output", str(out)])
    assert result.exit_code == 0, result.output
    from_cli = {int(row["ticket_id"]): row for row in csv_rows(out.read_bytes())}
    assert from_cli[served["ticket"]["id"]] == mine
    waiting = served["waiting"]["id"]  # the command's today is the machine's, after DAY: a past day's open ticket
    assert rows[waiting]["status"] == "waiting" and from_cli[waiting] == {**rows[waiting], "status": "cancelled"}
    as_json = CliRunner().invoke(cli, ["export", "onestop", "--from", DAY, "--to", DAY, "--format", "json"])
    assert json.loads(as_json.output)["tickets"][0] == expected_row(luot, served["ticket"]["id"])


def test_the_export_needs_a_manager_and_valid_days(client, world, served):
    url = f"/api/v1/exports/onestop?from={DAY}&to={DAY}"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(staff_token(client, "clerk1"))).status_code == 403
    manager = bearer(staff_token(client, "manager"))
    assert client.get("/api/v1/exports/onestop?from=yesterday&to=2026-11-18", headers=manager).status_code == 400
    assert client.get(f"{url}&site=HP", headers=manager).status_code == 403  # the manager's site is HN


def test_a_bad_dossier_code_is_refused_with_400(client, world):
    issue(client, world.kiosk_token, "TP-A")
    token = staff_token(client, "clerk1")
    act(client, token, world.counters["c1"], "open")
    act(client, token, world.counters["c1"], "next")
    refused = act(client, token, world.counters["c1"], "dossiers", expect=400, dossiers=["=cmd|' /C calc'!A0"])
    assert refused["error"]["code"] == "invalid_dossier_code"
    assert refused["error"]["messages"]["vi"].startswith("Mã hồ sơ không hợp lệ")


def test_the_readme_documents_every_field_of_the_export():
    from pathlib import Path

    from server.stats.onestop import FIELDS

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme.split("<!-- onestop-fields")[1].split("<!-- /onestop-fields -->")[0]
    documented = [line.split("|")[1].strip().strip("`") for line in table.splitlines() if line.startswith("| `")]
    assert documented == list(FIELD_NAMES)
    for name, meaning in FIELDS:
        assert f"| `{name}` | {meaning} |" in table
