"""Thermal ticket images: exact width, 1-bit, nothing clipped, identical to the golden previews."""

from __future__ import annotations

import time
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from printer_templates import PREVIEW_DIR
from printer_templates.make_previews import PREVIEWS, same_pixels
from server.printing.layout import Layout, load_builtin_layout, parse_layout
from server.printing.render_image import (
    INK_THRESHOLD,
    FontNotFoundError,
    qr_matrix,
    render_ticket_image,
    resolve_font,
)
from server.printing.ticket_data import TicketPrint, sample_ticket

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
THERMAL = [("ticket_80mm", 576), ("ticket_58mm", 384)]


def long_ticket() -> TicketPrint:
    """Worst case: long names, decomposed (NFD) input, a wide number, stacked marks on capitals."""
    return replace(
        sample_ticket(),
        centre_name=unicodedata.normalize("NFD", "Trung tâm Phục vụ hành chính công tỉnh Bà Rịa – Vũng Tàu"),
        agency="Sở Lao động – Thương binh và Xã hội; Ban Quản lý các Khu công nghiệp",
        service="ĐĂNG KÝ THƯỜNG TRÚ, TẠM TRÚ; XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ; ỦY QUYỀN, HỒ SƠ LIÊN THÔNG "
        "CẤP ĐỔI GIẤY PHÉP LÁI XE ÔTÔ, MÔTÔ DO NGÀNH GIAO THÔNG VẬN TẢI CẤP",
        display_number="LT-10234",
        counters=[f"Quầy {i}" for i in range(1, 13)],
        tracking_url="http://192.168.100.200:8080/t/" + "q7Vd2xKp9LmA" * 3,
    )


def ink_bbox(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the black pixels."""
    return image.convert("L").point(lambda v: 255 - v).getbbox()


def save_artifact(name: str, image: Image.Image) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    image.save(path)
    return path


@pytest.mark.parametrize(("name", "width"), THERMAL)
def test_image_is_one_bit_and_exactly_the_paper_width(name: str, width: int, record_property) -> None:
    layout = load_builtin_layout(name)
    start = time.perf_counter()
    image = render_ticket_image(sample_ticket(), layout)
    record_property("render_ms", round((time.perf_counter() - start) * 1000, 1))  # measured, not asserted
    assert image.mode == "1"
    assert image.width == width
    assert 600 < image.height < 1400  # 75–175 mm of paper


@pytest.mark.parametrize(("name", "width"), THERMAL)
def test_render_equals_the_golden_preview(name: str, width: int) -> None:
    golden_path = PREVIEW_DIR / f"{name}.png"
    image = PREVIEWS[name]()
    golden = Image.open(golden_path)
    golden.load()
    assert golden.mode == "1" and golden.width == width
    if not same_pixels(image, golden):
        actual = save_artifact(f"{name}.actual.png", image)
        pytest.fail(
            f"{name} renders differently from {golden_path} (actual saved to {actual}). "
            "If the change is intended, run: python -m printer_templates.make_previews"
        )


@pytest.mark.parametrize(("name", "width"), THERMAL)
@pytest.mark.parametrize("ticket_factory", [sample_ticket, long_ticket])
def test_nothing_is_drawn_in_the_margins(name: str, width: int, ticket_factory) -> None:
    layout = load_builtin_layout(name)
    image = render_ticket_image(ticket_factory(), layout)
    left, top, right, bottom = ink_bbox(image)
    margin = int(layout.margin_x)
    assert left >= margin and right <= width - margin, (left, right)
    assert top >= int(layout.margin_top) and bottom <= image.height - int(layout.margin_bottom)


@pytest.mark.parametrize(("name", "width"), THERMAL)
def test_long_names_wrap_instead_of_being_clipped(name: str, width: int) -> None:
    layout = load_builtin_layout(name)
    short = render_ticket_image(sample_ticket(), layout)
    long = render_ticket_image(long_ticket(), layout)
    assert long.width == width
    assert long.height > short.height + 100  # the extra lines took room


def test_a_wide_number_shrinks_to_fit() -> None:
    layout = _layout_of('[[blocks]]\nkind = "number"\nsize = 400\n', width=384, margin=12)
    ticket = replace(sample_ticket(), display_number="A-1023-B")
    left, _top, right, _bottom = ink_bbox(render_ticket_image(ticket, layout))
    assert left >= 12 and right <= 384 - 12


def test_optional_lines_are_left_out() -> None:
    layout = load_builtin_layout("ticket_80mm")
    full = render_ticket_image(sample_ticket(), layout)
    bare = render_ticket_image(
        replace(sample_ticket(), priority_label=None, estimated_wait_minutes=None, counters=[]), layout
    )
    assert bare.width == full.width and bare.height < full.height - 60


def test_nfd_and_nfc_input_render_identically() -> None:
    layout = load_builtin_layout("ticket_58mm")
    nfd = replace(sample_ticket(), agency=unicodedata.normalize("NFD", "Sở Tư pháp"))
    assert same_pixels(render_ticket_image(nfd, layout), render_ticket_image(sample_ticket(), layout))


def test_qr_modules_match_the_tracking_url() -> None:
    layout = _layout_of('[[blocks]]\nkind = "qr"\nsize = 240\n', width=576, margin=16)
    image = render_ticket_image(sample_ticket(), layout)
    matrix = qr_matrix(sample_ticket().tracking_url, quiet_zone=4)
    n = len(matrix)
    box = 240 // n
    left = 16 + (576 - 32 - n * box) // 2
    for r in range(n):
        for c in range(n):
            pixel = image.getpixel((left + c * box + box // 2, r * box + box // 2))
            assert (pixel == 0) == matrix[r][c], (r, c)


def test_thermal_renderer_refuses_a_pdf_layout() -> None:
    with pytest.raises(ValueError, match="not 'thermal'"):
        render_ticket_image(sample_ticket(), load_builtin_layout("ticket_pdf"))


def test_font_resolution_falls_back_and_fails_clearly(tmp_path: Path) -> None:
    assert resolve_font(False).name in {"DejaVuSans.ttf", "NotoSans-Regular.ttf"}
    assert resolve_font(True).name in {"DejaVuSans-Bold.ttf", "NotoSans-Bold.ttf"}
    noto = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")
    if noto.is_file():
        assert resolve_font(False, [tmp_path / "missing.ttf", noto]) == noto
    with pytest.raises(FontNotFoundError, match=r"missing\.ttf.*fonts-dejavu-core"):
        resolve_font(False, [tmp_path / "missing.ttf"])


def _layout_of(blocks: str, width: int, margin: int) -> Layout:
    header = (
        f'[layout]\ntarget = "thermal"\nwidth_dots = {width}\nmargin_x = {margin}\nmargin_top = 0\nmargin_bottom = 0\n'
    )
    return parse_layout(header + blocks, source="<test>")


@pytest.mark.parametrize("size", [18, 24, 40])
def test_stacked_marks_and_descenders_are_not_cut(size: int) -> None:
    text = "ỄỂỖỮẪẬ Ỷ ỵ gậy"
    layout = _layout_of(f'[[blocks]]\nkind = "text"\ntext = "{text}"\nsize = {size}\n', width=576, margin=16)
    image = render_ticket_image(sample_ticket(), layout)
    # The same line drawn with room to spare on every side has exactly as much ink.
    font = ImageFont.truetype(str(resolve_font(False)), size, layout_engine=ImageFont.Layout.BASIC)
    free = Image.new("L", (800, 200), 255)
    ImageDraw.Draw(free).text((100, 100), text, font=font, fill=0, anchor="ls")
    free_ink = free.point(lambda v: 255 if v > INK_THRESHOLD else 0, mode="1").histogram()[0]
    assert image.histogram()[0] == free_ink
