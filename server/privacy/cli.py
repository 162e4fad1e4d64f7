"""`luot privacy purge --older-than 30d`: the purge of personal data (server/privacy/purge.py), by hand or from
cron; `luot serve` runs the same once each local day."""

from __future__ import annotations

import re

import click

from server.settings import load_settings


def parse_days(text: str) -> int:
    """ "30d", "30" → 30. Raises click.BadParameter for anything else."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*d?\s*", text or "")
    if not match:
        raise click.BadParameter("expected a number of days, e.g. 30d")
    return int(match[1])


@click.group("privacy")
def privacy_group() -> None:
    """Personal data (Law 91/2025): purge what finished days left."""


@privacy_group.command("purge")
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help="Keep person keys this many days after their day (e.g. 30d); default LUOT_PRIVACY_DAYS. Clear phone "
    "numbers and e-mail addresses of finished days always go.",
)
def purge_command(older_than: str | None) -> None:
    """Remove personal data of finished days (see the README, "Personal data")."""
    from server.app import create_app
    from server.privacy.daily import purge_now

    days = parse_days(older_than) if older_than is not None else None
    app = create_app(load_settings())
    ctx = app.extensions["luot"]
    try:
        counts = purge_now(ctx, days)
    finally:
        ctx.db.dispose()
    for name, count in counts.items():
        click.echo(f"{name}: {count}")
