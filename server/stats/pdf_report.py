"""The history as an administrative report (A4 landscape, reportlab, DejaVu Sans).

Laid out as Vietnamese administrative documents are: the governing body and issuing unit at the top left, the
national name and motto at the top right, the place and date, the title and the period in the middle; then
the totals, the four charts (the page's SVGs, server.stats.pdf_charts), the breakdown and the days, the
definitions, and the signature block when the site names a signer. Every page ends with "Trang x/y". A table
never leaves its heading alone at the bottom of a page, nor its first or last two rows alone on a page.
Figures are written the reader's way (server.stats.numbers).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from server.i18n import nfc
from server.stats.numbers import figure

if TYPE_CHECKING:
    from reportlab.lib.styles import ParagraphStyle

    from server.stats.exports import Report


@dataclass(frozen=True)
class ReportWords:
    """What the PDF shares with the other downloads (server.stats.exports), handed over to avoid an import cycle."""

    columns: tuple[tuple[str, str, str], ...]
    by_labels: dict[str, str]
    definitions: str
    fonts: tuple[str, str]


MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")  # fmt: skip


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Styles:
    """The report's fonts and paragraph styles, and the table's columns ((msgid, key, kind) of each figure)."""

    def __init__(self, regular: str, bold: str, columns: tuple[tuple[str, str, str], ...]) -> None:
        from reportlab.lib.enums import TA_CENTER, TA_RIGHT
        from reportlab.lib.styles import ParagraphStyle

        self.regular, self.bold = regular, bold
        self.columns = columns
        self.body = ParagraphStyle("body", fontName=regular, fontSize=8.5, leading=10.5)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9)
        self.unit = ParagraphStyle("unit", fontName=regular, fontSize=10, leading=12.5, alignment=TA_CENTER)
        self.unit_bold = ParagraphStyle("unit-bold", parent=self.unit, fontName=bold)
        self.motto = ParagraphStyle("motto", parent=self.unit_bold, fontSize=11, leading=13.5)
        self.dated = ParagraphStyle("dated", parent=self.unit, alignment=TA_RIGHT, fontSize=10)
        self.title = ParagraphStyle("title", fontName=bold, fontSize=15, leading=19, alignment=TA_CENTER)
        self.subtitle = ParagraphStyle("subtitle", parent=self.title, fontSize=12.5, leading=16)
        self.period = ParagraphStyle("period", parent=self.unit, spaceAfter=2)
        self.section = ParagraphStyle(
            "section", fontName=bold, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4, keepWithNext=1
        )
        self.head_cell = ParagraphStyle("head", fontName=bold, fontSize=8, leading=9.5)
        self.sign = ParagraphStyle("sign", parent=self.unit_bold, fontSize=10.5)
        self.warning = ParagraphStyle(
            "warning", fontName=bold, fontSize=10, leading=12.5, textColor="#c00000", spaceBefore=4, spaceAfter=4
        )


def _p(text: str, style: ParagraphStyle) -> Any:
    from reportlab.platypus import Paragraph

    return Paragraph(escape_xml(nfc(text)), style)


def _date_line(report: Report) -> str:
    day = report.printed_on or date.today()
    place = report.header.place
    if report.language == "en":
        text = f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
        return f"{place}, {text}" if place else text
    text = f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"
    return f"{place}, {text}" if place else text.capitalize()


def _rule(cell: float, length: float) -> Any:
    """The short line under the issuing unit and under the motto, centred in a cell `cell` points wide."""
    from reportlab.graphics.shapes import Drawing, Line

    drawing = Drawing(cell, 7)
    drawing.add(Line((cell - length) / 2, 1, (cell + length) / 2, 1, strokeWidth=0.6))
    return drawing


def _letterhead(report: Report, st: _Styles, usable: float) -> list[Any]:
    """Issuing unit (left) and national name and motto (right), each underlined; the place and date below."""
    from reportlab.platypus import Table, TableStyle

    header = report.header
    widths = [usable * 0.42, usable * 0.58]
    left = [_p(header.parent_unit.upper(), st.unit)] if header.parent_unit else []
    left += [_p(header.unit.upper(), st.unit_bold), _rule(widths[0], 70)] if header.unit else []
    right = [
        _p(report.t("SOCIALIST REPUBLIC OF VIET NAM"), st.unit_bold),
        _p(report.t("Independence – Freedom – Happiness"), st.motto),
        _rule(widths[1], 150),
    ]
    table = Table([[left or "", right], ["", _p(_date_line(report), st.dated)]], colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 1), (-1, 1), 8),
            ]
        )
    )
    return [table]


def _title(report: Report, st: _Styles) -> list[Any]:
    from reportlab.platypus import Spacer

    filters = report.history.filters
    if report.language == "en":
        period = f"From {filters.first:%d/%m/%Y} to {filters.last:%d/%m/%Y}"
    else:
        period = f"Từ ngày {filters.first:%d/%m/%Y} đến ngày {filters.last:%d/%m/%Y}"
    lines = [f"{label}: {value}" for label, value in report.scope if label != report.t("Period")]
    return [
        Spacer(1, 10),
        _p(report.t("Report").upper(), st.title),
        _p(report.title.upper(), st.subtitle),
        _p(period, st.period),
        _p(" · ".join(lines), st.unit),
        Spacer(1, 6),
    ]


def _table(report: Report, st: _Styles, first: str, rows: list[tuple[str, dict[str, Any]]], total: Any, usable: float):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    columns = st.columns
    first_width = usable * 0.26
    other = (usable - first_width) / len(columns)
    data = [[_p(first, st.head_cell), *(_p(report.t(m), st.head_cell) for m, _k, _kind in columns)]]
    for label, fig in rows:
        data.append([_p(label, st.body), *(figure(fig[key], kind, report.language) for _m, key, kind in columns)])
    if total is not None:
        data.append(
            [
                _p(report.total_label(), st.head_cell),
                *(figure(total[key], kind, report.language) for _m, key, kind in columns),
            ]
        )
    table = Table(data, colWidths=[first_width] + [other] * len(columns), repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), st.regular),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#204a87")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c0c8d0")),
        ("NOSPLIT", (0, 0), (-1, min(2, len(data) - 1))),  # the heading row with at least two rows
        ("NOSPLIT", (0, max(0, len(data) - 2)), (-1, -1)),  # the last two rows (the total) together
    ]
    if total is not None:
        style += [
            ("FONTNAME", (1, -1), (-1, -1), st.bold),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")),
        ]
    table.setStyle(TableStyle(style))
    return table


def _charts(report: Report, st: _Styles, usable: float) -> list[Any]:
    """The history page's four charts, two by two; the heading keeps with the first row, and a page may fall
    between the rows (the first fits under the totals on the first page)."""
    from reportlab.platypus import Table, TableStyle

    from server.stats.history_charts import history_charts
    from server.stats.pdf_charts import drawing_of

    width = (usable - 12) / 2
    charts = history_charts(report.history, report.language).values()
    drawn = [drawing_of(str(svg), width, (st.regular, st.bold)) for svg in charts]
    rows: list[Any] = [_p(report.t("Charts"), st.section)]
    for pair in (drawn[:2], drawn[2:]):
        row = Table([pair], colWidths=[width + 6] * 2)
        row.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        rows.append(row)
    return rows


def _said(report: Report, st: _Styles, usable: float) -> list[Any]:
    """What citizens said in the range: the reasons counted, then the comments (none: nothing)."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    headings, reasons, said = report.said()
    if not headings:
        return []
    story: list[Any] = [_p(report.t("What citizens said"), st.section)]
    if reasons:
        story.append(_p("; ".join(f"{reason}: {count}" for reason, count in reasons), st.body))
    if said:
        widths = [usable * w for w in (0.1, 0.06, 0.08, 0.12, 0.1, 0.2, 0.34)]
        comments = Table(
            [[_p(h, st.head_cell) for h in headings], *([_p(c, st.body) for c in row] for row in said)],
            colWidths=widths,
            repeatRows=1,
        )
        comments.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#c0c8d0")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                    ("NOSPLIT", (0, 0), (-1, min(2, len(said)))),
                ]
            )
        )
        story.append(comments)
    return story


def _signature(report: Report, st: _Styles, usable: float) -> list[Any]:
    from reportlab.platypus import KeepTogether, Spacer, Table, TableStyle

    header = report.header
    if not header.signer_title:
        return []
    block = [_p(header.signer_title.upper(), st.sign), _p(report.t("(Signature, full name)"), st.unit), Spacer(1, 52)]
    if header.signer_name:
        block.append(_p(header.signer_name, st.sign))
    table = Table([["", block]], colWidths=[usable * 0.55, usable * 0.45])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [Spacer(1, 10), KeepTogether([table])]


def _numbered_canvas(font: str, page_word: str, footer: str) -> type:
    """A canvas that writes "Trang x/y" (y known only at the end) and a footer line on every page."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                width = self._pagesize[0]
                self.setFont(font, 8)
                self.setFillGray(0.35)
                self.drawString(15 * mm, 7 * mm, footer)
                self.drawRightString(width - 15 * mm, 7 * mm, f"{page_word} {number}/{total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def to_pdf(report: Report, words: ReportWords) -> bytes:
    """The report's PDF; `words` are server.stats.exports' columns, breakdown labels, definitions and fonts."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    st = _Styles(*words.fonts, words.columns)
    page = landscape(A4)
    usable = page[0] - 30 * mm
    by = report.history.filters.by
    story: list[Any] = [*_letterhead(report, st, usable), *_title(report, st)]
    if report.incomplete_note():  # before any figure it qualifies
        story.append(_p(report.incomplete_note(), st.warning))
    story += [_p(report.t("Totals"), st.section), _table(report, st, report.total_label(), [], report.total(), usable)]
    story += _charts(report, st, usable)
    story += [
        _p(report.t(words.by_labels[by]), st.section),
        _table(report, st, report.t(words.by_labels[by]), report.rows(), report.total(), usable),
    ]
    if by != "day" and len(report.by_day()) > 1:
        story += [
            _p(report.t("By day"), st.section),
            _table(report, st, report.t("Day"), report.by_day(), None, usable),
        ]
    story += [*_said(report, st, usable), _p(report.t(words.definitions), st.small), *_signature(report, st, usable)]
    out = io.BytesIO()
    document = SimpleDocTemplate(
        out,
        pagesize=page,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=nfc(report.title),
        author="Lượt",
        invariant=1,
    )
    footer = nfc(f"Lượt · {report.title} · {report.header.unit}".rstrip(" ·"))
    document.build(story, canvasmaker=_numbered_canvas(st.regular, report.t("Page"), footer))
    return out.getvalue()
