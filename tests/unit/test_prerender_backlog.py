"""Pre-rendering a call's audio is bounded (issue 13): a burst of calls starts at most PRERENDER_BACKLOG renders;
every call still carries its audio URL (a board's request renders the rest), and places free up as renders end."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from server.domain import events as ev
from server.domain.readmodels import TicketView
from server.domain.rules import SiteRules
from server.voice.calls import PRERENDER_BACKLOG, Announcer

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


class BlockingAudio:
    """An engine whose renders wait until released; counts the renders started."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = 0
        self.lock = threading.Lock()
        self.all_started = threading.Condition(self.lock)

    def available(self) -> bool:
        return True

    def render(self, text: str) -> Path | None:
        with self.lock:
            self.started += 1
            self.all_started.notify_all()
        self.release.wait(30)
        return None


class OneCounterLines:
    def site(self, site_id: int, now: Any = None) -> Any:
        counter = SimpleNamespace(number=7, name="Quầy 7")
        return SimpleNamespace(counters={3: counter}, rules=SiteRules())


def _call(number: int) -> ev.TicketCalled:
    view = TicketView(
        id=number, site_id=1, service_id=1, agency_id=1, number=number, display_number=f"A{number:03d}",
        status="called", priority="", tracking_token=f"t{number}", issued_at=NOW, queue_since=NOW, counter_id=3,
        counter_number=7, recall_count=0, service_date="2026-11-30",
    )  # fmt: skip
    return ev.TicketCalled(site_id=1, at=NOW, ticket=view, call_id=f"c{number}")


def test_a_burst_of_calls_starts_at_most_the_backlog_of_renders() -> None:
    audio = BlockingAudio()
    threads: list[threading.Thread] = []

    def spawn(target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args)
        threads.append(thread)
        thread.start()

    announcer = Announcer(db=None, audio=audio, start_background_task=spawn, lines=OneCounterLines())  # type: ignore[arg-type]
    payloads = [announcer.announce(_call(n)) for n in range(1, 4 * PRERENDER_BACKLOG + 1)]
    with audio.lock:  # renders run one at a time (the engine's lock); the others wait their turn
        assert audio.all_started.wait_for(lambda: audio.started == 1, 30)
    assert len(threads) == PRERENDER_BACKLOG
    assert announcer.skipped == 3 * PRERENDER_BACKLOG
    assert all(p["audio_url"] == f"/display/audio/c{n}.wav" for n, p in enumerate(payloads, start=1))
    assert all("quầy số bảy" in p["announcement"] for p in payloads)

    audio.release.set()
    for thread in threads:
        thread.join(30)
    assert announcer.prerendering == 0
    announcer.announce(_call(99))  # places are free again: the next call is pre-rendered
    threads[-1].join(30)
    assert len(threads) == PRERENDER_BACKLOG + 1 and audio.started == PRERENDER_BACKLOG + 1


def test_no_render_starts_for_a_site_no_board_listens_to() -> None:
    """Pre-rendering only saves a board the wait; with no device of the site connected it would only take a core
    from the clerks. The call still carries its audio URL (a board that connects later renders on request)."""
    spawned: list[Any] = []
    listening: set[int] = set()
    announcer = Announcer(
        db=None, audio=BlockingAudio(), start_background_task=lambda *a: spawned.append(a), lines=OneCounterLines()
    )  # type: ignore[arg-type]
    announcer.wanted = lambda site_id: site_id in listening
    payload = announcer.announce(_call(1))
    assert spawned == [] and payload["audio_url"] == "/display/audio/c1.wav" and announcer.prerendering == 0
    listening.add(1)
    announcer.announce(_call(2))
    assert len(spawned) == 1 and announcer.prerendering == 1
