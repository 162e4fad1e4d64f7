"""A booking as an iCalendar file (RFC 5545) for "add to calendar": local times with a VTIMEZONE for
Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving), DTSTAMP in UTC, CRLF lines folded at 75 octets."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

from server.clock import LOCAL_TZ

_VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    "TZID:Asia/Ho_Chi_Minh",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0700",
    "TZOFFSETTO:+0700",
    "TZNAME:ICT",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def _escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): any line break (CRLF, CR, LF, as an admin's textarea gives an
    address) becomes \\n; other control characters, which no content line may hold (§3.1), are dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch == "\n" or ch == "\t" or unicodedata.category(ch) != "Cc")
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Split a content line into ≤ 75-octet pieces (continuations start with a space), never inside a UTF-8
    character."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not out else 74):
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def booking_ics(
    *,
    uid: str,
    start: datetime,
    minutes: int,
    summary: str,
    location: str,
    description: str,
    now: datetime,
    sequence: int = 0,
    cancelled: bool = False,
) -> str:
    """The calendar file of one booking: `start` aware, `minutes` long. `sequence` (RFC 5545 §3.8.7.4) grows with
    each change of the booking, so a calendar that imports the file again replaces its event of the same UID
    rather than keeping the old time; a cancelled booking's event has STATUS:CANCELLED."""
    local = start.astimezone(LOCAL_TZ)
    end = local + timedelta(minutes=minutes)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Luot//Booking//VI",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *_VTIMEZONE,
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"SEQUENCE:{max(sequence, 0)}",
        "STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED",
        f"DTSTART;TZID=Asia/Ho_Chi_Minh:{local:%Y%m%dT%H%M%S}",
        f"DTEND;TZID=Asia/Ho_Chi_Minh:{end:%Y%m%dT%H%M%S}",
        f"SUMMARY:{_escape(summary)}",
        f"LOCATION:{_escape(location)}",
        f"DESCRIPTION:{_escape(description)}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
