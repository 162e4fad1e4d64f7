"""The token → principal memory (issue 13): one read per token per moment, and never past a revocation made
here, a revocation made elsewhere (after `TTL_S`), or the token's own expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, SQLModel, create_engine

from server.auth import Principal
from server.models import ApiToken
from server.principal_cache import PrincipalCache

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
CLERK = Principal("user", 7, 1, role="clerk", name="Lan")


class Loader:
    def __init__(self, expires_at: datetime | None = None) -> None:
        self.reads = 0
        self.answer: Principal | None = CLERK
        self.expires_at = expires_at

    def __call__(self) -> tuple[Principal | None, datetime | None]:
        self.reads += 1
        return self.answer, self.expires_at


def test_a_token_is_read_once_per_moment_and_again_after_it() -> None:
    clock = [100.0]
    cache = PrincipalCache(ttl_s=2.0, monotonic=lambda: clock[0])
    load = Loader()
    assert cache.lookup("d1", NOW, load) == CLERK
    assert cache.lookup("d1", NOW, load) == CLERK
    assert load.reads == 1
    load.answer = None  # revoked by another process
    clock[0] += 2.1
    assert cache.lookup("d1", NOW, load) is None
    assert load.reads == 2


def test_an_unknown_token_is_remembered_as_unknown() -> None:
    cache = PrincipalCache(monotonic=lambda: 0.0)
    load = Loader()
    load.answer = None
    assert cache.lookup("bad", NOW, load) is None and cache.lookup("bad", NOW, load) is None
    assert load.reads == 1


def test_never_answered_past_the_tokens_expiry() -> None:
    cache = PrincipalCache(monotonic=lambda: 0.0)
    load = Loader(expires_at=NOW + timedelta(seconds=1))
    assert cache.lookup("d1", NOW, load) == CLERK
    load.answer = None  # what the database says once expired
    assert cache.lookup("d1", NOW + timedelta(seconds=2), load) is None
    assert load.reads == 2


def test_a_write_to_a_token_in_this_process_forgets_every_answer(tmp_path: Path) -> None:
    cache = PrincipalCache(monotonic=lambda: 0.0)
    load = Loader()
    cache.lookup("d1", NOW, load)
    engine = create_engine(f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:  # e.g. a sign-out revoking its token
        session.add(ApiToken(token_hash="x" * 64, user_id=1, created_at=NOW, expires_at=NOW, revoked=True))
        session.commit()
    cache.lookup("d1", NOW, load)
    assert load.reads == 2
    engine.dispose()


def test_size_is_bounded() -> None:
    cache = PrincipalCache(size=3, monotonic=lambda: 0.0)
    for n in range(10):
        cache.lookup(f"d{n}", NOW, Loader())
    assert len(cache._entries) == 3


def test_answers_run_out_at_spread_moments_within_the_moment() -> None:
    """Kept between half and all of TTL_S: tokens read together are read again apart (not 20 reads in one round),
    and no answer outlives TTL_S."""
    clock = [0.0]
    draws = iter([0.0, 0.5, 1.0, *[1.0] * 10])
    cache = PrincipalCache(ttl_s=2.0, monotonic=lambda: clock[0], spread=lambda: next(draws))
    loads = {digest: Loader() for digest in ("a", "b", "c")}
    for digest, load in loads.items():
        cache.lookup(digest, NOW, load)
    reads_at = {}
    for step in range(1, 22):
        clock[0] = step * 0.1 + 0.05
        for digest, load in loads.items():
            before = load.reads
            cache.lookup(digest, NOW, load)
            if load.reads > before and digest not in reads_at:
                reads_at[digest] = round(clock[0], 2)
    assert reads_at == {"a": 1.05, "b": 1.55, "c": 2.05}  # kept 1.0, 1.5 and 2.0 s: read again just after


def test_an_answer_read_between_the_flush_and_the_commit_is_forgotten_at_the_commit(tmp_path: Path) -> None:
    """Another request reads the token while a revocation is flushed but not committed: it still sees the token
    valid, and must not keep that answer once the revocation is committed."""
    cache = PrincipalCache(monotonic=lambda: 0.0)
    load = Loader()
    engine = create_engine(f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(ApiToken(token_hash="x" * 64, user_id=1, created_at=NOW, expires_at=NOW, revoked=True))
        session.flush()
        assert cache.lookup("d1", NOW, load) == CLERK  # what the database still says to other readers
        session.commit()
    load.answer = None  # what it says once committed
    assert cache.lookup("d1", NOW, load) is None
    assert load.reads == 2
    engine.dispose()


def test_a_rolled_back_write_bumps_nothing_at_a_later_commit(tmp_path: Path) -> None:
    cache = PrincipalCache(monotonic=lambda: 0.0)
    load = Loader()
    engine = create_engine(f"sqlite:///{tmp_path / 'auth.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(ApiToken(token_hash="x" * 64, user_id=1, created_at=NOW, expires_at=NOW))
        session.flush()
        session.rollback()
        cache.lookup("d1", NOW, load)
        session.commit()  # nothing written in this transaction
    cache.lookup("d1", NOW, load)
    assert load.reads == 1
    engine.dispose()
