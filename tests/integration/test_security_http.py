"""Issue 14: HTTP-level hardening — CSRF with odd Authorization headers (4), formula injection in exports (6),
huge ids and deeply nested JSON (8), cookies and headers behind TLS and on every page (10, 12)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from server.models import Agency
from tests.integration.test_exports import QUERY, download, played  # noqa: F401  (fixture)
from tests.support.api import bearer, staff_token
from tests.support.world import PASSWORD

# ---------------------------------------------------------------- 4: CSRF whatever the Authorization header


@pytest.mark.parametrize("header", ["Basic Y2xlcmsxOnNlY3JldA==", "Negotiate abc", "Bearer", "Bearer ", "Digest x"])
def test_a_cookie_request_needs_the_csrf_token_whatever_authorization_says(client, world, header) -> None:
    assert client.post("/api/v1/auth/login", json={"username": "clerk1", "password": PASSWORD}).status_code == 200
    url = f"/api/v1/counters/{world.counters['c1']}/open"
    response = client.post(url, json={}, headers={"Authorization": header})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"


def test_a_bearer_request_ignores_the_cookie(client, world) -> None:
    """Signed in as the manager by cookie, but the Bearer token is the clerk's: the clerk acts, no CSRF asked."""
    clerk = staff_token(client, "clerk1")
    assert client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}).status_code == 200
    me = client.get("/api/v1/auth/me", headers=bearer(clerk)).get_json()
    assert me["id"] == world.users["clerk1"]
    url = f"/api/v1/counters/{world.counters['c1']}/open"
    assert client.post(url, json={}, headers=bearer(clerk)).status_code == 200


# ---------------------------------------------------------------- 6: formula injection in exports

PAYLOADS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_cells_never_start_a_formula(client, played, luot, payload) -> None:  # noqa: F811
    with luot.db.write() as session:
        agency = session.exec(select(Agency).where(Agency.code == "TP")).one()
        agency.name = payload
        session.add(agency)
    data = download(client, staff_token(client, "manager"), "csv")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    labels = [row[0] for row in rows]
    assert "'" + payload in labels
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_excel_cells_are_text_not_formulas(client, played, luot) -> None:  # noqa: F811
    from openpyxl import load_workbook

    with luot.db.write() as session:
        agency = session.exec(select(Agency).where(Agency.code == "TP")).one()
        agency.name = PAYLOADS[0]
        session.add(agency)
    data = download(client, staff_token(client, "manager"), "xlsx", "&q=%3D1%2B1")
    book = load_workbook(io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert any(cell.value == PAYLOADS[0] for cell in cells)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


# ---------------------------------------------------------------- 8: no 500 for huge ids or deep JSON

HUGE = 2**63
HUGER = 2**80


@pytest.mark.parametrize("big", [HUGE, HUGER, -(2**63) - 1])
@pytest.mark.parametrize(
    "method, path, who",
    [
        ("post", "/api/v1/counters/{id}/open", "clerk1"),
        ("post", "/api/v1/counters/{id}/call-next", "clerk1"),
        ("get", "/counter/{id}/state", "clerk1"),
        ("get", "/dashboard/history?agency={id}", "manager"),
        ("get", "/dashboard/history?counter={id}", "manager"),
        ("get", "/dashboard/?site={id}", "manager"),
        ("get", "/admin/audit?page={id}", "admin"),
        ("get", "/admin/counters/{id}", "admin"),
        ("get", "/api/v1/tickets/{id}", "clerk1"),
    ],
)
def test_huge_ids_are_a_clean_4xx(client, world, method, path, who, big) -> None:
    token = staff_token(client, who)
    response = getattr(client, method)(path.format(id=big), json={}, headers=bearer(token))
    if big < 0 and "page=" in path:  # a page before the first is the first page
        assert response.status_code == 200
        return
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    if response.is_json:
        assert response.get_json()["error"]["code"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "path, who",
    [
        ("/api/v1/auth/login", None),
        ("/api/v1/auth/token", None),
        ("/api/v1/tickets", "kiosk"),
        ("/api/v1/counters/{c1}/open", "clerk1"),
    ],
)
def test_deeply_nested_json_is_a_clean_400(client, world, path, who) -> None:
    headers = {"Content-Type": "application/json"}
    if who == "kiosk":
        headers.update(bearer(world.kiosk_token))
    elif who:
        headers.update(bearer(staff_token(client, who)))
    body = '{"username": ' + nested(50_000) + "}"  # ~100 KB
    response = client.post(path.format(c1=world.counters["c1"]), data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] in ("invalid_body", "bad_request")
