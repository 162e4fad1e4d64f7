"""Helpers for tests of the citizen's identification: a site that can text phones, the code it queued."""

from __future__ import annotations

from sqlmodel import col, select

from server.configuration.site_settings import check_site_settings
from server.context import Luot
from server.db import Database
from server.models import OutboxMessage, Site

SMS = {"sms": {"url": "http://127.0.0.1:9/sms", "body": '{"to": "{phone}", "text": "{text}"}'}}


def set_messaging(db: Database, site_id: int, messaging: dict) -> None:
    """Saves `messaging` as the site's messages settings (checked as the administration checks them)."""
    with db.write() as session:
        site = session.get(Site, site_id)
        assert site is not None
        site.settings = check_site_settings({**site.settings, "messaging": messaging})
        session.add(site)


def enable_sms(luot: Luot, site_id: int) -> None:
    """The site texts phones through an SMS gateway (never reached: the outbox only queues)."""
    set_messaging(luot.db, site_id, SMS)


def last_code(luot: Luot, phone: str) -> str:
    """The code in the newest one-time-code message queued for the E.164 `phone`."""
    with luot.db.read() as session:
        message = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.address == phone, OutboxMessage.kind == "otp")
            .order_by(col(OutboxMessage.id).desc())
        ).first()
    assert message is not None, f"no code queued for {phone}"
    return str(message.params["code"])
