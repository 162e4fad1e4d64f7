"""Ticket layouts as data: one TOML file per paper (80 mm, 58 mm thermal; PDF).

A layout is an ordered list of blocks (text, number, qr, rule, spacer) that
``server.printing.layout.load_layout`` reads and validates. Edit the TOML, then
run ``python -m printer_templates.make_previews`` to refresh the golden PNGs in
``previews/`` (the tests compare renders to them pixel for pixel).
"""

from __future__ import annotations

from pathlib import Path

LAYOUT_DIR = Path(__file__).resolve().parent
PREVIEW_DIR = LAYOUT_DIR / "previews"


def available_layouts() -> list[str]:
    """Names of the bundled layouts, e.g. ``["ticket_58mm", "ticket_80mm", "ticket_pdf"]``."""
    return sorted(p.stem for p in LAYOUT_DIR.glob("*.toml"))


def layout_path(name: str) -> Path:
    """Path of the bundled layout ``name`` (with or without ``.toml``)."""
    stem = name.removesuffix(".toml")
    path = LAYOUT_DIR / f"{stem}.toml"
    if "/" in stem or "\\" in stem or not path.is_file():
        raise FileNotFoundError(
            f"no bundled ticket layout {name!r} in {LAYOUT_DIR}; available: {', '.join(available_layouts())}"
        )
    return path
