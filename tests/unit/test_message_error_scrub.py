"""A channel's error is kept without the citizen in it (server/messaging/scrub.py)."""

from __future__ import annotations

import pytest

from server.messaging.scrub import HIDDEN, scrubbed


@pytest.mark.parametrize(
    "written",
    ["+84912345678", "84912345678", "0912345678", "0912 345 678", "+84 91 234 5678", "0912.345.678", "(091) 2345678"],
)
def test_a_phone_is_hidden_however_the_gateway_writes_it(written):
    said = scrubbed(f"HTTP 400: invalid destination {written}!", "+84912345678")
    assert said.startswith("HTTP 400: invalid destination ") and HIDDEN in said
    assert not any(ch.isdigit() for ch in said.removeprefix("HTTP 400"))


def test_queries_codes_links_and_e_mail_addresses_go_but_the_reason_stays():
    error = "HTTP 403: /send?to=84912345678&text=Ma%20482913 refused for An.Tran@Example.vn (an.tran%40example.vn)"
    said = scrubbed(error, "An.Tran@example.vn", {"code": "482913", "link": "http://x/b/BK-7Q2"})
    assert said.startswith("HTTP 403: /send?") and "refused for" in said
    for gone in ("84912345678", "482913", "an.tran", "An.Tran", "%40example"):
        assert gone not in said
    assert scrubbed("port 60571 timed out after 10 s", "+84912345678") == "port 60571 timed out after 10 s"
