"""The manager pages: /dashboard (live, history, exports, sign-in) and /admin (see dashboard.admin)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf, validate_csrf
from sqlmodel import Session, col, select
from wtforms import ValidationError

from dashboard.access import (
    HISTORY_ROLES,
    LIVE_ROLES,
    check_site,
    staff,
    visible_sites,
)
from dashboard.health import device_health
from dashboard.refusals import install as install_refusals
from dashboard.texts import language, t
from server.auth import AuthError, SignInThrottled
from server.calendar_bounds import parse_day
from server.clock import local_date, local_time_text
from server.context import luot
from server.db import Database
from server.domain.errors import N_, RangeTooLong
from server.domain.rules import SiteRules
from server.domain.vocabulary import PRIORITY_CODES, SCORE_LABELS, DeviceKind
from server.errors_http import HTTP_MESSAGES, answers_json, error_response
from server.i18n import translate
from server.maintenance import close_for_reading
from server.models import Agency, Counter, Service, Site, User
from server.off_hub import off_hub
from server.sessions import end_session, start_session
from server.signin import sign_in
from server.stats import export_worker, exports, numbers
from server.stats.erlang import staffing
from server.stats.feedback import FeedbackFilters, feedback, negative_today
from server.stats.history_charts import history_charts
from server.stats.queries import (
    BREAKDOWNS,
    CHANNEL_LABELS,
    PRIORITY_LABELS,
    Filters,
    History,
    history,
    live_site,
    province_today,
)
from server.stats.report_header import header_for
from server.stats.rollup import roll_missing_each

log = logging.getLogger(__name__)
dashboard = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
install_refusals(dashboard)  # a date beyond the calendar, a period too long: a page (JSON for the downloads)
MAX_RANGE_DAYS = 400  # the longest period a history page or download covers; a longer one is refused
ROLLUP_ON_REQUEST = 500  # (site, day) pairs a history request may roll up before answering (the rest: History.missing)


# ---------------------------------------------------------------- sign-in


def same_origin_path(raw: str) -> str | None:
    """`raw` if it is a path on this server, else None.

    Browsers drop tabs and line breaks from addresses and read a backslash as a slash, so "/\t/evil.example"
    would lead off-site: any control character, space or backslash refuses the target, and what remains must
    be an absolute path with no scheme and no host."""
    if not raw or any(ord(c) < 0x21 or c in "\\\x7f" for c in raw):
        return None
    parts = urlsplit(raw)
    if parts.scheme or parts.netloc or not raw.startswith("/") or raw.startswith("//"):
        return None
    return raw


@dashboard.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = same_origin_path(request.args.get("next", "")) or url_for("dashboard.live")
    error, status = "", 200
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token", ""))
        except ValidationError:
            error = t("The page has expired: reload it and try again.")
        else:
            try:
                user = sign_in(
                    luot(),
                    request.remote_addr or "",
                    request.form.get("username", ""),
                    request.form.get("password", ""),
                )
                start_session(luot(), user)
                return redirect(target)
            except (AuthError, SignInThrottled) as exc:
                error = translate(exc.text, language(), **exc.params)
                status = 429 if isinstance(exc, SignInThrottled) else 400
    if error and status == 200:
        status = 400
    return render_template("dashboard/login.html", error=error, target=target), status


@dashboard.post("/logout")
def logout() -> ResponseReturnValue:
    end_session(luot())
    return redirect(url_for("dashboard.login"))


# ---------------------------------------------------------------- live


def _site_choice(db_session: Session, principal, wanted: int | None, *, page: bool) -> tuple[list[Site], Site]:
    sites = visible_sites(db_session, principal)
    if not sites:
        abort(404)
    if wanted is None:
        return sites, sites[0]
    check_site(principal, wanted, page=page)
    site = next((s for s in sites if s.id == wanted), None)
    if site is None:
        abort(404)
    return sites, site


@dashboard.get("/")
def live() -> ResponseReturnValue:
    principal = staff(LIVE_ROLES, page=True)
    ctx = luot()
    with ctx.db.read() as db_session:
        sites, site = _site_choice(db_session, principal, request.args.get("site", type=int), page=True)
    strings = {key: t(key) for key in JS_STRINGS}
    return render_template(
        "dashboard/live.html",
        sites=sites,
        site=site,
        strings=strings,
        province=len(sites) > 1,
        may_see_history=principal.role in HISTORY_ROLES,
        csrf=generate_csrf(),
    )


JS_STRINGS = (
    "Waiting",
    "Longest wait",
    "Open",
    "Paused",
    "Served",
    "Average wait",
    "p90 wait",
    "Within target",
    "Satisfaction",
    "Total",
    "online",
    "offline",
    "min",
    "Province total",
    "Site",
    *(label.en for label in SCORE_LABELS.values()),  # today's negative ratings (dashboard/js/_feedback.js)
    "Connected",
    "Connection lost, reconnecting…",
    "Connection lost",
    "Not connected",
    "Printer ready",
    "Printer offline",
    "Printer out of paper",
    "Printer status unknown",
    *DeviceKind,
)


def _api_site_id(roles: tuple[str, ...]) -> int:
    """For the JSON routes: the staff member may use them (`roles`), and the site they asked (`?site=`) or their
    own; 403/404 otherwise (as the pages)."""
    principal = staff(roles, page=False)
    with luot().db.read() as db_session:
        _sites, site = _site_choice(db_session, principal, request.args.get("site", type=int), page=False)
    return site.id or 0


@dashboard.get("/api/live")
def live_json() -> ResponseReturnValue:
    ctx = luot()
    site_id = _api_site_id(LIVE_ROLES)
    return jsonify(live_site(ctx.live_stats, site_id, ctx.clock.now()))


@dashboard.get("/api/devices")
def devices_json() -> ResponseReturnValue:
    """The site's devices and printers, with alerts (dashboard.health)."""
    return jsonify(device_health(_api_site_id(LIVE_ROLES)))


@dashboard.get("/api/negative-ratings")
def negative_ratings_json() -> ResponseReturnValue:
    """Today's citizen ratings that were not satisfied at the site, newest first (managers: they name clerks)."""
    site_id = _api_site_id(HISTORY_ROLES)
    ctx = luot()
    with ctx.db.read() as db_session:
        return jsonify({"ratings": negative_today(db_session, site_id, ctx.clock.now())})


@dashboard.get("/api/province")
def province_json() -> ResponseReturnValue:
    principal = staff(LIVE_ROLES, page=False)
    ctx = luot()
    with ctx.db.read() as db_session:
        site_ids = [s.id or 0 for s in visible_sites(db_session, principal)]
        return jsonify(province_today(db_session, ctx.live_stats, site_ids, ctx.clock.now()))


# ---------------------------------------------------------------- history


def _int(name: str) -> int | None:
    return request.args.get(name, type=int)


def _date(name: str) -> date | None:
    """A day of the query string; None when absent or not a date. Raises DateOutOfRange (server.calendar_bounds)."""
    return parse_day(request.args.get(name))


def parse_filters(db_session: Session, principal, now: datetime) -> tuple[Filters, list[Site]]:
    """History filters from the query string; unknown values are ignored, sites are checked, a date beyond
    the calendar (years 2000–2100) is a 400 (DateOutOfRange). An agency, service, counter or clerk that is not
    of the chosen sites is an unknown value too (`_of_sites`): no filter names another site's.

    The period: by default the last 30 finished days (today is live); `from` alone runs to yesterday, `to` alone
    covers the 30 days up to it, and two dates in either order are read first to last. A day after today (which
    has no figures yet) is read as today, so "to" the end of the year reports up to today, and the page's
    heading and the downloads' scope say the period reported. A period of more than MAX_RANGE_DAYS days is
    refused (RangeTooLong, 400, naming the cap), never cut short without a word."""
    today = local_date(now)
    last = min(_date("to") or today - timedelta(days=1), today)
    first = min(_date("from") or last - timedelta(days=29), today)
    if first > last:
        first, last = last, first
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise RangeTooLong(first=first.isoformat(), last=last.isoformat(), days=days, cap=MAX_RANGE_DAYS)
    sites = visible_sites(db_session, principal)
    wanted = _int("site")
    if wanted is not None:
        check_site(principal, wanted, page=True)
        site_ids = tuple(s.id or 0 for s in sites if s.id == wanted) or abort(404)
    else:
        site_ids = tuple(s.id or 0 for s in sites)
    priority = request.args.get("priority")
    priority = "" if priority == "ordinary" else priority if priority in PRIORITY_CODES else None
    channel = request.args.get("channel")
    channel = channel if channel in CHANNEL_LABELS else None
    by = request.args.get("by") or ("agency" if len(site_ids) == 1 else "site")
    by = by if by in BREAKDOWNS else "agency"
    filters = Filters(
        first,
        last,
        site_ids,
        agency_id=_of_sites(db_session, Agency, _int("agency"), site_ids),
        service_id=_of_sites(db_session, Service, _int("service"), site_ids),
        counter_id=_of_sites(db_session, Counter, _int("counter"), site_ids),
        clerk_id=_clerk_of_sites(db_session, _int("clerk"), site_ids, province=principal.site_id is None),
        priority=priority,
        channel=channel,
        by=by,
    )
    return filters, sites


def _of_sites(db_session: Session, model: type[Any], wanted: int | None, site_ids: tuple[int, ...]) -> int | None:
    """`wanted` when it is the id of an agency, service or counter (`model`) of one of `site_ids`, else None
    (the filter is dropped): an id of another site would name it in the heading and the exports."""
    if wanted is None:
        return None
    item = db_session.get(model, wanted)
    return wanted if item is not None and item.site_id in site_ids else None


def _clerk_of_sites(
    db_session: Session, wanted: int | None, site_ids: tuple[int, ...], *, province: bool
) -> int | None:
    """`wanted` when it is a user of one of `site_ids`, or a province-level user and the caller is province-level
    staff too; else None (the filter is dropped, as for `_of_sites`)."""
    if wanted is None:
        return None
    user = db_session.get(User, wanted)
    if user is None or not (user.site_id in site_ids or (user.site_id is None and province)):
        return None
    return wanted


def load_history(principal) -> tuple[Filters, list[Site], int]:
    """Parses the filters and rolls up missing finished days of the range: at most ROLLUP_ON_REQUEST, each in
    its own short transaction, so the request stays bounded. Returns the filters, the visible sites and how
    many site-days are still without a roll-up: `history()` names them (History.missing), the page flags its
    figures and a download counts them from the log."""
    ctx = luot()
    now = ctx.clock.now()
    with ctx.db.read() as db_session:
        filters, sites = parse_filters(db_session, principal, now)
    left = roll_missing_each(ctx.db, list(filters.site_ids), filters.first, filters.last, now, ROLLUP_ON_REQUEST)
    return filters, sites, left


def incomplete_warning(report: exports.Report) -> str:
    """The page's warning above figures that leave out days without a roll-up (History.missing); "" if none."""
    if report.history.complete:
        return ""
    hint = N_("Reload the page to roll up more of them, or run `luot stats rollup`; the downloads count every day.")
    return f"{report.incomplete_note()} {t(hint)}"


def read_history(db: Database, filters: Filters, now: datetime, with_plan: bool) -> tuple[History, dict | None]:
    """The figures (and the Erlang staffing plan) in one read session: today's log is read once.
    Runs off the hub (server.off_hub): it is the slow part of a long range."""
    with db.read() as db_session:
        result = history(db_session, filters, now)
        plan = staffing(db_session, filters, now) if with_plan else None
    return result, plan


def scope_lines(db_session: Session, filters: Filters, sites: list[Site]) -> list[tuple[str, str]]:
    """The filters in words, for the page heading and the exports."""
    names = {s.id: s.name for s in sites}
    lines = [
        (t("Period"), f"{filters.first.strftime('%d/%m/%Y')} – {filters.last.strftime('%d/%m/%Y')}"),
        (t("Site"), names[filters.site_ids[0]] if len(filters.site_ids) == 1 else t("All sites")),
    ]
    for label, model, value in (
        ("Agency", Agency, filters.agency_id),
        ("Service", Service, filters.service_id),
        ("Counter", Counter, filters.counter_id),
        ("Clerk", User, filters.clerk_id),
    ):
        if value is not None:
            item = db_session.get(model, value)
            text = getattr(item, "full_name", "") or getattr(item, "name", "") or getattr(item, "username", "")
            lines.append((t(label), text or f"#{value}"))
    if filters.priority is not None:
        lines.append((t("Priority"), PRIORITY_LABELS[filters.priority](language())))
    if filters.channel is not None:
        lines.append((t("Channel"), CHANNEL_LABELS[filters.channel](language())))
    return lines


def filter_choices(db_session: Session, filters: Filters) -> dict[str, list[tuple[Any, str]]]:
    site_ids = list(filters.site_ids)
    agencies = db_session.exec(
        select(Agency).where(col(Agency.site_id).in_(site_ids)).order_by(col(Agency.site_id), col(Agency.sort_order))
    ).all()
    services = db_session.exec(
        select(Service)
        .where(col(Service.site_id).in_(site_ids))
        .order_by(col(Service.site_id), col(Service.sort_order))
    ).all()
    counters = db_session.exec(
        select(Counter).where(col(Counter.site_id).in_(site_ids)).order_by(col(Counter.site_id), col(Counter.number))
    ).all()
    clerks = db_session.exec(select(User).where(col(User.site_id).in_(site_ids)).order_by(User.username)).all()
    return {
        "agency": [(a.id, a.name) for a in agencies],
        "service": [(s.id, f"{s.code} · {s.name}") for s in services],
        "counter": [(c.id, c.name or f"#{c.number}") for c in counters],
        "clerk": [(u.id, u.full_name or u.username) for u in clerks],
        "priority": [("ordinary" if p == "" else p, label(language())) for p, label in PRIORITY_LABELS.items()],
        "channel": [(c, label(language())) for c, label in CHANNEL_LABELS.items()],
        "by": [(b, t(exports.BY_LABELS[b])) for b in BREAKDOWNS],
        "score": [(str(score), t(label.en)) for score, label in SCORE_LABELS.items()],
        "reason": [(r, r) for r in rating_reasons(db_session, site_ids)],
    }


def rating_reasons(db_session: Session, site_ids: list[int]) -> list[str]:
    """The reason chips of the sites, each once, in the order the first site lists them."""
    found: list[str] = []
    for site in db_session.exec(select(Site).where(col(Site.id).in_(site_ids)).order_by(col(Site.id))).all():
        for reason in site_rules_of(site).rating_reasons:
            if reason not in found:
                found.append(reason)
    return found


@dashboard.get("/history")
def history_page() -> ResponseReturnValue:
    principal = staff(HISTORY_ROLES, page=True)
    filters, sites, _left = load_history(principal)
    ctx = luot()
    # counters are opened per site: the Erlang plan is drawn when one site is chosen
    result, plan = off_hub(
        ctx.settings.async_mode, read_history, ctx.db, filters, ctx.clock.now(), len(filters.site_ids) == 1
    )
    with ctx.db.read() as db_session:
        scope = scope_lines(db_session, result.filters, sites)
        choices = filter_choices(db_session, result.filters)
        said = feedback(db_session, feedback_filters(result.filters))
    report = exports.Report(result, t("Queue statistics"), scope, language())
    query = result.filters.as_query()
    return render_template(
        "dashboard/history.html",
        result=result,
        report=report,
        total=report.total(),
        rows=report.rows(),
        charts=history_charts(result, language()),
        scope=scope,
        sites=sites,
        choices=choices,
        filters=result.filters,
        query=query,
        warning=incomplete_warning(report),
        plan=plan,
        columns=exports.COLUMNS,
        definitions=exports.DEFINITIONS,
        csrf=generate_csrf(),
        figure=lambda value, kind: numbers.figure(value, kind, language()),
        feedback=said,
        score=request.args.get("score") or "",
        reason=request.args.get("reason") or "",
    )


def feedback_filters(filters: Filters) -> FeedbackFilters:
    """The history's filters plus `score` and `reason` (query string), for the ratings' reasons and comments."""
    score = request.args.get("score") or None
    return FeedbackFilters.of(
        filters,
        score=score if score in SCORE_LABELS else None,
        reason=(request.args.get("reason") or "")[:120] or None,
    )


EXPORT_TYPES = {  # kind → mimetype; built by exports.BUILDERS[kind] in server.stats.export_worker
    "csv": "text/csv",  # Flask adds "; charset=utf-8" (once) to text types
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dashboard.get("/export.<kind>")
@answers_json
def export(kind: str) -> ResponseReturnValue:
    """A download of the filtered history. Access, filters, missing roll-ups (bounded) and the scope lines (a
    few look-ups, in the request's language) are done here; the figures and the file are built in a child
    process (server.stats.export_worker) in every async mode, so this process's GIL stays free for the
    hall boards. The child counts the finished days still without a roll-up from the event log, so a download
    is never missing a day (a build that runs out of time answers 504, never a partial file). Waiting on the
    child is cooperative under eventlet/gevent. A failed or timed-out build answers a JSON error (500/504) and
    is logged with the child's stderr; a refused address (a date beyond the calendar, a period too long, an
    unknown kind) is a JSON error too (400/404), as the history page says it in a page."""
    if kind not in EXPORT_TYPES:
        abort(404)
    principal = staff(HISTORY_ROLES, page=True)
    filters, sites, left = load_history(principal)
    ctx = luot()
    if left:  # the child counts these days from the log: what their day close cancels must be in it
        close_for_reading(ctx)
    now = ctx.clock.now()
    with ctx.db.read() as db_session:
        scope = scope_lines(db_session, filters, sites)
        header = header_for(db_session, filters.site_ids)
    scope.append((t("Printed"), local_time_text(now)))
    options = {"header": header.to_json(), "separator": ";" if request.args.get("sep") == "semicolon" else ","}
    job = export_worker.Job(kind, filters, now, t("Queue statistics"), scope, language(), options)
    try:
        body = export_worker.run(ctx.settings, job)
    except export_worker.ExportFailed as exc:
        log.error("export.%s of %s failed: %s", kind, filters.as_query(), exc)
        _code, message = HTTP_MESSAGES[500]
        return error_response(
            "export_timeout" if exc.timed_out else "export_failed", message, 504 if exc.timed_out else 500
        )
    name = f"luot-{filters.first.isoformat()}-{filters.last.isoformat()}.{kind}"
    return Response(
        body, mimetype=EXPORT_TYPES[kind], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def site_rules_of(site: Site) -> SiteRules:
    return SiteRules.from_settings(site.settings)
