"""PDF tickets: one page 80 mm wide, exact Vietnamese text, same render as the golden preview."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from printer_templates import PREVIEW_DIR
from printer_templates.make_previews import PDF_PREVIEW_SCALE, PREVIEWS, pdf_page_image, same_pixels
from server.printing.layout import load_builtin_layout
from server.printing.pdf_ticket import render_ticket_pdf
from server.printing.ticket_data import sample_ticket

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MM = 72 / 25.4


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def flat(text: str) -> str:
    """NFC with every run of whitespace (line breaks, no-break spaces) as one space."""
    return " ".join(nfc(text).split())


def extract(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, flat(reader.pages[0].extract_text())


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return render_ticket_pdf(sample_ticket(), load_builtin_layout("ticket_pdf"))


def test_pdf_is_one_page_80_mm_wide(sample_pdf: bytes) -> None:
    reader, _text = extract(sample_pdf)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(80 * MM, abs=0.01)
    assert float(box.height) >= 125 * MM - 0.01
    assert reader.metadata is not None and reader.metadata.title == "Vé số thứ tự 1023"


def test_pdf_text_is_the_exact_vietnamese(sample_pdf: bytes) -> None:
    _reader, text = extract(sample_pdf)
    ticket = sample_ticket()
    expected = [
        "Sở Tư pháp",
        ticket.service,
        ticket.centre_name,
        "1023",
        "Vui lòng theo dõi màn hình",
        "Số đã qua phải lấy số mới",
        "14/03/2025 08:47",
        "Số người chờ trước: 12",
        "khoảng 25 phút",
        "Quầy 5, Quầy 6",
        "ƯU TIÊN · Người cao tuổi",
    ]
    for item in expected:
        assert flat(item) in text, item
    assert text == nfc(text)


def test_pdf_embeds_a_vietnamese_font(sample_pdf: bytes) -> None:
    reader, _text = extract(sample_pdf)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(font.get_object()["/BaseFont"]) for font in fonts.values()}
    assert names and all("DejaVuSans" in n or "NotoSans" in n for n in names), names


def test_pdf_is_reproducible(sample_pdf: bytes) -> None:
    assert render_ticket_pdf(sample_ticket(), load_builtin_layout("ticket_pdf")) == sample_pdf


def test_nfd_input_comes_out_nfc() -> None:
    ticket = replace(sample_ticket(), agency=unicodedata.normalize("NFD", "Sở Tư pháp"))
    _reader, text = extract(render_ticket_pdf(ticket, load_builtin_layout("ticket_pdf")))
    assert "Sở Tư pháp" in text


def test_long_content_grows_the_page_and_stays_one_page() -> None:
    long_service = " ".join(["Cấp đổi giấy phép lái xe ô tô, mô tô do ngành giao thông vận tải cấp"] * 8)
    ticket = replace(sample_ticket(), service=long_service)
    reader, text = extract(render_ticket_pdf(ticket, load_builtin_layout("ticket_pdf")))
    assert len(reader.pages) == 1
    assert float(reader.pages[0].mediabox.height) > 125 * MM
    assert flat(long_service) in text
    assert "Vui lòng theo dõi màn hình" in text


def test_pdf_renderer_refuses_a_thermal_layout() -> None:
    with pytest.raises(ValueError, match="not 'pdf'"):
        render_ticket_pdf(sample_ticket(), load_builtin_layout("ticket_80mm"))


def test_page_renders_to_png_of_the_expected_size(sample_pdf: bytes) -> None:
    image = pdf_page_image(sample_pdf)
    reader, _text = extract(sample_pdf)
    height_pt = float(reader.pages[0].mediabox.height)
    assert abs(image.width - 80 * MM * PDF_PREVIEW_SCALE) <= 1
    assert abs(image.height - height_pt * PDF_PREVIEW_SCALE) <= 1
    # Mostly white paper with black ink, nothing cut at the edges.
    assert image.getpixel((0, 0)) == 255 and image.getpixel((image.width - 1, image.height - 1)) == 255


def test_render_equals_the_golden_preview() -> None:
    golden_path = PREVIEW_DIR / "ticket_pdf.png"
    image = PREVIEWS["ticket_pdf"]()
    golden = Image.open(golden_path)
    golden.load()
    if not same_pixels(image, golden):
        ARTIFACTS.mkdir(exist_ok=True)
        actual = ARTIFACTS / "ticket_pdf.actual.png"
        image.save(actual)
        pytest.fail(
            f"ticket_pdf renders differently from {golden_path} (actual saved to {actual}). "
            "If the change is intended, run: python -m printer_templates.make_previews"
        )
