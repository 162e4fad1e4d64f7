"""Fixtures shared by the integration tests that drive the queue use cases in process."""

from __future__ import annotations

import pytest

from server.domain.queueing import open_counter


@pytest.fixture
def run(luot):
    """The Runner: `run(use_case, *args, **kwargs)` in one write transaction, events published after."""
    return luot.run


@pytest.fixture
def open_all(run, world):
    """The world with counters 1, 2, 3 open for clerk1, clerk2, clerk3."""
    for name, counter in (("clerk1", "c1"), ("clerk2", "c2"), ("clerk3", "c3")):
        run(open_counter, world.counters[counter], world.users[name])
    return world
