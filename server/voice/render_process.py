"""Announcement audio rendered in a long-lived child process, not in the server's own (issue 13).

Rendering a call's audio starts espeak-ng, reads its WAV, writes the cached file and keeps the cache within its
bounds (`server.voice.cache`). Done in the server process, that was about a sixth of a clerk's call next on a busy
server: the fork of a large process, the WAV handled in Python, the cache folder scanned — all on the one event
loop that answers the clerks. `RenderProcess` hands each sentence to one child process
(`python -m server.voice.render_process`, started on the first render, at a lower CPU priority) over a pipe and
waits for the cached file's path; the server's part is one line written and one read (cooperative under
eventlet/gevent, whose `subprocess` pipes are green).

Protocol, one JSON object per line: the server writes `{"text": sentence}`; the child answers
`{"text": sentence, "path": "/…/audio-cache/<sha256>.wav"}` or `"path": null` (no engine could speak it). An
answer for another sentence, or an exchange cut off half-way, ends the child. A child that dies or answers nonsense
is started again once; if that fails too, `render` renders in the server process itself
(`AnnouncementAudio.render`, the same files), so a board never loses its audio to the helper.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from server.voice.audio import ESPEAK_NICENESS, AnnouncementAudio

log = logging.getLogger(__name__)

#: After the child failed twice in a row, the server renders by itself this long (seconds) before trying again.
RETRY_AFTER_S = 60.0


@dataclass(frozen=True)
class AudioConfig:
    """`AnnouncementAudio`'s arguments, as the child rebuilds it (paths as strings; bounds in bytes / seconds)."""

    cache_dir: str
    voice_pack_dir: str | None = None
    espeak_path: str | None = None
    max_bytes: int | None = None
    max_age: float | None = None

    def audio(self) -> AnnouncementAudio:
        return AnnouncementAudio(
            Path(self.cache_dir),
            voice_pack_dir=Path(self.voice_pack_dir) if self.voice_pack_dir else None,
            espeak_path=self.espeak_path,
            max_bytes=self.max_bytes,
            max_age=self.max_age,
        )


class RenderProcess:
    """`render(text)` → the WAV's path or None, like `AnnouncementAudio.render`, done by the child process. Not
    re-entrant: its caller (`Announcer`) renders one sentence at a time."""

    def __init__(self, config: AudioConfig, fallback: AnnouncementAudio) -> None:
        self.config = config
        self.fallback = fallback
        self.started = 0  # children started (tests, /healthz-style diagnostics)
        self._child: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None
        self._resting_until = 0.0  # time.monotonic() until which the server renders by itself (a failing child)

    def render(self, text: str) -> Path | None:
        if time.monotonic() < self._resting_until:
            return self.fallback.render(text)
        for attempt in (1, 2):
            try:
                return self._ask(text)
            except (OSError, ValueError, EOFError, KeyError) as exc:
                then = "starting it again" if attempt == 1 else f"rendering here for {RETRY_AFTER_S:.0f} s"
                log.warning("the announcement renderer failed (%s); %s", exc, then)
                self.close()
        self._resting_until = time.monotonic() + RETRY_AFTER_S
        return self.fallback.render(text)

    def close(self) -> None:
        """Ends the child (it exits when its input closes); a later render starts a new one."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._child = None

    def _ask(self, text: str) -> Path | None:
        child = self._running()
        stdin, stdout = _pipes(child)
        try:
            stdin.write(json.dumps({"text": text}, ensure_ascii=False).encode() + b"\n")
            stdin.flush()
            line = stdout.readline()
        except BaseException:  # interrupted mid-exchange (a killed greenlet, shutdown): the pipe's state is unknown
            self.close()
            raise
        if not line:
            raise EOFError(f"the renderer exited ({child.poll()})")
        answer = json.loads(line)
        if answer["text"] != text:  # never another sentence's audio for this call
            raise ValueError("the renderer answered for another sentence")
        return Path(answer["path"]) if answer["path"] else None

    def _running(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        self.close()
        root = str(Path(__file__).resolve().parents[2])  # the folder holding `server`, whatever the cwd
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        child = subprocess.Popen(
            [sys.executable, "-m", "server.voice.render_process", json.dumps(asdict(self.config))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            env={**os.environ, "PYTHONPATH": path},
        )
        self._child = child
        self._finalizer = weakref.finalize(self, _end, child)
        self.started += 1
        return child


def _pipes(child: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    if child.stdin is None or child.stdout is None:
        raise OSError("the renderer has no pipes")
    return child.stdin, child.stdout


def _end(child: subprocess.Popen[bytes]) -> None:
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(5)


def main(argv: list[str]) -> int:
    """The child: renders each sentence read from standard input until it closes."""
    with contextlib.suppress(OSError):
        os.nice(ESPEAK_NICENESS)  # below the server: a clerk's request comes before a voice played a second later
    config: dict[str, Any] = json.loads(argv[1])
    audio = AudioConfig(**config).audio()
    for line in sys.stdin.buffer:
        text = None
        try:
            text = json.loads(line)["text"]
            path = audio.render(text)
            answer = {"text": text, "path": str(path) if path is not None else None}
        except Exception as exc:  # one bad sentence must not end the renderer; the server logs the null
            log.warning("could not render %r: %s", line[:200], exc)
            answer = {"text": text, "path": None}
        try:
            sys.stdout.write(json.dumps(answer, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the server went away (it stopped, or gave up on this child)
            return 0
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s renderer: %(message)s")
    sys.exit(main(sys.argv))
