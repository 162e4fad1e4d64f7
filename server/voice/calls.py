"""Voice calls: the announcement text and audio of one call, and the payload the hub merges into call events.

A call is identified by its `call_id` ("c<ticket event id>"). The text follows the site's rules
(announcement template, northern/southern number words, digit by digit). The WAV file (chime + speech)
is rendered by `server.voice.AnnouncementAudio` (voice pack, else espeak-ng) and cached in the instance
folder; it is pre-rendered in the background as soon as a call is published, so a board asking for it a
few milliseconds later usually gets the cached file.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from server.db import Database
from server.domain import events as ev
from server.domain.errors import N_, DomainError
from server.domain.queries import site_rules
from server.domain.rules import SiteRules
from server.domain.vocabulary import CALL_KINDS, EventKind
from server.models import Counter, Ticket, TicketEvent
from server.settings import Settings
from server.voice import AnnouncementAudio, VoiceSettings, announcement_text

log = logging.getLogger(__name__)

_CALL_ID = re.compile(r"c([0-9]{1,18})")
AUDIO_CACHE = "audio-cache"  # folder of the instance where call audio is cached
#: Announcements being pre-rendered at once, at most. Pre-rendering only saves a board the render's time (≈15 ms
#: of espeak-ng); past this backlog — a burst of calls faster than they can be rendered — a call's audio is
#: rendered when a board asks for it instead, so a burst never queues seconds of renders in front of the newest
#: call's audio, nor takes a core from the clerks' requests on a small machine (issue 13).
PRERENDER_BACKLOG = 4


class UnknownCall(DomainError):
    code, status, message = "unknown_call", 404, N_("Unknown call.")


class AudioUnavailable(DomainError):
    code, status, message = (
        "audio_unavailable",
        404,
        N_("The server has no announcement audio (no espeak-ng, no voice pack); the board speaks by itself."),
    )


@dataclass(frozen=True)
class Call:
    call_id: str
    site_id: int
    display_number: str
    counter_number: int
    counter_name: str
    call_number: int = 1  # 2 for the first recall, 3 for the second…


def audio_url(call_id: str) -> str:
    return f"/display/audio/{call_id}.wav"


def voice_settings(rules: SiteRules) -> VoiceSettings:
    """The site's wording; a broken template or region falls back to the default wording (logged)."""
    try:
        return VoiceSettings(
            template=rules.announcement_template,
            recall_template=rules.recall_template,
            region=rules.number_region,
            digit_by_digit=rules.digit_by_digit,
            nham=bool(rules.extra.get("nham", False)),
        )
    except ValueError as exc:
        log.warning("site announcement settings are not usable (%s); using the default wording", exc)
        return VoiceSettings(digit_by_digit=rules.digit_by_digit)


def find_call(session: Session, call_id: str) -> Call | None:
    """The call (or recall) logged as ticket event `c<id>`, or None."""
    match = _CALL_ID.fullmatch(call_id)
    if match is None:
        return None
    row = session.exec(
        select(TicketEvent, Ticket, Counter)
        .join(Ticket, col(Ticket.id) == TicketEvent.ticket_id)
        .join(Counter, col(Counter.id) == TicketEvent.counter_id)
        .where(TicketEvent.id == int(match.group(1)), col(TicketEvent.kind).in_(CALL_KINDS))
    ).first()
    if row is None:
        return None
    event, ticket, counter = row
    recalls = int((event.data or {}).get("recall_count") or 0) if event.kind == EventKind.RECALLED else 0
    return Call(call_id, event.site_id, ticket.display_number, counter.number, counter.name, recalls + 1)


class Announcer:
    """Builds announcements for the hub and serves their audio (rendering at most one file at a time)."""

    def __init__(
        self,
        db: Database,
        audio: AnnouncementAudio,
        start_background_task: Callable[..., Any] | None = None,
        lines: Any = None,
    ) -> None:
        self.db = db
        self.audio = audio
        self.spawn = start_background_task
        self.lines = lines  # a LineStore: the counter and the site's rules without a read (issue 13)
        self._render_lock = threading.Lock()  # green under eventlet/gevent: `luot serve` patches first
        self._backlog_lock = threading.Lock()
        #: (site id) → whether a board may ask for the site's call audio soon (None: always). For a site no board
        #: listens to nothing is pre-rendered (a board that connects later renders on its request): espeak-ng's
        #: ~15 ms per call would only take a core from the clerks (issue 13). Set by `server.app.build_context`.
        self.wanted: Callable[[int], bool] | None = None
        self.prerendering = 0  # pre-renders started and not yet done (≤ PRERENDER_BACKLOG)
        self.skipped = 0  # calls not pre-rendered because the backlog was full (rendered on a board's request)

    def available(self) -> bool:
        return self.audio.available()

    def text(
        self, session: Session, site_id: int, display_number: str, counter_number: int, call_number: int = 1
    ) -> str:
        settings = voice_settings(site_rules(session, site_id))
        return announcement_text(display_number, counter_number, settings, call_number)

    # ---------------------------------------------------------------- the hub's hook

    def announce(self, event: ev.QueueEvent) -> dict[str, Any]:
        """Merged into `ticket.called` / `ticket.recalled`: the sentence, the counter's name, the audio URL.

        Never raises: a call must reach the boards even when the announcement cannot be built.
        """
        ticket = event.ticket
        call_id = getattr(event, "call_id", "")
        if ticket is None or not call_id or ticket.counter_id is None:
            return {}
        try:
            recall = isinstance(event, ev.TicketRecalled)
            call_number = ticket.recall_count + 1 if recall else 1
            known = self._counter_and_rules(event.site_id, ticket.counter_id)
            if known is None:
                return {}
            counter_number, counter_name, rules = known
            text = announcement_text(ticket.display_number, counter_number, voice_settings(rules), call_number)
            payload: dict[str, Any] = {"announcement": text, "counter_name": counter_name}
            if self.available():
                payload["audio_url"] = audio_url(call_id)
                wanted = self.wanted is None or self.wanted(event.site_id)
                if self.spawn is not None and wanted and self._take_backlog_place():
                    try:
                        self.spawn(self._prerender, text)
                    except Exception:
                        self._leave_backlog()
                        raise
            return payload
        except Exception:  # the call itself is already committed; it must still be published
            log.exception("could not build the announcement of call %s", call_id)
            return {}

    def _counter_and_rules(self, site_id: int, counter_id: int) -> tuple[int, str, SiteRules] | None:
        """(counter number, counter name, site rules) from the line in memory (the runner applied the call to it
        before publishing), else from the database; None for an unknown counter."""
        if self.lines is not None:
            line = self.lines.site(site_id)
            view = line.counters.get(counter_id)
            if view is not None:
                return view.number, view.name, line.rules
        with self.db.read() as session:
            counter = session.get(Counter, counter_id)
            return None if counter is None else (counter.number, counter.name, site_rules(session, site_id))

    def _take_backlog_place(self) -> bool:
        with self._backlog_lock:
            if self.prerendering >= PRERENDER_BACKLOG:
                self.skipped += 1
                return False
            self.prerendering += 1
            return True

    def _prerender(self, text: str) -> None:
        try:
            self.render(text)
        except Exception:
            log.exception("pre-rendering the announcement %r failed", text)
        finally:
            self._leave_backlog()

    def _leave_backlog(self) -> None:
        with self._backlog_lock:
            self.prerendering -= 1

    # ---------------------------------------------------------------- audio files

    def render(self, text: str) -> Path | None:
        with self._render_lock:
            return self.audio.render(text)

    def call_audio(self, call_id: str) -> Path:
        """The WAV file of a call; UnknownCall or AudioUnavailable otherwise."""
        with self.db.read() as session:
            call = find_call(session, call_id)
            if call is None:
                raise UnknownCall()
            text = self.text(session, call.site_id, call.display_number, call.counter_number, call.call_number)
        if not self.available():
            raise AudioUnavailable()
        path = self.render(text)
        if path is None:  # the engine failed on this text (logged by the engine)
            raise AudioUnavailable()
        return path


def announcement_audio(settings: Settings) -> AnnouncementAudio:
    """Chime + speech for calls, cached in the instance folder; warns once when no engine is available."""
    audio = AnnouncementAudio(
        settings.instance_path / AUDIO_CACHE,
        voice_pack_dir=Path(settings.voice_pack_dir) if settings.voice_pack_dir else None,
        espeak_path=settings.espeak_path or None,
        max_bytes=settings.audio_cache_mib * 2**20,
        max_age=settings.audio_cache_days * 86400.0,
    )
    if not audio.available():
        log.warning(
            "Announcement audio is off: espeak-ng was not found (LUOT_ESPEAK_PATH=%r) and no usable voice "
            "pack is set (LUOT_VOICE_PACK_DIR=%r). Boards will still show every call and fall back to the "
            "browser's own speech, if it has a Vietnamese voice. Install espeak-ng (apt install espeak-ng) "
            "or configure a voice pack.",
            settings.espeak_path,
            settings.voice_pack_dir,
        )
    return audio
