"""Benchmarks of a real `luot serve` process (run with `python -m bench`, or `make bench`).

Shared pieces: a server process on a temp SQLite instance seeded with the demo province, percentiles,
the machine description, and the process RSS.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import requests

from server.process import ServerProcess

ROOT = Path(__file__).resolve().parents[1]
KIOSK_TOKEN = "demo-kiosk-1"
BOARD_TOKEN = "demo-board-hall"
CLERK_PASSWORD = "demo-clerk"
# The first service of each demo agency: each agency has its own 999-number sequence.
SERVICES = (
    "STP-LLTP",
    "STC-DKKD",
    "SXD-GPLX",
    "SNNMT-DD",
    "SNV-LD",
    "SKHCN-KH",
    "SCT-TM",
    "SYT-HN",
    "SGDDT-VB",
    "SVHTTDL-DL",
    "SDTTG-TG",
    "SNGV-HN",
    "CA-XNC",
    "THUE-DK",
    "BHXH-ST",
    "VPDKDD-CN",
    "BQLKCN-DT",
    "DL-CD",
    "BD-TKQ",
    "KBNN-TK",
)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, {mem_kib / 1048576:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


class BenchServer(ServerProcess):
    """The shared server process on `workdir/instance`, with no practical issuing limit and the clerks the
    benches sign in as (the demo's, unless a bench sets `clerk_name` and `clerk_password`)."""

    def __init__(self, workdir: Path, mode: str, **env: str) -> None:
        super().__init__(workdir / "instance", async_mode=mode, env={"LUOT_TICKET_RATE_LIMIT": "1000000/minute", **env})
        self.workdir = workdir
        self.mode = mode
        self.clerk_name, self.clerk_password = "clerk{:02d}", CLERK_PASSWORD  # the demo's clerks

    def clerk_token(self, http: requests.Session, number: int) -> str:
        response = http.post(
            f"{self.url}/api/v1/auth/token",
            timeout=10,
            json={"username": self.clerk_name.format(number), "password": self.clerk_password},
        )
        response.raise_for_status()
        return response.json()["token"]
