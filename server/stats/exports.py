"""History as CSV, Excel (openpyxl) and a printable PDF report in Vietnamese (reportlab, DejaVu Sans).

Every export shows the same figures as the history page (server.stats.queries.figures). Text is NFC and the
PDF embeds a TTF with Vietnamese glyphs (reportlab does no shaping). Building a file is pure-Python CPU
work that would hold the server's GIL: the dashboard's downloads are built in a child process
(server.stats.export_worker); shorter work (the history page) runs off the hub (`server.off_hub`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from server.domain.errors import N_
from server.domain.vocabulary import Label
from server.i18n import nfc, translate
from server.stats import pdf_report
from server.stats.compute import INDEX
from server.stats.numbers import share_to_tenth
from server.stats.queries import History
from server.stats.report_header import ReportHeader

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))

# (msgid, figure key, kind) — kind: int | min | share
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("Arrivals", "issued", "int"),
    ("Served", "served", "int"),
    ("Average wait to first call (min)", "avg_wait_min", "min"),
    ("p90 wait to first call (min)", "p90_wait_min", "min"),
    ("Average wait to last call (min)", "avg_wait_last_call_min", "min"),
    ("Within target wait", "within_target", "share"),
    ("Average service (min)", "avg_service_min", "min"),
    ("No-shows", "no_show", "int"),
    ("Cancelled, never served", "cancelled", "int"),
    ("Transfers out", "transferred_out", "int"),
    ("Ratings", "ratings", "int"),
    ("Satisfaction", "satisfaction", "share"),
    ("Served and rated", "rated_share", "share"),
)
DEFINITIONS = (
    "Definitions: wait = first call − issue (recalls do not extend it); wait to last call = last call or "
    "recall − issue (what Qmatic reports), counted when the ticket is finished or marked no-show; "
    "p90 = nearest rank over the exact waits; service = finish − start; "
    "cancelled = tickets never served: still waiting or held when their day ended (counted on that day), or "
    "online numbers past the site's lapse time; "
    "satisfaction = (very satisfied + satisfied) ÷ citizen ratings (tablet or phone; neutral is not satisfied); "
    "served and rated = citizen ratings ÷ served."
)
SCORE_WORDS = {"very_satisfied": "Very satisfied", "satisfied": "Satisfied", "neutral": "Neutral"}
SCORE_WORDS["unsatisfied"] = "Unsatisfied"
BY_LABELS = {
    "site": "Site",
    "agency": "Agency",
    "service": "Service",
    "counter": "Counter",
    "clerk": "Clerk",
    "priority": "Priority",
    "channel": "Channel",
    "day": "Day",
}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: Any) -> Any:
    """A text cell a spreadsheet will not run: names and comments starting with = + - @ tab or CR (a formula
    to Excel or LibreOffice when the CSV is opened) get a leading apostrophe. Non-text values pass as they are."""
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


@dataclass(frozen=True)
class Report:
    """A history with the words around it: title, the filters in words, the language; for the PDF the site's
    report words (`header`) and the day it is printed; for the CSV the separator ("," or ";": Excel with
    Vietnamese regional settings, which also reads decimal commas)."""

    history: History
    title: str
    scope: list[tuple[str, str]]  # (label, value) lines describing the filters
    language: str = "vi"
    #: what citizens said in the range (server.stats.feedback.feedback): reason counts and comments
    feedback: dict[str, Any] | None = None
    header: ReportHeader = field(default_factory=ReportHeader)
    printed_on: date | None = None
    separator: str = ","

    def said(self) -> tuple[list[str], list[tuple[str, int]], list[list[str]]]:
        """(headings, reason counts, comment rows as text cells) of `feedback`; empty without it."""
        if not self.feedback or not (self.feedback["comments"] or self.feedback["reasons"]):
            return [], [], []  # nothing said: the files keep the figures only
        headings = [self.t(m) for m in ("Time", "Number", "Counter", "Clerk", "Rating", "Reason", "Comment")]
        rows = [
            [
                row["time"],
                row["display_number"],
                (row["counter"] or {}).get("name") or str((row["counter"] or {}).get("number", "")),
                row["clerk"],
                self.t(SCORE_WORDS.get(row["score"], row["score"])),
                "; ".join(row["reasons"]),
                row["comment"],
            ]
            for row in self.feedback["comments"]
        ]
        return headings, list(self.feedback["reasons"]), rows

    def t(self, message: str, **params: Any) -> str:
        return nfc(translate(message, self.language, **params))

    def label(self, key: Any) -> str:
        """The name of a breakdown key in the report's language: a vocabulary `Label` (priority class, channel)
        in `language`, any other name as it is."""
        name = self.history.labels.get(key, key)
        return nfc(name(self.language) if isinstance(name, Label) else str(name))

    def rows(self) -> list[tuple[str, dict[str, Any]]]:
        """Breakdown rows (label, figures), largest first, then the total."""
        by_day = self.history.filters.by == "day"
        keyed = sorted(
            self.history.breakdown.items(),
            key=lambda item: (
                (item[0], 0, 0)
                if by_day
                else (item[0] in (0, None), -item[1][INDEX["issued"]], -item[1][INDEX["served"]]),
                self.label(item[0]),
            ),
        )
        return [(self.label(key), self.history.breakdown_figures(key)) for key, _row in keyed]

    def total(self) -> dict[str, Any]:
        return self.history.total_figures()

    def total_label(self) -> str:
        """The total row's label: "Total", or "Total (incomplete)" when finished days of the range are not
        counted (History.missing)."""
        return self.t(N_("Total") if self.history.complete else N_("Total (incomplete)"))

    def incomplete_note(self) -> str:
        """The sentence every surface prints with figures that leave out finished days (History.missing): how
        many site-days, from which day to which; empty when every finished day is counted."""
        missing = self.history.missing
        if not missing:
            return ""
        first, last = min(day for day, _site in missing), max(day for day, _site in missing)
        return self.t(
            N_(
                "Incomplete: {count} site-days from {first} to {last} have no roll-up yet and are not counted in "
                "these figures."
            ),
            count=len(missing),
            first=first.strftime("%d/%m/%Y"),
            last=last.strftime("%d/%m/%Y"),
        )

    def by_day(self) -> list[tuple[str, dict[str, Any]]]:
        return [(day.strftime("%d/%m/%Y"), self.history.day_figures(day)) for day in sorted(self.history.by_day)]

    def by_hour(self) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{hour:02d}:00", self.history.hour_figures(hour)) for hour in sorted(self.history.by_hour)]

    def headings(self) -> list[str]:
        return [self.t(BY_LABELS[self.history.filters.by]), *(self.t(msgid) for msgid, _k, _kind in COLUMNS)]


def text_value(value: Any, kind: str, decimal_comma: bool = False) -> str:
    """How a figure is written in the CSV: shares as percentages with one decimal (the digit the page shows:
    server.stats.numbers.share_to_tenth), no thousands separator; a decimal comma for the `;`-separated file."""
    if value is None:
        return ""
    if kind == "share":
        text = f"{share_to_tenth(value) * 100:.1f}"
    elif kind == "min":
        text = f"{value:.1f}"
    else:
        return str(value)
    return text.replace(".", ",") if decimal_comma else text


# ---------------------------------------------------------------- CSV


def to_csv(report: Report) -> bytes:
    """UTF-8 with a byte-order mark (Excel opens it as UTF-8); shares in percent. With `report.separator` ";"
    the decimals take a comma: what Excel expects under Vietnamese regional settings."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=report.separator, lineterminator="\r\n")
    comma = report.separator == ";"
    headings = report.headings()
    writer.writerow(
        [
            inert(h + (" (%)" if kind == "share" else ""))
            for h, (_m, _k, kind) in zip(headings, (("", "", "label"), *COLUMNS), strict=True)
        ]
    )
    for label, fig in [*report.rows(), (report.total_label(), report.total())]:
        writer.writerow([inert(label), *(text_value(fig[key], kind, comma) for _m, key, kind in COLUMNS)])
    if report.incomplete_note():  # right under the total it qualifies
        writer.writerow([report.incomplete_note()])
    _csv_said(writer, report)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_said(writer: Any, report: Report) -> None:
    """After the figures: an empty row, the reason counts, then the comments (every text cell inert)."""
    headings, reasons, rows = report.said()
    if not headings:
        return
    writer.writerow([])
    writer.writerow([report.t("What citizens said")])
    writer.writerow([report.t("Reason"), report.t("Ratings")])
    for reason, count in reasons:
        writer.writerow([inert(reason), count])
    writer.writerow([])
    writer.writerow(headings)
    for row in rows:
        writer.writerow([inert(cell) for cell in row])


# ---------------------------------------------------------------- Excel


def _xlsx_summary(summary: Any, report: Report) -> None:
    """The first sheet: the title, the note when days are not counted (in red, under the title), the filters,
    the totals and the definitions."""
    from openpyxl.styles import Font

    summary.title = report.t("Summary")[:31]
    summary.append([report.title])
    summary["A1"].font = Font(bold=True, size=14)
    if report.incomplete_note():
        summary.append([report.incomplete_note()])
        summary["A2"].font = Font(bold=True, color="C00000")
    for label, value in report.scope:
        summary.append([label, value])
    summary.append([])
    total = report.total()
    for msgid, key, kind in COLUMNS:
        summary.append([report.t(msgid), total[key]])
        if kind == "share" and total[key] is not None:
            summary.cell(row=summary.max_row, column=2).number_format = "0.0%"
    summary.append([])
    summary.append([report.t(DEFINITIONS)])
    summary.column_dimensions["A"].width = 30
    summary.column_dimensions["B"].width = 40


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    _xlsx_summary(book.active, report)
    total = report.total()

    def sheet(title: str, first: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
        ws = book.create_sheet(title[:31])
        ws.append([first, *(report.t(m) for m, _k, _kind in COLUMNS)])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for label, fig in rows:
            ws.append([label, *(fig[key] for _m, key, _kind in COLUMNS)])
            for index, (_m, _k, kind) in enumerate(COLUMNS, start=2):
                if kind == "share":
                    ws.cell(row=ws.max_row, column=index).number_format = "0.0%"
        ws.column_dimensions["A"].width = 40
        for index in range(2, len(COLUMNS) + 2):
            ws.column_dimensions[get_column_letter(index)].width = 14
        ws.freeze_panes = "B2"

    by = report.history.filters.by
    sheet(
        report.t(f"By {by}") if by != "day" else report.t("By day"),
        report.t(BY_LABELS[by]),
        [*report.rows(), (report.total_label(), total)],
    )
    if by != "day":
        sheet(report.t("By day"), report.t("Day"), report.by_day())
    sheet(report.t("By hour"), report.t("Hour"), report.by_hour())
    _xlsx_said(book, report)
    for worksheet in book.worksheets:  # names, comments and filter lines are text, never formulas
        for row in worksheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_said(book: Any, report: Report) -> None:
    """A sheet "What citizens said": reason counts, then the comments (text cells made inert: openpyxl
    would write a string starting with = as a formula)."""
    headings, reasons, rows = report.said()
    if not headings:
        return
    ws = book.create_sheet(report.t("What citizens said")[:31])
    ws.append([report.t("Reason"), report.t("Ratings")])
    for reason, count in reasons:
        ws.append([inert(reason), count])
    ws.append([])
    ws.append(headings)
    for row in rows:
        ws.append([inert(cell) for cell in row])
    for column, width in zip("ABCDEFG", (18, 10, 14, 20, 16, 30, 60), strict=True):
        ws.column_dimensions[column].width = width


# ---------------------------------------------------------------- PDF


@lru_cache(maxsize=1)
def pdf_fonts() -> tuple[str, str]:
    """Registers DejaVu Sans (or Noto Sans) with reportlab once; returns (regular, bold) names."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    candidates = (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"))
    for folder in FONT_DIRS:
        for regular, bold in candidates:
            if (folder / regular).exists() and (folder / bold).exists():
                pdfmetrics.registerFont(TTFont("LuotReport", str(folder / regular)))
                pdfmetrics.registerFont(TTFont("LuotReport-Bold", str(folder / bold)))
                return "LuotReport", "LuotReport-Bold"
    raise FileNotFoundError("no TTF with Vietnamese glyphs (install fonts-dejavu-core)")


def to_pdf(report: Report) -> bytes:
    """The administrative report (server.stats.pdf_report)."""
    return pdf_report.to_pdf(report, pdf_report.ReportWords(COLUMNS, BY_LABELS, DEFINITIONS, pdf_fonts()))


def escape_xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


BUILDERS: dict[str, Callable[[Report], bytes]] = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}
