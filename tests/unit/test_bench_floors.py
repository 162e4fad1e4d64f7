"""The bench's call-next floors: the recorded statements replay to the same database the rounds left."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import floors


def test_call_next_floors_replay_what_the_rounds_did(tmp_path: Path) -> None:
    use_case, statements, commit = floors.call_next_floors(tmp_path, rounds=5)
    assert use_case.what == "call next use case in process (no HTTP)"
    assert statements.what == floors.CALL_NEXT_SQL
    assert 0 < commit.p50 <= statements.p50  # the COMMIT is part of the statements' time
    assert all(f.rate > 0 for f in (use_case, statements, commit))


def test_a_replay_that_diverges_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = floors._replay

    def replay_without_the_last_commit(path: Path, recorded: list[floors.Statement]) -> tuple[list[float], list[float]]:
        last = max(i for i, statement in enumerate(recorded) if statement[2] == "COMMIT")
        return real(path, [*recorded[:last], (recorded[last][0], "other", "ROLLBACK", ())])

    monkeypatch.setattr(floors, "_replay", replay_without_the_last_commit)
    with pytest.raises(AssertionError, match="diverged"):
        floors.call_next_floors(tmp_path, rounds=5)
