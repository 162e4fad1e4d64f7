"""Database tables (SQLModel). Times are stored as naive UTC and read back as aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from server.domain.vocabulary import Channel, CounterStatus, Role, TicketStatus


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC; returns aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, `process_bind_param` and SQLite's DATETIME storage format in one step (every write of a
        time binds through here; the two-step chain cost about three times as much, issue 13); elsewhere the
        chain."""
        return _sqlite_bind if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """On SQLite, SQLite's DATETIME parse and `process_result_value` in one step; elsewhere the chain."""
        return _sqlite_result if dialect.name == "sqlite" else super().result_processor(dialect, coltype)


def _sqlite_bind(value: datetime | None) -> str | None:
    """An aware datetime as SQLAlchemy's SQLite DATETIME stores it, in UTC: "YYYY-MM-DD HH:MM:SS.ffffff"."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).isoformat(" ", "microseconds")[:-6]  # without its "+00:00"


def _sqlite_result(value: str | None) -> datetime | None:
    """A stored SQLite DATETIME (read as SQLAlchemy reads it: `datetime.fromisoformat`) as aware UTC."""
    if value is None:
        return None
    try:  # (a stored time ends in a digit; anything else is read only as SQLAlchemy reads it)
        parsed = datetime.fromisoformat(f"{value}+00:00") if value[-1:].isdigit() else None  # aware at once
    except ValueError:  # a stored form with an offset of its own
        parsed = None
    if parsed is None or parsed.tzinfo is not UTC:  # that, or a date alone: as SQLAlchemy's chain reads them
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return parsed


def utc_column(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def json_column(default: Any = None) -> Any:
    return Field(default_factory=lambda: {} if default is None else default, sa_column=sa.Column(sa.JSON))


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=32)
    name: str = Field(max_length=200)
    kind: str = Field(default="centre", max_length=16)  # centre | branch | point
    address: str = Field(default="", max_length=300)
    settings: dict = json_column()  # queue-rule and board options, see domain.rules.SiteRules


class Agency(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    name_en: str = Field(default="", max_length=200)
    floor: str = Field(default="", max_length=32)
    sort_order: int = 0
    active: bool = True


class NumberSequence(SQLModel, table=True):
    """A run of ticket numbers (prefix + range) shared by one or more services of a site."""

    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    code: str = Field(max_length=32)
    prefix: str = Field(default="", max_length=8)
    first_number: int = 1
    last_number: int = 9999


class DailyNumber(SQLModel, table=True):
    """The last number handed out by a sequence on a local service date."""

    sequence_id: int = Field(foreign_key="numbersequence.id", primary_key=True)
    service_date: date = Field(primary_key=True)
    last_value: int = 0


class Service(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    sequence_id: int = Field(foreign_key="numbersequence.id")
    code: str = Field(max_length=32)
    name: str = Field(max_length=300)
    name_en: str = Field(default="", max_length=300)
    daily_cap: int | None = None
    opening_hours: dict = json_column()  # {"days": [0..6], "periods": [["07:30","11:30"], …]}
    target_wait_minutes: int = 15
    target_service_minutes: int = 20
    default_service_minutes: float = 6.0
    sort_order: int = 0
    active: bool = True
    # Booked slots and online numbers (issue 18; server/domain/booking_rules.py says what each means)
    bookable: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    online_numbers: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    slot_minutes: int = Field(default=15, sa_column_kwargs={"server_default": "15"})
    slot_capacity: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    booking_days_ahead: int = Field(default=7, sa_column_kwargs={"server_default": "7"})
    booking_cutoff_minutes: int = Field(default=60, sa_column_kwargs={"server_default": "60"})


class Counter(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("site_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    number: int
    name: str = Field(default="", max_length=100)
    floor: str = Field(default="", max_length=32)
    status: str = Field(default=CounterStatus.CLOSED, max_length=16)
    pause_reason: str = Field(default="", max_length=200)
    clerk_id: int | None = Field(default=None, foreign_key="user.id", unique=True)
    current_ticket_id: int | None = None  # no FK: counter and ticket point at each other
    priority_streak: int = 0
    last_seen_at: datetime | None = utc_column()


class CounterService(SQLModel, table=True):
    counter_id: int = Field(foreign_key="counter.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id", primary_key=True)
    weight: int = 1


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    full_name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=300)
    role: str = Field(default=Role.CLERK, max_length=16)
    site_id: int | None = Field(default=None, foreign_key="site.id")  # None: every site
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = utc_column()


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime = utc_column(nullable=False)
    revoked: bool = False


class Device(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    kind: str = Field(max_length=16)  # a DeviceKind
    name: str = Field(max_length=100)
    token_hash: str = Field(unique=True, max_length=64)
    settings: dict = json_column()  # agencies shown, printer, counter, layout, language…
    revoked: bool = False
    last_seen_at: datetime | None = utc_column()


class Appointment(SQLModel, table=True):
    """A booked slot (lịch hẹn). `status`: an AppointmentStatus; `manage_hash`: SHA-256 of the secret in the
    citizen's confirmation link (cancel, move); `contact`: the phone or e-mail for its messages, in clear only
    until its day is over (purged with the citizen's other data). `request_key`: SHA-256 of who made it and the
    page's Idempotency-Key, `request_digest`: SHA-256 of what was asked (a repeated request gets the same booking,
    another request with that key 409); `change_key`: SHA-256 of the Idempotency-Key of its last move or
    cancellation; `moves`: how many times it was moved (capped, server/domain/booking.py)."""

    __table_args__ = (
        sa.UniqueConstraint("site_id", "code"),
        sa.Index("ix_appointment_service_slot", "service_id", "slot_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    service_id: int = Field(foreign_key="service.id")
    code: str = Field(max_length=32)
    slot_at: datetime = utc_column(nullable=False)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    person_key: str | None = Field(default=None, max_length=64, index=True)  # server/identity/citizen.py
    status: str = Field(default="booked", max_length=16, sa_column_kwargs={"server_default": "booked"})
    manage_hash: str | None = Field(default=None, max_length=64, unique=True)
    channel: str = Field(default="online", max_length=16, sa_column_kwargs={"server_default": "online"})
    contact: str | None = Field(default=None, max_length=200)
    card_key: str | None = Field(default=None, max_length=64, index=True)  # person key of the CCCD number
    language: str = Field(default="vi", max_length=8, sa_column_kwargs={"server_default": "vi"})
    created_at: datetime | None = utc_column()
    changed_at: datetime | None = utc_column()
    request_key: str | None = Field(default=None, max_length=64, unique=True)
    request_digest: str | None = Field(default=None, max_length=64)
    change_key: str | None = Field(default=None, max_length=64)
    moves: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class BookingSlot(SQLModel, table=True):
    """Seats taken in one slot of a service: bumped by a conditional UPDATE (`booked < capacity`) in the
    booking's own transaction, so a slot is never oversold (server/domain/booking.py)."""

    service_id: int = Field(foreign_key="service.id", primary_key=True)
    slot_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), primary_key=True))
    booked: int = 0


class Holiday(SQLModel, table=True):
    """A local date a site is closed all day (public holiday): no numbers, no bookings."""

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    day: date = Field(primary_key=True)
    name: str = Field(default="", max_length=200)


class Ticket(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("sequence_id", "service_date", "number", name="uq_ticket_number_per_day"),
        sa.UniqueConstraint("issuer_key", "idempotency_key", name="uq_ticket_idempotency"),
        sa.Index("ix_ticket_queue", "site_id", "service_id", "status"),
        sa.Index("ix_ticket_day_site_status", "service_date", "site_id", "status"),  # today's line of a site
        sa.Index("ix_ticket_origin_day", "origin_service_id", "service_date"),  # the daily cap's count
        sa.Index("ix_ticket_person_day", "person_key", "service_date"),  # per-person limits (issue 18)
    )
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    service_id: int = Field(foreign_key="service.id")
    agency_id: int = Field(foreign_key="agency.id")
    origin_service_id: int = Field(foreign_key="service.id")
    sequence_id: int = Field(foreign_key="numbersequence.id")
    service_date: date = Field(index=True)
    number: int
    display_number: str = Field(max_length=16)
    priority: str = Field(default="", max_length=16)  # "" or a priority class
    channel: str = Field(default=Channel.KIOSK, max_length=16)
    appointment_at: datetime | None = utc_column()
    status: str = Field(default=TicketStatus.WAITING, max_length=16)
    issued_at: datetime = utc_column(nullable=False)
    queue_since: datetime = utc_column(nullable=False)  # ordering time; kept across transfers
    first_called_at: datetime | None = utc_column()
    called_at: datetime | None = utc_column()
    started_at: datetime | None = utc_column()
    finished_at: datetime | None = utc_column()
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    clerk_id: int | None = Field(default=None, foreign_key="user.id")
    recall_count: int = 0
    transfer_count: int = 0
    hold_note: str = Field(default="", max_length=300)
    tracking_token: str = Field(unique=True, max_length=64)
    issuer_key: str = Field(default="", max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=128)
    estimated_wait_minutes: int | None = None
    person_key: str | None = Field(default=None, max_length=64)  # server/identity/citizen.py; None: anonymous


class TicketEvent(SQLModel, table=True):
    """Append-only log of everything that happened to a ticket."""

    __table_args__ = (sa.Index("ix_ticketevent_site_at", "site_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    kind: str = Field(max_length=16)
    at: datetime = utc_column(nullable=False)
    service_id: int = Field(foreign_key="service.id")
    agency_id: int = Field(foreign_key="agency.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    data: dict = json_column()


class CounterEvent(SQLModel, table=True):
    """Append-only log of counter sessions: opened, paused, resumed, closed."""

    id: int | None = Field(default=None, primary_key=True)
    counter_id: int = Field(foreign_key="counter.id", index=True)
    site_id: int = Field(foreign_key="site.id")
    kind: str = Field(max_length=16)
    at: datetime = utc_column(nullable=False)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    data: dict = json_column()


class Rating(SQLModel, table=True):
    """A citizen's rating: score, the reasons chosen after a negative score, a free comment, and its source
    (`tablet` the counter's rating tablet, `phone` the tracking page; `staff` only in old databases, never
    counted)."""

    __table_args__ = (sa.Index("ix_rating_site_at", "site_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    site_id: int = Field(foreign_key="site.id")
    agency_id: int = Field(foreign_key="agency.id")
    service_id: int = Field(foreign_key="service.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    clerk_id: int | None = Field(default=None, foreign_key="user.id")
    score: str = Field(max_length=32)
    comment: str = Field(default="", max_length=1000)
    source: str = Field(default="tablet", max_length=16)  # tablet | phone (staff: old rows, not counted)
    at: datetime = utc_column(nullable=False)
    reasons: list = Field(default_factory=list, sa_column=sa.Column(sa.JSON, nullable=False, server_default="[]"))


class TicketDossier(SQLModel, table=True):
    """A dossier code (mã hồ sơ) of the one-stop software attached to a ticket by the clerk; several per ticket."""

    __table_args__ = (sa.UniqueConstraint("ticket_id", "code", name="uq_ticketdossier_code"),)
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    code: str = Field(max_length=64, index=True)
    added_at: datetime = utc_column(nullable=False)
    user_id: int | None = Field(default=None, foreign_key="user.id")


class OneTimeCode(SQLModel, table=True):
    """A one-time code sent to a phone to identify a citizen (server/identity/otp.py).

    Neither the phone nor the code is stored in clear: `phone_key` is the phone's person key, `code_hash` an
    HMAC of the code under the instance secret. A code dies when used, expired or tried `MAX_ATTEMPTS` times;
    rows are deleted by the privacy purge (server/privacy/purge.py) once their day is over.
    """

    __table_args__ = (sa.Index("ix_onetimecode_phone_created", "phone_key", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    phone_key: str = Field(max_length=64)
    code_hash: str = Field(max_length=64)
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime = utc_column(nullable=False)
    attempts: int = 0
    used_at: datetime | None = utc_column()


class OutboxMessage(SQLModel, table=True):
    """A message to a citizen (server/messaging): queued in the transaction that caused it, sent later by the worker.

    `status`: queued → sending (claimed, `next_attempt_at` is then the claim's lease end) → sent | failed, or back
    to queued with a later `next_attempt_at` after a failure that surely did not deliver. `dedupe_key` is unique:
    each message is queued at most once. Personal data (Law 91/2025): `address`, `params`, `text`."""

    __table_args__ = (
        sa.Index("ix_outboxmessage_due", "status", "next_attempt_at"),
        sa.Index("ix_outboxmessage_site_status", "site_id", "status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id")
    kind: str = Field(max_length=32)  # a server.messaging.outbox.MessageKind
    channel: str = Field(max_length=16)  # zalo | sms | email
    address: str = Field(max_length=254)  # E.164 phone or e-mail, in clear until purged
    language: str = Field(default="vi", max_length=8)
    params: dict = json_column()
    text: str = Field(default="", max_length=2000)
    dedupe_key: str = Field(max_length=160, unique=True)
    status: str = Field(default="queued", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = utc_column(nullable=False)
    created_at: datetime = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()
    last_error: str = Field(default="", max_length=500)
    provider_message_id: str = Field(default="", max_length=128)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    appointment_id: int | None = Field(default=None, foreign_key="appointment.id", index=True)


class TicketWatch(SQLModel, table=True):
    """A citizen's wish to be told about one ticket: when 3 are ahead (`near_turn`) and/or when called (`called`).
    `near_queued` / `called_queued`: the message was put in the outbox. Personal data: `address`."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", unique=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    address: str = Field(max_length=254)
    language: str = Field(default="vi", max_length=8)
    near_turn: bool = True
    called: bool = True
    near_queued: bool = False
    called_queued: bool = False
    created_at: datetime = utc_column(nullable=False)


def table_of(model: type[SQLModel]) -> sa.Table:
    """The SQLAlchemy Table behind a table model, for Core inserts (SQLModel does not declare `__table__`)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, sa.Table)
    return table
