"""The one server-process class (tests, benches, `luot simulate`): the environment its child gets."""

from __future__ import annotations

from pathlib import Path

from server.process import ServerProcess


def test_the_callers_variables_win_and_its_own_luot_variables_stay_out(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LUOT_DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("LUOT_REQUIRE_ALL", "1")
    server = ServerProcess(
        tmp_path / "instance", async_mode="threading", port=5999, env={"LUOT_TICKET_RATE_LIMIT": "5/minute"}
    )
    env = server.env
    assert env["LUOT_TICKET_RATE_LIMIT"] == "5/minute"
    assert env["LUOT_INSTANCE_DIR"] == str(tmp_path / "instance") and env["LUOT_PORT"] == "5999"
    assert env["LUOT_ASYNC_MODE"] == "threading" and server.url == "http://127.0.0.1:5999"
    assert "LUOT_DATABASE_URL" not in env and env["LUOT_REQUIRE_ALL"] == "1"


def test_without_overrides_issuing_is_practically_unlimited(tmp_path: Path) -> None:
    assert ServerProcess(tmp_path).env["LUOT_TICKET_RATE_LIMIT"] == "10000/minute"
