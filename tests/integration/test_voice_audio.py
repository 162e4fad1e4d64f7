"""Announcement audio: espeak-ng rendering, the cache, voice packs, and the silent fallback."""

from __future__ import annotations

import logging
import struct
import subprocess
import unicodedata
import wave
from pathlib import Path

import pytest

from server.voice.announce import announcement_text
from server.voice.audio import (
    CHIME_SECONDS,
    PAUSE_SECONDS,
    AnnouncementAudio,
    VoicePackError,
    chime_frames,
    wav_duration_seconds,
)
from tests.support.tools import require_tool

AUDIO_LOGGER = "server.voice.audio"
MISSING_ESPEAK = "/nonexistent/bin/espeak-ng"


def _fake_espeak(folder: Path, exit_status: int = 3) -> str:
    """An executable that fails like a broken espeak-ng would."""
    script = folder / "fake-espeak-ng"
    script.write_text(f"#!/bin/sh\necho 'broken voice data' >&2\nexit {exit_status}\n")
    script.chmod(0o755)
    return str(script)


def _read(path: Path) -> tuple[wave._wave_params, bytes]:
    with wave.open(str(path), "rb") as w:
        return w.getparams(), w.readframes(w.getnframes())


def _write_clip(path: Path, value: int, nframes: int, rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    """A clip whose samples all equal ``value`` (so the concatenation can be checked exactly)."""
    sample = struct.pack("<h", value) if width == 2 else bytes([value & 0xFF])
    frames = sample * channels * nframes
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return frames


# -- espeak-ng ------------------------------------------------------------------------------------


def test_espeak_render_is_valid_wav(tmp_path: Path) -> None:
    espeak = require_tool("espeak-ng")  # skip, or fail with LUOT_REQUIRE_ALL=1
    text = announcement_text("1023", 5)
    audio = AnnouncementAudio(tmp_path / "cache", espeak_path=espeak)
    assert audio.available()
    path = audio.render(text)
    assert path is not None and path.parent == tmp_path / "cache" and path.suffix == ".wav"

    params, frames = _read(path)
    assert params.nchannels == 1
    assert params.sampwidth == 2
    assert params.comptype == "NONE"
    assert params.framerate > 0
    # The chime, generated at the speech's sample rate, comes first.
    chime = chime_frames(params.framerate)
    assert frames.startswith(chime)
    assert any(frames[len(chime) :])  # then speech, not silence

    words = len(text.split())
    duration = wav_duration_seconds(path)
    assert CHIME_SECONDS + 0.2 * words <= duration <= CHIME_SECONDS + 0.8 * words, (duration, words)
    # Only the finished file is left behind (no temporary speech/partial files).
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]


def test_espeak_cache_hit_does_not_rerun_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    espeak = require_tool("espeak-ng")  # skip, or fail with LUOT_REQUIRE_ALL=1
    text = announcement_text("A15", 21)
    audio = AnnouncementAudio(tmp_path, espeak_path=espeak)
    first = audio.render(text)
    assert first is not None
    mtime = first.stat().st_mtime_ns

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("espeak-ng ran again for a cached announcement")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    assert audio.render(text) == first
    # A new instance on the same folder (e.g. after a restart) uses the cache too.
    assert AnnouncementAudio(tmp_path, espeak_path=espeak).render(text) == first
    assert first.stat().st_mtime_ns == mtime


def test_different_texts_get_different_files(tmp_path: Path) -> None:
    espeak = require_tool("espeak-ng")  # skip, or fail with LUOT_REQUIRE_ALL=1
    audio = AnnouncementAudio(tmp_path, espeak_path=espeak)
    a = audio.render(announcement_text("15", 1))
    b = audio.render(announcement_text("16", 1))
    assert a is not None and b is not None and a != b


def test_failing_espeak_returns_none_with_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    audio = AnnouncementAudio(tmp_path / "cache", espeak_path=_fake_espeak(tmp_path))
    assert audio.available()
    with caplog.at_level(logging.WARNING, logger=AUDIO_LOGGER):
        assert audio.render("mời công dân") is None
    assert any("espeak-ng failed" in r.getMessage() and "broken voice data" in r.getMessage() for r in caplog.records)
    assert list((tmp_path / "cache").iterdir()) == []


# -- no engine ------------------------------------------------------------------------------------


def test_no_engine_returns_none_and_warns_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    audio = AnnouncementAudio(tmp_path / "cache", espeak_path=MISSING_ESPEAK)
    assert not audio.available()
    with caplog.at_level(logging.WARNING, logger=AUDIO_LOGGER):
        assert audio.render("mời công dân có số thứ tự mười lăm") is None
        assert audio.render("mời công dân có số thứ tự mười sáu") is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == AUDIO_LOGGER]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "espeak-ng" in message and "voice pack" in message and MISSING_ESPEAK in message


def test_empty_text_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        AnnouncementAudio(tmp_path, espeak_path=MISSING_ESPEAK).render("   ")


# -- voice pack -----------------------------------------------------------------------------------


@pytest.fixture
def pack(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A tiny pack covering announcement_text("A15", 5); each clip is a distinct constant tone."""
    folder = tmp_path / "pack"
    folder.mkdir()
    names = [
        "chime",
        "mời",
        "công dân",
        "có",
        "số thứ tự",
        "a",
        "mười",
        "lăm",
        "đến quầy số",
        "năm",
        # decoys: shorter phrases that longest-first matching must not pick
        "công",
        "dân",
        "số",
        "thứ",
        "tự",
        "đến",
        "quầy",
    ]
    clips = {name: _write_clip(folder / f"{name}.wav", 100 * (i + 1), 50 + 10 * i) for i, name in enumerate(names)}
    return folder, clips


def test_voice_pack_concatenates_clips(pack: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    folder, clips = pack
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    assert audio.available()
    text = announcement_text("A15", 5)
    assert text == "Mời công dân có số thứ tự a, mười lăm đến quầy số năm"
    path = audio.render(text)
    assert path is not None

    params, frames = _read(path)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 16000)
    pause = bytes(2 * round(16000 * PAUSE_SECONDS))
    expected = b"".join(
        [
            clips["chime"],
            clips["mời"],
            clips["công dân"],
            clips["có"],
            clips["số thứ tự"],
            clips["a"],
            pause,
            clips["mười"],
            clips["lăm"],
            clips["đến quầy số"],
            clips["năm"],
        ]
    )
    assert frames == expected
    assert audio.render(text) == path  # cached


def test_voice_pack_is_preferred_over_espeak(
    pack: tuple[Path, dict[str, bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, clips = pack

    def no_subprocess(*args: object, **kwargs: object) -> None:
        raise AssertionError("espeak-ng must not run when the pack covers the sentence")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=_fake_espeak(tmp_path))
    path = audio.render("mời công dân")
    assert path is not None
    assert _read(path)[1] == clips["chime"] + clips["mời"] + clips["công dân"]


def test_voice_pack_matches_nfd_file_names(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    chime = _write_clip(folder / "chime.wav", 1, 10)
    clip = _write_clip(folder / (unicodedata.normalize("NFD", "Mời") + ".wav"), 2, 10)
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    path = audio.render("mời")
    assert path is not None and _read(path)[1] == chime + clip


def test_voice_pack_missing_word_falls_back_to_espeak(
    pack: tuple[Path, dict[str, bytes]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    espeak = require_tool("espeak-ng")  # skip, or fail with LUOT_REQUIRE_ALL=1
    folder, _ = pack
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=espeak)
    with caplog.at_level(logging.WARNING, logger=AUDIO_LOGGER):
        path = audio.render(announcement_text("A16", 5))  # no clip for "sáu"
    assert path is not None
    params, frames = _read(path)
    # Whole sentence by espeak-ng: its own rate and the generated chime, not the pack's clips.
    assert frames.startswith(chime_frames(params.framerate))
    assert any("'sáu'" in r.getMessage() for r in caplog.records)


def test_voice_pack_missing_word_without_espeak(
    pack: tuple[Path, dict[str, bytes]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder, _ = pack
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    with caplog.at_level(logging.WARNING, logger=AUDIO_LOGGER):
        assert audio.render("mời công dân có số thứ tự sáu") is None
    assert any("'sáu'" in r.getMessage() for r in caplog.records)


def test_voice_pack_without_chime_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    _write_clip(folder / "mời.wav", 1, 10)
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    assert not audio.available()
    assert audio.render("mời") is None


def test_voice_pack_mixed_rates_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    _write_clip(folder / "chime.wav", 1, 10, rate=16000)
    _write_clip(folder / "mời.wav", 1, 10, rate=22050)
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    with pytest.raises(VoicePackError, match="sample rate"):
        audio.render("mời")
    assert not list((tmp_path / "cache").iterdir())


@pytest.mark.parametrize(("channels", "width"), [(2, 2), (1, 1)])
def test_voice_pack_must_be_mono_16_bit(tmp_path: Path, channels: int, width: int) -> None:
    folder = tmp_path / "pack"
    folder.mkdir()
    _write_clip(folder / "chime.wav", 1, 10)
    _write_clip(folder / "mời.wav", 1, 10, channels=channels, width=width)
    audio = AnnouncementAudio(tmp_path / "cache", voice_pack_dir=folder, espeak_path=MISSING_ESPEAK)
    with pytest.raises(VoicePackError, match="mono 16-bit"):
        audio.render("mời")


# -- helpers --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
def test_chime(rate: int) -> None:
    frames = chime_frames(rate)
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    assert len(samples) == round(rate * CHIME_SECONDS)
    assert 5000 < max(abs(s) for s in samples) < 32767  # audible, not clipped
    assert samples[0] == 0 and abs(samples[-1]) < 50  # no click at either end


def test_wav_duration_seconds(tmp_path: Path) -> None:
    _write_clip(tmp_path / "x.wav", 0, 8000, rate=16000)
    assert wav_duration_seconds(tmp_path / "x.wav") == pytest.approx(0.5)


def test_require_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = "luot-no-such-tool"
    monkeypatch.delenv("LUOT_REQUIRE_ALL", raising=False)
    with pytest.raises(pytest.skip.Exception, match=missing):
        require_tool(missing)
    monkeypatch.setenv("LUOT_REQUIRE_ALL", "1")
    with pytest.raises(pytest.fail.Exception, match=missing):
        require_tool(missing)
