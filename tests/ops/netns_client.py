"""Run inside a network namespace by the ops tests (with the interpreter under test): waits for a Lượt server
on 127.0.0.1:PORT, issues a ticket with a kiosk token and prints the answer as JSON. Standard library only."""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request


def main(port: int, kiosk_token: str, service: str) -> None:
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while True:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit("server not healthy within 40 s")
        time.sleep(0.1)  # readiness polling, bounded by the deadline
    request = urllib.request.Request(
        f"{base}/api/v1/tickets",
        data=json.dumps({"service": service}).encode(),
        headers={"Authorization": f"Bearer {kiosk_token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        ticket = json.load(answer)
    with urllib.request.urlopen(f"{base}/kiosk/?token={kiosk_token}", timeout=30) as answer:
        page = answer.read().decode()
    scripts = [part.split('"')[0] for part in page.split('src="')[1:]]
    assets = {}
    for src in scripts:
        if src.startswith("/"):
            with urllib.request.urlopen(base + src, timeout=30) as answer:
                assets[src] = len(answer.read())
    print(json.dumps({"ticket": ticket, "assets": assets}))


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
