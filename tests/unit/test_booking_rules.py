"""Booked slots, the pure rules: slots cut from opening hours, cut-off, check-in window, lapse, CCCD QR text,
the calendar file."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest

from booking.ics import booking_ics
from server.clock import LOCAL_TZ
from server.domain import booking_errors
from server.domain.booking_rules import (
    AppointmentStatus,
    BookingSettings,
    check_in,
    closed_reason,
    effective_appointment_status,
    may_book,
    normalised_code,
    slots_on,
)
from server.domain.cccd import InvalidCardText, looks_like_card, parse_card_text
from server.domain.rules import SiteRules

HOURS = {"days": [0, 1, 2, 3, 4], "periods": [["07:30", "11:30"], ["13:30", "17:00"]]}
WEDNESDAY = date(2026, 11, 18)


def at(hour: int, minute: int = 0, day: date = WEDNESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ)


def test_slots_fill_each_period_and_end_inside_it():
    slots = slots_on(HOURS, WEDNESDAY, 45)
    assert slots[0] == at(7, 30) and at(10, 30) in slots and at(11, 15) not in slots  # 11:15 + 45 > 11:30
    assert at(13, 30) in slots and at(15, 45) in slots and at(16, 30) not in slots  # 16:30 + 45 > 17:00
    assert all(s.tzinfo is not None for s in slots)


def test_no_slots_on_closed_days_holidays_or_without_hours():
    assert slots_on(HOURS, date(2026, 11, 21), 15) == []  # Saturday
    assert slots_on({**HOURS, "closed_dates": ["2026-11-18"]}, WEDNESDAY, 15) == []
    assert slots_on({}, WEDNESDAY, 15) == []


def settings(**kw: int) -> BookingSettings:
    values = {"bookable": True, "slot_minutes": 15, "slot_capacity": 2, "days_ahead": 7, "cutoff_minutes": 60}
    values.update(kw)
    return BookingSettings(**values)  # type: ignore[arg-type]


def test_a_slot_may_be_booked_until_its_cut_off_and_within_the_days_ahead():
    assert may_book(at(10), at(8, 59), settings())
    assert not may_book(at(10), at(9, 0), settings())
    assert may_book(at(10), at(9, 59), settings(cutoff_minutes=0))
    assert not may_book(at(10, day=WEDNESDAY + timedelta(days=8)), at(8), settings())
    assert may_book(at(10, day=WEDNESDAY + timedelta(days=7)), at(8), settings())


def test_a_slot_refused_says_whether_it_is_too_late_or_too_far_ahead():
    too_far = closed_reason(at(10, day=WEDNESDAY + timedelta(days=8)), at(8), settings())
    assert too_far.code == "booking_too_far" and too_far.status == 409 and "7" in str(too_far)
    too_late = closed_reason(at(10), at(9, 30), settings())
    assert too_late.code == "booking_closed" and too_late.status == 409


def appointment(slot: datetime, status: str = AppointmentStatus.BOOKED) -> SimpleNamespace:
    return SimpleNamespace(slot_at=slot, status=status, changed_at=None)


def test_check_in_inside_the_window_keeps_the_slot_outside_gives_an_ordinary_ticket():
    rules = SiteRules(appointment_early_minutes=10, appointment_late_minutes=15)
    inside = appointment(at(9))
    assert check_in(inside, at(8, 50), rules) == at(9) and inside.status == AppointmentStatus.CHECKED_IN
    assert check_in(appointment(at(9)), at(9, 15), rules) == at(9)
    assert check_in(appointment(at(9)), at(8, 49), rules) is None  # too early: an ordinary ticket
    assert check_in(appointment(at(9)), at(9, 16), rules) is None  # late: an ordinary ticket


def test_a_booking_not_checked_in_lapses_and_is_refused():
    rules = SiteRules(booking_lapse_minutes=60)
    assert effective_appointment_status("booked", at(9), at(9, 59), 60) == "booked"
    assert effective_appointment_status("booked", at(9), at(10), 60) == "lapsed"
    assert effective_appointment_status("booked", at(23, 30), at(23, 59, WEDNESDAY + timedelta(days=1)), 60) == "lapsed"
    with pytest.raises(booking_errors.BookingLapsed):
        check_in(appointment(at(9)), at(10, 1), rules)
    with pytest.raises(booking_errors.BookingCancelled) as cancelled:  # the kiosk says so, not "can't be changed"
        check_in(appointment(at(9), AppointmentStatus.CANCELLED), at(9), rules)
    assert cancelled.value.code == "booking_cancelled" and cancelled.value.status == 409


def test_codes_are_read_without_spaces_or_case():
    assert normalised_code(" ab3k 7mpq ") == "AB3K7MPQ"
    assert normalised_code("hen-42") == "HEN-42"


CARD = "001099012345|123456789|Nguyễn Văn A|01011990|Nam|Số 1 Phố X, Hà Nội|15082021"


def test_the_cccd_qr_text_gives_its_fields():
    card = parse_card_text(CARD)
    assert card.id_number == "001099012345" and card.old_id == "123456789" and card.name == "Nguyễn Văn A"
    assert card.birth_date == date(1990, 1, 1) and card.issue_date == date(2021, 8, 15)
    assert card.sex == "Nam" and card.address == "Số 1 Phố X, Hà Nội"
    assert looks_like_card(CARD) and not looks_like_card("AB3K7MPQ")


def test_a_card_without_the_old_number_or_with_fewer_fields_is_read():
    assert parse_card_text("001099012345||Trần Thị B|29021992|Nữ|Cần Thơ|01072024").old_id == ""
    assert parse_card_text("001099012345|").name == ""
    assert parse_card_text(CARD + "|extra|fields").id_number == "001099012345"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AB3K7MPQ",
        "00109901234|123456789|A|01011990|Nam|X|15082021",  # 11 digits
        "0010990123456|123456789|A|01011990|Nam|X|15082021",  # 13 digits
        "00109901234A|123456789|A|01011990|Nam|X|15082021",
        "001099012345|12345|A|01011990|Nam|X|15082021",  # old number not 9 digits
        "001099012345|123456789|A|31021990|Nam|X|15082021",  # no 31 February
        "001099012345|123456789|A|1990-01-01|Nam|X|15082021",
        "001099012345|123456789|A|01011990|Nam|X|150820",
        "|".join(["001099012345"] + ["x"] * 12),
        "001099012345|" + "x" * 500,
    ],
)
def test_malformed_card_text_is_refused_with_a_400(text):
    with pytest.raises(InvalidCardText) as refused:
        parse_card_text(text)
    assert refused.value.status == 400


def test_the_calendar_file_has_local_times_a_timezone_and_a_utc_stamp():
    text = booking_ics(
        uid="AB3K7MPQ-HN@luot",
        start=at(9, 15),
        minutes=15,
        summary="Cấp phiếu lý lịch tư pháp – AB3K7MPQ",
        location="Trung tâm, Số 1; Hà Nội",
        description="Mã lịch hẹn: AB3K7MPQ\n" + "x" * 200,
        now=at(8),
    )
    lines = text.split("\r\n")
    assert "DTSTART;TZID=Asia/Ho_Chi_Minh:20261118T091500" in lines
    assert "DTEND;TZID=Asia/Ho_Chi_Minh:20261118T093000" in lines
    assert "DTSTAMP:20261118T010000Z" in lines  # 08:00 in Hà Nội is 01:00 UTC
    assert "TZOFFSETTO:+0700" in lines and "BEGIN:VTIMEZONE" in lines
    assert "LOCATION:Trung tâm\\, Số 1\\; Hà Nội" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "x" * 200 in unfolded and text.endswith("\r\n")


def test_the_calendar_file_turns_any_line_break_into_an_escaped_one_and_drops_control_characters():
    """An address typed in the admin's textarea arrives with CRLF: a raw CR would end the content line."""
    text = booking_ics(
        uid="AB3K7MPQ-HN@luot",
        start=at(9, 15),
        minutes=15,
        summary="Chứng thực\x00 – AB3K7MPQ",
        location="Trung tâm\r\nSố 1\rHà Nội\x1b",
        description="Mã\nx",
        now=at(8),
    )
    lines = text.split("\r\n")
    assert "LOCATION:Trung tâm\\nSố 1\\nHà Nội" in lines
    assert "SUMMARY:Chứng thực – AB3K7MPQ" in lines
    assert "DESCRIPTION:Mã\\nx" in lines
    assert not any(ord(ch) < 32 for line in lines for ch in line)


@pytest.mark.parametrize(
    "number",
    [
        "\u0660\u0660\u0661\u0660\u0669\u0669\u0660\u0661\u0662\u0663\u0664\u0665",  # Arabic-Indic digits
        "\uff10\uff10\uff11\uff10\uff19\uff19\uff10\uff11\uff12\uff13\uff14\uff15",  # full-width digits
    ],
)
def test_a_card_number_must_be_ascii_digits(number):
    assert not looks_like_card(number + "|")
    with pytest.raises(InvalidCardText):
        parse_card_text(number + "|123456789|A|01011990|Nam|X|15082021")
    with pytest.raises(InvalidCardText):
        parse_card_text("001099012345|123456789|A|" + number[:8] + "|Nam|X|15082021")
