"""Who may open what: every route of app.url_map × every kind of caller, against an explicit table.

A route missing from EXPECTED fails `test_every_route_has_an_access_decision`: a new page or endpoint needs a
decision here. "Denied" means 401, a 403 that is an access refusal (JSON code unauthorized/forbidden or an
HTML page), or a redirect to a sign-in page; anything else (200, 302 elsewhere, 400, 404, 409, a domain 403
such as wrong_counter …) means the caller got past the access rule. Staff sign in with a session cookie for
GET (as a browser does) and send their Bearer token on POST (no CSRF token needed); the kiosk sends its
device Bearer token.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from server.app import create_app
from server.clock import ManualClock
from server.instance import initialise
from server.provisioning import create_user
from server.settings import load_settings
from tests.conftest import WEDNESDAY_9AM
from tests.support.world import PASSWORD, build_world

ROLES = ("anonymous", "clerk", "manager", "other_manager", "admin", "kiosk")
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
STAFF = frozenset({"clerk", "manager", "other_manager", "admin"})  # any site: the API checks sites itself
STAFF_OF_SITE = frozenset({"clerk", "manager", "admin"})  # admin is province-level in the test world
MANAGERS_OF_SITE = frozenset({"manager", "admin"})
ADMINS = frozenset({"admin"})
NOBODY = frozenset()  # pages opened with a device token in the address (?token=…), none given here

EXPECTED: dict[str, frozenset[str]] = {
    # server
    "static": EVERYONE,
    "web.healthz": EVERYONE,
    # REST API
    "api.token": EVERYONE,
    "api.login": EVERYONE,
    "api.logout": EVERYONE,
    "api.me": SIGNED_IN,
    "api.tokens": STAFF,  # their own tokens and sessions (issue 14)
    "api.revoke_token": STAFF,  # 404 for an unknown id: past the access rule
    "api.openapi_json": EVERYONE,
    "api.list_services": EVERYONE,
    "api.issue": STAFF | {"kiosk"},
    "api.track": EVERYONE,
    "api.return_held": STAFF,
    "api.rate": STAFF,  # by ticket id: rating tablets; staff pass the access rule, then get 403 staff_cannot_rate
    "api.show_counter": STAFF_OF_SITE,
    "api.attach_dossiers": STAFF,
    "api.onestop": frozenset({"manager", "other_manager", "admin"}),  # each gets the sites they may see
    **{
        f"api.{action}": STAFF
        for action in (
            "open_counter",
            "close_counter",
            "call_next",
            "recall",
            "start",
            "finish",
            "no_show",
            "transfer",
            "hold",
            "pause",
            "resume",
        )
    },
    # manager pages (this issue)
    "dashboard.login": EVERYONE,
    "dashboard.logout": EVERYONE,
    "dashboard.static": EVERYONE,
    "dashboard.live": STAFF_OF_SITE,
    "dashboard.live_json": STAFF_OF_SITE,
    "dashboard.devices_json": STAFF_OF_SITE,
    "dashboard.negative_ratings_json": MANAGERS_OF_SITE,  # comments name clerks: managers only
    "dashboard.province_json": STAFF,  # each sees the sites they may see
    "dashboard.history_page": MANAGERS_OF_SITE,
    "dashboard.export": MANAGERS_OF_SITE,
    "dashboard_messages.page": MANAGERS_OF_SITE,  # message failures (issue 18): masked addresses, provider errors
    "dashboard_messages.counts_json": MANAGERS_OF_SITE,
    "admin.index": ADMINS,
    "admin.list_items": ADMINS,
    "admin.edit": ADMINS,
    "admin.new_device_token": ADMINS,
    "admin.unlock_user": ADMINS,
    "admin.audit_log": ADMINS,
    # other surfaces
    "kiosk.page": NOBODY,
    "kiosk.qr": EVERYONE,
    "kiosk.static": EVERYONE,
    "display.board": NOBODY,
    "display.counter_display": NOBODY,
    "display.track": EVERYONE,
    "display.notify": EVERYONE,  # the tracking token is the key (issue 18)
    "display.call_audio": EVERYONE,
    "display.static": EVERYONE,
    "counter.login_page": EVERYONE,
    "counter.home": STAFF,
    "counter.console": STAFF,
    "counter.console_state": STAFF_OF_SITE,
    "counter.rating_page": NOBODY,
    "counter.rating_pending": NOBODY,
    "counter.static": EVERYONE,
    # the citizen's identification and personal data (issue 18)
    **{
        f"citizen.{name}": EVERYONE
        for name in ("consent", "ask_code", "check_code", "me", "signout", "oidc_login", "oidc_callback")
    },
    "privacy.find": ADMINS,
    "privacy.delete": ADMINS,
    # booked slots and online numbers (issue 18): public pages, the confirmation link's secret as the only key
    **{
        f"booking.{name}": EVERYONE
        for name in (
            "page",
            "manage_page",
            "poster",
            "catalogue_json",
            "days_json",
            "slots_json",
            "show",
            "cancel",
            "move",
            "calendar",
            "qr",
            "static",
        )
    },
    "booking.create": STAFF_OF_SITE,  # or an identified citizen (none among these callers)
    "booking.online": NOBODY,  # an identified citizen only
    **{f"booking_staff.{name}": STAFF_OF_SITE for name in ("day_json", "staff_cancel", "staff_move", "staff_page")},
    "booking_staff.staff_home": STAFF,  # to their own site's page
    "admin.holidays": ADMINS,
    "admin.toggle_holiday": ADMINS,
    "privacy_page.page": ADMINS,
}
BODIES = {"api.rate": {"score": "very_satisfied"}, "api.transfer": {"service": "TP-B"}}  # bodies parsed before auth
SIGN_OUT = {"dashboard.logout"}  # answers everyone with the sign-in page
SPENDS_THE_TOKEN = {"api.logout"}  # revokes the staff Bearer token it is sent with: called with a fresh one
USERNAMES = {"clerk": "clerk1", "manager": "manager", "other_manager": "othermanager", "admin": "admin"}


def _routes() -> list[tuple[str, str, str]]:
    """(endpoint, method, rule) of the app as built now."""
    folder = Path(tempfile.mkdtemp(prefix="luot-routes-"))
    settings = load_settings(environ={}, instance_dir=str(folder), async_mode="threading", log_level="WARNING")
    initialise(settings)
    app = create_app(settings, clock=ManualClock(WEDNESDAY_9AM))
    routes = sorted(
        {
            (rule.endpoint, method, rule.rule)
            for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}
        }
    )
    app.extensions["luot"].close()
    return routes


ROUTES = _routes()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("access")
    settings = load_settings(
        environ={}, instance_dir=str(folder / "instance"), async_mode="threading", log_level="WARNING"
    )
    initialise(settings)
    app = create_app(settings, clock=ManualClock(WEDNESDAY_9AM))
    app.config["TESTING"] = True
    ctx = app.extensions["luot"]
    world = build_world(ctx.db)
    from sqlmodel import select

    from server.models import Device, Service, Site

    with ctx.db.write() as session:
        other = session.get(Site, world.other_site_id)
        create_user(session, "othermanager", PASSWORD, "manager", other)
        service_id = session.exec(select(Service.id).where(Service.code == "TP-A")).one()
        board_id = session.exec(select(Device.id).where(Device.name == "Board other")).one()
    clients: dict[str, tuple[FlaskClient, FlaskClient, dict[str, str]]] = {}
    for role in ROLES:
        client = app.test_client()  # cookie session for pages (GET)
        headers: dict[str, str] = {}
        username = USERNAMES.get(role)
        if username:
            credentials = {"username": username, "password": PASSWORD}
            token = client.post("/api/v1/auth/token", json=credentials).get_json()["token"]
            assert client.post("/api/v1/auth/login", json=credentials).status_code == 200
            headers = {"Authorization": f"Bearer {token}"}
        elif role == "kiosk":
            headers = {"Authorization": f"Bearer {world.kiosk_token}"}
        clients[role] = (client, app.test_client(), headers)  # POST: a cookie-less client with the Bearer token
    values = {
        "counter_id": world.counters["c1"],
        "name": "services",
        "item_id": service_id,
        "kind": "csv",
        "token": "no-such-token",
        "ref": "1",
        "ticket_id": 1,
        "tracking": "nothing",
        "call_id": "c999999",
        "tracking_token": "nothing",
        "filename": "nothing.css",
        "token_id": 999_999,
        "site_code": "HN",
        "secret": "no-such-secret",
        "appointment_id": 999_999,
    }
    yield {"app": app, "world": world, "clients": clients, "values": values, "board_id": board_id}
    ctx.db.dispose()


def url_for_rule(endpoint: str, rule: str, values: dict[str, object], setup: dict) -> str:
    local = dict(values)
    if endpoint == "admin.new_device_token":
        local["item_id"] = setup["board_id"]
    url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(local[m.group(1)]), rule)
    if endpoint.startswith(("dashboard.", "dashboard_messages.")) and endpoint not in (
        "dashboard.login",
        "dashboard.logout",
        "dashboard.static",
        "dashboard.province_json",
    ):
        url += f"?site={setup['world'].site_id}"
    return url


def denied(response, endpoint: str = "") -> bool:
    if response.status_code == 401:
        return True
    if response.status_code in (301, 302, 303, 307, 308) and endpoint not in SIGN_OUT:
        return "login" in response.headers.get("Location", "")
    if response.status_code == 403:
        body = response.get_json(silent=True)
        return body is None or body.get("error", {}).get("code") in ("forbidden", "unauthorized")
    return False


def test_every_route_has_an_access_decision():
    undecided = sorted({endpoint for endpoint, _m, _r in ROUTES if endpoint not in EXPECTED})
    assert not undecided, f"add these endpoints to EXPECTED in {__file__}: {undecided}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "rule"), ROUTES, ids=[f"{m} {r}" for _e, m, r in ROUTES])
def test_access_follows_the_table(setup, endpoint, method, rule, role):
    if endpoint not in EXPECTED:
        pytest.fail(f"no access decision for {endpoint} ({method} {rule})")
    client, poster, headers = setup["clients"][role]
    if endpoint in SPENDS_THE_TOKEN and role in USERNAMES:
        credentials = {"username": USERNAMES[role], "password": PASSWORD}
        headers = {"Authorization": f"Bearer {poster.post('/api/v1/auth/token', json=credentials).get_json()['token']}"}
    url = url_for_rule(endpoint, rule, setup["values"], setup)
    if method == "GET":
        response = client.get(url, headers=headers if role == "kiosk" else {})
    else:
        response = poster.open(url, method=method, headers=headers, json=BODIES.get(endpoint, {}))
    allowed = role in EXPECTED[endpoint]
    assert denied(response, endpoint) != allowed, (
        f"{role} {'should' if allowed else 'should not'} get through {method} {url}: "
        f"{response.status_code} {response.get_data(as_text=True)[:200]}"
    )


@pytest.mark.parametrize("role", ["clerk", "manager", "admin"])
def test_staff_of_another_site_cannot_see_this_sites_dashboard_but_see_their_own(setup, role):
    """The other site's manager sees their own site's live page; this site's staff cannot open the other's."""
    client, _poster, _headers = setup["clients"][role]
    other = setup["world"].other_site_id
    response = client.get(f"/dashboard/?site={other}")
    assert (response.status_code == 200) == (role == "admin"), response.status_code
    own = setup["clients"]["other_manager"][0]
    assert own.get("/dashboard/").status_code == 200
    assert own.get(f"/dashboard/history?site={other}").status_code == 200


def test_a_site_bound_province_summary_only_lists_the_callers_site(setup):
    client = setup["clients"]["other_manager"][0]
    sites = client.get("/dashboard/api/province").get_json()["sites"]
    assert [s["id"] for s in sites] == [setup["world"].other_site_id]
    admin = setup["clients"]["admin"][0]
    assert len(admin.get("/dashboard/api/province").get_json()["sites"]) == 2


# ---------------------------------------------------------------- Socket.IO connection kinds (issue 14)

#: Every kind of Socket.IO connection → the rooms it joins (None: refused). A new device kind without a row
#: fails test_every_device_kind_has_a_socket_row.
SOCKET_KINDS: dict[str, tuple[str, ...] | None] = {
    "anonymous": None,
    "unknown token": None,
    "unknown tracking token": None,
    "phone (tracking token)": ("ticket:", "queues:"),
    "device kiosk": ("site:", "display:"),
    "device board": ("site:", "display:"),
    "device counter_display": ("site:", "display:", "counter:"),
    "device rating": ("site:", "display:", "counter:"),
    "device of another site asking for this site": None,
    "revoked device": None,
    "clerk (Bearer)": ("site:",),
    "clerk (cookie)": ("site:",),
    "manager (cookie)": ("site:", "managers:"),
    "province admin without a site": None,
    "province admin with a site": ("site:", "managers:"),
    "province admin with an unknown site": None,
    "cookie from another origin": None,
}


def test_every_device_kind_has_a_socket_row():
    from server.domain.vocabulary import DeviceKind

    assert {f"device {kind}" for kind in DeviceKind} <= set(SOCKET_KINDS)


@pytest.mark.parametrize("kind", sorted(SOCKET_KINDS))
def test_socket_connections_follow_the_table(settings_for_sockets, kind):
    app, _world, connect = settings_for_sockets
    client = connect(kind)
    expected = SOCKET_KINDS[kind]
    if expected is None:
        assert not client.is_connected(), f"{kind} should be refused"
        return
    assert client.is_connected(), f"{kind} should connect"
    server = app.extensions["luot"].socketio.server
    rooms = server.rooms(server.manager.sid_from_eio_sid(client.eio_sid, "/"), namespace="/")
    joined = {room.split(":", 1)[0] + ":" for room in rooms if isinstance(room, str) and ":" in room}
    assert joined == set(expected), f"{kind} joined {sorted(rooms)}"
    client.disconnect()


@pytest.fixture
def settings_for_sockets(tmp_path):
    from sqlmodel import select

    from server.models import Device, Site
    from server.provisioning import create_device

    settings = load_settings(environ={}, instance_dir=str(tmp_path / "instance"), async_mode="threading")
    initialise(settings)
    app = create_app(settings, clock=ManualClock(WEDNESDAY_9AM))
    app.config["TESTING"] = True
    ctx = app.extensions["luot"]
    world = build_world(ctx.db)
    with ctx.db.write() as session:
        site = session.get(Site, world.site_id)
        create_device(
            session, site, "counter_display", "Counter 1 display", "display-token-1", counter_id=world.counters["c1"]
        )
        revoked = create_device(session, site, "board", "Old board", "revoked-token")
        revoked.revoked = True
        session.add(revoked)
        board_other = session.exec(select(Device).where(Device.name == "Board other")).one()
        assert board_other.site_id == world.other_site_id
    from server.domain.queueing import issue_ticket

    tracking = ctx.run(issue_ticket, site_id=world.site_id, service_code="TP-A").ticket.tracking_token
    socketio = ctx.socketio

    def cookie(username: str):
        http = app.test_client()
        assert http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD}).status_code == 200
        return http

    def bearer_of(username: str) -> str:
        http = app.test_client()
        return http.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}).get_json()["token"]

    devices = {
        "kiosk": world.kiosk_token,
        "board": world.board_token,
        "counter_display": "display-token-1",
        "rating": world.rating_token,
    }
    kinds = {  # kind → (auth, the signed-in browser, headers)
        "unknown token": lambda: ({"token": "nope"}, None, None),
        "unknown tracking token": lambda: ({"tracking_token": "nope"}, None, None),
        "phone (tracking token)": lambda: ({"tracking_token": tracking}, None, None),
        "device of another site asking for this site": lambda: (
            {"token": world.other_board_token, "site_id": world.site_id},
            None,
            None,
        ),
        "revoked device": lambda: ({"token": "revoked-token"}, None, None),
        "clerk (Bearer)": lambda: ({"token": bearer_of("clerk1")}, None, None),
        "clerk (cookie)": lambda: (None, cookie("clerk1"), None),
        "manager (cookie)": lambda: (None, cookie("manager"), None),
        "province admin without a site": lambda: (None, cookie("admin"), None),
        "province admin with a site": lambda: ({"site_id": world.site_id}, cookie("admin"), None),
        "province admin with an unknown site": lambda: ({"site_id": 987654}, cookie("admin"), None),
        "cookie from another origin": lambda: (None, cookie("manager"), {"Origin": "http://evil.example"}),
        **{f"device {name}": (lambda token=token: ({"token": token}, None, None)) for name, token in devices.items()},
    }

    def connect(kind: str):
        auth, http, headers = kinds[kind]() if kind in kinds else (None, None, None)
        return socketio.test_client(app, auth=auth, flask_test_client=http, headers=headers)

    yield app, world, connect
    ctx.close()
