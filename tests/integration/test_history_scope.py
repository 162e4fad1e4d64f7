"""History's filters name only what the caller may see: an agency, service, counter or clerk id of another site
is dropped like any unknown value, on the page and in every export, so a site's manager cannot read other sites'
names by trying ids (the heading once said "Cán bộ: Quản trị hệ thống" for any user id)."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlmodel import select

from server.clock import LOCAL_TZ
from server.domain import queueing
from server.models import Agency, Counter, Service, User
from tests.support.api import bearer, staff_token
from tests.support.forms import text_of

QUERY = "from=2026-11-17&to=2026-11-17"
SECRET_NAMES = {
    "clerk": "Cán bộ Chi nhánh Khác",
    "admin": "Quản trị hệ thống",
    "agency": "Ủy ban Bí mật",
    "service": "Tiếp nhận Bí mật",
    "counter": "Quầy Bí mật",
}


@pytest.fixture
def other_site_ids(luot, world) -> dict[str, int]:
    """The other site's (HP) agency, service, counter and clerk, and the province-level admin, with telling names."""
    with luot.db.write() as s:
        agency = s.exec(select(Agency).where(Agency.site_id == world.other_site_id)).one()
        service = s.exec(select(Service).where(Service.site_id == world.other_site_id)).one()
        counter = s.exec(select(Counter).where(Counter.site_id == world.other_site_id)).one()
        clerk, admin = s.get(User, world.users["otherclerk"]), s.get(User, world.users["admin"])
        agency.name, service.name = SECRET_NAMES["agency"], SECRET_NAMES["service"]
        counter.name = SECRET_NAMES["counter"]
        clerk.full_name, admin.full_name = SECRET_NAMES["clerk"], SECRET_NAMES["admin"]
        s.add_all([agency, service, counter, clerk, admin])
        s.flush()
        return {
            "agency": agency.id,
            "service": service.id,
            "counter": counter.id,
            "clerk": clerk.id,
            "admin": admin.id,
        }


def filter_query(name: str, item_id: int) -> str:
    return f"{QUERY}&{'clerk' if name == 'admin' else name}={item_id}"


@pytest.mark.parametrize("name", list(SECRET_NAMES))
def test_a_site_manager_never_reads_another_sites_names_through_an_id(client, world, other_site_ids, name):
    manager = bearer(staff_token(client, "manager"))
    query = filter_query(name, other_site_ids[name])
    page = client.get(f"/dashboard/history?{query}", headers=manager)
    assert page.status_code == 200
    assert SECRET_NAMES[name] not in text_of(page)
    assert f"#{other_site_ids[name]}" not in text_of(page).split("Kỳ báo cáo", 1)[-1][:300]  # no "#id" either
    for kind in ("csv", "xlsx", "pdf"):
        download = client.get(f"/dashboard/export.{kind}?{query}", headers=manager)
        assert download.status_code == 200, download.get_data(as_text=True)[:300]
        assert SECRET_NAMES[name] not in exported_text(kind, download.data), kind


def test_a_dropped_filter_leaves_the_figures_of_the_whole_site(client, luot, clock, world, other_site_ids):
    """What is shown is what is filtered: the dropped filter is neither in the heading nor in the figures."""
    clock.set(datetime(2026, 11, 17, 9, 0, tzinfo=LOCAL_TZ))
    luot.run(queueing.open_counter, world.counters["c1"], world.users["clerk1"])
    luot.run(queueing.issue_ticket, site_id=world.site_id, service_code="TP-A")
    luot.run(queueing.call_next, world.counters["c1"], world.users["clerk1"])
    luot.run(queueing.finish, world.counters["c1"], world.users["clerk1"])
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=LOCAL_TZ))
    manager = bearer(staff_token(client, "manager"))
    plain = client.get(f"/dashboard/export.csv?{QUERY}", headers=manager).data
    for name in SECRET_NAMES:
        probed = client.get(f"/dashboard/export.csv?{filter_query(name, other_site_ids[name])}", headers=manager)
        assert probed.data == plain and b"\r\nT\xe1\xbb\x95ng c\xe1\xbb\x99ng,1,1," in plain  # "Tổng cộng,1,1,"


def test_the_sites_own_names_and_a_province_admins_view_still_filter(client, world, other_site_ids, luot):
    manager = bearer(staff_token(client, "manager"))
    with luot.db.write() as s:
        own = s.get(User, world.users["clerk1"])
        own.full_name = "Cán bộ Một"
        s.add(own)
    page = text_of(client.get(f"/dashboard/history?{QUERY}&clerk={world.users['clerk1']}", headers=manager))
    assert "Cán bộ Một" in page
    admin = bearer(staff_token(client, "admin"))  # province-level: every site's names are theirs to see
    for name in SECRET_NAMES:
        page = text_of(client.get(f"/dashboard/history?{filter_query(name, other_site_ids[name])}", headers=admin))
        assert SECRET_NAMES[name] in page, name


def exported_text(kind: str, body: bytes) -> str:
    if kind == "pdf":
        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    if kind == "xlsx":
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body))
        return "\n".join(str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row)
    return body.decode("utf-8-sig")
