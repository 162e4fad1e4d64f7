"""The app factory: create_app(settings) builds everything; nothing happens at import time."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, request, session
from flask.globals import request_ctx
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from server import password_work
from server.api import api
from server.api.support import bearer_token
from server.asyncmode import quiet_eventlet
from server.clock import LOG_FORMAT, Clock, LocalTimeFormatter, ScaledClock, SystemClock
from server.committed import committed_response, remember
from server.context import Luot
from server.db import Database
from server.errors_http import install_error_handlers
from server.event_order import SequencedRedisManager
from server.extensions import limiter
from server.headers import install_security_headers
from server.i18n import pick_language, translate
from server.line_store import LineStore
from server.messaging.triggers import MessageTriggers
from server.messaging.worker import MessageWorker
from server.printing.jobs import PrintService
from server.printing.targets import PrinterTargets
from server.realtime import Hub
from server.request_body import dechunk_request_bodies, refuse_unreadable_body
from server.runner import Runner
from server.settings import Settings, load_settings
from server.signin_throttle import SignInThrottle
from server.stats.live import LiveStats
from server.voice.calls import Announcer, announcement_audio
from server.web import web

log = logging.getLogger(__name__)
SECRET_FILE = "secret_key"


class DatabaseInt(IntegerConverter):
    """`<int:…>` in routes: only ids the database can hold (0 … 2^63 − 1)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


class NotInitialised(RuntimeError):
    """The instance folder has no secret key: run `luot init` first."""


def read_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_path / SECRET_FILE
    if not path.exists():
        raise NotInitialised(f"{path} is missing: run `luot init` first")
    return path.read_text().strip()


def clock_from(settings: Settings) -> Clock:
    if settings.clock_start:
        return ScaledClock(datetime.fromisoformat(settings.clock_start), settings.clock_speed)
    return SystemClock()


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_luot", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(LocalTimeFormatter(LOG_FORMAT))
        handler._luot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    # python-escpos caches its printer database in a new temporary folder per process unless told where.
    escpos_cache = settings.instance_path / "escpos-cache"
    escpos_cache.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR", str(escpos_cache))
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.url_map.converters["int"] = DatabaseInt  # before any route: ids beyond 2^63 are a 404, not a 500
    app.config.update(
        SECRET_KEY=read_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1_000_000,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # our dicts keep their order; sorting cost every answer
    ctx = build_context(app, settings, clock or clock_from(settings))
    app.extensions["luot"] = ctx

    # Chunked bodies are read within the limit or refused, before anything reads a form (server.request_body).
    dechunked = dechunk_request_bodies(app.wsgi_app, lambda: app.config["MAX_CONTENT_LENGTH"])
    app.wsgi_app = dechunked  # type: ignore[method-assign,assignment]
    app.before_request(refuse_unreadable_body)
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf_for_cookie_sessions() -> None:
        """Cookie-authenticated state changes need the CSRF token; Bearer and public calls do not.

        A request is either Bearer-authenticated (a non-empty Bearer token: the cookie is then ignored) or
        cookie-authenticated: any other Authorization header (Basic, Negotiate, an empty Bearer) changes nothing.
        """
        if request.blueprint == "citizen":  # a citizen's own identification acts with no staff authority
            return
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and bearer_token() is None and session.get("user_id"):
            csrf.protect()

    app.config["RATELIMIT_STORAGE_URI"] = _limiter_storage(settings)
    limiter.init_app(app)
    app.register_blueprint(web)
    app.register_blueprint(api)
    _register_identity(app)
    install_error_handlers(app)
    _install_outage_handlers(app)
    _install_page_translations(app, settings)
    _register_surfaces(app)
    _trust_proxies(app, settings.trusted_proxies)
    from server.ops.logs import install_logs

    install_logs(app, ctx)
    if settings.metrics:
        from server.ops.metrics import install_metrics

        install_metrics(app, ctx)
    install_security_headers(app, settings.board_frame_ancestors)
    _check_limits_in_routes_only(app)
    _limiter_hooks_where_limited(app)
    _sync_views_known(app)
    return app


def build_context(app: Flask, settings: Settings, clock: Clock) -> Luot:
    """Every service of the app, built once and in order: database, Socket.IO, announcements, the hub,
    printing, the use-case runner."""
    password_work.configure(settings.async_mode)
    from server.messaging import outbox

    outbox.CLOCK[0] = clock  # the time enqueue() stamps when its caller gives none
    db = Database(settings)
    queue_url = settings.message_queue_url  # with Redis timeouts: a hung Redis fails fast instead of hanging
    queue: dict[str, Any] = {}
    if queue_url.startswith("redis"):  # numbers and publishes each site event in one atomic step
        queue["client_manager"] = SequencedRedisManager(queue_url, channel=settings.message_queue_channel)
    elif queue_url:
        queue.update(message_queue=queue_url, channel=settings.message_queue_channel)
    quiet_eventlet()  # Socket.IO imports eventlet for async_mode "eventlet" (its deprecation warning on stderr)
    socketio = SocketIO(
        app,
        async_mode=settings.async_mode,
        cors_allowed_origins=[],
        logger=False,
        engineio_logger=False,
        **queue,
    )
    lines = LineStore(db, clock)
    announcer = Announcer(db, announcement_audio(settings), socketio.start_background_task, lines=lines)
    db.catalogue_watchers.append(lines.catalogue_changed)
    live_stats = LiveStats(db, clock)
    db.catalogue_watchers.append(live_stats.catalogue_changed)
    hub = Hub(
        socketio,
        db,
        clock,
        queue_url,
        announce=announcer.announce,
        lines=lines,
        phones_per_token=settings.socket_phones_per_token,
        phones_per_address=settings.socket_phones_per_address,
        allowed_origins=tuple(settings.socket_allowed_origins.split(",")),
    )
    # A call's audio is pre-rendered when a device of its site is connected here to ask for it; with several
    # processes (a message queue) a board of another process may ask this one, so always.
    announcer.wanted = lambda site_id: bool(queue_url) or hub.presence.on_site(site_id)
    print_jobs = PrintService(socketio, db, clock, targets=PrinterTargets.from_settings(settings))
    print_jobs.install()
    triggers = MessageTriggers(db)
    hub.figures.watchers.append(triggers.check)
    return Luot(
        settings=settings,
        db=db,
        clock=clock,
        socketio=socketio,
        hub=hub,
        run=Runner(db, clock, hub.publish, hub.ready, lines=lines, on_commit=remember),
        lines=lines,
        live_stats=live_stats,
        announcer=announcer,
        print_jobs=print_jobs,
        after_issue=[print_jobs.after_issue],
        signins=SignInThrottle(settings.login_max_failures, float(settings.login_max_delay_seconds)),
        messages=MessageWorker(db, clock, socketio.start_background_task),
        message_triggers=triggers,
    )


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind `hops` reverse proxies, the client address and scheme are the ones the proxies forwarded.

    Only X-Forwarded-For and -Proto: the headers deploy/nginx.conf sets (a client-sent X-Forwarded-Host would
    pass through nginx untouched). Wraps Socket.IO's middleware too, so websockets see the same address.
    """
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _install_page_translations(app: Flask, settings: Settings) -> None:
    """Templates translate English msgids with _(); the page language is ?lang=, else the default (vi)."""

    def page_language() -> str:
        return pick_language(request.args.get("lang"), None, settings.default_language)

    def _(message: str, **params: object) -> str:
        return translate(message, page_language(), **params)

    app.jinja_env.globals.update(_=_, page_language=page_language)


def _install_outage_handlers(app: Flask) -> None:
    """A database or message-queue outage outside the runner (auth reads, rate limits) is a 503, not a 500."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from server import commit_outcome
    from server.commit_outcome import StorageUnconfirmed
    from server.errors_http import error_response
    from server.runner import StorageUnavailable

    def unavailable(error: Exception) -> Response:
        recorded = committed_response()
        if recorded is not None:  # the failure came after the commit: the answer says it was recorded
            log.error("storage failed after the commit on %s %s: %s", request.method, request.path, error)
            return recorded
        log.error("storage unavailable on %s %s: %s", request.method, request.path, error.__class__.__name__)
        problem = StorageUnconfirmed() if commit_outcome.unconfirmed() else StorageUnavailable()
        return error_response(problem.code, problem.text, problem.status)

    for kind in (OperationalError, InterfaceError, PoolTimeout, RedisConnectionError, RedisTimeoutError):
        app.register_error_handler(kind, unavailable)


def _register_surfaces(app: Flask) -> None:
    """The blueprints of the surfaces: kiosk, boards and phone page, counter console and tablet, dashboard and
    administration. They only route: everything they use is on the context."""
    from booking import blueprints as booking_blueprints
    from counter.routes import counter
    from dashboard import holidays  # noqa: F401  (the holiday calendar's routes on `admin`)
    from dashboard.access import PageDenied, denied_response
    from dashboard.admin import admin
    from dashboard.messages_page import messages_dashboard
    from dashboard.routes import dashboard
    from display.routes import display
    from kiosk.routes import kiosk

    for blueprint in (kiosk, display, counter, dashboard, admin, messages_dashboard, *booking_blueprints()):
        app.register_blueprint(blueprint)
    app.register_error_handler(PageDenied, denied_response)


def _register_identity(app: Flask) -> None:
    """The citizen's identification (phone codes, OpenID Connect) and the admin's personal-data API (issue 18)."""
    from authlib.integrations.flask_client import OAuth

    from dashboard.privacy_page import privacy_page
    from server.identity.routes import citizen
    from server.privacy.routes import privacy

    OAuth(app)  # the OpenID clients are registered per provider on first use (server.identity.oidc)
    app.register_blueprint(citizen)
    app.register_blueprint(privacy)
    app.register_blueprint(privacy_page)


def _check_limits_in_routes_only(app: Flask) -> None:
    """Flask-Limiter checks every request before its view for default, application and blueprint limits, and each
    `@limiter.limit` route again in its own wrapper. Lượt sets none of the first kind (`extensions.limiter`: its
    limits are per route: issuing, OTP), so that first check found nothing on every request and cost ~0.1 ms, a
    quarter of a bare authenticated request (py-spy, issue 13). It is dropped while the limiter has no such limits;
    the routes' own checks, the headers and the storage are unchanged."""
    limits = limiter.limit_manager
    if limits.default_limits or limits.application_limits or limits._blueprint_limits:
        return
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks:
        checks.remove(limiter._check_request_limit)


def _limiter_hooks_where_limited(app: Flask) -> None:
    """Flask-Limiter adds its rate-limit headers after every request and resets its per-request state after every
    request, each first making that state (a context object on the request) when the request had none. A request
    that met no limit (no `@limiter.limit` route: every clerk action, board and console read) has none and gets
    neither headers nor anything to reset, so both hooks are skipped for it (about 10–15 µs of every such request,
    issue 13); a limited route's request makes the state in its check and gets both, unchanged."""

    def where_limited(hook: Callable[..., Any], passes_through: bool) -> Callable[..., Any]:
        @functools.wraps(hook)
        def hooked(*args: Any) -> Any:
            if hasattr(request_ctx, _LIMITER_STATE):
                return hook(*args)
            return args[0] if passes_through else None

        return hooked

    for hooks, passes_through in ((app.after_request_funcs, True), (app.teardown_request_funcs, False)):
        ours = hooks.get(None, [])
        for index, hook in enumerate(ours):
            if getattr(getattr(hook, "func", hook), "__qualname__", "").startswith("Limiter."):
                ours[index] = where_limited(hook, passes_through)


def _sync_views_known(app: Flask) -> None:
    """Flask asks of every hook and view, on every request, whether it is a coroutine function (`ensure_sync`:
    `inspect.iscoroutinefunction`, nine times per clerk action, about 10 µs, issue 13). The answer for a function
    never changes, so it is kept per function; at most `_SYNC_KNOWN` are kept (hooks and views are a fixed set)."""
    ensure = app.ensure_sync
    known: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return known[func]
        except KeyError:
            made = ensure(func)
            if len(known) < _SYNC_KNOWN:
                known[func] = made
            return made
        except TypeError:  # an unhashable callable
            return ensure(func)

    app.ensure_sync = ensure_sync  # type: ignore[method-assign]


_SYNC_KNOWN = 1000
_LIMITER_STATE = "_limiter_request_context"  # flask_limiter's per-request state, set on the request context


def _limiter_storage(settings: Settings) -> str:
    """Redis when the province shares one (the Socket.IO queue's); else this process's memory, in the store that
    starts no thread per request (`server.rate_storage`, imported here so its scheme is registered)."""
    from server.rate_storage import LobbyMemoryStorage

    return (
        settings.message_queue_url
        if settings.message_queue.startswith("redis")
        else f"{LobbyMemoryStorage.STORAGE_SCHEME[0]}://"
    )


def socketio_of(app: Flask) -> SocketIO:
    return app.extensions["luot"].socketio
