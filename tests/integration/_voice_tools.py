"""Skip (or, with LUOT_REQUIRE_ALL=1, fail) a test when an external tool is missing."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str) -> str:
    """Path of executable ``name``; skips the test if missing, fails instead when LUOT_REQUIRE_ALL=1."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (apt install {name})"
        if os.environ.get("LUOT_REQUIRE_ALL") == "1":
            pytest.fail(f"{reason}; LUOT_REQUIRE_ALL=1 requires it")
        pytest.skip(reason)
    return path
