"""The demo centre (20 agencies, 43 counters) on a busy morning, for screen tests.

`start_busy_hall(instance_dir)` seeds the demo as an operator would (`luot init`, `luot seed-demo`), adds a few
devices the screen tests need (a counter display of a paused counter, a rating tablet of a counter of its own, a
board with the counter grid layout),
starts the server with its clock at a Wednesday 9:00, then plays a busy line through the REST API: every
agency has people waiting (Công an 2, as in the report that asked for this), the first counter of each agency
has called a citizen, counter 2 recalled its citizen, counter 5 is paused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlmodel import col, select

from server.db import Database
from server.demo_data import AGENCIES, CENTRE_CODE, DEMO_PASSWORDS
from server.models import Counter, Site, Ticket
from server.process import ServerProcess
from server.provisioning import create_device

WEDNESDAY_9AM = "2026-11-18T09:00:00+07:00"
KIOSK_TOKEN = "demo-kiosk-1"
BOARD_TOKEN = "demo-board-hall"
COUNTER_DISPLAY_TOKEN = "demo-counter-1"
PAUSED_DISPLAY_TOKEN = "screens-counter-5"
RATING_TOKEN = "screens-rating-7"
GRID_BOARD_TOKEN = "screens-board-grid"
PAUSED_COUNTER = 5
RECALLED_COUNTER = 2
TABLET_COUNTER = 7
# People left waiting per agency (in AGENCIES order) once the first counters have called: a busy morning.
WAITING = [9, 6, 8, 7, 5, 3, 4, 6, 5, 4, 2, 3, 2, 14, 11, 9, 3, 2, 7, 3]


@dataclass
class BusyHall:
    server: ServerProcess
    counter_ids: dict[int, int]  # counter number → id
    calls: list[dict[str, Any]] = field(default_factory=list)  # the call responses, in order
    open_counters: list[int] = field(default_factory=list)  # the numbers of the counters open (or paused)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def post(self, path: str, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            f"{self.url}/api/v1{path}", json=body or {}, headers={"Authorization": f"Bearer {token}"}, timeout=20
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    def clerk(self, number: int) -> str:
        """The Bearer token of the demo clerk of counter `number` (clerk01 … clerk43)."""
        username = f"clerk{number:02d}"
        if username not in self.tokens:
            response = requests.post(
                f"{self.url}/api/v1/auth/token",
                json={"username": username, "password": DEMO_PASSWORDS["clerk"]},
                timeout=20,
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["token"]
        return self.tokens[username]

    def act(self, number: int, action: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.post(f"/counters/{self.counter_ids[number]}/{action}", self.clerk(number), body)

    def issue(self, service: str) -> dict[str, Any]:
        return self.post("/tickets", KIOSK_TOKEN, {"service": service})

    def waiting_by_agency(self) -> dict[int, int]:
        """Agency id → people waiting, as the kiosk's catalogue says now."""
        response = requests.get(
            f"{self.url}/api/v1/services", headers={"Authorization": f"Bearer {KIOSK_TOKEN}"}, timeout=20
        )
        assert response.status_code == 200, response.text
        return {agency["id"]: agency["waiting"] for agency in response.json()["agencies"]}

    def tracking_token(self, display_number: str) -> str:
        db = Database(self.server.settings())
        try:
            with db.read() as session:
                ticket = session.exec(select(Ticket).where(Ticket.display_number == display_number)).one()
                return ticket.tracking_token
        finally:
            db.dispose()


def first_counters() -> list[int]:
    """The number of each agency's first counter, in AGENCIES order (the demo numbers counters agency by agency)."""
    numbers, next_number = [], 1
    for _code, _name, _en, counters, _services in AGENCIES:
        numbers.append(next_number)
        next_number += counters
    return numbers


def _add_devices(db: Database) -> dict[int, int]:
    with db.write() as session:
        site = session.exec(select(Site).where(Site.code == CENTRE_CODE)).one()
        counters = session.exec(select(Counter).where(Counter.site_id == site.id).order_by(col(Counter.number))).all()
        ids = {c.number: c.id or 0 for c in counters}
        create_device(
            session,
            site,
            "counter_display",
            "Màn hình quầy 5",
            PAUSED_DISPLAY_TOKEN,
            counter_id=ids[PAUSED_COUNTER],
        )
        create_device(session, site, "rating", "Máy đánh giá quầy 7", RATING_TOKEN, counter_id=ids[TABLET_COUNTER])
        create_device(session, site, "board", "Màn hình lưới quầy", GRID_BOARD_TOKEN, layout="counters")
    return ids


def start_busy_hall(instance_dir: Path) -> BusyHall:
    """A started server on the demo data with a busy line (see the module docstring); stop it with `.server.stop()`."""
    server = ServerProcess(instance_dir, env={"LUOT_CLOCK_START": WEDNESDAY_9AM})
    server.seed_demo()
    ids = server.prepare(_add_devices)
    assert isinstance(ids, dict)
    server.start()
    hall = BusyHall(server, ids)
    try:
        firsts = first_counters()
        for (_code, _name, _en, _counters, services), waiting, first in zip(AGENCIES, WAITING, firsts, strict=True):
            extra = 2 if first in (1,) else 1  # counter 2 (same agency as 1) calls one more
            for index in range(waiting + extra):
                hall.issue(services[index % len(services)][0])
        for first in firsts:
            hall.act(first, "open")
            hall.calls.append(hall.act(first, "next"))
        hall.act(RECALLED_COUNTER, "open")
        hall.calls.append(hall.act(RECALLED_COUNTER, "next"))
        hall.calls.append(hall.act(RECALLED_COUNTER, "recall"))
        hall.act(PAUSED_COUNTER, "open")
        hall.act(PAUSED_COUNTER, "pause", {"reason": "Họp giao ban"})
        hall.open_counters = sorted({*firsts, RECALLED_COUNTER, PAUSED_COUNTER})
    except BaseException:
        server.stop()
        raise
    return hall
