"""The announcement audio cache stays within its bounds (issue 19, item 9): size (least recently used go first)
and age (files unused for too long go), with real espeak-ng renders in a real folder."""

from __future__ import annotations

import os
import time
from pathlib import Path

from server.settings import load_settings
from server.voice import AnnouncementAudio
from server.voice.cache import SCAN_EVERY
from server.voice.calls import AUDIO_CACHE, announcement_audio
from tests.support.tools import require_tool


def _texts(n: int) -> list[str]:
    return [f"Mời công dân có số thứ tự {1001 + i} đến quầy số {i % 9 + 1}" for i in range(n)]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.wav"))


def test_the_cache_keeps_the_recently_used_within_its_size(tmp_path: Path):
    espeak = require_tool("espeak-ng")
    folder = tmp_path / "cache"
    probe = AnnouncementAudio(tmp_path / "probe", espeak_path=espeak).render(_texts(1)[0])
    assert probe is not None
    one = probe.stat().st_size
    audio = AnnouncementAudio(folder, espeak_path=espeak, max_bytes=int(one * 3.5))
    texts = _texts(3)
    first = audio.render(texts[0])
    for text in texts[1:]:
        audio.render(text)
    time.sleep(0.01)  # distinct modification times on coarse file systems, not a synchronisation
    assert audio.render(texts[0]) == first  # a hit: now the most recently used
    for text in _texts(8)[3:]:
        audio.render(text)
        time.sleep(0.01)
    assert _size(folder) <= one * 3.5 * 1.1  # within the bound (file sizes vary a little with the text)
    assert len(list(folder.glob("*.wav"))) <= 4
    assert first is not None and not first.exists()  # used early, pushed out by 5 newer ones
    latest = audio.render(_texts(8)[-1])
    assert latest is not None and latest.exists()


def test_files_unused_for_longer_than_the_age_are_removed(tmp_path: Path, monkeypatch):
    """The age bound (days) is checked when the folder is read: at most a minute (SCAN_EVERY) after the last
    reading, not at every new file (issue 13: a reading per call stalled the event loop at rush hour)."""
    espeak = require_tool("espeak-ng")
    moment = {"now": 1000.0}
    monkeypatch.setattr("server.voice.cache.time.monotonic", lambda: moment["now"])
    settings = load_settings(environ={}, instance_dir=str(tmp_path), audio_cache_days=2, espeak_path=espeak)
    audio = announcement_audio(settings)
    old, recent = (audio.render(text) for text in _texts(2))
    assert old is not None and recent is not None
    three_days_ago = time.time() - 3 * 86400
    os.utime(old, (three_days_ago, three_days_ago))
    audio.render(_texts(3)[-1])  # a new file within the minute: the folder is not read again
    assert old.exists() and audio.cache.scans == 1
    moment["now"] += SCAN_EVERY
    audio.render(_texts(4)[-1])  # the next new file after a minute: the folder is read, the old file goes
    assert not old.exists() and recent.exists()
    assert audio.cache.scans == 2
    assert old.parent == tmp_path / AUDIO_CACHE


def test_new_files_under_the_size_bound_do_not_read_the_folder_each_time(tmp_path: Path, monkeypatch):
    espeak = require_tool("espeak-ng")
    monkeypatch.setattr("server.voice.cache.time.monotonic", lambda: 1000.0)  # no minute passes
    probe = AnnouncementAudio(tmp_path / "probe", espeak_path=espeak).render(_texts(1)[0])
    assert probe is not None
    one = probe.stat().st_size
    audio = AnnouncementAudio(tmp_path / "cache", espeak_path=espeak, max_bytes=int(one * 5.5))
    for text in _texts(5):
        audio.render(text)
    assert audio.cache.scans == 1  # the first file only: 5 files are known to fit
    for text in _texts(8)[5:]:
        audio.render(text)  # the known total passes the bound: each of these reads the folder and prunes
    assert audio.cache.scans == 4
    assert _size(tmp_path / "cache") <= one * 5.5 * 1.1
