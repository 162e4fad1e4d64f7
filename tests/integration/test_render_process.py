"""Announcements rendered by the long-lived child process (issue 13): the same cached WAV files as in process,
one child for many sentences, a child that died is started again, and a child that cannot start leaves the
rendering to the server process."""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

from server.voice.render_process import AudioConfig, RenderProcess
from tests.support.tools import require_tool

SENTENCE = "Mời công dân có số thứ tự một trăm linh năm đến quầy số bảy"


def _renderer(tmp_path: Path, config: AudioConfig | None = None) -> RenderProcess:
    espeak = require_tool("espeak-ng")
    config = config or AudioConfig(cache_dir=str(tmp_path / "cache"), espeak_path=espeak)
    return RenderProcess(config, AudioConfig(cache_dir=str(tmp_path / "cache"), espeak_path=espeak).audio())


def _frames(path: Path) -> int:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        return w.getnframes()


def test_the_child_renders_the_cached_file_the_server_would(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path)
    try:
        path = renderer.render(SENTENCE)
        assert path is not None and path.parent == tmp_path / "cache" and _frames(path) > 16000
        assert renderer.fallback.render(SENTENCE) == path  # the same file name: the server's own would hit it
        assert renderer.render(SENTENCE.replace("bảy", "tám")) not in (None, path)
        assert renderer.started == 1  # one child for every sentence
    finally:
        renderer.close()


def test_a_child_that_died_is_started_again(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path)
    try:
        assert renderer.render(SENTENCE) is not None
        child = renderer._child
        assert child is not None
        child.kill()
        child.wait(10)
        path = renderer.render(SENTENCE + " mời")
        assert path is not None and _frames(path) > 0
        assert renderer.started == 2
    finally:
        renderer.close()
    assert child.poll() is not None


@dataclass(frozen=True)
class UnreadableConfig(AudioConfig):
    surprise: str = "the child cannot rebuild this"


def test_a_child_that_cannot_start_leaves_the_rendering_to_the_server(tmp_path: Path) -> None:
    espeak = require_tool("espeak-ng")
    renderer = _renderer(tmp_path, UnreadableConfig(cache_dir=str(tmp_path / "cache"), espeak_path=espeak))
    try:
        path = renderer.render(SENTENCE)
        assert path is not None and _frames(path) > 16000  # rendered here, by the fallback
        assert renderer.started == 2  # tried twice
        assert renderer.render(SENTENCE + " mời") is not None
        assert renderer.started == 2  # then left alone for a while: no two failing starts per call
    finally:
        renderer.close()


def test_closing_ends_the_child(tmp_path: Path) -> None:
    renderer = _renderer(tmp_path)
    renderer.render(SENTENCE)
    child = renderer._child
    assert child is not None and child.poll() is None
    renderer.close()
    assert child.poll() is not None
