"""A real `luot serve` process on a free port and its own instance folder: started, health-checked, killed,
restarted. Shared by the tests, the benchmarks and `luot simulate` (one class, not three)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from server.instance import initialise
from server.settings import Settings, load_settings

if TYPE_CHECKING:
    from server.db import Database

ROOT = Path(__file__).resolve().parents[1]  # where `python -m server.cli` runs


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """Start, SIGKILL and restart a server process; `url` stays the same across restarts.

    `instance_dir` is its LUOT_INSTANCE_DIR; `env` adds or overrides LUOT_* variables (the caller's own
    LUOT_* are dropped, except LUOT_REQUIRE_ALL). Its output goes to `instance_dir/server-<port>.log`.
    """

    def __init__(
        self,
        instance_dir: Path,
        async_mode: str = "eventlet",
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.instance_dir = instance_dir
        self.async_mode = async_mode
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = instance_dir / f"server-{self.port}.log"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LUOT_") or k == "LUOT_REQUIRE_ALL"}
        env.update(
            LUOT_INSTANCE_DIR=str(self.instance_dir),
            LUOT_ASYNC_MODE=self.async_mode,
            LUOT_PORT=str(self.port),
            LUOT_HOST="127.0.0.1",
            LUOT_LOG_LEVEL="WARNING",
            LUOT_TICKET_RATE_LIMIT="10000/minute",
        )
        env.update(self.extra_env)  # the caller's word wins, the rate limit included
        return env

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def settings(self) -> Settings:
        return load_settings(environ=self.env)

    def prepare(self, populate: Callable[[Database], object] | None = None) -> object:
        """`luot init` for the instance, then `populate(Database)` (in this process) before the server starts;
        returns what `populate` returned (None without it)."""
        from server.db import Database

        settings = self.settings()
        initialise(settings)
        result = None
        if populate is not None:
            db = Database(settings)
            result = populate(db)
            db.dispose()
        return result

    def seed_demo(self) -> None:
        """`luot init` and `luot seed-demo` as the operator would run them (subprocesses, same environment)."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        for command in (["init"], ["seed-demo"]):
            subprocess.run(
                [sys.executable, "-m", "server.cli", *command],
                env=self.env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.DEVNULL,
            )

    def start(self, timeout: float = 30.0) -> None:
        """Start `luot serve` and return once /healthz answers 200; RuntimeError if it exits, TimeoutError."""
        self.instance_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.02
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(delay)  # polling for readiness with back-off, not synchronising on a guess
            delay = min(delay * 2, 0.3)
        raise TimeoutError(f"server not healthy after {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as after a power cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log(self) -> str:
        """The last 4000 characters the server wrote."""
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
