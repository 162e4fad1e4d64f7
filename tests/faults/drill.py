"""The machinery of the fault drills: a steady load (kiosks issuing, clerks calling) that survives the server
being away, and the check every drill ends with.

"In order": a call answered before another was sent is announced before it on every board.

Check after a drill: no 5xx but 503 `storage_unavailable` or `storage_unconfirmed` (during the fault, or within
`CATCH_UP` seconds of its end), no `storage_unavailable` ("nothing was recorded") for a tap whose ticket was
recorded, a tap answered `storage_unconfirmed` recorded at most once (the same tap again finds it or makes it), no
ticket called twice, every acknowledged ticket present, and every call made after `since` announced on every board
within `CATCH_UP` seconds, in the order it was made.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests

from tests.integration._live import Api
from tests.support.live_board import LiveBoard, wait_until
from tests.support.world import PASSWORD

UNAVAILABLE = ("storage_unavailable", "storage_unconfirmed")  # the 503s a device retries
CATCH_UP = 5.0  # seconds: a call after recovery must be announced on every board within this


class Load:
    """One kiosk per URL issuing, one clerk per (URL, username, counter id) calling (next, start) at a clerk's pace,
    until `finish()`. A connection error or a 503 is a device's retry; any other 5xx is recorded."""

    def __init__(self, kiosk_urls: list[str], kiosk_token: str, clerks: list[tuple[str, str, int]]) -> None:
        self.stop = threading.Event()
        self.kiosk_token = kiosk_token
        self.acknowledged: list[dict] = []
        self.calls: dict[int, float] = {}  # ticket id → time.monotonic() of the clerk's answer
        self.asked: dict[int, float] = {}  # ticket id → time.monotonic() when the clerk sent the call
        self.called: list[int] = []  # every ticket id a clerk was given, repeats included
        self.server_errors: list[str] = []
        self.unavailable: list[float] = []  # time.monotonic() of each 503 storage_unavailable or _unconfirmed
        self.refused_taps: list[tuple[str, str]] = []  # (kiosk URL, Idempotency-Key): taps answered "nothing recorded"
        self.unconfirmed_taps: list[tuple[str, str]] = []  # the same, of taps answered "it may have been recorded"
        self.unanswered: list[float] = []  # time.monotonic() of each request with no answer (refused, timed out)
        self.threads = [threading.Thread(target=self._kiosk, args=(u, kiosk_token), daemon=True) for u in kiosk_urls]
        self.threads += [threading.Thread(target=self._clerk, args=clerk, daemon=True) for clerk in clerks]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(20)

    def calls_since(self, moment: float) -> dict[int, float]:
        return {ticket: at for ticket, at in list(self.calls.items()) if at > moment}

    def _answer(self, call: Callable[[], requests.Response]) -> requests.Response | None:
        try:
            response = call()
        except requests.RequestException:
            self.unanswered.append(time.monotonic())
            self.stop.wait(0.1)  # the server is away: a device's retry pause
            return None
        if response.status_code == 503 and _error_code(response) in UNAVAILABLE:
            self.unavailable.append(time.monotonic())
        elif response.status_code >= 500:
            self.server_errors.append(f"{response.status_code} {response.text[:200]}")
        return response

    def _kiosk(self, url: str, token: str) -> None:
        api = Api(url, token)
        while not self.stop.is_set():
            headers = {"Idempotency-Key": uuid.uuid4().hex}
            response = self._answer(
                lambda h=headers: api.post("/tickets", {"service": "TP-A"}, headers=h, timeout=5)  # type: ignore[misc]
            )
            if response is not None and response.status_code == 201:
                self.acknowledged.append(response.json())
            elif response is not None and response.status_code == 503:
                taps = self.unconfirmed_taps if _error_code(response) == "storage_unconfirmed" else self.refused_taps
                taps.append((url, headers["Idempotency-Key"]))
            self.stop.wait(0.05)
        api.close()

    def _clerk(self, url: str, username: str, counter: int) -> None:
        api = Api(url)
        while not self.stop.is_set():
            if not api.token:
                login = self._answer(
                    lambda: api.http.post(
                        f"{url}/api/v1/auth/token", timeout=5, json={"username": username, "password": PASSWORD}
                    )
                )
                if login is None or login.status_code != 200:
                    continue
                api.token = login.json()["token"]
                self._answer(lambda: api.post(f"/counters/{counter}/open", timeout=5))
            asked = time.monotonic()
            response = self._answer(lambda: api.post(f"/counters/{counter}/next", timeout=5))
            if response is not None and response.status_code == 200 and response.json().get("ticket"):
                ticket_id = response.json()["ticket"]["id"]
                self.asked[ticket_id] = asked
                self.calls[ticket_id] = time.monotonic()
                self.called.append(ticket_id)
                self._answer(lambda: api.post(f"/counters/{counter}/start", timeout=5))
            elif response is not None and response.status_code == 409:  # cut between next and start
                self._answer(lambda: api.post(f"/counters/{counter}/start", timeout=5))
            # A clerk's pace: ~0.75 calls a second per counter, far above a real hall's; a board away for a few
            # seconds finds the calls it missed among the snapshot's 12 recent calls.
            self.stop.wait(0.6)
        api.close()


def check(boards: list[LiveBoard], load: Load, since: float, since_wall: datetime, url: str) -> dict[str, Any]:
    """Waits (bounded) for every call answered after `since` (monotonic; `since_wall`: the same moment on the
    wall clock, to sort the boards' calls) to be announced on every board; asserts the drill's promises; returns
    the figures: calls after recovery, call × board pairs, when the first of them was answered and when the last
    board announced it (caught up), the worst announcement delay, when the last board had its snapshot again, the
    503s and the last of them (seconds from `since`)."""
    after = load.calls_since(since)

    horizon = since_wall - timedelta(seconds=2)  # a call committed just before `since` may be answered after it

    def known() -> dict[str, int]:
        """Call id → ticket id of the calls answered after `since`, as far as the boards heard of them."""
        calls: dict[str, int] = {}
        for board in boards:
            with board.lock:
                for call_id, at in board.heard.call_times.items():
                    ticket = board.heard.call_tickets[call_id]
                    if datetime.fromisoformat(at) > horizon and ticket in after:
                        calls[call_id] = ticket
        return calls

    def everywhere() -> bool:
        calls = known()
        return set(calls.values()) >= set(after) and all(set(b.announced()) >= set(calls) for b in boards)

    try:
        wait_until(everywhere, 30, "every call after recovery announced on every board")
    except AssertionError:
        calls = known()
        missing = [len(set(calls) - set(b.announced())) for b in boards]
        worst = max(boards, key=lambda b: len(set(calls) - set(b.announced())))
        print("\n".join(map(str, [e for e in worst.heard.log if e[0] in ("snapshot", "connect", "disconnect")])))
        raise AssertionError(
            f"{len(after)} calls after recovery, {len(calls)} known, unheard tickets "
            f"{sorted(set(after) - set(calls.values()))}, missing per board {missing}"
        ) from None
    calls = known()
    assert sorted(calls.values()) == sorted(after), "a call the boards never heard of, or a ticket called twice"
    latencies: list[float] = []
    for board in boards:
        heard = [c for c in board.announced_in_order() if c in calls]
        inversions = [(a, b) for i, a in enumerate(heard) for b in heard[i + 1 :] if _before(load, calls[b], calls[a])]
        assert not inversions, f"announced out of order: {inversions[:3]}"
        announced = board.announced()
        latencies += [announced[c] - after[calls[c]] for c in calls]
    back = [min((t for t in b.heard.snapshot_times if t > since - 1), default=since) - since for b in boards]
    first = min(calls, key=lambda c: after[calls[c]])  # the first call answered after recovery
    figures = {
        "calls_after_recovery": len(calls),
        "call_board_pairs": len(calls) * len(boards),
        "first_call_s": round(after[calls[first]] - since, 2),
        "caught_up_s": round(max(b.announced()[first] for b in boards) - since, 2),
        "worst_announce_s": round(max(latencies), 2),
        "last_board_back_s": round(max(back), 2),
        "acknowledged": len(load.acknowledged),
        "answered_503": len(load.unavailable),
        "unconfirmed_taps": len(load.unconfirmed_taps),
        "last_503_s": round(max(load.unavailable) - since, 2) if load.unavailable else None,
        "unanswered": len(load.unanswered),
    }
    assert max(latencies) <= CATCH_UP, figures
    assert not load.server_errors, load.server_errors[:3]
    assert not load.unavailable or max(load.unavailable) - since <= CATCH_UP, f"503 long after recovery: {figures}"
    assert len(load.called) == len(set(load.called)), "a ticket was called twice"
    api = Api(url)
    for ticket in load.acknowledged:
        assert api.get(f"/tickets/{ticket['tracking_token']}").status_code == 200, "an acknowledged ticket is lost"
    api.close()
    _check_refused_taps(load)
    return figures


def _check_refused_taps(load: Load) -> None:
    """A tap answered 503 "nothing was recorded" must have recorded nothing: the same tap again (its
    Idempotency-Key) makes a new ticket (201), where a recorded one would be answered 200 with the ticket that was
    there all along. A tap answered 503 "it may have been recorded" is there at most once: the same tap again finds
    it (200) or makes it (201), and a third time gives that same ticket."""
    for url, key in load.refused_taps:
        api = Api(url, load.kiosk_token)
        again = api.post("/tickets", {"service": "TP-A"}, headers={"Idempotency-Key": key})
        api.close()
        assert again.status_code == 201, f"a tap answered 503 had recorded ticket {again.text[:200]}"
    for url, key in load.unconfirmed_taps:
        api = Api(url, load.kiosk_token)
        again = api.post("/tickets", {"service": "TP-A"}, headers={"Idempotency-Key": key})
        third = api.post("/tickets", {"service": "TP-A"}, headers={"Idempotency-Key": key})
        api.close()
        assert again.status_code in (200, 201), again.text[:200]
        assert (third.status_code, third.json()["id"]) == (200, again.json()["id"]), "one tap, two tickets"


def _error_code(response: requests.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def _before(load: Load, first: int, second: int) -> bool:
    """Whether the call of ticket `first` was answered before the call of `second` was sent: then it was committed
    and published first, and every board must announce it first. Calls that overlap (two clerks at once, on one
    process or two) may be announced either way."""
    return load.calls[first] < load.asked[second]
