"""Splits a universal, hash-pinned lock (uv pip compile --universal) for one target Python on Linux.

usage: python scripts/lock_for.py TARGET LOCK HASHED PINS [WHEELS]
  TARGET  "3.12"; LOCK the universal lock; HASHED gets the entries that apply, markers removed, hashes kept (for
  pip download --require-hashes); PINS gets the same as bare name==version lines (install.sh). With WHEELS (a
  folder), exits 1 naming every pin that has no wheel there.
Runs with the build machine's Python; uses pip's vendored `packaging`.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pip._vendor.packaging.markers import Marker
from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

ENTRY = re.compile(r"^(?P<pin>[A-Za-z0-9_.\-]+==[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def entries(lock: str) -> list[tuple[str, str, list[str]]]:
    """[(name==version, marker or "", [--hash=… options])] in lock order."""
    found: list[tuple[str, str, list[str]]] = []
    for line in lock.splitlines():
        match = ENTRY.match(line)
        if match:
            found.append((match["pin"], (match["marker"] or "").strip(), []))
        elif line.strip().startswith("--hash=") and found:
            found[-1][2].append(line.strip().rstrip("\\").strip())
    return found


def main(target: str, lock: Path, hashed: Path, pins: Path, wheels: Path | None = None) -> int:
    env = {
        "python_version": target,
        "python_full_version": f"{target}.99",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    kept = [
        (pin, hashes) for pin, marker, hashes in entries(lock.read_text()) if not marker or Marker(marker).evaluate(env)
    ]
    hashed.write_text("".join(f"{pin} " + " ".join(hashes) + "\n" for pin, hashes in kept))
    pins.write_text("".join(f"{pin}\n" for pin, _ in kept))
    if wheels is None:
        return 0
    have = {(canonicalize_name(n), str(v)) for n, v, *_ in (parse_wheel_filename(w.name) for w in wheels.glob("*.whl"))}
    missing = [pin for pin, _ in kept if (canonicalize_name(pin.split("==")[0]), pin.split("==")[1]) not in have]
    if missing:
        print("missing wheels: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0], Path(args[1]), Path(args[2]), Path(args[3]), Path(args[4]) if len(args) > 4 else None))
