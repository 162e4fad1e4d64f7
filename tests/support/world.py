"""A small site built through the production provisioning code: 2 agencies, 4 services, 3 counters."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from server.auth import hash_password
from server.db import Database
from server.provisioning import (
    create_agency,
    create_counter,
    create_device,
    create_sequence,
    create_service,
    create_site,
    create_user,
)

PASSWORD = "secret-pass"


@cache
def password_hash() -> str:
    """Hashed once per test process: argon2 is slow on purpose."""
    return hash_password(PASSWORD)


@dataclass
class World:
    site_id: int
    other_site_id: int
    counters: dict[str, int]  # "c1" … → counter id
    users: dict[str, int]  # username → id
    kiosk_token: str = "kiosk-token-1"
    board_token: str = "board-token-1"
    other_board_token: str = "board-token-other"
    filtered_board_token: str = "board-token-filtered"
    rating_token: str = "rating-token-1"


def build_world(db: Database, **site_settings: object) -> World:
    """Site HN: agency TP (services TP-A, TP-B sharing numbers 1001–1999), agency CA (CA-X 1–999 prefix A,
    CA-Y with cap 2 and office hours). Counters 1 (TP-A, TP-B), 2 (TP-A), 3 (CA-X, CA-Y)."""
    with db.write() as s:
        site = create_site(s, "HN", "Trung tâm Phục vụ hành chính công thử nghiệm", **site_settings)
        other = create_site(s, "HP", "Chi nhánh khác")
        tp = create_agency(s, site, "TP", "Sở Tư pháp", "Department of Justice", sort_order=1)
        ca = create_agency(s, site, "CA", "Công an tỉnh", "Provincial Police", sort_order=2)
        tp_seq = create_sequence(s, site, "TP", "", 1001, 1999)
        tp_a = create_service(s, tp, "TP-A", "Cấp phiếu lý lịch tư pháp", sequence=tp_seq)
        tp_b = create_service(s, tp, "TP-B", "Chứng thực", sequence=tp_seq)
        ca_x = create_service(s, ca, "CA-X", "Xuất nhập cảnh", prefix="A", first=1, last=999)
        ca_y = create_service(
            s,
            ca,
            "CA-Y",
            "Căn cước",
            first=1,
            last=999,
            daily_cap=2,
            opening_hours={"days": [0, 1, 2, 3, 4], "periods": [["07:30", "11:30"], ["13:30", "17:00"]]},
        )
        other_agency = create_agency(s, other, "UB", "Ủy ban")
        other_service = create_service(s, other_agency, "UB-1", "Tiếp nhận")
        c1 = create_counter(s, site, 1, [tp_a, tp_b])
        c2 = create_counter(s, site, 2, [tp_a])
        c3 = create_counter(s, site, 3, [ca_x, ca_y])
        create_counter(s, other, 1, [other_service])
        users = {}
        for name, role, where in (
            ("clerk1", "clerk", site),
            ("clerk2", "clerk", site),
            ("clerk3", "clerk", site),
            ("manager", "manager", site),
            ("admin", "admin", None),
            ("otherclerk", "clerk", other),
        ):
            users[name] = create_user(s, name, PASSWORD, role, where, password_hash=password_hash()).id
        create_device(s, site, "kiosk", "Kiosk 1", "kiosk-token-1")
        create_device(s, site, "board", "Board 1", "board-token-1")
        create_device(s, site, "board", "Board CA", "board-token-filtered", agency_ids=[ca.id])
        create_device(s, other, "board", "Board other", "board-token-other")
        create_device(s, site, "rating", "Rating 1", "rating-token-1", counter_id=c1.id)
        return World(site.id, other.id, {"c1": c1.id, "c2": c2.id, "c3": c3.id}, users)
