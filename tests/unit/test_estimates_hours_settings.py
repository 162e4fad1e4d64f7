"""Estimates, opening hours and settings parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from server.clock import LOCAL_TZ, local_date
from server.domain.estimates import typical_service_minutes
from server.domain.hours import is_open, opens_later_today, validate_opening_hours
from server.domain.outlook import minutes
from server.settings import RATE_LIMITS, load_settings, with_redis_timeouts

HOURS = {"days": [0, 1, 2, 3, 4], "periods": [["07:30", "11:30"], ["13:30", "17:00"]]}


def test_minutes_round_up_and_are_never_zero_with_people_ahead_and_absent_with_no_counter():
    minute = 60_000_000
    assert minutes(0, 0) == 0
    assert minutes(15 * minute, 5) == 15
    assert minutes(int(2.5 * minute), 1) == 3  # 2.5 rounds up
    assert minutes(0, 1) == 1  # someone ahead is being called at the same moment on another counter
    assert minutes(None, 4) is None  # no counter open: no minutes promised


def test_opening_later_today_is_the_next_period_start():
    wednesday = datetime(2026, 11, 18, tzinfo=LOCAL_TZ)
    assert opens_later_today(HOURS, wednesday.replace(hour=6)) == wednesday.replace(hour=7, minute=30)
    assert opens_later_today(HOURS, wednesday.replace(hour=12)) == wednesday.replace(hour=13, minute=30)
    assert opens_later_today(HOURS, wednesday.replace(hour=9)) is None  # open now
    assert opens_later_today(HOURS, wednesday.replace(hour=18)) is None  # closed until tomorrow
    assert opens_later_today({}, wednesday) is None


def test_typical_service_time_is_the_median_and_ignores_forgotten_finishes():
    assert typical_service_minutes([4, 5, 6, 600], default_minutes=8) == 5
    assert typical_service_minutes([4, 5], default_minutes=8) == 8


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 11, 18, 7, 29), False),
        ((2026, 11, 18, 7, 30), True),
        ((2026, 11, 18, 11, 30), False),
        ((2026, 11, 18, 12, 0), False),
        ((2026, 11, 18, 13, 30), True),
        ((2026, 11, 18, 16, 59), True),
        ((2026, 11, 21, 9, 0), False),  # Saturday
    ],
)
def test_opening_hours_are_read_in_local_time(local, expected):
    assert is_open(HOURS, datetime(*local, tzinfo=LOCAL_TZ)) is expected


def test_empty_hours_mean_always_open():
    assert is_open({}, datetime(2026, 11, 22, 3, 0, tzinfo=LOCAL_TZ))


def test_bad_opening_hours_are_refused():
    with pytest.raises(ValueError):
        validate_opening_hours({"periods": [["11:00", "10:00"]]})
    with pytest.raises(ValueError):
        validate_opening_hours({"days": [7]})


def test_service_date_changes_at_local_midnight_not_utc_midnight():
    before = datetime(2026, 11, 18, 23, 59, tzinfo=LOCAL_TZ)
    after = datetime(2026, 11, 19, 0, 1, tzinfo=LOCAL_TZ)
    assert local_date(before).day == 18 and local_date(after).day == 19
    assert after.astimezone(UTC).day == 18  # still the 18th in UTC


def test_settings_come_from_the_environment_with_types():
    settings = load_settings(environ={"LUOT_PORT": "8080", "LUOT_CLOCK_SPEED": "60", "LUOT_ASYNC_MODE": "gevent"})
    assert (settings.port, settings.clock_speed, settings.async_mode) == (8080, 60.0, "gevent")


def test_bad_settings_are_refused_with_the_variable_name():
    with pytest.raises(ValueError, match="LUOT_PORT"):
        load_settings(environ={"LUOT_PORT": "eighty"})
    with pytest.raises(ValueError, match="LUOT_ASYNC_MODE"):
        load_settings(environ={"LUOT_ASYNC_MODE": "asyncio"})


def test_the_message_queue_url_carries_the_redis_timeouts_unless_it_sets_its_own():
    def url(queue: str, **env: str) -> str:
        return load_settings(environ={"LUOT_MESSAGE_QUEUE": queue, **env}).message_queue_url

    assert url("redis://h:6379/1") == "redis://h:6379/1?socket_connect_timeout=2.0&socket_timeout=2.0"
    assert (
        url("rediss://:pw@h/2?socket_timeout=9", LUOT_REDIS_TIMEOUT="0.5")
        == "rediss://:pw@h/2?socket_timeout=9&socket_connect_timeout=0.5"
    )
    assert url("") == ""
    assert with_redis_timeouts("amqp://h//", 2.0) == "amqp://h//"  # (LUOT_MESSAGE_QUEUE refuses it: see below)


def test_redis_timeout_and_trusted_proxies_are_checked():
    with pytest.raises(ValueError, match="LUOT_REDIS_TIMEOUT"):
        load_settings(environ={"LUOT_REDIS_TIMEOUT": "0"})
    with pytest.raises(ValueError, match="LUOT_TRUSTED_PROXIES"):
        load_settings(environ={"LUOT_TRUSTED_PROXIES": "-1"})
    assert load_settings(environ={"LUOT_TRUSTED_PROXIES": "1"}).trusted_proxies == 1


@pytest.mark.parametrize("name", RATE_LIMITS)
def test_a_rate_limit_setting_that_is_not_one_is_refused_at_start(name: str):
    """Not at the first request, where the limiter raised and (errors swallowed) no limit applied."""
    variable = f"LUOT_{name.upper()}"
    with pytest.raises(ValueError, match=variable):
        load_settings(environ={variable: "lots"})
    assert getattr(load_settings(environ={variable: "90/hour;5/minute"}), name) == "90/hour;5/minute"


DEMO_WEEK = {
    "days": [0, 1, 2, 3, 4],
    "periods": [["07:30", "11:30"], ["13:00", "17:00"]],
    "by_day": {"5": [["07:30", "11:30"]]},
}


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 11, 20, 12, 59), False),  # Friday, the break
        ((2026, 11, 20, 13, 0), True),
        ((2026, 11, 21, 9, 0), True),  # Saturday morning
        ((2026, 11, 21, 14, 0), False),  # Saturday afternoon
        ((2026, 11, 22, 9, 0), False),  # Sunday
    ],
)
def test_a_weekday_can_have_its_own_periods(local, expected):
    assert is_open(DEMO_WEEK, datetime(*local, tzinfo=LOCAL_TZ)) is expected


def test_the_site_calendar_closes_holidays_and_the_demo_rule_opens_every_hour():
    from server.domain.rules import SiteRules

    holiday = SiteRules(holidays=("2026-11-20",))
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=LOCAL_TZ)
    assert is_open(DEMO_WEEK, friday)
    assert not is_open(holiday.hours_of(DEMO_WEEK), friday)
    assert not is_open(holiday.hours_of({}), friday)  # always-open services close on holidays too
    assert opens_later_today(holiday.hours_of(DEMO_WEEK), friday.replace(hour=6)) is None
    midnight = datetime(2026, 11, 22, 0, 30, tzinfo=LOCAL_TZ)
    assert is_open(SiteRules(issue_outside_hours=True).hours_of(DEMO_WEEK), midnight)


def test_the_weekly_table_round_trips_and_keeps_the_common_periods_readable():
    from server.domain.hours import from_weekly_table, weekly_table

    table = weekly_table(DEMO_WEEK)
    assert table[0] == [("07:30", "11:30"), ("13:00", "17:00")] and table[5] == [("07:30", "11:30")]
    assert table[6] == []
    assert from_weekly_table(table) == DEMO_WEEK
    assert from_weekly_table(weekly_table({})) == {}  # always open stays always open
    assert from_weekly_table([[] for _ in range(7)]) == {"days": [], "periods": []}


@pytest.mark.parametrize(
    ("hours", "reason"),
    [
        ({"periods": [["07:30", "11:30"], ["11:00", "12:00"]]}, "overlap"),
        ({"periods": [["7h30", "11:30"]]}, "not a time of day"),
        ({"by_day": {"8": []}}, "0 (Monday) to 6"),
        ({"closed_dates": ["30/04/2026"]}, "not a date"),
    ],
)
def test_bad_hours_say_why(hours, reason):
    from server.domain.hours import HoursError

    with pytest.raises(HoursError, match=re.escape(reason)):
        validate_opening_hours(hours)
