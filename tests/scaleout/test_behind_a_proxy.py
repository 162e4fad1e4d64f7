"""Behind nginx (LUOT_TRUSTED_PROXIES=1) the client's address and scheme are the forwarded ones: rate limits
key on the caller, not on 127.0.0.1, and generated URLs use https when nginx terminated TLS. Without the
setting the X-Forwarded-* headers are ignored, so a client talking to the process directly cannot forge them.
"""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask, request, url_for

from server.app import create_app
from server.extensions import rate_key

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.fixture
def make_app(settings, clock):
    apps: list[Flask] = []

    def make(trusted_proxies: int) -> Flask:
        app = create_app(dataclasses.replace(settings, trusted_proxies=trusted_proxies), clock=clock)

        @app.get("/test/caller")  # test-only: what the app believes about the caller
        def caller() -> dict[str, str]:
            return {
                "address": request.remote_addr or "",
                "rate_key": rate_key(),
                "url": url_for("caller", _external=True),
            }

        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["luot"].close()


def test_forwarded_headers_are_ignored_when_not_behind_a_proxy(make_app):
    seen = make_app(0).test_client().get("/test/caller", headers=FORWARDED).json
    assert seen == {"address": "127.0.0.1", "rate_key": "127.0.0.1", "url": "http://localhost/test/caller"}


def test_behind_one_proxy_the_forwarded_client_and_scheme_count(make_app):
    seen = make_app(1).test_client().get("/test/caller", headers=FORWARDED).json
    assert seen == {"address": "203.0.113.7", "rate_key": "203.0.113.7", "url": "https://localhost/test/caller"}


def test_only_the_address_the_trusted_proxy_appended_counts(make_app):
    # the client sent its own X-Forwarded-For; nginx ($proxy_add_x_forwarded_for) appended the real address
    forged = {**FORWARDED, "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert make_app(1).test_client().get("/test/caller", headers=forged).json["address"] == "203.0.113.7"
