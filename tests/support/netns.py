"""A network namespace of the test's own: loopback only (no route anywhere), or with a dummy interface carrying a
LAN-like address that no other machine answers. Skips (fails under LUOT_REQUIRE_ALL=1) where namespaces cannot be
made (not root, no CAP_SYS_ADMIN)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.tools import missing


def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@contextmanager
def namespace(lan_address: str | None = None) -> Iterator[list[str]]:
    """Yields the command prefix (`ip netns exec NAME`) to run programs inside the namespace. With `lan_address`
    ("10.200.0.1/24"), the interface `lan0` (one end of a veth pair whose other end stays in the namespace too)
    holds it."""
    if shutil.which("ip") is None:
        missing("ip (iproute2) is not installed")
    name = f"luot-test-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        missing(f"cannot create a network namespace: {made.stderr.strip()}")
    try:
        prefix = ["ip", "netns", "exec", name]
        steps = [["link", "set", "lo", "up"]]
        if lan_address:
            steps += [
                ["link", "add", "lan0", "type", "veth", "peer", "name", "lan1"],
                ["addr", "add", lan_address, "dev", "lan0"],
                ["link", "set", "lan1", "up"],
                ["link", "set", "lan0", "up"],
            ]
        for step in steps:
            done = subprocess.run([*prefix, "ip", *step], capture_output=True, text=True, timeout=30)
            if done.returncode != 0:
                missing(f"cannot set up the namespace ({' '.join(step)}): {done.stderr.strip()}")
        yield prefix
    finally:
        _ip("netns", "del", name)
