"""The words of each message kind, in Vietnamese (default) and English, from the kind and its params.

Each kind needs the params in `NEEDS` (str values); more params are ignored. SMS text is sent **unaccented**
(`unaccented()`): GSM-7 fits 160 characters in one SMS where UCS-2 (needed for Vietnamese diacritics) fits only
70, and many Vietnamese SMS gateways (brandname SMS) accept only unaccented text. E-mail keeps the accents; Zalo
ZNS sends the params to the template registered with Zalo, the text is kept for the record.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from server.domain.errors import N_


class MessageKind(StrEnum):
    OTP = "otp"
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CHANGED = "booking_changed"
    BOOKING_CANCELLED = "booking_cancelled"
    NEAR_TURN = "near_turn"
    CALLED = "called"


#: Each kind's name on staff pages (English msgids; server/translations/vi-messages.po).
KIND_LABELS: dict[MessageKind, str] = {
    MessageKind.OTP: N_("One-time code"),
    MessageKind.BOOKING_CONFIRMED: N_("Booking confirmed"),
    MessageKind.BOOKING_CHANGED: N_("Booking changed"),
    MessageKind.BOOKING_CANCELLED: N_("Booking cancelled"),
    MessageKind.NEAR_TURN: N_("Turn near"),
    MessageKind.CALLED: N_("Called"),
}

#: The params each kind needs (values are strings).
NEEDS: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.OTP: ("code",),
    MessageKind.BOOKING_CONFIRMED: ("service", "slot", "code", "link"),
    MessageKind.BOOKING_CHANGED: ("service", "slot", "code", "link"),
    MessageKind.BOOKING_CANCELLED: ("service", "slot", "code"),
    MessageKind.NEAR_TURN: ("display_number", "ahead", "service"),
    MessageKind.CALLED: ("display_number", "counter"),
}

_BODIES: dict[str, dict[MessageKind, str]] = {
    "vi": {
        MessageKind.OTP: "Mã xác thực Lượt của bạn: {code}. Không chia sẻ mã này với ai.",
        MessageKind.BOOKING_CONFIRMED: "Đã đặt lịch {service} lúc {slot}. Mã lịch hẹn: {code}. Xem, đổi, hủy: {link}",
        MessageKind.BOOKING_CHANGED: "Lịch hẹn {code} ({service}) đã đổi sang {slot}. Xem: {link}",
        MessageKind.BOOKING_CANCELLED: "Lịch hẹn {code} ({service}, {slot}) đã được hủy.",
        MessageKind.NEAR_TURN: "Sắp đến lượt số {display_number} ({service}): còn {ahead} người trước bạn. "
        "Mời quay lại khu chờ.",
        MessageKind.CALLED: "Mời công dân có số {display_number} đến quầy {counter}.",
    },
    "en": {
        MessageKind.OTP: "Your Luot code: {code}. Do not share it with anyone.",
        MessageKind.BOOKING_CONFIRMED: "Booked: {service} at {slot}. Booking code: {code}. "
        "View, change, cancel: {link}",
        MessageKind.BOOKING_CHANGED: "Booking {code} ({service}) moved to {slot}. View: {link}",
        MessageKind.BOOKING_CANCELLED: "Booking {code} ({service}, {slot}) is cancelled.",
        MessageKind.NEAR_TURN: "Number {display_number} ({service}) is nearly up: {ahead} ahead of you. "
        "Please come back to the waiting area.",
        MessageKind.CALLED: "Number {display_number}, please go to counter {counter}.",
    },
}

_SUBJECTS: dict[str, dict[MessageKind, str]] = {
    "vi": {
        MessageKind.OTP: "Mã xác thực",
        MessageKind.BOOKING_CONFIRMED: "Xác nhận lịch hẹn",
        MessageKind.BOOKING_CHANGED: "Lịch hẹn đã đổi",
        MessageKind.BOOKING_CANCELLED: "Lịch hẹn đã hủy",
        MessageKind.NEAR_TURN: "Sắp đến lượt bạn",
        MessageKind.CALLED: "Đến lượt bạn",
    },
    "en": {
        MessageKind.OTP: "Your code",
        MessageKind.BOOKING_CONFIRMED: "Booking confirmed",
        MessageKind.BOOKING_CHANGED: "Booking changed",
        MessageKind.BOOKING_CANCELLED: "Booking cancelled",
        MessageKind.NEAR_TURN: "Your turn is near",
        MessageKind.CALLED: "Your turn",
    },
}


class MissingParams(ValueError):
    """A message kind was given without the params its text needs (a programming error of the caller)."""


def _language(language: str) -> str:
    return language if language in _BODIES else "vi"


def render(kind: MessageKind, params: dict[str, str], language: str = "vi") -> str:
    """The message's text with accents (e-mail, the record). Raises MissingParams naming what is missing."""
    missing = [name for name in NEEDS[kind] if not str(params.get(name, "")).strip()]
    if missing:
        raise MissingParams(f"{kind} needs {', '.join(missing)}")
    return _BODIES[_language(language)][kind].format(**{name: str(params[name]) for name in NEEDS[kind]})


def subject(kind: MessageKind, language: str = "vi") -> str:
    """The e-mail subject, prefixed with the product's name."""
    return f"Lượt · {_SUBJECTS[_language(language)][kind]}"


def unaccented(text: str) -> str:
    """Vietnamese without diacritics, as SMS gateways take it: "Mời quầy Đ" → "Moi quay D" (NFD, marks dropped,
    đ/Đ → d/D). Characters that remain outside ASCII become "?"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.encode("ascii", "replace").decode("ascii")
