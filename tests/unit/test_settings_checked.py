"""Every setting is checked when it is read, so that a wrong value is one line naming it at start (`luot` prints
`Error: LUOT_X …`), not a server that starts and then fails (a pool of -5 connections, a negative privacy
period) or a traceback from deep inside a library."""

from __future__ import annotations

import pytest

from server.settings import NUMBER_RANGES, SETTINGS, SettingsError, load_settings

NUMERIC = [spec for spec in SETTINGS if spec.type in (int, float)]


def test_every_numeric_setting_has_a_range_and_its_default_is_in_it():
    assert {spec.name for spec in NUMERIC} == set(NUMBER_RANGES)
    for spec in NUMERIC:
        low, high, _ = NUMBER_RANGES[spec.name]
        assert low <= spec.default <= high, spec.name
    load_settings(environ={})  # the defaults pass every check


@pytest.mark.parametrize("spec", NUMERIC, ids=lambda spec: spec.name)
def test_a_number_outside_its_range_is_refused_with_the_variable_and_the_range(spec):
    variable = f"LUOT_{spec.name.upper()}"
    low, high, _ = NUMBER_RANGES[spec.name]
    step = 1 if spec.type is int else 0.001
    below, above = (spec.type(low - step), spec.type(high + 1))
    for value in (below, above, "-5", "abc") + (("nan", "inf") if spec.type is float else ()):
        with pytest.raises(SettingsError, match=f"^{variable} must be "):
            load_settings(environ={variable: str(value)})
    for value in (low, high):
        assert getattr(load_settings(environ={variable: str(spec.type(value))}), spec.name) == spec.type(value)


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("LUOT_DATABASE_URL", "nonsense", "it is not a URL"),
        ("LUOT_DATABASE_URL", "mysql://a:secret@b/c", "mysql:// is not supported"),
        ("LUOT_DATABASE_URL", "postgresql://h/db", "postgresql+psycopg://"),
        ("LUOT_MESSAGE_QUEUE", "bogus", "redis://HOST:6379/0"),
        ("LUOT_MESSAGE_QUEUE", "amqp://x", "no other kind of queue is supported"),
        ("LUOT_LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("LUOT_CLOCK_START", "yesterday", "ISO date and time"),
        ("LUOT_SQLITE_SYNCHRONOUS", "SOMETIMES", "OFF, NORMAL, FULL or EXTRA"),
        ("LUOT_TICKET_RATE_LIMIT", "lots", "rate limits such as"),
        ("LUOT_PRINTER_NETWORKS", "foo", "'foo'"),
        ("LUOT_PRINTER_PORTS", "ninety", "ninety"),
        ("LUOT_DEFAULT_LANGUAGE", "fr", "vi or en"),
        ("LUOT_PUBLIC_URL", "luot.example", "http:// or https://"),
        ("LUOT_METRICS", "maybe", "1 or 0"),
        ("LUOT_CONFIG", "/nonexistent/luot.toml", "no such file"),
    ],
)
def test_a_value_that_cannot_be_used_is_one_line_naming_the_variable(variable, value, said):
    with pytest.raises(SettingsError) as refused:
        load_settings(environ={variable: value})
    message = str(refused.value)
    assert message.startswith(variable) and said in message and "\n" not in message
    assert "secret" not in message  # a URL's password is not repeated


def test_the_accepted_values_pass():
    settings = load_settings(
        environ={
            "LUOT_DATABASE_URL": "postgresql+psycopg://luot:pw@db/luot",
            "LUOT_MESSAGE_QUEUE": "rediss://h:6380/2",
            "LUOT_LOG_LEVEL": "warning",
            "LUOT_CLOCK_START": "2026-03-02T07:30:00+07:00",
            "LUOT_METRICS": "off",
            "LUOT_PUBLIC_URL": "https://luot.example.gov.vn",
        }
    )
    assert settings.metrics is False and settings.log_level == "warning"
    assert load_settings(environ={"LUOT_METRICS": "yes"}).metrics is True


def test_the_config_file_may_carry_a_byte_order_mark(tmp_path):
    config = tmp_path / "luot.toml"
    config.write_bytes(b"\xef\xbb\xbf[luot]\nport = 8080\n")
    assert load_settings(environ={"LUOT_CONFIG": str(config)}).port == 8080
    config.write_text("[luot\nport = 8080\n")
    with pytest.raises(SettingsError, match=f"^LUOT_CONFIG={config} is not valid TOML"):
        load_settings(environ={"LUOT_CONFIG": str(config)})
