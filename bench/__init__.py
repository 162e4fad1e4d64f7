"""Benchmarks of a real `luot serve` process (run with `python -m bench`, or `make bench`).

Shared pieces: a server process on a temp SQLite instance seeded with the demo province, percentiles,
the machine description, and the process RSS.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


class BenchServer:
    """A `luot serve` process on a fresh SQLite instance with the demo province."""

    def __init__(self, workdir: Path, mode: str, **env: str) -> None:
        self.workdir = workdir
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_")}
        self.env.update(
            LUOT_INSTANCE_DIR=str(workdir / "instance"),
            LUOT_ASYNC_MODE=mode,
            LUOT_PORT=str(self.port),
            LUOT_HOST="127.0.0.1",
            LUOT_LOG_LEVEL="WARNING",
            LUOT_TICKET_RATE_LIMIT="1000000/minute",
            **env,
        )
        self.process: subprocess.Popen | None = None
        self.clerk_name, self.clerk_password = "clerk{:02d}", CLERK_PASSWORD  # the demo's clerks

    def prepare(self) -> None:
        for command in (["init"], ["seed-demo"]):
            subprocess.run(
                [sys.executable, "-m", "server.cli", *command],
                env=self.env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )

    def start(self, timeout: float = 30) -> None:
        with (self.workdir / f"server-{self.mode}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: see {self.workdir}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)  # readiness poll
        raise TimeoutError("server did not become healthy")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def clerk_token(self, http: requests.Session, number: int) -> str:
        response = http.post(
            f"{self.url}/api/v1/auth/token",
            timeout=10,
            json={"username": self.clerk_name.format(number), "password": self.clerk_password},
        )
        response.raise_for_status()
        return response.json()["token"]
