"""Ticket layouts (printer_templates/*.toml) load, validate with clear errors; TicketPrint rules."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from printer_templates import available_layouts, layout_path
from server.printing.layout import (
    NumberBlock,
    QrBlock,
    RuleBlock,
    SpacerBlock,
    TextBlock,
    fill_template,
    load_builtin_layout,
    load_layout,
)
from server.printing.render_image import wrap_text
from server.printing.ticket_data import SAMPLE_ISSUED_AT, TicketPrint, sample_ticket

THERMAL_HEADER = """
[layout]
target = "thermal"
width_dots = 576
margin_x = 16
margin_top = 8
margin_bottom = 16
"""

PDF_HEADER = """
[layout]
target = "pdf"
page_width_mm = 80
page_height_mm = 150
margin_x = 5
margin_top = 5
margin_bottom = 5
"""

GOOD_BLOCK = """
[[blocks]]
kind = "text"
field = "agency"
size = 30
"""


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- the bundled layouts ---------------------------------------------------------------------


def test_bundled_layouts_are_the_three_papers() -> None:
    assert available_layouts() == ["ticket_58mm", "ticket_80mm", "ticket_pdf"]


@pytest.mark.parametrize(("name", "width"), [("ticket_80mm", 576), ("ticket_58mm", 384)])
def test_thermal_layouts_load(name: str, width: int) -> None:
    layout = load_builtin_layout(name)
    assert layout.target == "thermal"
    assert layout.width_dots == width
    kinds = [type(b) for b in layout.blocks]
    assert NumberBlock in kinds and QrBlock in kinds and TextBlock in kinds and RuleBlock in kinds
    assert layout.content_width < width


def test_pdf_layout_loads() -> None:
    layout = load_builtin_layout("ticket_pdf")
    assert layout.target == "pdf"
    assert layout.page_width_mm == 80
    assert layout.page_height_mm is not None and layout.page_height_mm >= 100
    assert layout.width_dots is None


def test_bundled_layouts_carry_every_ticket_item() -> None:
    """Flow 1: centre, agency, service, number, waiting ahead, wait, date, counters, QR, notice."""
    for name in available_layouts():
        layout = load_builtin_layout(name)
        templates = " ".join(b.template for b in layout.blocks if isinstance(b, TextBlock))
        for field in (
            "centre_name",
            "agency",
            "service",
            "waiting_ahead",
            "estimated_wait_minutes",
            "issued_at",
            "counters",
            "notice",
            "priority_label",
        ):
            assert "{" + field + "}" in templates, (name, field)
        assert any(isinstance(b, NumberBlock) and b.field == "display_number" for b in layout.blocks)
        assert any(isinstance(b, QrBlock) and b.field == "tracking_url" for b in layout.blocks)


def test_layout_path_of_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(FileNotFoundError, match="ticket_80mm"):
        layout_path("ticket_99mm")
    with pytest.raises(FileNotFoundError):
        layout_path("../pyproject")


# -- parsing details -------------------------------------------------------------------------


def test_block_defaults_and_separator_alias(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        THERMAL_HEADER
        + """
[[blocks]]
kind = "separator"

[[blocks]]
kind = "number"
size = 150

[[blocks]]
kind = "qr"
size = 200

[[blocks]]
kind = "spacer"
height = 0

[[blocks]]
kind = "text"
text = "Số người chờ trước: {waiting_ahead}"
size = 24
""",
    )
    layout = load_layout(path)
    rule, number, qr, spacer, text = layout.blocks
    assert rule == RuleBlock(thickness=2, dashed=False)
    assert number == NumberBlock(field="display_number", size=150, bold=True, align="center")
    assert qr == QrBlock(field="tracking_url", size=200, align="center", quiet_zone=4)
    assert spacer == SpacerBlock(height=0)
    assert text.align == "center" and not text.bold and not text.inverse
    assert layout.name == "custom" and layout.source == str(path)


def test_pdf_rule_default_is_thin(tmp_path: Path) -> None:
    layout = load_layout(write(tmp_path, PDF_HEADER + '[[blocks]]\nkind = "rule"\n'))
    assert layout.blocks == (RuleBlock(thickness=0.3),)


def test_templates_are_nfc_normalised(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Số người chờ trước: {waiting_ahead}")
    path = write(tmp_path, THERMAL_HEADER + f'[[blocks]]\nkind = "text"\ntext = "{decomposed}"\nsize = 20\n')
    (block,) = load_layout(path).blocks
    assert isinstance(block, TextBlock)
    assert block.template == unicodedata.normalize("NFC", decomposed)


def test_fill_template_skips_missing_values() -> None:
    values = sample_ticket().template_values()
    assert fill_template("Số người chờ trước: {waiting_ahead}", values) == "Số người chờ trước: 12"
    assert fill_template("{priority_label}", {**values, "priority_label": None}) is None
    assert fill_template("SỐ THỨ TỰ", values) == "SỐ THỨ TỰ"


# -- validation errors name the file and the block -------------------------------------------

BAD_BLOCKS = [
    ('kind = "barcode"\nsize = 3', "unknown block kind 'barcode'"),
    ("size = 3", "missing 'kind'"),
    ('kind = "text"\nfield = "agency"', "missing required key(s): size"),
    ('kind = "text"\nsize = 20', "exactly one of 'text'"),
    ('kind = "text"\nsize = 20\ntext = "x"\nfield = "agency"', "exactly one of 'text'"),
    ('kind = "text"\nsize = 20\nfield = "agencyy"', "unknown field 'agencyy'"),
    ('kind = "text"\nsize = 20\ntext = "Quầy {counter}"', "unknown placeholder {counter}"),
    ('kind = "text"\nsize = 20\ntext = "{waiting_ahead:>4}"', "format spec"),
    ('kind = "text"\nsize = 20\ntext = "{agency"', "bad template"),
    ('kind = "text"\nsize = 20\nfield = "agency"\nsise = 3', "unknown key(s): sise"),
    ('kind = "text"\nsize = 20\nfield = "agency"\nalign = "middle"', "'align' must be one of"),
    ('kind = "text"\nsize = "big"\nfield = "agency"', "'size' must be a number"),
    ('kind = "text"\nsize = 0\nfield = "agency"', "'size' must be at least 1"),
    ('kind = "text"\nsize = 20\nfield = "agency"\nbold = "yes"', "'bold' must be true or false"),
    ('kind = "number"', "missing required key(s): size"),
    ('kind = "qr"\nsize = 200\nquiet_zone = -1', "'quiet_zone' must be a non-negative integer"),
    ('kind = "spacer"', "missing required key(s): height"),
    ('kind = "rule"\nthickness = 0', "'thickness' must be greater than 0"),
]


@pytest.mark.parametrize(("block", "message"), BAD_BLOCKS)
def test_bad_block_raises_value_error_naming_file_and_block(tmp_path: Path, block: str, message: str) -> None:
    path = write(tmp_path, THERMAL_HEADER + GOOD_BLOCK + "\n[[blocks]]\n" + block + "\n")
    with pytest.raises(ValueError) as info:
        load_layout(path)
    text = str(info.value)
    assert str(path) in text
    assert "block #2" in text
    assert message in text


BAD_HEADERS = [
    (THERMAL_HEADER.replace("576", "570"), "positive multiple of 8"),
    (THERMAL_HEADER.replace('"thermal"', '"laser"'), "'target' must be 'thermal' or 'pdf'"),
    (THERMAL_HEADER.replace("margin_x = 16", "margin_x = 300"), "leaves no printable width"),
    (THERMAL_HEADER.replace("margin_top = 8\n", ""), "missing required key(s): margin_top"),
    (THERMAL_HEADER + "colour = 1\n", "unknown key(s): colour"),
    (PDF_HEADER.replace("page_height_mm = 150\n", ""), "missing required key(s): page_height_mm"),
    (PDF_HEADER.replace("page_width_mm = 80", "width_dots = 576"), "missing required key(s): page_width_mm"),
    ("[[blocks]]\nkind = 'spacer'\nheight = 1\n", "missing [layout] table"),
    (THERMAL_HEADER + "[paper]\nx = 1\n" + GOOD_BLOCK, "unknown top-level key(s): paper"),
    ("[layout\n", "invalid TOML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_HEADERS)
def test_bad_layout_header_raises_value_error_naming_file(tmp_path: Path, text: str, message: str) -> None:
    if "[[blocks]]" not in text and "TOML" not in message:
        text += GOOD_BLOCK
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_layout(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_layout_without_blocks_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, THERMAL_HEADER)
    with pytest.raises(ValueError, match=r"custom\.toml: no \[\[blocks\]\]"):
        load_layout(path)


def test_missing_file_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope\.toml: cannot read"):
        load_layout(tmp_path / "nope.toml")


# -- TicketPrint -----------------------------------------------------------------------------


def test_ticket_text_is_nfc_and_trimmed() -> None:
    nfd = unicodedata.normalize("NFD", "Sở Tư pháp")
    assert nfd != "Sở Tư pháp"
    ticket = TicketPrint(
        centre_name=" Trung tâm ",
        agency=nfd,
        service=unicodedata.normalize("NFD", "Hộ tịch"),
        display_number="1023",
        waiting_ahead=0,
        estimated_wait_minutes=None,
        issued_at=SAMPLE_ISSUED_AT,
        counters=[unicodedata.normalize("NFD", "Quầy 5")],
        priority_label=unicodedata.normalize("NFD", "Ưu tiên"),
    )
    assert ticket.agency == "Sở Tư pháp"
    assert ticket.centre_name == "Trung tâm"
    assert replace(ticket, service="Hộ \t tịch\n  khai sinh").service == "Hộ tịch khai sinh"
    assert replace(ticket, notice=" Dòng 1 \n  Dòng  2").notice == "Dòng 1\nDòng 2"
    assert ticket.counters == ("Quầy 5",)
    assert ticket.priority_label == "Ưu tiên"
    assert ticket.notice == "Vui lòng theo dõi màn hình. Số đã qua phải lấy số mới."


def test_issued_at_is_rendered_in_ho_chi_minh_time() -> None:
    ticket = TicketPrint(
        centre_name="C",
        agency="A",
        service="S",
        display_number="7",
        waiting_ahead=3,
        estimated_wait_minutes=None,
        issued_at=datetime(2025, 3, 13, 17, 30, tzinfo=UTC),
        counters=[],
    )
    values = ticket.template_values()
    # 17:30 UTC on the 13th is 00:30 on the 14th in Việt Nam: the local date counts.
    assert values["issued_at"] == "14/03/2025 00:30"
    assert values["issued_date"] == "14/03/2025"
    assert values["issued_time"] == "00:30"
    assert values["estimated_wait_minutes"] is None
    assert values["counters"] is None
    assert values["priority_label"] is None


def test_sample_ticket_values() -> None:
    values = sample_ticket().template_values()
    assert values["issued_at"] == "14/03/2025 08:47"
    assert values["counters"] == "Quầy\u00a05, Quầy\u00a06"  # no-break: "Quầy 6" never splits
    assert values["waiting_ahead"] == "12"


@pytest.mark.parametrize(
    "change",
    [
        {"issued_at": datetime(2025, 3, 14, 8, 47)},
        {"waiting_ahead": -1},
        {"waiting_ahead": True},
        {"estimated_wait_minutes": 2.5},
        {"display_number": " "},
        {"counters": "Quầy 5"},
        {"agency": None},
    ],
)
def test_ticket_rejects_bad_values(change: dict[str, object]) -> None:
    fields = {
        "centre_name": "C",
        "agency": "A",
        "service": "S",
        "display_number": "1",
        "waiting_ahead": 0,
        "estimated_wait_minutes": 5,
        "issued_at": SAMPLE_ISSUED_AT,
        "counters": ["Quầy 1"],
    }
    with pytest.raises((ValueError, TypeError)):
        TicketPrint(**{**fields, **change})  # type: ignore[arg-type]


# -- wrapping --------------------------------------------------------------------------------


def test_wrap_text_keeps_words_and_splits_only_overlong_ones() -> None:
    fits = lambda s: len(s) <= 10  # noqa: E731
    assert wrap_text("Chứng thực bản sao từ bản chính", fits) == ["Chứng thực", "bản sao từ", "bản chính"]
    assert wrap_text("http://luot.local/t/abcdef", fits) == ["http://luo", "t.local/t/", "abcdef"]
    assert wrap_text("Dòng một\nDòng hai", fits) == ["Dòng một", "Dòng hai"]
