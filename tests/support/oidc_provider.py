"""A real local OpenID Connect provider for tests: `oidc-provider-mock` (PyPI) in its own process on a free port."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from server.process import free_port


@contextmanager
def oidc_provider(log_dir: Path, users: list[dict[str, str]], timeout: float = 30.0) -> Iterator[str]:
    """Runs the provider (nonce required; `users`: claims with a "sub") and yields its issuer URL; stops it after."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--require-nonce"]
    for user in users:
        command += ["--user-claims", json.dumps(user)]
    log_path = log_dir / f"oidc-provider-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, issuer, timeout, log_path)
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(process: subprocess.Popen[bytes], issuer: str, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the OpenID provider exited:\n{log_path.read_text()}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(delay)  # polling for readiness with back-off, not synchronising on a guess
        delay = min(delay * 2, 0.3)
    raise TimeoutError(f"the OpenID provider did not start in {timeout}s:\n{log_path.read_text()}")
