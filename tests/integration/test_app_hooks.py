"""The app's own wiring of Flask's per-request work (issue 13): what it keeps between requests is what Flask would
have computed again, nothing more."""

from __future__ import annotations

import asyncio
import inspect

import flask.app
import pytest
from flask import Flask


def test_a_hook_or_view_is_asked_once_whether_it_is_async_and_answered_as_flask_would(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []

    def counting(func: object) -> bool:
        asked.append(func)
        return inspect.iscoroutinefunction(func)

    monkeypatch.setattr(flask.app, "iscoroutinefunction", counting)

    def sync_view() -> str:
        return "ok"

    async def async_view() -> str:
        await asyncio.sleep(0)
        return "ok"

    assert [app.ensure_sync(sync_view) for _ in range(3)] == [sync_view] * 3
    assert asked == [sync_view]  # Flask asks on every request; the answer for a function never changes
    unhashable = type("Unhashable", (), {"__call__": lambda self: "ok", "__hash__": None})()
    assert app.ensure_sync(unhashable) is unhashable and app.ensure_sync(unhashable) is unhashable
    assert asked[1:] == [unhashable, unhashable]  # asked every time, as Flask does
    try:
        made = app.ensure_sync(async_view)
    except RuntimeError:  # Flask's own answer without asgiref installed
        return
    assert made is not async_view and made() == "ok"
