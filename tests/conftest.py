"""Fixtures: the app on a tmp_path SQLite file with the production schema, a steerable clock, a small world."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app, socketio_of
from server.clock import LOCAL_TZ, ManualClock
from server.context import Luot
from server.instance import initialise
from server.settings import Settings, load_settings
from tests.support.world import World, build_world


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On parallel workers only: test files that start server processes (`slow`) run first, each file's tests in
    their own order.

    `make test TEST_WORKERS=2` runs the files on several workers (pytest-xdist, `--dist loadfile`), each worker
    taking the next file when it is done: slow files handed out last left one worker running a bundle install or a
    backup under load alone for minutes at the end. Started first, they overlap the many quick files instead."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # one process: the files' own order
    slow_files = {item.path for item in items if item.get_closest_marker("slow") is not None}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: the order within each group is kept


# A Wednesday, 09:00 in Hà Nội: services with office hours are open.
WEDNESDAY_9AM = datetime(2026, 11, 18, 9, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="session")
def migrated_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance folder migrated with the production Alembic scripts; each test gets a copy."""
    folder = tmp_path_factory.mktemp("template") / "instance"
    initialise(load_settings(environ={}, instance_dir=str(folder)))
    return folder


@pytest.fixture
def settings(tmp_path: Path, migrated_instance: Path) -> Settings:
    folder = tmp_path / "instance"
    shutil.copytree(migrated_instance, folder)
    return load_settings(environ={}, instance_dir=str(folder), async_mode="threading", log_level="WARNING")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(WEDNESDAY_9AM)


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> Iterator[Flask]:
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["luot"].close()


@pytest.fixture
def luot(app: Flask) -> Luot:
    return app.extensions["luot"]


@pytest.fixture
def world(luot: Luot) -> World:
    return build_world(luot.db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def socketio(app: Flask):
    return socketio_of(app)
