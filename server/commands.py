"""The `luot` subcommands (click)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from server.calendar_bounds import parse_day
from server.domain.vocabulary import Role
from server.instance import initialise
from server.ops.failures import LuotGroup
from server.settings import Settings, load_settings


def _settings(**overrides: Any) -> Settings:
    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _day(text: str, option: str) -> date:
    """An option's day (YYYY-MM-DD, years 2000–2100: server.calendar_bounds). Raises click.BadParameter."""
    from server.calendar_bounds import FIRST_DAY, LAST_DAY
    from server.domain.errors import DateOutOfRange

    try:
        day = parse_day(text)
    except DateOutOfRange:
        day = None
    if day is None:
        raise click.BadParameter(f"{text!r}: a day YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}", param_hint=option)
    return day


@click.group(cls=LuotGroup, help="Lượt — queue management for public-administration service centres.")
def cli() -> None:
    pass


@cli.command()
def init() -> None:
    """Create the instance folder, secret key and database (safe to run again)."""
    settings = _settings()
    initialise(settings)
    click.echo(f"Instance ready: {settings.instance_path}")


@cli.command("seed-demo")
@click.option(
    "--history-days",
    type=click.IntRange(0, 366),
    default=0,
    show_default=True,
    help="Also play this many finished days before today (History and charts; `make demo` asks for 30). "
    "Days that already have tickets or a roll-up are left as they are.",
)
def seed_demo(history_days: int) -> None:
    """Create the demo province (20 agencies, 43 counters, demo users and devices)."""
    from sqlmodel import Session

    from server.clock import SystemClock
    from server.db import Database
    from server.demo_data import seed_demo as seed
    from server.demo_history import fill_history

    settings = _settings()
    db = Database(settings)
    with db.write() as session:
        created = seed(session)
    click.echo("Demo data created." if created else "Demo data already present.")
    if history_days:
        with Session(db.engine) as session:
            totals = fill_history(session, SystemClock().now(), history_days)
        click.echo(f"History: {totals['tickets']} tickets played over the last {history_days} days (rolled up).")
    db.dispose()


@cli.command("demo-info")
def demo_info() -> None:
    """Print the demo URLs and logins."""
    from server.demo_data import DEMO_DEVICES, DEMO_PASSWORDS

    base = _settings().base_url
    click.echo(f"\nLượt demo (once `luot serve` has started) at {base}\n")
    for device in DEMO_DEVICES:
        click.echo(f"  {device.name:<40} {base}{device.path}")
    click.echo(f"  {'Bàn làm việc cán bộ (counter console)':<40} {base}/counter/")
    click.echo(f"  {'Bảng điều khiển quản lý (dashboard)':<40} {base}/dashboard/")
    click.echo(f"  {'Đặt lịch hẹn, lấy số từ xa (booking)':<40} {base}/book/TTHCC")
    click.echo(f"  {'API (OpenAPI)':<40} {base}/api/v1/openapi.json\n")
    click.echo(
        f"  Logins: admin / {DEMO_PASSWORDS['admin']}, manager / {DEMO_PASSWORDS['manager']}, "
        f"clerk01 … clerk43 / {DEMO_PASSWORDS['clerk']}\n"
    )


@cli.command()
@click.option("--host", default=None, help="Address to listen on (LUOT_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (LUOT_PORT).")
@click.option("--async-mode", type=click.Choice(["eventlet", "gevent", "threading"]), default=None)
def serve(host: str | None, port: int | None, async_mode: str | None) -> None:
    """Run the server (kiosks, boards, consoles, API and Socket.IO)."""
    from server.app import create_app, socketio_of
    from server.maintenance import run_booking_sweeps_forever, run_day_close_forever
    from server.ops.guards import Refusal
    from server.ops.serving import before_serve, exit_zero_on_sigterm, start_lines

    settings = _settings(host=host, port=port, async_mode=async_mode)
    try:
        lock = before_serve(settings)  # kept referenced until the server stops
    except Refusal as exc:
        raise click.ClickException(str(exc)) from exc
    app = create_app(settings)
    socketio = socketio_of(app)
    for line in start_lines(settings):
        click.echo(line, err=True)
    exit_zero_on_sigterm()
    kwargs: dict = {"host": settings.host, "port": settings.port}
    if settings.async_mode == "threading":
        kwargs["allow_unsafe_werkzeug"] = True
    else:
        kwargs["log_output"] = False
    if settings.async_mode == "eventlet":
        kwargs["max_size"] = 10_000  # eventlet's default of 1,024 connections caps the boards and consoles
    ctx = app.extensions["luot"]
    socketio.start_background_task(run_day_close_forever, ctx, socketio)
    socketio.start_background_task(run_booking_sweeps_forever, ctx, socketio)
    ctx.hub.start_background()
    ctx.messages.start()  # the outbox's sender (server/messaging/worker.py)
    from server.listener import answer_long_addresses_in_json

    answer_long_addresses_in_json(settings.async_mode)
    try:
        if settings.async_mode == "eventlet":
            from server.listener import serve_eventlet

            serve_eventlet(app, kwargs.pop("host"), kwargs.pop("port"), **kwargs)
        elif settings.async_mode == "gevent":
            from server.listener import serve_gevent

            serve_gevent(socketio, app, kwargs.pop("host"), kwargs.pop("port"), **kwargs)
        else:
            socketio.run(app, **kwargs)
    finally:
        if lock is not None:
            lock.release()


@cli.command("day-close")
def day_close() -> None:
    """Cancel tickets left waiting or held on days before today (`serve` also does this every 10 min)."""
    from server.app import create_app
    from server.maintenance import close_past_days_now

    app = create_app(_settings())
    result = close_past_days_now(app.extensions["luot"])
    click.echo(
        f"Cancelled {result.total} ticket(s) of past days"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(result.cancelled.items()))})" if result.total else "")
        + "."
    )
    app.extensions["luot"].db.dispose()


@cli.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.CLERK.value)
@click.option("--site", "site_code", default=None, help="Site code; omit for province-level staff.")
@click.option("--full-name", default="")
@click.password_option()
def create_user(username: str, role: str, site_code: str | None, full_name: str, password: str) -> None:
    """Create a staff account."""
    from sqlmodel import select

    from server.db import Database
    from server.models import Site
    from server.provisioning import create_user as make_user

    db = Database(_settings())
    with db.write() as session:
        site = session.exec(select(Site).where(Site.code == site_code)).first() if site_code else None
        if site_code and site is None:
            raise click.ClickException(f"unknown site {site_code}")
        try:
            make_user(session, username, password, role, site, full_name)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"User {username} ({role}) created.")


@cli.command("kiosk-agent")
@click.option("--server", "server_url", required=True, help="The Lượt server, e.g. http://192.168.1.10:5000.")
@click.option(
    "--token",
    envvar="LUOT_KIOSK_TOKEN",
    help="The kiosk's device token (as in its /kiosk/?token=… address); better: --token-file or LUOT_KIOSK_TOKEN, "
    "which other users of the PC cannot read in the process list.",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, readable=True),
    help="A file holding the kiosk's device token (first line).",
)
@click.option(
    "--printer",
    required=True,
    help="usb:VID:PID, serial:/dev/ttyUSB0[:BAUD], file:/dev/usb/lp0, network:HOST[:PORT], pdf:DIR or dummy.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 20),
    default=3,
    show_default=True,
    help="Further attempts after a ticket fails to print.",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(0.01, 60),
    default=1.0,
    show_default=True,
    help="Seconds before the first retry (doubling after each).",
)
@click.option(
    "--probe-every",
    type=click.FloatRange(0.05, 3600),
    default=15.0,
    show_default=True,
    help="Seconds between checks of a printer reported down.",
)
def kiosk_agent(
    server_url: str,
    token: str | None,
    token_file: str | None,
    printer: str,
    retries: int,
    retry_delay: float,
    probe_every: float,
) -> None:
    """Print a kiosk's tickets on a printer attached to the kiosk PC (kiosk printer setting "agent")."""
    if token_file:
        lines = Path(token_file).read_text().strip().splitlines()
        token = lines[0].strip() if lines else ""
    if not token:
        raise click.UsageError("give the kiosk's token: --token-file FILE, LUOT_KIOSK_TOKEN or --token")
    from server.printing.agent import main as run_agent
    from server.printing.backends import PrinterError

    try:
        run_agent(server_url, token, printer, retries=retries, retry_delay=retry_delay, probe_every=probe_every)
    except PrinterError as exc:
        raise click.ClickException(exc.message_en) from exc


# ---------------------------------------------------------------- configuration file, statistics (issue #6)


@cli.group("config")
def config_group() -> None:
    """Export or import the whole setup (sites … users) as one TOML file."""


@config_group.command("export")
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def config_export(destination: Path) -> None:
    """Write the setup to DESTINATION ('-' for standard output)."""
    from server.config_io import export_config
    from server.db import Database

    db = Database(_settings())
    with db.read() as session:
        text = export_config(session)
    db.dispose()
    if str(destination) == "-":
        click.echo(text, nl=False)
    else:
        _write_private(destination, text.encode("utf-8"))
        click.echo(f"Configuration written to {destination}", err=True)


def _write_private(path: Path, data: bytes) -> None:
    """Writes data to path readable by its owner only (0600, also when the file was there already): the
    configuration holds password and device-token hashes."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def _config_text(source: Path) -> str:
    """The text of a configuration file: UTF-8 (a byte-order mark allowed) or UTF-16 with its byte-order mark
    (Windows Notepad's "Unicode"); anything else is refused with one line."""
    import codecs

    data = source.read_bytes()
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise click.ClickException(
            f"{source}: not UTF-8 text (byte {exc.start} cannot be read): save it as UTF-8 and import it again"
        ) from exc


@config_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def config_import(source: Path) -> None:
    """Validate SOURCE, then create or update everything in it (nothing changes on error)."""
    from sqlalchemy.exc import OperationalError, StatementError

    from server.clock import SystemClock
    from server.config_io import ConfigError, import_config
    from server.db import Database

    text = _config_text(source)
    db = Database(_settings())
    try:
        with db.write() as session:
            counts = import_config(session, text, SystemClock().now(), "luot config")
    except ConfigError as exc:
        raise click.ClickException(f"{source}: {exc}") from exc
    except OperationalError:
        raise  # the database itself failed (damaged, read-only …): said by server.ops.failures
    except StatementError as exc:  # a value the checks let through and the database refused: nothing changed
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(f"{source}: the database refused the file, nothing was imported: {reason}") from exc
    finally:
        db.dispose()
    click.echo("Imported: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@cli.group("stats")
def stats_group() -> None:
    """Statistics roll-ups and the synthetic year."""


@stats_group.command("rollup")
@click.option("--from", "first", default=None, help="First local day (YYYY-MM-DD); default: the last 7 days.")
@click.option("--to", "last", default=None, help="Last local day; default: yesterday (today is always live).")
@click.option("--site", "site_code", default=None, help="One site code; default: every site.")
@click.option("--all", "redo", is_flag=True, help="Roll up again days that have a roll-up already.")
def stats_rollup(first: str | None, last: str | None, site_code: str | None, redo: bool) -> None:
    """Roll up finished days from the ticket event log (run nightly)."""
    from datetime import timedelta

    from sqlmodel import select

    from server.clock import SystemClock, local_date
    from server.db import Database
    from server.models import Site
    from server.stats.rollup import all_site_ids, days, missing_days, rollup_day

    now = SystemClock().now()
    yesterday = local_date(now) - timedelta(days=1)
    last_day = min(_day(last, "--to"), yesterday) if last else yesterday
    first_day = _day(first, "--from") if first else last_day - timedelta(days=6)
    db = Database(_settings())
    with db.read() as session:
        if site_code:
            site = session.exec(select(Site).where(Site.code == site_code)).first()
            if site is None:
                raise click.ClickException(f"unknown site {site_code}")
            site_ids = [site.id or 0]
        else:
            site_ids = all_site_ids(session)
        todo = (
            [(d, s) for d in days(first_day, last_day) for s in site_ids]
            if redo
            else missing_days(session, site_ids, first_day, last_day)
        )
    events = 0
    for day, site_id in todo:
        with db.write() as session:  # one short transaction per site-day: the server keeps serving
            events += rollup_day(session, day, site_id, now)
    db.dispose()
    click.echo(f"Rolled up {len(todo)} site-days ({events} events).")


@stats_group.command("generate-year")
@click.option("--days", type=int, default=365, help="How many days, ending today.")
@click.option("--sites", type=int, default=101, help="Sites: 1 centre, up to 9 branches, the rest communes.")
@click.option("--volume", type=float, default=1.0, help="Scale the number of citizens.")
@click.option("--seed", type=int, default=2024)
def stats_generate_year(days: int, sites: int, volume: float, seed: int) -> None:
    """Fill an EMPTY database with a synthetic year of tickets, events and roll-ups (benchmarks, demos)."""
    from datetime import timedelta

    from sqlmodel import Session, select

    from server.clock import SystemClock, local_date
    from server.db import Database
    from server.models import Site
    from server.stats.generator import generate

    db = Database(_settings())
    now = SystemClock().now()
    last = local_date(now)
    with Session(db.engine) as session:
        if session.exec(select(Site)).first() is not None:
            raise click.ClickException("the database has sites already: generate into an empty one")
        totals = generate(
            session,
            last - timedelta(days=days - 1),
            last,
            sites=sites,
            volume=volume,
            seed=seed,
            now=now,
            progress=lambda day, n: click.echo(f"{day} {n} tickets", err=True) if day.day == 1 else None,
        )
    db.dispose()
    click.echo(f"Generated {totals['tickets']} tickets and {totals['events']} events over {totals['days']} days.")


@cli.command()
@click.option(
    "--url",
    default=None,
    help="A running server (its clock compressed with LUOT_CLOCK_START/SPEED); "
    "omit to start one of its own in a temp folder.",
)
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    help="The server's LUOT_CLOCK_SPEED (with --url it must match the server's).",
)
@click.option("--citizens", type=int, default=3000, show_default=True, help="Citizens arriving during the day.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--json", "json_path", default=None, help="Also write the figures to this JSON file.")
@click.option("--kiosk-token", default="demo-kiosk-1", show_default=True)
@click.option("--clerk-password", default=None, help="Password of clerk01 … clerk43 (default: the demo's).")
@click.option(
    "--async-mode",
    type=click.Choice(["eventlet", "gevent", "threading"]),
    default="eventlet",
    help="For the server started by the simulator.",
)
def simulate(
    url: str | None,
    speed: float,
    citizens: int,
    seed: int,
    json_path: str | None,
    kiosk_token: str,
    clerk_password: str | None,
    async_mode: str,
) -> None:
    """Play a busy day at the demo centre through the REST API and report estimate accuracy and waits."""
    from server.demo_data import DEMO_PASSWORDS
    from server.simulate import simulate as run

    click.echo(
        run(url, speed, citizens, seed, json_path, kiosk_token, clerk_password or DEMO_PASSWORDS["clerk"], async_mode)
    )


def _add_operations() -> None:
    """backup, restore, upgrade, doctor, install-service: server/ops/cli.py."""
    from server.ops import cli as ops

    for command in (ops.backup, ops.restore, ops.upgrade, ops.doctor, ops.install_service):
        cli.add_command(command)


_add_operations()


def _add_privacy() -> None:
    """privacy purge: server/privacy/cli.py."""
    from server.privacy.cli import privacy_group

    cli.add_command(privacy_group)


_add_privacy()


@cli.group("export")
def export_group() -> None:
    """Exports for other systems."""


@export_group.command("onestop")
@click.option("--from", "first", required=True, help="First local day (YYYY-MM-DD).")
@click.option("--to", "last", required=True, help="Last local day (YYYY-MM-DD).")
@click.option("--site", "site_code", default=None, help="One site code; default: every site.")
@click.option("--format", "kind", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File; default: stdout.")
def export_onestop(first: str, last: str, site_code: str | None, kind: str, output: Path | None) -> None:
    """Per ticket: site, agency, service, counter, clerk, dossier codes, times, waits, rating (README: One-stop
    export)."""
    from sqlmodel import select

    from server.clock import SystemClock, local_date
    from server.db import Database
    from server.models import Site
    from server.stats.onestop import onestop_rows, to_csv, to_json

    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    db = Database(_settings())
    try:
        with db.read() as session:
            query = select(Site).where(Site.code == site_code) if site_code else select(Site)
            site_ids = [s.id or 0 for s in session.exec(query).all()]
            if site_code and not site_ids:
                raise click.ClickException(f"unknown site {site_code}")
            rows = onestop_rows(session, first_day, last_day, site_ids, local_date(SystemClock().now()))
    finally:
        db.dispose()
    body = to_csv(rows) if kind == "csv" else to_json(rows, first_day, last_day)
    if output is None:
        click.echo(body.decode("utf-8-sig" if kind == "csv" else "utf-8"), nl=False)
    else:
        output.write_bytes(body)
        click.echo(f"{len(rows)} tickets written to {output}", err=True)
