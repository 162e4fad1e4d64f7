"""Announcement audio: a chime followed by Vietnamese speech, as a cached WAV file.

``AnnouncementAudio.render(text)`` returns a mono 16-bit PCM WAV file made of a chime and the
spoken ``text`` (give it words, see :func:`server.voice.announce.announcement_text`, never digits).
Engines, in order of preference:

1. **Voice pack** (recorded clips), if ``voice_pack_dir`` holds ``chime.wav`` and a clip for every
   word of the text. Otherwise the whole sentence falls back to espeak-ng (a sentence is never
   made of half recorded, half synthetic speech).
2. **espeak-ng** (``espeak-ng -v vi -s 150 -w out.wav -- text``), with a chime generated here at
   the speech's sample rate.

With neither, ``render`` returns ``None`` and one warning is logged per ``AnnouncementAudio``.

Files are cached in ``cache_dir`` as ``<sha256 of (text, engine, AUDIO_VERSION)>.wav`` and written
atomically (temporary file + ``os.replace``), so a repeated announcement costs one ``stat``.

Voice pack layout (one flat folder)::

    voice_pack/
        chime.wav          played first, before every announcement
        mời.wav            one clip per word ...
        công dân.wav       ... or per phrase: words separated by single spaces
        số thứ tự.wav
        đến quầy số.wav
        không.wav một.wav hai.wav ... chín.wav
        mười.wav mươi.wav mốt.wav tư.wav lăm.wav nhăm.wav trăm.wav linh.wav lẻ.wav
        nghìn.wav ngàn.wav triệu.wav
        a.wav bê.wav xê.wav ... e-lờ.wav ích-xì.wav i dài.wav   (letter names of prefixes)

A clip's name is its text, lower case, Unicode NFC (names are NFC-normalised and lower-cased when
the pack is read, so files copied from an NFD file system still match). The text is matched
longest phrase first, so ``số thứ tự.wav`` wins over ``số.wav`` + ``thứ.wav`` + ``tự.wav``.
Punctuation is ignored, except that ``, ; . : ! ?`` between words insert ``PAUSE_SECONDS`` of
silence. Clips are concatenated as they are (trim them; leave a little natural silence). Every
clip, ``chime.wav`` included, must be uncompressed PCM WAV, mono, 16-bit, all at the same sample
rate; anything else raises :class:`VoicePackError`.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import wave
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from server.voice.cache import AudioCache

__all__ = [
    "AUDIO_VERSION",
    "CHIME_SECONDS",
    "PAUSE_SECONDS",
    "AnnouncementAudio",
    "VoicePackError",
    "chime_frames",
    "wav_duration_seconds",
]

logger = logging.getLogger(__name__)

#: Bump when the chime, the layout of the output or the espeak options change (invalidates the cache).
AUDIO_VERSION = "1"
ESPEAK_VOICE = "vi"
ESPEAK_SPEED = 150
ESPEAK_TIMEOUT_SECONDS = 30.0
CHIME_SECONDS = 0.8
PAUSE_SECONDS = 0.25
CHIME_CLIP = "chime"

#: espeak-ng runs at a lower CPU priority (coreutils `nice`, when present) than the server: on a small machine a
#: burst of calls renders its announcements on the core the clerks' requests need, and a clerk's key press must not
#: wait for a voice that the board plays a second later anyway (issue 13).
ESPEAK_NICENESS = 10
_NICE = shutil.which("nice")
_LOW_PRIORITY = [_NICE, "-n", str(ESPEAK_NICENESS)] if _NICE else []
_SAMPLE_WIDTH = 2
_PAUSES = frozenset(",;.:!?")
_TOKEN_RE = re.compile(r"\w[\w-]*|[,;.:!?]")


class VoicePackError(ValueError):
    """A voice pack clip is not usable (unreadable, compressed, not mono 16-bit, mixed rates)."""


@dataclass(frozen=True)
class _Pcm:
    channels: int
    sample_width: int
    rate: int
    frames: bytes


def _read_wav(path: Path) -> _Pcm:
    with wave.open(str(path), "rb") as w:
        return _Pcm(w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes()))


def _write_wav_atomic(path: Path, rate: int, chunks: list[bytes]) -> None:
    """Write mono 16-bit ``chunks`` to ``path`` via a temporary file in the same folder."""
    fd, tmp_name = tempfile.mkstemp(prefix=".", suffix=".wav.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(_SAMPLE_WIDTH)
            w.setframerate(rate)
            for chunk in chunks:
                w.writeframes(chunk)
        os.replace(tmp_name, path)  # no fsync: a cache; a file cut short by a power loss is rendered again
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _whole_wav(path: Path) -> bool:
    """A cached file that can be played: present, and as long as its header says (the cache is written without
    fsync, so a power cut may leave one cut short)."""
    try:
        size = path.stat().st_size
        with wave.open(str(path), "rb") as w:
            expected = 44 + w.getnframes() * w.getnchannels() * w.getsampwidth()
    except (OSError, EOFError, wave.Error):
        return False
    return size >= expected


def _size(path: Path) -> int:
    """The file's size in bytes; 0 when it is gone."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _silence(rate: int, seconds: float) -> bytes:
    return bytes(_SAMPLE_WIDTH * round(rate * seconds))


@lru_cache(maxsize=8)
def chime_frames(rate: int) -> bytes:
    """A soft three-note chime (``CHIME_SECONDS`` long) as mono 16-bit little-endian PCM frames."""
    n = round(rate * CHIME_SECONDS)
    mix = [0.0] * n
    # Descending G5 - E5 - C5, each a sine with a little second harmonic and an exponential decay.
    for start_s, freq in ((0.0, 783.99), (0.2, 659.25), (0.4, 523.25)):
        start = round(start_s * rate)
        attack = 0.012 * rate
        w1 = 2 * math.pi * freq / rate
        for i in range(n - start):
            env = min(1.0, i / attack) * math.exp(-i / (0.16 * rate))
            mix[start + i] += env * (math.sin(w1 * i) + 0.2 * math.sin(2 * w1 * i))
    fade = round(0.05 * rate)
    samples = array("h", bytes(0))
    for i, value in enumerate(mix):
        gain = min(1.0, (n - 1 - i) / fade) if fade else 1.0
        samples.append(max(-32767, min(32767, round(value * gain * 0.28 * 32767))))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def wav_duration_seconds(path: Path | str) -> float:
    """Duration of a WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _clip_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


class AnnouncementAudio:
    """Renders announcement sentences to cached WAV files (voice pack, else espeak-ng)."""

    def __init__(
        self,
        cache_dir: Path,
        voice_pack_dir: Path | None = None,
        espeak_path: str | None = None,
        max_bytes: int | None = None,
        max_age: float | None = None,
    ) -> None:
        """`max_bytes` and `max_age` (seconds unused) bound the cache (`server.voice.cache`); None: unbounded."""
        self.cache_dir = Path(cache_dir)
        self.cache = AudioCache(self.cache_dir, max_bytes, max_age)
        self.voice_pack_dir = Path(voice_pack_dir) if voice_pack_dir is not None else None
        # shutil.which accepts a bare name or a full path; None when missing or not executable.
        self._espeak_wanted = os.fspath(espeak_path) if espeak_path else "espeak-ng"
        self.espeak_path = shutil.which(self._espeak_wanted)
        self._warned: set[str] = set()

    # -- public ---------------------------------------------------------------------------------

    def available(self) -> bool:
        """True when some engine (voice pack or espeak-ng) can speak."""
        return self.espeak_path is not None or self._pack_index() is not None

    def render(self, text: str) -> Path | None:
        """WAV file (mono 16-bit PCM) with chime + ``text`` spoken, or None when no engine exists."""
        text = unicodedata.normalize("NFC", " ".join(text.split()))
        if not text:
            raise ValueError("nothing to announce: empty text")
        index = self._pack_index()
        if index is not None:
            clips, missing = self._match(text, index)
            if not missing:
                engine = "pack:" + self._pack_signature(index)
                return self._cached(text, engine, lambda out: self._write_pack(out, index, clips))
            self._warn_once(
                "missing:" + "|".join(missing),
                "Voice pack %s has no clip for %s; using espeak-ng for the whole sentence %r",
                self.voice_pack_dir,
                ", ".join(repr(m) for m in missing),
                text,
            )
        if self.espeak_path is not None:
            engine = self._espeak_signature(self.espeak_path)
            try:
                return self._cached(text, engine, lambda out: self._write_espeak(out, text))
            except (OSError, EOFError, subprocess.SubprocessError, wave.Error, RuntimeError) as exc:
                logger.warning("espeak-ng failed to render announcement %r: %s", text, exc)
                return None
        self._warn_once(
            "unavailable",
            "Announcements will be silent: espeak-ng was not found (%s) and no voice pack with "
            "chime.wav is configured (%s). Install espeak-ng (apt install espeak-ng) or set a voice pack.",
            "looked for " + repr(self._espeak_wanted),
            self.voice_pack_dir or "none",
        )
        return None

    # -- internals ------------------------------------------------------------------------------

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(msg, *args)

    def _cached(self, text: str, engine: str, write: Callable[[Path], None]) -> Path:
        payload = json.dumps([text, engine, AUDIO_VERSION], ensure_ascii=False).encode()
        path = self.cache_dir / f"{hashlib.sha256(payload).hexdigest()}.wav"
        if _whole_wav(path):
            self.cache.touch(path)
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        write(path)
        self.cache.prune(_size(path))
        return path

    # voice pack

    def _pack_index(self) -> dict[str, Path] | None:
        """Clip key → file for a usable pack (one with chime.wav), else None."""
        folder = self.voice_pack_dir
        if folder is None:
            return None
        if not folder.is_dir():
            self._warn_once("nopack", "Voice pack folder %s does not exist; not using it", folder)
            return None
        index: dict[str, Path] = {}
        for entry in sorted(folder.iterdir()):
            if entry.suffix.lower() == ".wav" and entry.is_file():
                index.setdefault(_clip_key(entry.stem), entry)
        if CHIME_CLIP not in index:
            self._warn_once("nochime", "Voice pack %s has no chime.wav; not using it", folder)
            return None
        return index

    @staticmethod
    def _pack_signature(index: dict[str, Path]) -> str:
        h = hashlib.sha256()
        for key in sorted(index):
            st = index[key].stat()
            h.update(f"{key}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.hexdigest()

    @staticmethod
    def _match(text: str, index: dict[str, Path]) -> tuple[list[Path | None], list[str]]:
        """Clips for ``text`` (None = pause), longest phrase first, and the words with no clip."""
        longest = max(len(key.split()) for key in index)
        tokens = _TOKEN_RE.findall(_clip_key(text))
        clips: list[Path | None] = []
        missing: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i] in _PAUSES:
                if clips and clips[-1] is not None:
                    clips.append(None)
                i += 1
                continue
            end = i  # a phrase never spans a pause
            while end < len(tokens) and end - i < longest and tokens[end] not in _PAUSES:
                end += 1
            for j in range(end, i, -1):
                clip = index.get(" ".join(tokens[i:j]))
                if clip is not None:
                    clips.append(clip)
                    i = j
                    break
            else:
                if tokens[i] not in missing:
                    missing.append(tokens[i])
                i += 1
        while clips and clips[-1] is None:
            clips.pop()
        return clips, missing

    def _write_pack(self, out: Path, index: dict[str, Path], clips: list[Path | None]) -> None:
        chime_path = index[CHIME_CLIP]
        chime = self._pack_clip(chime_path)
        chunks = [chime.frames]
        loaded: dict[Path, bytes] = {chime_path: chime.frames}
        for clip in clips:
            if clip is None:
                chunks.append(_silence(chime.rate, PAUSE_SECONDS))
                continue
            if clip not in loaded:
                pcm = self._pack_clip(clip)
                if pcm.rate != chime.rate:
                    raise VoicePackError(
                        f"voice pack clips must share one sample rate: {chime_path.name} is {chime.rate} Hz, "
                        f"{clip.name} is {pcm.rate} Hz"
                    )
                loaded[clip] = pcm.frames
            chunks.append(loaded[clip])
        _write_wav_atomic(out, chime.rate, chunks)

    @staticmethod
    def _pack_clip(path: Path) -> _Pcm:
        try:
            pcm = _read_wav(path)
        except (wave.Error, EOFError, OSError) as exc:
            raise VoicePackError(f"voice pack clip {path} is not a readable PCM WAV file: {exc}") from exc
        if pcm.channels != 1 or pcm.sample_width != _SAMPLE_WIDTH:
            raise VoicePackError(
                f"voice pack clip {path.name} must be mono 16-bit PCM, "
                f"got {pcm.channels} channel(s), {8 * pcm.sample_width}-bit"
            )
        return pcm

    # espeak-ng

    @staticmethod
    def _espeak_signature(espeak: str) -> str:
        st = os.stat(espeak)
        return f"espeak-ng:{espeak}:{st.st_size}:{st.st_mtime_ns}:{ESPEAK_VOICE}:{ESPEAK_SPEED}"

    def _write_espeak(self, out: Path, text: str) -> None:
        """espeak-ng writes its WAV to a pipe (no temporary file to create, read and remove per call — issue 13);
        its streamed header declares no real length, so the frames are read to the end."""
        assert self.espeak_path is not None
        cmd = [*_LOW_PRIORITY, self.espeak_path, "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "--stdout", "--", text]
        result = subprocess.run(cmd, capture_output=True, timeout=ESPEAK_TIMEOUT_SECONDS, check=False)
        if result.returncode != 0:
            stderr = result.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"exit status {result.returncode}: {stderr}")
        with wave.open(io.BytesIO(result.stdout), "rb") as w:
            speech = _Pcm(w.getnchannels(), w.getsampwidth(), w.getframerate(), w.readframes(w.getnframes()))
        if speech.channels != 1 or speech.sample_width != _SAMPLE_WIDTH or not speech.frames:
            raise RuntimeError(
                f"unexpected espeak-ng output: {speech.channels} channel(s), "
                f"{8 * speech.sample_width}-bit, {len(speech.frames)} bytes"
            )
        _write_wav_atomic(out, speech.rate, [chime_frames(speech.rate), speech.frames])
