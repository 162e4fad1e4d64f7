"""Scale-out fixtures: one fresh PostgreSQL database for the session, one claimed Redis database number,
server processes that share them, and a TCP proxy that a test can cut to stage an outage.

Without PostgreSQL or Redis on 127.0.0.1 these tests skip (or fail under LUOT_REQUIRE_ALL=1).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from server.db import Database
from server.instance import initialise
from server.models import Service, Site
from server.process import ServerProcess
from server.provisioning import create_counter, create_user
from server.settings import load_settings
from tests.support.proxy import FaultProxy
from tests.support.tools import missing
from tests.support.world import PASSWORD, World, build_world

PG_HOST = os.environ.get("LUOT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("LUOT_TEST_PG_PORT", "5432"))
REDIS_PORT = int(os.environ.get("LUOT_TEST_REDIS_PORT", "6379"))
CLAIM_KEY = "luot:test:claim"
# Counters serving TP-A (c1, c2 from the small world; c4…c9 added here), one clerk each.
TP_A_CLERKS = {"c1": "clerk1", "c2": "clerk2", **{f"c{n}": f"clerk{n}" for n in range(4, 10)}}

pytestmark = pytest.mark.scaleout


def _admin_dsn(dbname: str = "test") -> str:
    return f"host={PG_HOST} port={PG_PORT} user=postgres dbname={dbname} connect_timeout=3"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[tuple[str, int]]:
    """A fresh database luot_test_<random> (dropped at the end); yields (name, port) for URLs."""
    try:
        import psycopg

        admin = psycopg.connect(_admin_dsn(), autocommit=True)
    except Exception as exc:  # any failure to reach it means: no PostgreSQL here
        missing(f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT} ({exc.__class__.__name__})")
        return
    name = f"luot_test_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name, PG_PORT
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def pg_url(name: str, port: int) -> str:
    return f"postgresql+psycopg://postgres@{PG_HOST}:{port}/{name}"


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """A Redis database number nobody else uses (claimed with SET NX), flushed before and after."""
    try:
        import redis

        probe = redis.Redis(host="127.0.0.1", port=REDIS_PORT, socket_connect_timeout=3)
        probe.ping()
        count = int(probe.config_get("databases").get("databases", 16))
    except Exception as exc:
        missing(f"Redis is not reachable on 127.0.0.1:{REDIS_PORT} ({exc.__class__.__name__})")
        return
    token = secrets.token_hex(8)
    for number in range(count - 1, 0, -1):  # db 0 is everybody's default: leave it alone
        client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=number)
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True, ex=3600):
            break
        client.close()
    else:
        pytest.fail("no free Redis database number to claim")
    try:
        yield number
    finally:
        if client.get(CLAIM_KEY) == token.encode():
            client.flushdb()
        client.close()
    probe.close()


def redis_url(number: int, port: int = REDIS_PORT) -> str:
    return f"redis://127.0.0.1:{port}/{number}"


@pytest.fixture(scope="session")
def shared_instance(tmp_path_factory: pytest.TempPathFactory, pg_database: tuple[str, int]) -> Path:
    """One instance folder (secret key) for every process; `luot init` migrates the session database."""
    instance = tmp_path_factory.mktemp("scaleout") / "instance"
    initialise(load_settings(environ={}, instance_dir=str(instance), database_url=pg_url(*pg_database)))
    return instance


@dataclass
class ScaleWorld:
    world: World
    clerks: dict[str, str]  # counter name → clerk username, for every counter serving TP-A
    database_url: str
    redis_number: int


def _reset(database_url: str, redis_number: int) -> None:
    import redis
    from sqlalchemy import text

    db = Database(load_settings(environ={}, database_url=database_url))
    with db.write() as session:
        tables = (
            session.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
            .scalars()
            .all()
        )
        quoted = ", ".join(f'"{table}"' for table in tables)
        session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    db.dispose()
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=redis_number)
    claim = client.get(CLAIM_KEY)
    client.flushdb()
    if claim:
        client.set(CLAIM_KEY, claim, ex=3600)
    client.close()


@pytest.fixture
def scale_world(shared_instance: Path, pg_database: tuple[str, int], redis_db: int) -> ScaleWorld:
    """Empty tables and Redis, then the small test world plus counters c4…c9 (TP-A) for clerks 4…9."""
    url = pg_url(*pg_database)
    _reset(url, redis_db)
    db = Database(load_settings(environ={}, database_url=url))
    world = build_world(db)
    with db.write() as session:
        site = session.exec(select(Site).where(Site.code == "HN")).one()
        tp_a = session.exec(select(Service).where(Service.code == "TP-A")).one()
        for number in range(4, 10):
            counter = create_counter(session, site, number, [tp_a])
            user = create_user(session, f"clerk{number}", PASSWORD, "clerk", site)
            world.counters[f"c{number}"] = counter.id
            world.users[f"clerk{number}"] = user.id
    db.dispose()
    return ScaleWorld(world, dict(TP_A_CLERKS), url, redis_db)


@pytest.fixture
def start_server(shared_instance: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts `luot serve` processes on the shared instance with the given database and message queue."""
    started: list[ServerProcess] = []

    def start(database_url: str, message_queue: str, mode: str = "eventlet", **env: str) -> ServerProcess:
        server = ServerProcess(
            shared_instance,
            async_mode=mode,
            env={"LUOT_DATABASE_URL": database_url, "LUOT_MESSAGE_QUEUE": message_queue, **env},
        )
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def tcp_proxy() -> Iterator[Callable[[int], FaultProxy]]:
    proxies: list[FaultProxy] = []

    def make(target_port: int) -> FaultProxy:
        proxy = FaultProxy(target_port)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()
