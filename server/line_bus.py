"""Several server processes (PostgreSQL + Redis) keep one truth about each line: after every commit a process says
on Redis which sites it changed, and the others build those sites' lines again from the database (and tell their
own phones and consoles). One process without a message queue needs none of this.

Channel: `luot:lines:<database number>` of `LUOT_MESSAGE_QUEUE` (pub/sub ignores database numbers). Message:
`<process id> <site id>` (ASCII). A lost message (Redis restarting) is covered by the line store's periodic
rebuild and by a rebuild whenever a claim finds its ticket already taken.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from server.failure_log import FailureLog

log = logging.getLogger(__name__)


def channel_of(message_queue: str) -> str:
    database = urlsplit(message_queue).path.strip("/") or "0"
    return f"luot:lines:{database}"


class LineBus:
    """Publishes this process's line changes and hears the others'."""

    def __init__(self, redis_url: str, on_remote_change: Callable[[int], None], sleep: Callable[[float], Any]) -> None:
        import redis

        self.origin = uuid.uuid4().hex[:12]
        self.channel = channel_of(redis_url)
        self._redis = redis.Redis.from_url(redis_url)
        self._on_remote_change = on_remote_change
        self._sleep = sleep
        self.running = True

    def changed(self, site_ids: Iterable[int]) -> None:
        """After a commit: tell the other processes (a failure is logged; their periodic rebuild catches up)."""
        try:
            for site_id in set(site_ids):
                self._redis.publish(self.channel, f"{self.origin} {site_id}")
        except Exception as exc:  # Redis away: the hub's readiness check refuses the next writes anyway
            log.warning("could not announce a line change on Redis: %s", exc)

    def listen_forever(self) -> None:
        """A background task: hear the other processes until `stop()`; reconnects with back-off."""
        delay = 0.5
        failures = FailureLog(log, "hearing the line changes of other processes on Redis", traceback=False)
        while self.running:
            try:
                pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                delay = 0.5
                failures.worked()
                while self.running:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._hear(message.get("data"))
            except Exception as exc:  # keep listening through Redis outages
                failures.failed(exc, "retrying with back-off up to 10 s")
                self._sleep(delay)
                delay = min(delay * 2, 10.0)

    def _hear(self, data: Any) -> None:
        text = data.decode() if isinstance(data, bytes) else str(data)
        origin, _, site = text.partition(" ")
        if origin != self.origin and site.isdigit():
            self._on_remote_change(int(site))

    def stop(self) -> None:
        self.running = False
