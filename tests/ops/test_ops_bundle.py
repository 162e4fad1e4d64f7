"""The offline bundle (scripts/bundle.sh) installs and serves a ticket inside a network namespace with loopback
only: nothing can be fetched there, so everything came from the archive."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from server.process import free_port
from tests.support.netns import namespace
from tests.support.tools import missing

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("netns_client.py")
pytestmark = pytest.mark.slow
HERE = f"{sys.version_info[0]}.{sys.version_info[1]}"
#: Target Pythons: this one, and others named in LUOT_BUNDLE_PYTHONS ("3.12 3.13") when their pythonX.Y exists.
TARGETS = [HERE, *(v for v in os.environ.get("LUOT_BUNDLE_PYTHONS", "").split() if v != HERE)]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the repository's settings or import path: the installed copy must stand alone."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LUOT_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


@pytest.mark.parametrize("target", TARGETS)
def test_the_offline_bundle_installs_and_serves_a_ticket_in_a_namespace_with_no_network(
    tmp_path: Path, target: str
) -> None:
    found = shutil.which(f"python{target}")
    if found is None or subprocess.run([found, "-c", "pass"], capture_output=True, timeout=60).returncode != 0:
        missing(f"python{target} is not installed (or not runnable)")
    with namespace() as netns:
        routes = subprocess.run([*netns, "ip", "-o", "route"], capture_output=True, text=True, timeout=30)
        links = subprocess.run([*netns, "ip", "-o", "link"], capture_output=True, text=True, timeout=30)
        assert routes.stdout.strip() == "" and [line.split(":")[1].strip() for line in links.stdout.splitlines()] == [
            "lo"
        ], "the namespace must have no network but loopback"

        started = time.monotonic()
        built = subprocess.run(
            [str(ROOT / "scripts" / "bundle.sh"), "--out", str(tmp_path / "dist"), "--python", target],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert built.returncode == 0, built.stderr[-3000:]
        archive = Path(built.stdout.strip().splitlines()[-1])
        build_seconds = time.monotonic() - started
        with tarfile.open(archive) as tar:
            tar.extractall(tmp_path / "unpacked", filter="tar")
        (bundle,) = (tmp_path / "unpacked").iterdir()
        names = {p.name for p in bundle.iterdir()}
        assert {"install.sh", "wheels", "requirements.txt", "debian-packages.txt", "SHA256SUMS", "README.md"} <= names
        assert "espeak-ng" in (bundle / "debian-packages.txt").read_text().split()

        prefix, instance = tmp_path / "opt", tmp_path / "var"
        started = time.monotonic()
        installed = subprocess.run(
            [
                *netns,
                str(bundle / "install.sh"),
                "--prefix",
                str(prefix),
                "--instance-dir",
                str(instance),
                "--backup-dir",
                str(tmp_path / "backups"),
                "--no-user",
                "--no-service",
            ],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-3000:]
        install_seconds = time.monotonic() - started
        python, luot = prefix / "venv" / "bin" / "python", prefix / "venv" / "bin" / "luot"
        where = subprocess.run(
            [str(python), "-c", "import server; print(server.__file__)"],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert where.stdout.startswith(str(prefix)), where.stdout + where.stderr
        assert (prefix / "venv" / "lib" / f"python{target}").is_dir()

        env = clean_env(
            LUOT_INSTANCE_DIR=str(instance),
            LUOT_PORT=str(free_port()),
            LUOT_CLOCK_START="2026-11-18T09:00:00+07:00",  # a Wednesday morning: the demo's services are open
        )
        seeded = subprocess.run(
            [*netns, str(luot), "seed-demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert seeded.returncode == 0, seeded.stderr
        log = (tmp_path / "serve.log").open("w")
        server = subprocess.Popen(
            [*netns, str(luot), "serve"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            client = subprocess.run(
                [*netns, str(python), str(CLIENT), env["LUOT_PORT"], "demo-kiosk-1", "STP-CT"],
                cwd=tmp_path,
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert client.returncode == 0, client.stderr + (tmp_path / "serve.log").read_text()
            answer = json.loads(client.stdout)
            assert answer["ticket"]["display_number"] and answer["ticket"]["status"] == "waiting"
            assert answer["assets"] and all(size > 1000 for size in answer["assets"].values()), answer["assets"]
        finally:
            server.terminate()
            code = server.wait(30)
            log.close()
        assert code == 0, (tmp_path / "serve.log").read_text()
        size_mb = archive.stat().st_size / 1e6
        print(
            f"\nbundle {archive.name}: {size_mb:.1f} MB, built in {build_seconds:.0f} s, "
            f"installed offline in {install_seconds:.0f} s (Python {target})"
        )
