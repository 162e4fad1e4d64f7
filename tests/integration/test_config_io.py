"""The setup as one TOML file: an exact round trip, and refusals that name the line and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from server.clock import ManualClock
from server.commands import cli
from server.config_io import ConfigError, export_config, import_config
from server.db import Database
from server.instance import initialise
from server.settings import load_settings
from tests.conftest import WEDNESDAY_9AM


def empty_database(folder: Path) -> Database:
    settings = load_settings(environ={}, instance_dir=str(folder), async_mode="threading", log_level="WARNING")
    initialise(settings)
    return Database(settings)


def export(db: Database) -> str:
    with db.read() as session:
        return export_config(session)


def test_export_import_into_an_empty_database_and_export_again_gives_the_identical_file(luot, world, tmp_path):
    first = export(luot.db)
    assert '[[site.service]]\ncode = "CA-Y"' in first and 'agencies = ["CA"]' in first  # readable, ids as codes
    assert "opening_hours = { days = [0, 1, 2, 3, 4]" in first and "counter = 1" in first
    other = empty_database(tmp_path / "other")
    with other.write() as session:
        counts = import_config(session, first, WEDNESDAY_9AM)
    assert counts == {"sites": 2, "agencies": 3, "services": 5, "counters": 4, "devices": 5, "users": 6}
    assert export(other) == first
    with other.write() as session:  # importing again updates in place: still the same file
        import_config(session, first, WEDNESDAY_9AM)
    assert export(other) == first
    other.dispose()


def test_an_imported_setup_works_logins_and_device_tokens_included(luot, world, tmp_path):
    from server.app import create_app
    from tests.support.api import bearer

    settings = load_settings(
        environ={}, instance_dir=str(tmp_path / "copy"), async_mode="threading", log_level="WARNING"
    )
    initialise(settings)
    app = create_app(settings, clock=ManualClock(WEDNESDAY_9AM))
    with app.extensions["luot"].db.write() as session:
        import_config(session, export(luot.db), WEDNESDAY_9AM)
    client = app.test_client()
    issued = client.post("/api/v1/tickets", json={"service": "TP-A"}, headers=bearer(world.kiosk_token))
    assert issued.status_code == 201 and issued.get_json()["display_number"] == "1001"
    token = client.post("/api/v1/auth/token", json={"username": "clerk1", "password": "secret-pass"})
    assert token.status_code == 200
    app.extensions["luot"].close()


# A site with one service; line 19 is the service's `{figure}` line.
SERVICE_WITH = (
    'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.agency]]\ncode = "TP"\nname = "x"\n\n'
    '[[site.sequence]]\ncode = "TP"\n\n[[site.service]]\ncode = "S1"\nagency = "TP"\nsequence = "TP"\n'
    'name = "ok"\n{figure}\n'
)
MALFORMED = [
    ('format = 1\n[[site]]\ncode = "A"\nname = "x"\nkind = "centre\n', 5, "not valid TOML"),
    ('format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\nkind = "castle"\n', 6, "kind must be one of"),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.agency]]\ncode = "TP"\nname = "x"\n\n'
        '[[site.sequence]]\ncode = "TP"\n\n[[site.service]]\ncode = "S1"\nagency = "TP"\nsequence = "TP"\n'
        'name = "ok"\n\n[[site.service]]\ncode = "S2"\nagency = "XX"\nsequence = "TP"\nname = "bad"\n',
        22,
        "unknown agency 'XX'",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.counter]]\nnumber = 1\nservices = ["NOPE"]\n',
        9,
        "unknown service 'NOPE'",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.sequence]]\ncode = "Q"\nfirst = 50\nlast = 10\n',
        10,
        "number range 50–10 is empty",
    ),
    ('format = 1\n\n[[user]]\nusername = "u"\nrole = "king"\n', 5, "role must be one of"),
    ('format = 1\n\n[[user]]\nusername = "u"\nrole = "clerk"\nsite = "ZZ"\n', 6, "unknown site 'ZZ'"),
    ('format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\ncolour = "blue"\n', 6, "unknown key 'colour'"),
    ('format = 1\n\n[[site]]\ncode = "A"\nname = 7\n', 5, "name: expected str, got int"),
    ("format = 2\n", 1, "format 2 is not supported"),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.device]]\nname = "K"\nkind = "kiosk"\n\n'
        '[site.device.settings]\nprinter = "tcp://10.0.0.21:9100"\n',
        11,
        "a network printer is written network:HOST[:PORT], e.g. network:10.0.0.21:9100",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[site.settings]\nrecall_limit = 99\n',
        7,
        "recall_limit: Must be at most 10.",
    ),
    *(
        (SERVICE_WITH.format(figure=figure), 19, reason)
        for figure, reason in (
            ("default_service_minutes = nan", "default_service_minutes: Must be a number."),
            ("default_service_minutes = inf", "default_service_minutes: Must be at most 480."),
            ("default_service_minutes = -inf", "default_service_minutes: Must be at least 0.1."),
            ("default_service_minutes = 1e308", "default_service_minutes: Must be at most 480."),
            ("default_service_minutes = 0.0", "default_service_minutes: Must be at least 0.1."),
            ("default_service_minutes = 1e-7", "default_service_minutes: Must be at least 0.1."),
            ("default_service_minutes = 0.099", "default_service_minutes: Must be at least 0.1."),
            ("target_wait_minutes = 100000", "target_wait_minutes: Must be at most 480."),
            ("target_service_minutes = 0", "target_service_minutes: Must be at least 1."),
            ("daily_cap = -1", "daily_cap: Must be at least 0."),
            ("sort_order = 99999999999999999999", "sort_order: Must be at most 9999."),
        )
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.sequence]]\ncode = "Q"\n'
        "last = 9223372036854775807\n",
        9,
        "last: Must be at most 999999.",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.agency]]\ncode = "TP"\nname = "x"\n'
        "sort_order = -99999\n",
        10,
        "sort_order: Must be at least -9999.",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.counter]]\nnumber = 0\n',
        8,
        "number: Must be at least 1.",
    ),
    (
        'format = 1\n\n[[site]]\ncode = "A"\nname = "Site"\n\n[[site.agency]]\ncode = "TP"\nname = "x"\n\n'
        '[[site.sequence]]\ncode = "TP"\n\n[[site.service]]\ncode = "S1"\nagency = "TP"\nsequence = "TP"\n'
        'name = "ok"\n\n[[site.counter]]\nnumber = 1\nservices = ["S1"]\nweights = { S1 = 1000 }\n',
        23,
        "weights: S1: Must be at most 100.",
    ),
]


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED, ids=[r for _t, _l, r in MALFORMED])
def test_a_malformed_file_is_refused_with_its_line_and_reason_and_nothing_changes(luot, world, text, line, reason):
    before = export(luot.db)
    with pytest.raises(ConfigError) as refused, luot.db.write() as session:
        import_config(session, text, WEDNESDAY_9AM)
    assert refused.value.line == line, str(refused.value)
    assert reason in refused.value.reason
    assert export(luot.db) == before


def test_a_typical_service_of_a_tenth_of_a_minute_is_the_least_imported(luot, world):
    with luot.db.write() as session:
        import_config(session, SERVICE_WITH.format(figure="default_service_minutes = 0.1"), WEDNESDAY_9AM)
    assert "default_service_minutes = 0.1\n" in export(luot.db)


def test_an_error_late_in_a_file_leaves_even_its_valid_first_part_unimported(luot, world):
    text = export(luot.db).replace('code = "HP"', 'code = "NEW"').replace('role = "manager"', 'role = "boss"')
    before = export(luot.db)
    with pytest.raises(ConfigError, match="role must be one of"), luot.db.write() as session:
        import_config(session, text, WEDNESDAY_9AM)
    assert export(luot.db) == before and 'code = "NEW"' not in before


def test_the_luot_config_commands_round_trip_and_report_the_line(world, settings, tmp_path):
    runner = CliRunner()
    env = {"LUOT_INSTANCE_DIR": str(settings.instance_path), "LUOT_LOG_LEVEL": "WARNING"}
    path = tmp_path / "setup.toml"
    result = runner.invoke(cli, ["config", "export", str(path)], env=env)
    assert result.exit_code == 0, result.output
    copy = tmp_path / "copy"
    empty_database(copy).dispose()
    result = runner.invoke(cli, ["config", "import", str(path)], env={**env, "LUOT_INSTANCE_DIR": str(copy)})
    assert result.exit_code == 0 and "6 users" in result.output, result.output
    again = tmp_path / "again.toml"
    runner.invoke(cli, ["config", "export", str(again)], env={**env, "LUOT_INSTANCE_DIR": str(copy)})
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    broken = tmp_path / "broken.toml"
    broken.write_text(path.read_text(encoding="utf-8").replace('sequence = "TP"', 'sequence = "ZZ"', 1))
    result = runner.invoke(cli, ["config", "import", str(broken)], env={**env, "LUOT_INSTANCE_DIR": str(copy)})
    assert result.exit_code == 1 and "unknown number range 'ZZ'" in result.output
    expected_line = next(i for i, text in enumerate(broken.read_text().splitlines(), 1) if text == 'sequence = "ZZ"')
    assert f"line {expected_line}:" in result.output


def test_luot_config_import_refuses_a_number_that_is_not_one_with_its_line_and_no_traceback(settings, tmp_path):
    """`nan` once reached the database (a raw NOT NULL traceback) and `inf` was imported."""
    runner = CliRunner()
    env = {"LUOT_INSTANCE_DIR": str(settings.instance_path), "LUOT_LOG_LEVEL": "WARNING"}
    for figure, reason in (("nan", "Must be a number."), ("inf", "Must be at most 480.")):
        path = tmp_path / f"{figure}.toml"
        path.write_text(SERVICE_WITH.format(figure=f"default_service_minutes = {figure}"), encoding="utf-8")
        result = runner.invoke(cli, ["config", "import", str(path)], env=env)
        assert result.exit_code == 1, result.output
        assert f"line 19: default_service_minutes: {reason}" in result.output
        assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
