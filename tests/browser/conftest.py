"""Browser fixtures: real Chromium (Debian's /usr/bin/chromium) through Playwright, and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from server.process import ServerProcess
from tests.support.tools import require_file
from tests.support.world import World, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


class HarnessBrowser:
    """The Chromium browser, whose contexts let Playwright's own helpers (wait_for_function with a string
    predicate evaluates it) run under the pages' Content-Security-Policy, which forbids eval. The pages' own
    scripts are held to the policy in test_content_security_policy.py (bypass_csp=False)."""

    def __init__(self, browser: object) -> None:
        self._browser = browser

    def new_context(self, **options: object) -> object:
        options.setdefault("bypass_csp", True)
        return self._browser.new_context(**options)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    require_file(CHROMIUM, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield HarnessBrowser(browser)
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_world(tmp_path: Path) -> Iterator[tuple[ServerProcess, World]]:
    """A server process (eventlet) on the small test world."""
    server = ServerProcess(tmp_path / "instance")
    world = server.prepare(build_world)
    server.start()
    yield server, world  # type: ignore[misc]
    server.stop()
