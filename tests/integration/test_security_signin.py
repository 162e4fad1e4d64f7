"""Issue 14, items 3, 5, 7, 13 and 15: signing in.

3: the password hash runs off the eventlet hub, a bounded number at once.
5: after sign-in, only a path on this server is followed.
7: failed sign-ins slow down the address and the username (growing delays), never lock an account, and
   answer the same for known and unknown names.
13: a site-bound admin's audit filter lists only its own site's users.
15: usernames are NFC-normalised and case-insensitive; mixed scripts and invisible characters are refused.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import threading
import unicodedata
from pathlib import Path

import pytest

from server.password_work import PasswordWork
from server.signin_throttle import SignInThrottle
from tests.support.world import PASSWORD

ROOT = Path(__file__).parents[2]


class FakeClock:
    """Monotonic seconds the test moves by hand (the only fake: the clock)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_status(client, username: str, password: str = "wrong-password") -> int:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password}).status_code


# ---------------------------------------------------------------- 3: off the hub


def test_a_password_check_leaves_the_eventlet_hub_free() -> None:
    """Under eventlet, a green thread keeps ticking while a sign-in's argon2 hash runs (a blocked hub: 0 ticks)."""
    script = textwrap.dedent(
        """
        import eventlet
        eventlet.monkey_patch()
        import sys, tempfile, time
        from server.app import create_app
        from server.auth import hash_password, verify_password
        from server.commands import initialise
        from server.settings import load_settings

        folder = tempfile.mkdtemp()
        settings = load_settings(environ={}, instance_dir=folder, async_mode="eventlet", log_level="WARNING")
        initialise(settings)
        create_app(settings)
        stored = hash_password("right")
        ticks = []
        def ticker():
            while True:
                ticks.append(time.perf_counter())
                eventlet.sleep(0.001)
        eventlet.spawn(ticker)
        eventlet.sleep(0.01)
        rounds = []
        for _ in range(3):
            start = len(ticks)
            began = time.perf_counter()
            assert verify_password(stored, "wrong") is False
            took = time.perf_counter() - began
            rounds.append((len(ticks) - start, took))
        print(rounds)
        worst = min(count for count, _ in rounds)
        sys.exit(0 if worst >= 5 else 1)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"the hub stalled during the hash: {result.stdout}{result.stderr[-2000:]}"


def test_password_work_runs_a_bounded_number_at_once() -> None:
    work = PasswordWork("threading", max_concurrent=2)
    running, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def job() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(5)
        with lock:
            running[0] -= 1

    threads = [threading.Thread(target=work.run, args=(job,)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(200):  # bounded: until two jobs are inside
        with lock:
            if running[0] == 2:
                break
        release.wait(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert peak[0] == 2


# ---------------------------------------------------------------- 7: throttling, not locking


def test_delays_grow_after_the_free_failures_and_are_capped() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(free=3, max_delay=8, now=clock)
    waits = []
    for _ in range(8):
        waits.append(throttle.retry_after("10.0.0.1", "clerk01"))
        throttle.failed("10.0.0.1", "clerk01")
        clock.now += 0  # tries as fast as allowed would be refused: look at the wait after each failure
    waits.append(throttle.retry_after("10.0.0.1", "clerk01"))
    assert waits == [0, 0, 0, 1, 2, 4, 8, 8, 8]
    clock.now += 8
    assert throttle.retry_after("10.0.0.1", "clerk01") == 0
    throttle.succeeded("10.0.0.1", "clerk01")
    assert throttle.retry_after("10.0.0.2", "clerk01") == 0


def test_known_and_unknown_usernames_answer_alike_and_nothing_is_locked(client, world, luot) -> None:
    clock = FakeClock()
    luot.signins = SignInThrottle(free=3, max_delay=30, now=clock)
    known = [token_status(client, "clerk1") for _ in range(5)]
    clock.now += 3600  # another hour: the address's failures are forgotten too
    unknown = [token_status(client, "nobody-by-that-name") for _ in range(5)]
    assert known == unknown == [401, 401, 401, 429, 429]
    # The real clerk, once the short wait is over, signs in: no account was locked by the attacker.
    clock.now += 30
    assert token_status(client, "clerk1", PASSWORD) == 200


def test_an_address_trying_many_usernames_is_slowed_down(client, world, luot) -> None:
    clock = FakeClock()
    luot.signins = SignInThrottle(free=2, max_delay=30, now=clock)
    statuses = [token_status(client, f"clerk{n:02d}") for n in range(10)]  # 8 failures allowed per address
    assert statuses[:8] == [401] * 8 and statuses[8:] == [429, 429]


def test_the_sign_in_page_is_throttled_too(client, world, luot) -> None:
    clock = FakeClock()
    luot.signins = SignInThrottle(free=1, max_delay=30, now=clock)
    page = client.get("/dashboard/login?lang=en")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    form = {"csrf_token": csrf, "username": "manager", "password": "wrong"}
    assert client.post("/dashboard/login?lang=en", data=form).status_code == 400
    throttled = client.post("/dashboard/login?lang=en", data=form)
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.get_data(as_text=True)


# ---------------------------------------------------------------- 5: no open redirect


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example/",
        "/%0A/evil.example/",
        "/%0D/evil.example/",
        "//evil.example/",
        "/%5Cevil.example/",
        "%5C%5Cevil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        "/%20/evil.example/",
    ],
)
def test_sign_in_follows_only_paths_of_this_server(client, world, target) -> None:
    page = client.get("/dashboard/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post(
        f"/dashboard/login?next={target}", data={"csrf_token": csrf, "username": "manager", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"


def test_sign_in_follows_a_path_of_this_server(client, world) -> None:
    page = client.get("/dashboard/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))[1]
    response = client.post(
        "/dashboard/login?next=/dashboard/history%3Fsite%3D1",
        data={"csrf_token": csrf, "username": "manager", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/dashboard/history?site=1"


# ---------------------------------------------------------------- 15: usernames


def _admin_form(client, **fields):
    if not hasattr(client, "csrf"):
        answer = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD}).get_json()
        client.csrf = answer["csrf_token"]
    data = {"csrf_token": client.csrf, "role": "clerk", "password": "long-enough-1", "active": "y", **fields}
    return client.post("/admin/users/new?lang=en", data=data)


def test_usernames_are_normalised_and_compared_without_case(client, world, luot) -> None:
    decomposed = unicodedata.normalize("NFD", "Thu.Hà")
    assert _admin_form(client, username=decomposed).status_code == 302
    other = client.application.test_client()
    for spelling in ("thu.hà", "THU.HÀ", unicodedata.normalize("NFD", "Thu.Hà")):
        assert token_status(other, spelling, "long-enough-1") == 200, spelling
    # The same name in another case is the same account: refused as a duplicate.
    duplicate = _admin_form(client, username="THU.HÀ")
    assert duplicate.status_code == 400 and "already used" in duplicate.get_data(as_text=True)


@pytest.mark.parametrize(
    "username",
    [
        "p\u0430ypal",  # Cyrillic а among Latin letters
        "clerk\u200b01",  # zero-width space
        "clerk\u202e10",  # right-to-left override
        "clerk 01",
        "\u0391dmin",  # Greek capital alpha
    ],
)
def test_confusable_usernames_are_refused(client, world, username) -> None:
    response = _admin_form(client, username=username)
    assert response.status_code == 400
    assert re.search(r"cannot (mix letters|contain spaces)", response.get_data(as_text=True))


# ---------------------------------------------------------------- 13: audit filter


def test_a_site_admin_audit_filter_lists_only_its_own_users(client, world, luot) -> None:
    from server.provisioning import create_user
    from server.stats.models import AuditEntry

    with luot.db.write() as session:
        from server.models import Site

        site = session.get(Site, world.site_id)
        create_user(session, "siteadmin", PASSWORD, "admin", site, password_hash=None)
        for name, site_id in (("clerk1", world.site_id), ("otherclerk", world.other_site_id), ("admin", None)):
            session.add(
                AuditEntry(
                    at=luot.clock.now(),
                    username=name,
                    site_id=site_id,
                    action="update",
                    entity="counters",
                    summary="x",
                    changes={},
                )
            )
    assert client.post("/api/v1/auth/login", json={"username": "siteadmin", "password": PASSWORD}).status_code == 200
    page = client.get("/admin/audit").get_data(as_text=True)
    user_select = re.search(r'<select name="user">(.*?)</select>', page, re.S)[1]
    options = set(re.findall(r"<option[^>]*>([^<]*)</option>", user_select))
    assert "clerk1" in options
    assert "otherclerk" not in options and "admin" not in options
