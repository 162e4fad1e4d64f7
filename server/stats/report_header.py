"""The words around a printed report that come from the site's settings (Administration → Sites → Printed
reports): the governing body and issuing unit at the top left, the place before the date, the signer's title
and name in the signature block (none without a title)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlmodel import Session, col, select

from server.models import Site


@dataclass(frozen=True)
class ReportHeader:
    parent_unit: str = ""
    unit: str = ""
    place: str = ""
    signer_title: str = ""
    signer_name: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ReportHeader:
        return cls(**{k: str(v) for k, v in (data or {}).items() if k in cls.__dataclass_fields__})

    @classmethod
    def of_site(cls, site: Site) -> ReportHeader:
        settings = site.settings or {}
        return cls(
            parent_unit=str(settings.get("report_parent_unit", "")),
            unit=str(settings.get("report_unit", "")) or site.name,
            place=str(settings.get("report_place", "")),
            signer_title=str(settings.get("report_signer_title", "")),
            signer_name=str(settings.get("report_signer_name", "")),
        )


def header_for(session: Session, site_ids: tuple[int, ...] | list[int]) -> ReportHeader:
    """The header of a report on these sites: the site's own for one site; for several, the provincial
    centre's (the first centre among them), else none."""
    sites = session.exec(select(Site).where(col(Site.id).in_(list(site_ids))).order_by(col(Site.id))).all()
    if len(sites) == 1:
        return ReportHeader.of_site(sites[0])
    centre = next((s for s in sites if s.kind == "centre"), None)
    return ReportHeader.of_site(centre) if centre is not None else ReportHeader()
