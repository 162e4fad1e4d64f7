"""What a printed ticket carries (product flow 1), independent of how it is printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from server.i18n import nfc

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

NBSP = "\u00a0"

DEFAULT_NOTICE = "Vui lòng theo dõi màn hình. Số đã qua phải lấy số mới."

#: Placeholders a layout may use in its templates, with what they render as.
TEMPLATE_FIELDS: dict[str, str] = {
    "centre_name": "centre (site) name",
    "agency": "agency (sở, ngành)",
    "service": "service (lĩnh vực, thủ tục)",
    "display_number": "the ticket number as shown, e.g. 1023 or A1023",
    "waiting_ahead": "people waiting ahead (integer)",
    "estimated_wait_minutes": "estimated wait in minutes; blocks using it are skipped when unknown",
    "issued_at": "dd/mm/yyyy HH:MM, Asia/Ho_Chi_Minh",
    "issued_date": "dd/mm/yyyy, Asia/Ho_Chi_Minh",
    "issued_time": "HH:MM, Asia/Ho_Chi_Minh",
    "counters": "counters serving the ticket, joined with ', '; skipped when empty",
    "tracking_url": "the phone-tracking URL (usually shown as a QR code)",
    "priority_label": "priority label; blocks using it are skipped when the ticket is not priority",
    "wait_note": "why no wait is promised (no counter open yet, and when one is expected); skipped otherwise",
    "notice": "footer notice",
}


def clean_text(text: str, multiline: bool = False) -> str:
    """NFC, runs of whitespace collapsed to one space (newlines kept if ``multiline``), trimmed."""
    lines = nfc(text).split("\n") if multiline else [nfc(text)]
    return "\n".join(" ".join(line.split()) for line in lines).strip()


@dataclass(frozen=True)
class TicketPrint:
    """One ticket as printed at the kiosk. All text is NFC-normalised on construction."""

    centre_name: str
    agency: str
    service: str
    display_number: str
    waiting_ahead: int
    estimated_wait_minutes: int | None
    issued_at: datetime
    counters: Sequence[str] = field(default_factory=tuple)
    tracking_url: str = ""
    priority_label: str | None = None
    notice: str = DEFAULT_NOTICE
    wait_note: str | None = None

    def __post_init__(self) -> None:
        for name in ("centre_name", "agency", "service", "display_number", "tracking_url", "notice"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"TicketPrint.{name} must be str, got {type(value).__name__}")
            object.__setattr__(self, name, clean_text(value, multiline=name == "notice"))
        if not self.display_number:
            raise ValueError("TicketPrint.display_number must not be empty")
        for name in ("priority_label", "wait_note"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, clean_text(getattr(self, name)) or None)
        if isinstance(self.counters, str):
            raise TypeError("TicketPrint.counters must be a sequence of str, not a str")
        object.__setattr__(self, "counters", tuple(c for c in map(clean_text, self.counters) if c))
        _check_count("waiting_ahead", self.waiting_ahead)
        if self.estimated_wait_minutes is not None:
            _check_count("estimated_wait_minutes", self.estimated_wait_minutes)
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise ValueError("TicketPrint.issued_at must be timezone-aware")

    @property
    def issued_local(self) -> datetime:
        """``issued_at`` in Asia/Ho_Chi_Minh."""
        return self.issued_at.astimezone(LOCAL_TZ)

    def template_values(self) -> dict[str, str | None]:
        """Values for the layout placeholders (see ``TEMPLATE_FIELDS``); None means "absent"."""
        local = self.issued_local
        return {
            "centre_name": self.centre_name or None,
            "agency": self.agency or None,
            "service": self.service or None,
            "display_number": self.display_number,
            "waiting_ahead": str(self.waiting_ahead),
            "estimated_wait_minutes": (
                None if self.estimated_wait_minutes is None else str(self.estimated_wait_minutes)
            ),
            "issued_at": local.strftime("%d/%m/%Y %H:%M"),
            "issued_date": local.strftime("%d/%m/%Y"),
            "issued_time": local.strftime("%H:%M"),
            # No-break spaces keep "Quầy 12" together when the list wraps.
            "counters": ", ".join(c.replace(" ", NBSP) for c in self.counters) or None,
            "tracking_url": self.tracking_url or None,
            "priority_label": self.priority_label,
            "wait_note": self.wait_note,
            "notice": self.notice or None,
        }


def _check_count(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"TicketPrint.{name} must be a non-negative int, got {value!r}")


#: The fixed clock of the sample ticket (goldens, test prints): 08:47 local time.
SAMPLE_ISSUED_AT = datetime(2025, 3, 14, 8, 47, 12, tzinfo=LOCAL_TZ)


def sample_ticket() -> TicketPrint:
    """The fixed sample ticket used for golden previews and printer test pages."""
    return TicketPrint(
        centre_name="Trung tâm Phục vụ hành chính công tỉnh",
        agency="Sở Tư pháp",
        service="Chứng thực bản sao từ bản chính, chữ ký, hợp đồng và giao dịch",
        display_number="1023",
        waiting_ahead=12,
        estimated_wait_minutes=25,
        issued_at=SAMPLE_ISSUED_AT,
        counters=["Quầy 5", "Quầy 6"],
        tracking_url="http://luot.local/t/q7Vd2xKp9LmA",
        priority_label="ƯU TIÊN · Người cao tuổi",
    )
