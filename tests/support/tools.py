"""Skip-or-fail for missing tools: under LUOT_REQUIRE_ALL=1 a missing tool fails the test."""

from __future__ import annotations

import os
import shutil

import pytest


def require_all() -> bool:
    return os.environ.get("LUOT_REQUIRE_ALL") == "1"


def missing(reason: str) -> None:
    if require_all():
        pytest.fail(f"{reason} (LUOT_REQUIRE_ALL=1)")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Path of executable `name`; skips the test if missing, fails instead when LUOT_REQUIRE_ALL=1."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed (apt install {name})")
    return path or ""


def require_file(path: str, what: str) -> str:
    if not os.path.exists(path):
        missing(f"{what} not found at {path}")
    return path
