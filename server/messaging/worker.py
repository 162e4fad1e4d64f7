"""The worker that sends queued messages: a background task of `luot serve` (a green thread under eventlet and
gevent), stopped by `Luot.close()`. It never runs inside a request.

One round:
1. A claim whose lease ran out (the process died between claiming and recording: it may or may not have sent)
   becomes `failed` with the reason "interrupted" — never sent again: each message at most once. The dashboard
   shows it.
2. Due messages (`queued`, `next_attempt_at` ≤ now) are claimed one by one by a conditional UPDATE
   (queued → sending, attempts + 1, `next_attempt_at` = now + lease) in its own short transaction: of two
   processes claiming the same row, exactly one changes it (the other sees 0 rows and moves on).
3. The claimed message is sent outside any transaction, with the site's timeout (server/messaging/config.py).
4. The outcome is recorded in a short transaction: `sent` (with the provider's id and `sent_at`); a failure that
   surely did not deliver goes back to `queued` after `retry_seconds × 2^(attempts − 1)` (at most 1 hour) until
   `max_attempts`, then `failed`; a refusal or an uncertain send is `failed` at once (channels.py). A sent or
   failed message keeps its address only masked, and neither its params nor its text (`forgotten`).
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from server.clock import Clock
from server.db import Database
from server.failure_log import FailureLog
from server.messaging.addresses import masked
from server.messaging.channels import KEPT_ERROR, RAW_ERROR, Channel, ChannelName, Outcome, Outgoing, SendResult
from server.messaging.config import ConfigProblem, MessagingConfig, messaging_config
from server.messaging.email_smtp import EmailChannel
from server.messaging.scrub import scrubbed
from server.messaging.sms import SmsChannel
from server.messaging.texts import MessageKind
from server.messaging.zalo import ZaloChannel
from server.models import OutboxMessage, Site, table_of

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a queued message waits at most about this long before it is claimed
LEASE_SECONDS = 300  # a claim outlives the longest send (timeout ≤ 60 s, SMTP a few round trips)
BATCH = 20
MAX_BACKOFF_SECONDS = 3600
INTERRUPTED = "interrupted: the server stopped while sending; not sent again (it may have been delivered)"

OUTBOX = table_of(OutboxMessage)


def forgotten(address: str) -> dict[str, Any]:
    """What a message keeps once it can no longer be sent (sent or failed): the address masked, no params, no text
    (a one-time code or a booking link is not kept) — Law 91/2025: in clear only while a message may be sent."""
    return {"address": masked(address), "params": {}, "text": ""}


def backoff(config: MessagingConfig, attempts: int) -> timedelta:
    """The wait before attempt `attempts + 1`: retry_seconds × 2^(attempts − 1), at most an hour."""
    return timedelta(seconds=min(config.retry_seconds * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def channel_of(name: str, config: MessagingConfig) -> Channel | None:
    """The channel object for a message's channel name, None when the site no longer configures it."""
    if name == ChannelName.ZALO and config.zalo is not None:
        return ZaloChannel(config.zalo)
    if name == ChannelName.SMS and config.sms is not None:
        return SmsChannel(config.sms)
    if name == ChannelName.EMAIL and config.email is not None:
        return EmailChannel(config.email)
    return None


class MessageWorker:
    """Sends the outbox. `spawn`: starts the server's background task (Socket.IO's start_background_task)."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        spawn: Callable[..., Any],
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.db = db
        self.clock = clock
        self.spawn = spawn
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self.sent = 0
        self.failures = FailureLog(log, "the message worker's round")

    # ------------------------------------------------------------ running

    def start(self) -> None:
        """Starts the loop as a background task (once)."""
        if not self._stopped.is_set():
            return
        self._stop.clear()
        self._stopped.clear()
        self.spawn(self._loop)

    def stop(self, timeout: float = 5.0) -> bool:
        """Asks the loop to end after the message it is sending; False if it did not within `timeout` seconds."""
        self._stop.set()
        return self._stopped.wait(timeout)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                if not self.round():
                    self._stop.wait(self.poll_seconds)  # green under eventlet/gevent (threading is patched)
        finally:
            self._stopped.set()

    def round(self) -> int:
        """`run_once`, its failure logged (server/failure_log.py) instead of raised: the database may be away for
        a while, and the next round tries again."""
        try:
            handled = self.run_once()
        except Exception as exc:
            self.failures.failed(exc, f"retrying every {self.poll_seconds:g} s")
            return 0
        self.failures.worked()
        return handled

    def run_once(self) -> int:
        """One round (expire, claim, send, record); returns how many sends it tried."""
        now = self.clock.now()
        self._expire_leases(now)
        handled = 0
        for message_id in self._due_ids(now):
            if self._stop.is_set():
                break
            claimed = self._claim(message_id, self.clock.now())
            if claimed is None:
                continue  # another process took it
            row, config = claimed
            result = self._send(row, config)
            self._record(row, config, result, self.clock.now())
            handled += 1
        return handled

    # ------------------------------------------------------------ steps

    def _expire_leases(self, now: datetime) -> None:
        with self.db.read() as session:  # a read first: the write lock only when a claim did run out
            expired = session.execute(
                sa.select(OUTBOX.c.id, OUTBOX.c.address).where(
                    OUTBOX.c.status == "sending", OUTBOX.c.next_attempt_at < now
                )
            ).all()
        if not expired:
            return
        with self.db.write() as session:
            for message_id, address in expired:
                session.execute(
                    sa.update(OUTBOX)
                    .where(OUTBOX.c.id == message_id, OUTBOX.c.status == "sending", OUTBOX.c.next_attempt_at < now)
                    .values(status="failed", last_error=INTERRUPTED, **forgotten(address))
                )
            session.commit()

    def _due_ids(self, now: datetime) -> list[int]:
        with self.db.read() as session:
            rows = session.execute(
                sa.select(OUTBOX.c.id)
                .where(OUTBOX.c.status == "queued", OUTBOX.c.next_attempt_at <= now)
                .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
                .limit(BATCH)
            ).all()
        return [row[0] for row in rows]

    def _claim(self, message_id: int, now: datetime) -> tuple[OutboxMessage, MessagingConfig] | None:
        with self.db.write() as session:
            result = session.execute(
                sa.update(OUTBOX)
                .where(OUTBOX.c.id == message_id, OUTBOX.c.status == "queued")
                .values(
                    status="sending",
                    attempts=OUTBOX.c.attempts + 1,
                    next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
                )
            )
            if getattr(result, "rowcount", 0) != 1:
                session.rollback()
                return None
            session.commit()
            row = session.get(OutboxMessage, message_id)
            site = session.get(Site, row.site_id) if row else None
            assert row is not None
            session.expunge(row)
        try:
            config = messaging_config(site.settings if site else {})
        except ConfigProblem:
            config = MessagingConfig()
        return row, config

    def _send(self, row: OutboxMessage, config: MessagingConfig) -> SendResult:
        channel = channel_of(row.channel, config)
        if channel is None:
            return SendResult(Outcome.FAILED, error=f"the site no longer configures {row.channel}")
        message = Outgoing(
            kind=MessageKind(row.kind),
            address=row.address,
            language=row.language,
            params={str(k): str(v) for k, v in (row.params or {}).items()},
            text=row.text,
            key=row.dedupe_key,
        )
        try:
            return channel.send(message, float(config.timeout_seconds))
        except Exception as exc:  # a channel's bug must not kill the worker; not retried: it may have left
            trace = scrubbed(traceback.format_exc(), row.address, message.params, config.secrets())
            log.error("channel %s failed on message %s:\n%s", row.channel, row.id, trace)
            return SendResult(Outcome.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:RAW_ERROR])

    def _record(self, row: OutboxMessage, config: MessagingConfig, result: SendResult, now: datetime) -> None:
        attempts = row.attempts
        params = {str(k): str(v) for k, v in (row.params or {}).items()}
        error = scrubbed(result.error, row.address, params, config.secrets())[:KEPT_ERROR]  # scrubbed whole, then cut
        values: dict[str, Any]
        if result.outcome == Outcome.SENT:
            values = {
                "status": "sent",
                "sent_at": now,
                "provider_message_id": result.provider_id,
                "last_error": "",
            }
            self.sent += 1
        elif result.outcome == Outcome.RETRY and attempts < config.max_attempts:
            later = now + backoff(config, attempts)
            values = {"status": "queued", "next_attempt_at": later, "last_error": error}
        else:
            values = {"status": "failed", "last_error": error}
        if values["status"] in ("sent", "failed"):
            values.update(forgotten(row.address))
        if result.outcome != Outcome.SENT:
            log.warning("message %s (%s, attempt %s): %s", row.id, row.channel, attempts, error)
        with self.db.write() as session:
            session.execute(
                sa.update(OUTBOX).where(OUTBOX.c.id == row.id, OUTBOX.c.status == "sending").values(**values)
            )
            session.commit()
