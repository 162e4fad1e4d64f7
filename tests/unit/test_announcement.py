"""Announcement sentences: words only, template substitution, counter read as words."""

from __future__ import annotations

import dataclasses
import unicodedata

import pytest

from server.voice.announce import DEFAULT_TEMPLATE, VoiceSettings, announcement_text


def test_default_sentence() -> None:
    assert announcement_text("1023", 5) == "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm"


def test_default_settings() -> None:
    s = VoiceSettings()
    assert s.template == DEFAULT_TEMPLATE == "Mời công dân có số thứ tự {so} đến quầy số {quay}"
    assert (s.region, s.nham, s.digit_by_digit) == ("north", False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.region = "south"  # type: ignore[misc]


@pytest.mark.parametrize("display", ["0", "7", "15", "21", "105", "1023", "A1023", "B-015", "99999", "Đ24"])
@pytest.mark.parametrize("counter", [1, 5, 12, 21, 105, "7", "15"])
@pytest.mark.parametrize(
    "settings",
    [
        VoiceSettings(),
        VoiceSettings(region="south", nham=True),
        VoiceSettings(digit_by_digit=True),
        VoiceSettings(template="Số {so}, tầng 2, quầy {quay} (cửa 10)"),
    ],
)
def test_no_digits(display: str, counter: int | str, settings: VoiceSettings) -> None:
    text = announcement_text(display, counter, settings)
    assert not any(ch.isdigit() for ch in text), text
    assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    ("counter", "words"),
    [
        (1, "một"),
        (4, "bốn"),
        (5, "năm"),
        (10, "mười"),
        (12, "mười hai"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        ("12", "mười hai"),
        ("B2", "bê, hai"),
    ],
)
def test_counter_in_words(counter: int | str, words: str) -> None:
    assert announcement_text("1", counter).endswith(f"đến quầy số {words}")


def test_template_substitution() -> None:
    settings = VoiceSettings(template="Xin mời số {so} tới quầy {quay}, xin cảm ơn")
    assert announcement_text("A15", 3, settings) == "Xin mời số a, mười lăm tới quầy ba, xin cảm ơn"


def test_template_may_repeat_placeholders() -> None:
    settings = VoiceSettings(template="Số {so}. Nhắc lại, số {so}, quầy {quay}")
    assert announcement_text("21", 2, settings) == "Số hai mươi mốt. Nhắc lại, số hai mươi mốt, quầy hai"


def test_digits_in_template_are_spoken() -> None:
    settings = VoiceSettings(template="Mời số {so} lên tầng 2, quầy {quay}")
    assert announcement_text("15", 11, settings) == "Mời số mười lăm lên tầng hai, quầy mười một"


def test_regional_settings() -> None:
    south = VoiceSettings(region="south", nham=True)
    assert announcement_text("1025", 5, south) == (
        "Mời công dân có số thứ tự một ngàn không trăm hai mươi nhăm đến quầy số năm"
    )
    assert announcement_text("105", 25, south).endswith("một trăm lẻ năm đến quầy số hai mươi nhăm")


def test_digit_by_digit_reads_only_the_ticket_that_way() -> None:
    settings = VoiceSettings(digit_by_digit=True)
    assert announcement_text("A1023", 12, settings) == (
        "Mời công dân có số thứ tự a, một không hai ba đến quầy số mười hai"
    )


def test_unknown_placeholder_rejected() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        VoiceSettings(template="Mời số {ticket} đến quầy {quay}")


def test_unknown_region_rejected() -> None:
    with pytest.raises(ValueError, match="region"):
        VoiceSettings(region="central")


def test_output_is_nfc_even_for_nfd_template() -> None:
    settings = VoiceSettings(template=unicodedata.normalize("NFD", DEFAULT_TEMPLATE))
    text = announcement_text("15", 5, settings)
    assert text == "Mời công dân có số thứ tự mười lăm đến quầy số năm"


def test_a_recall_is_worded_as_a_recall_with_its_ordinal() -> None:
    assert announcement_text("15", 2, call_number=2) == "Mời lần thứ hai công dân có số thứ tự mười lăm đến quầy số hai"
    assert announcement_text("15", 2, call_number=3).startswith("Mời lần thứ ba công dân")
    assert announcement_text("15", 2, call_number=4).startswith("Mời lần thứ tư công dân")  # tư, not bốn
    assert announcement_text("15", 2, call_number=1) == announcement_text("15", 2)
    custom = VoiceSettings(recall_template="Gọi lại lần {lan}: số {so}, quầy {quay}")
    assert announcement_text("7", 3, custom, call_number=2) == "Gọi lại lần hai: số bảy, quầy ba"


def test_an_unknown_placeholder_in_the_recall_template_is_rejected() -> None:
    with pytest.raises(ValueError, match="recall template"):
        VoiceSettings(recall_template="Mời {ten} lần {lan}")
    with pytest.raises(ValueError, match="announcement template"):
        VoiceSettings(template="Mời {lan} số {so}")  # {lan} only means something in a recall
