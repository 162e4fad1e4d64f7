"""A citizen signs in with an OpenID Connect provider: a real local provider (oidc-provider-mock, on a free port in
a thread), real HTTP between Lượt and it (discovery, token, keys), the browser's steps played by the test client
and `requests`; state, nonce and PKCE sent; the ID number claim or iss|sub identifies; no open redirect."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from server.app import create_app
from server.configuration.site_settings import check_site_settings
from server.identity.citizen import IdentityKind, person_key
from server.identity.oidc import local_path
from server.models import Site
from tests.support.oidc_provider import oidc_provider
from tests.support.world import build_world

CITIZEN = {"sub": "citizen-1", "name": "Nguyễn Thị Lan", "cccd": "001 099 012 345"}


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[str]:
    with oidc_provider(tmp_path_factory.mktemp("oidc"), [CITIZEN]) as issuer:
        yield issuer


def make_app(settings, clock, **oidc):
    app = create_app(dataclasses.replace(settings, **oidc), clock=clock)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def signin_app(settings, clock, provider):
    app = make_app(
        settings,
        clock,
        oidc_issuer=provider,
        oidc_client_id="luot-test",
        oidc_client_secret="s3cret",
        oidc_id_claim="cccd",
    )
    build_world(app.extensions["luot"].db)
    yield app
    app.extensions["luot"].close()


def sign_in(client, next_path: str = "/book/HN?step=2", sub: str = "citizen-1", action: str = "") -> str:
    """The browser's walk: Lượt → provider (the citizen picks `sub`) → Lượt's callback; where Lượt sends it last."""
    start = client.get(f"/citizen/HN/oidc/login?next={requests.utils.quote(next_path, safe='')}")
    assert start.status_code == 302, start.get_data(as_text=True)
    authorize = start.headers["Location"]
    form = {"sub": sub, **({"action": action} if action else {})}
    answer = requests.post(authorize, data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["Location"])
    assert back.path == "/citizen/oidc/callback"
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    return done.headers["Location"]


def test_the_citizen_signs_in_with_the_provider_and_is_known_by_their_id_number(signin_app, provider):
    client = signin_app.test_client()
    start = client.get("/citizen/HN/oidc/login?next=/book/HN")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert start.headers["Location"].startswith(provider + "/oauth2/authorize")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == ["luot-test"]
    assert "openid" in query["scope"][0].split()
    assert sign_in(client) == "/book/HN?step=2"
    me = client.get("/api/citizen/me").get_json()
    assert me == {"citizen": {"kind": "cccd", "phone_masked": None, "name": "Nguyễn Thị Lan"}}
    with client.session_transaction() as session:
        stored = session["citizen"]["key"]
    assert stored == person_key(signin_app.secret_key, IdentityKind.CCCD, "001099012345")


def test_without_an_id_claim_the_provider_subject_identifies(settings, clock, provider):
    app = make_app(settings, clock, oidc_issuer=provider, oidc_client_id="luot-test", oidc_client_secret="x")
    try:
        build_world(app.extensions["luot"].db)
        client = app.test_client()
        assert sign_in(client, sub="someone-else") == "/book/HN?step=2"
        assert client.get("/api/citizen/me").get_json()["citizen"]["kind"] == "oidc"
        with client.session_transaction() as session:
            stored = session["citizen"]["key"]
        assert stored == person_key(app.secret_key, IdentityKind.OIDC, f"{provider}|someone-else")
    finally:
        app.extensions["luot"].close()


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_sign_in_never_sends_the_browser_to_another_site(signin_app, target):
    assert sign_in(signin_app.test_client(), next_path=target) == "/book/HN"


def test_a_refusal_at_the_provider_comes_back_as_an_error_code(signin_app):
    client = signin_app.test_client()
    assert sign_in(client, action="deny") == "/book/HN?step=2&signin_error=sign_in_failed"
    assert client.get("/api/citizen/me").get_json() == {"citizen": None}


def test_a_callback_with_a_forged_state_identifies_nobody(signin_app, provider):
    client = signin_app.test_client()
    start = client.get("/citizen/HN/oidc/login?next=/book/HN")
    answer = requests.post(start.headers["Location"], data={"sub": "citizen-1"}, allow_redirects=False, timeout=10)
    back = urlsplit(answer.headers["Location"])
    forged = back.query.replace("state=", "state=x")
    assert client.get(f"{back.path}?{forged}").headers["Location"] == "/book/HN?signin_error=sign_in_failed"
    assert client.get("/api/citizen/me").get_json() == {"citizen": None}
    late = client.get(f"{back.path}?{back.query}")  # the pending sign-in was used up by the forged try
    assert late.status_code == 400 and late.get_json()["error"]["code"] == "sign_in_failed"


def page_oidc_link(client, site: str = "HN") -> str:
    """The identity platform's sign-in address the booking page of `site` offers ("" for none)."""
    html = client.get(f"/book/{site}").get_data(as_text=True)
    found = re.search(r'<script id="luot-config" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return str(json.loads(found[1])["urls"]["oidc"])


def test_a_site_may_have_its_own_provider_or_none(settings, clock, provider):
    app = make_app(settings, clock)
    try:
        ctx = app.extensions["luot"]
        world = build_world(ctx.db)
        client = app.test_client()
        refused = client.get("/citizen/HN/oidc/login")
        assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "sign_in_unavailable"
        assert page_oidc_link(client) == ""  # the booking page offers no sign-in that would only be refused
        with ctx.db.write() as session:
            site = session.get(Site, world.site_id)
            assert site is not None
            oidc = {"issuer": provider, "client_id": "ward-client", "client_secret": "w"}
            site.settings = check_site_settings({**site.settings, "oidc": oidc})
            session.add(site)
        assert page_oidc_link(client) == "/citizen/HN/oidc/login"
        assert sign_in(client) == "/book/HN?step=2"
        assert client.get("/api/citizen/me").get_json()["citizen"]["kind"] == "oidc"
        assert client.get("/citizen/HP/oidc/login").status_code == 404  # the other site has none
        assert page_oidc_link(client, "HP") == ""
    finally:
        app.extensions["luot"].close()


def test_an_unreachable_provider_is_a_clear_refusal(settings, clock):
    app = make_app(settings, clock, oidc_issuer="http://127.0.0.1:9", oidc_client_id="c")
    try:
        build_world(app.extensions["luot"].db)
        refused = app.test_client().get("/citizen/HN/oidc/login")
        assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "sign_in_failed"
    finally:
        app.extensions["luot"].close()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/book/HN", "/book/HN"),
        ("/book/HN?x=1&y=2", "/book/HN?x=1&y=2"),
        ("", "/d"),
        (None, "/d"),
        ("book", "/d"),
        ("http://evil", "/d"),
        ("//evil", "/d"),
        ("/\\evil", "/d"),
        ("/ok\r\nSet-Cookie: x", "/d"),
        ("/" + "a" * 600, "/d"),
    ],
)
def test_only_local_paths_are_followed(target, expected):
    assert local_path(target, "/d") == expected


def test_the_whole_flow_through_a_real_server_with_redirects_followed(tmp_path, provider):
    """`luot serve` (eventlet) and the provider, each its own process; one `requests` session plays the browser and
    follows every redirect: Lượt → provider's form (the citizen chooses) → Lượt's callback → `next`."""
    from server.process import ServerProcess

    server = ServerProcess(
        tmp_path / "instance",
        env={
            "LUOT_OIDC_ISSUER": provider,
            "LUOT_OIDC_CLIENT_ID": "luot-real",
            "LUOT_OIDC_CLIENT_SECRET": "s3cret",
            "LUOT_OIDC_ID_CLAIM": "cccd",
        },
    )
    server.prepare(build_world)
    server.start()
    try:
        browser = requests.Session()
        form = browser.get(f"{server.url}/citizen/HN/oidc/login?next=/api/citizen/me", timeout=10)
        assert form.status_code == 200 and form.url.startswith(provider)  # the provider's sign-in form
        done = browser.post(form.url, data={"sub": "citizen-1"}, timeout=10)
        assert [r.status_code for r in done.history] == [302, 302]  # provider → callback → next
        assert done.url == f"{server.url}/api/citizen/me"
        assert done.json() == {"citizen": {"kind": "cccd", "phone_masked": None, "name": "Nguyễn Thị Lan"}}
        assert browser.post(f"{server.url}/api/citizen/signout", timeout=10).json() == {"citizen": None}
        assert browser.get(f"{server.url}/api/citizen/me", timeout=10).json() == {"citizen": None}
    finally:
        server.stop()
