"""Board, counter display and phone pages; announcements in call events; the call audio route."""

from __future__ import annotations

import ast
import io
import json
import logging
import re
import subprocess
import wave
from pathlib import Path

import pytest
from sqlmodel import select

from display import routes as display_routes
from server.app import create_app, socketio_of
from server.i18n import translate
from server.models import Agency, Device, Site, TicketEvent
from server.provisioning import create_device
from server.settings import load_settings
from server.voice import announcement_text
from server.voice.audio import CHIME_SECONDS
from server.voice.calls import AudioUnavailable, UnknownCall
from tests.support.api import act, issue, staff_token
from tests.support.tools import require_tool
from tests.support.world import build_world

MISSING_ESPEAK = "/nonexistent/bin/espeak-ng"
CONFIG_RE = re.compile(r'<script id="luot-config" type="application/json">(.*?)</script>', re.S)


def page_config(html: str) -> dict:
    match = CONFIG_RE.search(html)
    assert match, "the page carries no configuration"
    return json.loads(match.group(1))


def call_next(client, world, counter: str = "c1", clerk: str = "clerk1") -> dict:
    token = staff_token(client, clerk)
    act(client, token, world.counters[counter], "open")
    return act(client, token, world.counters[counter], "next")


def received(test_client, name: str) -> list[dict]:
    return [packet["args"][0] for packet in test_client.get_received() if packet["name"] == name]


def add_device(luot, world, kind: str, token: str, **settings) -> None:
    with luot.db.write() as s:
        site = s.get(Site, world.site_id)
        create_device(s, site, kind, f"{kind} test", token, **settings)


# ------------------------------------------------------------------ pages


def test_a_registered_board_gets_its_page_with_its_settings(client, world):
    response = client.get(f"/display/?token={world.board_token}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["token"] == world.board_token
    assert config["site_id"] == world.site_id
    assert config["agency_ids"] is None and config["orientation"] == "auto"  # from the screen's aspect
    assert config["layout"] == "calls" and config["rows"] == display_routes.MAX_ROWS
    assert config["strings"]["call_line"] == "MỜI CÔNG DÂN CÓ SỐ {number} ĐẾN QUẦY {counter}"
    assert '<html lang="vi">' in html
    assert "/display/static/build/board.js" in html
    assert "Trung tâm Phục vụ hành chính công thử nghiệm" in html


def test_a_filtered_board_only_carries_its_agencies(client, luot, world):
    with luot.db.read() as s:
        ca = s.exec(select(Agency).where(Agency.code == "CA", Agency.site_id == world.site_id)).one()
    config = page_config(client.get(f"/display/?token={world.filtered_board_token}").get_data(as_text=True))
    assert config["agency_ids"] == [ca.id]


def test_board_layout_and_language_come_from_the_device_settings(client, luot, world):
    add_device(
        luot,
        world,
        "board",
        "board-portrait",
        orientation="portrait",
        rows=40,
        language="en",
        notice="Tầng 2: Sở Xây dựng",
        agency_ids=["x", 3],
    )
    response = client.get("/display/?token=board-portrait")
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["orientation"] == "portrait" and 'class="board portrait layout-calls"' in html
    assert config["rows"] == display_routes.MAX_ROWS
    assert config["agency_ids"] == [3]
    assert config["notice"] == "Tầng 2: Sở Xây dựng"
    assert config["language"] == "en" and '<html lang="en">' in html
    assert config["strings"]["call_line"] == "Citizen number {number}, please come to counter {counter}"
    # ?lang= wins over the device's language
    assert page_config(client.get("/display/?token=board-portrait&lang=vi").get_data(as_text=True))["language"] == "vi"


@pytest.mark.parametrize("query", ["", "?token=", "?token=no-such-token"])
def test_a_board_without_a_known_token_gets_a_clear_error_page(client, query):
    response = client.get(f"/display/{query}")
    assert response.status_code == 401
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Màn hình này chưa được đăng ký" in html
    assert "luot-config" not in html


def test_a_revoked_board_gets_the_error_page(client, luot, world):
    with luot.db.write() as s:
        for device in s.exec(select(Device).where(Device.name == "Board 1")).all():
            device.revoked = True
            s.add(device)
    response = client.get(f"/display/?token={world.board_token}")
    assert response.status_code == 401
    assert "đã bị thu hồi" in response.get_data(as_text=True)


def test_another_kind_of_device_is_refused_on_the_board_and_counter_pages(client, world):
    kiosk = client.get(f"/display/?token={world.kiosk_token}")
    assert kiosk.status_code == 403
    assert "không phải màn hình tổng" in kiosk.get_data(as_text=True)
    board = client.get(f"/display/counter?token={world.board_token}")
    assert board.status_code == 403
    assert "không phải màn hình quầy" in board.get_data(as_text=True)


def test_a_counter_display_shows_its_counter(client, luot, world):
    add_device(luot, world, "counter_display", "cd-1", counter_id=world.counters["c3"])
    response = client.get("/display/counter?token=cd-1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert page_config(html)["counter_id"] == world.counters["c3"]
    assert "Quầy 3" in html and "Đang phục vụ" in html
    assert "/display/static/build/counter_display.js" in html


@pytest.mark.parametrize("device_settings", [{}, {"counter_id": 987654}, {"counter_id": "abc"}])
def test_a_counter_display_without_a_valid_counter_gets_an_error_page(client, luot, world, device_settings):
    add_device(luot, world, "counter_display", "cd-x", **device_settings)
    response = client.get("/display/counter?token=cd-x")
    assert response.status_code == 409
    assert "Màn hình chưa được gắn với quầy nào" in response.get_data(as_text=True)


def test_the_phone_page_shows_the_ticket_without_login(client, world):
    ticket = issue(client, world.kiosk_token, "TP-A")
    response = client.get(f"/t/{ticket['tracking_token']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    config = page_config(html)
    assert config["tracking_token"] == ticket["tracking_token"]
    assert config["ticket_id"] == ticket["id"]
    assert config["near_places"] == display_routes.NEAR_PLACES
    assert ticket["display_number"] in html and "Cấp phiếu lý lịch tư pháp" in html
    assert "/display/static/build/track.js" in html


def test_the_near_alert_threshold_follows_the_site_settings(client, luot):
    world = build_world(luot.db, tracking_near_places=5)
    ticket = issue(client, world.kiosk_token, "TP-A")
    assert page_config(client.get(f"/t/{ticket['tracking_token']}").get_data(as_text=True))["near_places"] == 5


def test_an_unknown_tracking_link_gets_a_friendly_404_page(client, world):
    response = client.get("/t/not-a-real-ticket")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Không tìm thấy số thứ tự" in response.get_data(as_text=True)


def test_the_board_stylesheet_is_served(client):
    response = client.get("/display/static/display.css")
    assert response.status_code == 200
    assert "text/css" in response.content_type
    response.close()


# ------------------------------------------------------------------ announcements in call events


def test_a_call_event_carries_the_spoken_sentence_and_the_counter_name(app, client, socketio, world):
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    assert board.is_connected()
    ticket = issue(client, world.kiosk_token, "TP-A")
    board.get_received()
    call_next(client, world)
    (called,) = received(board, "ticket.called")
    assert called["ticket"]["id"] == ticket["id"]
    assert called["announcement"] == announcement_text("1001", 1)
    assert called["announcement"] == "Mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    assert called["counter_name"] == "Quầy 1"
    assert re.fullmatch(r"c\d+", called["call_id"])
    board.disconnect()


def test_a_call_follows_the_site_wording(app, client, socketio, luot):
    world = build_world(
        luot.db, digit_by_digit=True, number_region="south", announcement_template="Xin mời số {so} tới quầy {quay}"
    )
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world, "c2", "clerk2")
    (called,) = received(board, "ticket.called")
    assert called["announcement"] == "Xin mời số một không không một tới quầy hai"
    board.disconnect()


def test_a_broken_site_template_falls_back_to_the_default_wording(app, client, socketio, luot, caplog):
    world = build_world(luot.db, announcement_template="Mời {ten} đến {quay}")
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    with caplog.at_level(logging.WARNING, logger="server.voice.calls"):
        call_next(client, world)
    (called,) = received(board, "ticket.called")
    assert called["announcement"] == announcement_text("1001", 1)
    assert any("announcement settings" in r.getMessage() for r in caplog.records)
    board.disconnect()


def test_a_recall_is_a_new_call_with_its_own_audio_and_its_own_words(app, client, socketio, world, luot):
    require_tool("espeak-ng")
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "recall")
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "recall")
    packets = board.get_received()
    called = next(p["args"][0] for p in packets if p["name"] == "ticket.called")
    first, second = (p["args"][0] for p in packets if p["name"] == "ticket.recalled")
    assert first["call_id"] != called["call_id"]
    assert first["audio_url"] == f"/display/audio/{first['call_id']}.wav"
    assert called["announcement"] == "Mời công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    assert first["announcement"] == (
        "Mời lần thứ hai công dân có số thứ tự một nghìn không trăm linh một đến quầy số một"
    )
    assert second["announcement"].startswith("Mời lần thứ ba công dân có số thứ tự một nghìn")
    response = client.get(first["audio_url"])
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    # The audio says the recall's words, not the first call's (the cache holds one file per sentence).
    assert response.get_data() == luot.announcer.render(first["announcement"]).read_bytes()
    assert response.get_data() != luot.announcer.render(called["announcement"]).read_bytes()
    response.close()
    board.disconnect()


def test_a_recall_follows_the_site_recall_template(app, client, socketio, luot):
    world = build_world(luot.db, recall_template="Xin mời lại lần {lan}: số {so}, quầy {quay}")
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    act(client, staff_token(client, "clerk1"), world.counters["c1"], "recall")
    (recalled,) = received(board, "ticket.recalled")
    assert recalled["announcement"] == "Xin mời lại lần hai: số một nghìn không trăm linh một, quầy một"
    board.disconnect()


# ------------------------------------------------------------------ the audio route


def test_the_call_audio_is_a_valid_wav_of_plausible_length(app, client, socketio, world):
    require_tool("espeak-ng")
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    (called,) = received(board, "ticket.called")
    assert called["audio_url"] == f"/display/audio/{called['call_id']}.wav"
    response = client.get(called["audio_url"])
    assert response.status_code == 200
    assert response.mimetype == "audio/wav"
    with wave.open(io.BytesIO(response.get_data()), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getcomptype()) == (1, 2, "NONE")
        duration = w.getnframes() / w.getframerate()
    words = len(called["announcement"].split())
    assert CHIME_SECONDS + 0.2 * words <= duration <= CHIME_SECONDS + 0.8 * words, (duration, words)
    response.close()
    board.disconnect()


def test_a_call_is_rendered_in_the_background_so_the_board_gets_the_cached_file(
    app, client, socketio, world, monkeypatch
):
    require_tool("espeak-ng")
    announcer = app.extensions["luot"].announcer
    monkeypatch.setattr(announcer, "spawn", lambda task, *args: task(*args))  # run the background task inline
    board = socketio.test_client(app, flask_test_client=client, auth={"token": world.board_token})
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    (called,) = received(board, "ticket.called")
    cached = list((app.extensions["luot"].settings.instance_path / "audio-cache").glob("*.wav"))
    assert len(cached) == 1

    def no_espeak(*args, **kwargs):
        raise AssertionError("espeak-ng ran again for a pre-rendered call")

    monkeypatch.setattr(subprocess, "run", no_espeak)
    response = client.get(called["audio_url"])
    assert response.status_code == 200 and response.get_data() == cached[0].read_bytes()
    response.close()
    board.disconnect()


@pytest.mark.parametrize("call_id", ["c999999", "x12", "c", "12", "c1.5"])
def test_an_unknown_call_has_no_audio(client, world, call_id):
    response = client.get(f"/display/audio/{call_id}.wav")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_call"


def test_an_event_that_is_not_a_call_has_no_audio(client, luot, world):
    issue(client, world.kiosk_token, "TP-A")
    with luot.db.read() as s:
        issued = s.exec(select(TicketEvent).where(TicketEvent.kind == "issued")).one()
    response = client.get(f"/display/audio/c{issued.id}.wav")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "unknown_call"


# ------------------------------------------------------------------ no audio engine


@pytest.fixture
def silent_app(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    settings = load_settings(
        environ={},
        instance_dir=str(tmp_path / "silent"),
        async_mode="threading",
        log_level="WARNING",
        espeak_path=MISSING_ESPEAK,
        voice_pack_dir="",
    )
    from server.instance import initialise

    initialise(settings)
    with caplog.at_level(logging.WARNING, logger="server.voice.calls"):
        app = create_app(settings)
    app.config["TESTING"] = True
    yield app
    app.extensions["luot"].close()


def test_without_espeak_or_voice_pack_calls_still_reach_the_board_and_the_server_warns(silent_app, caplog):
    records = caplog.get_records("setup")
    warnings = [r for r in records if r.name == "server.voice.calls" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "Announcement audio is off" in message and MISSING_ESPEAK in message and "espeak-ng" in message

    client = silent_app.test_client()
    world = build_world(silent_app.extensions["luot"].db)
    board = socketio_of(silent_app).test_client(silent_app, flask_test_client=client, auth={"token": world.board_token})
    assert client.get(f"/display/?token={world.board_token}").status_code == 200
    issue(client, world.kiosk_token, "TP-A")
    call_next(client, world)
    (called,) = received(board, "ticket.called")
    assert called["display_number"] == "1001"
    assert called["announcement"] == announcement_text("1001", 1)  # the board's own voice can read it
    assert "audio_url" not in called
    response = client.get(f"/display/audio/{called['call_id']}.wav")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "audio_unavailable"
    board.disconnect()


# ------------------------------------------------------------------ translations


def _display_msgids() -> set[str]:
    msgids: set[str] = set()
    for table in (display_routes.BOARD_STRINGS, display_routes.COUNTER_STRINGS, display_routes.TRACK_STRINGS):
        msgids |= set(table.values())
    templates = Path(display_routes.__file__).parent / "templates"
    for template in templates.glob("*.html"):
        msgids |= set(re.findall(r"""_\(\s*["']([^"']+)["']""", template.read_text()))
    tree = ast.parse(Path(display_routes.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = {"_": node.args[:1], "_error_page": node.args[1:3], "_device": node.args[1:2]}.get(node.func.id, [])
            msgids |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    msgids |= {UnknownCall.message, AudioUnavailable.message}
    return msgids


def test_every_display_message_has_a_vietnamese_translation():
    msgids = _display_msgids()
    assert len(msgids) > 40
    untranslated = sorted(m for m in msgids if translate(m, "vi") == m)
    assert untranslated == []


def test_no_other_catalogue_overrides_a_display_translation_with_a_different_one():
    """All surfaces share one message namespace: the same English msgid must mean the same Vietnamese text."""
    from babel.messages.pofile import read_po

    catalogue = Path(display_routes.__file__).parents[1] / "server" / "translations" / "vi-display.po"
    with catalogue.open("rb") as handle:
        ours = {m.id: m.string for m in read_po(handle, locale="vi") if m.id and m.string}
    assert {m: translate(m, "vi") for m in ours} == ours
