"""Load and validate ticket layouts (``printer_templates/*.toml``) into typed dataclasses.

A layout has a ``[layout]`` table and an ordered ``[[blocks]]`` list. Units depend on
the target: ``thermal`` layouts use printer dots for every length and font size;
``pdf`` layouts use millimetres for lengths and points for font sizes.
Any problem raises ``ValueError`` naming the file and the block.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from server.i18n import nfc
from server.printing.ticket_data import TEMPLATE_FIELDS

Align = Literal["left", "center", "right"]
Target = Literal["thermal", "pdf"]
ALIGNS: tuple[str, ...] = ("left", "center", "right")


@dataclass(frozen=True)
class TextBlock:
    """Wrapped text from a template such as ``"Số người chờ trước: {waiting_ahead}"``.

    Skipped when a placeholder it uses has no value (e.g. no priority label).
    """

    template: str
    size: float
    bold: bool = False
    align: Align = "center"
    inverse: bool = False
    line_spacing: float = 1.0


@dataclass(frozen=True)
class NumberBlock:
    """The ticket number, one line, shrunk only if it would not fit the width."""

    field: str
    size: float
    bold: bool = True
    align: Align = "center"


@dataclass(frozen=True)
class QrBlock:
    """A QR code of ``field``; ``size`` is the largest side, quiet zone included."""

    field: str
    size: float
    align: Align = "center"
    quiet_zone: int = 4


@dataclass(frozen=True)
class RuleBlock:
    """A horizontal line across the printable width."""

    thickness: float
    dashed: bool = False


@dataclass(frozen=True)
class SpacerBlock:
    """Blank vertical space."""

    height: float


Block = TextBlock | NumberBlock | QrBlock | RuleBlock | SpacerBlock


@dataclass(frozen=True)
class Layout:
    """A validated ticket layout. Lengths are in dots (thermal) or mm (pdf)."""

    name: str
    source: str
    target: Target
    margin_x: float
    margin_top: float
    margin_bottom: float
    blocks: tuple[Block, ...]
    width_dots: int | None = None
    page_width_mm: float | None = None
    page_height_mm: float | None = None

    @property
    def content_width(self) -> float:
        """Printable width between the side margins (dots or mm)."""
        width = self.width_dots if self.target == "thermal" else self.page_width_mm
        assert width is not None
        return width - 2 * self.margin_x


_HEADER_KEYS = {
    "thermal": {"name", "target", "width_dots", "margin_x", "margin_top", "margin_bottom"},
    "pdf": {"name", "target", "page_width_mm", "page_height_mm", "margin_x", "margin_top", "margin_bottom"},
}
_BLOCK_KEYS = {
    "text": ({"size"}, {"text", "field", "bold", "align", "inverse", "line_spacing"}),
    "number": ({"size"}, {"field", "bold", "align"}),
    "qr": ({"size"}, {"field", "align", "quiet_zone"}),
    "rule": (set(), {"thickness", "dashed"}),
    "spacer": ({"height"}, set()),
}
_KIND_ALIASES = {"separator": "rule"}
_DEFAULT_RULE: dict[str, float] = {"thermal": 2, "pdf": 0.3}


class _Where:
    """Builds error messages that name the file and the block."""

    def __init__(self, source: str, block: int | None = None, kind: str | None = None) -> None:
        self.source, self.block, self.kind = source, block, kind

    def error(self, problem: str) -> ValueError:
        if self.block is None:
            return ValueError(f"{self.source}: [layout]: {problem}")
        kind = f" (kind {self.kind!r})" if self.kind else ""
        return ValueError(f"{self.source}: block #{self.block}{kind}: {problem}")


def load_layout(path: str | Path) -> Layout:
    """Read and validate the layout TOML at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ticket layout: {exc}") from exc
    return parse_layout(text, source=str(path), default_name=path.stem)


def load_builtin_layout(name: str) -> Layout:
    """Load a layout shipped in ``printer_templates`` by name, e.g. ``"ticket_80mm"``."""
    from printer_templates import layout_path

    return load_layout(layout_path(name))


def parse_layout(text: str, source: str = "<layout>", default_name: str = "layout") -> Layout:
    """Validate layout TOML ``text``; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from exc
    unknown = set(data) - {"layout", "blocks"}
    if unknown:
        raise ValueError(f"{source}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    header = data.get("layout")
    if not isinstance(header, dict):
        raise ValueError(f"{source}: missing [layout] table")
    where = _Where(source)
    target = header.get("target")
    if target not in _HEADER_KEYS:
        raise where.error(f"'target' must be 'thermal' or 'pdf', got {target!r}")
    _check_keys(where, header, required=_HEADER_KEYS[target] - {"name"}, allowed=_HEADER_KEYS[target])
    name = header.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise where.error("'name' must be a non-empty string")

    sizes: dict[str, Any] = {}
    if target == "thermal":
        width = header["width_dots"]
        if isinstance(width, bool) or not isinstance(width, int) or width <= 0 or width % 8:
            raise where.error(f"'width_dots' must be a positive multiple of 8 (576, 384), got {width!r}")
        sizes["width_dots"] = width
        full_width: float = width
    else:
        sizes["page_width_mm"] = _number(where, header, "page_width_mm", minimum=10)
        sizes["page_height_mm"] = _number(where, header, "page_height_mm", minimum=10)
        full_width = sizes["page_width_mm"]
    margin_x = _number(where, header, "margin_x", minimum=0, allow_zero=True)
    if 2 * margin_x >= full_width:
        raise where.error(f"'margin_x' {margin_x} leaves no printable width")

    blocks_raw = data.get("blocks")
    if not isinstance(blocks_raw, list) or not blocks_raw:
        raise ValueError(f"{source}: no [[blocks]]: a layout needs at least one block")
    blocks = tuple(_parse_block(source, target, i, raw) for i, raw in enumerate(blocks_raw, start=1))
    return Layout(
        name=name,
        source=source,
        target=target,
        margin_x=margin_x,
        margin_top=_number(where, header, "margin_top", minimum=0, allow_zero=True),
        margin_bottom=_number(where, header, "margin_bottom", minimum=0, allow_zero=True),
        blocks=blocks,
        **sizes,
    )


def _parse_block(source: str, target: Target, index: int, raw: object) -> Block:
    where = _Where(source, index)
    if not isinstance(raw, dict):
        raise where.error("must be a table")
    kind = raw.get("kind")
    if kind is None:
        raise where.error(f"missing 'kind' (one of: {', '.join(_BLOCK_KEYS)})")
    kind = _KIND_ALIASES.get(kind, kind)
    if kind not in _BLOCK_KEYS:
        raise where.error(f"unknown block kind {raw.get('kind')!r} (one of: {', '.join(_BLOCK_KEYS)}, separator)")
    where.kind = kind
    required, optional = _BLOCK_KEYS[kind]
    _check_keys(where, {k: v for k, v in raw.items() if k != "kind"}, required, required | optional)

    if kind == "text":
        return TextBlock(
            template=_template(where, raw),
            size=_number(where, raw, "size", minimum=1),
            bold=_bool(where, raw, "bold", False),
            align=_align(where, raw),
            inverse=_bool(where, raw, "inverse", False),
            line_spacing=_number(where, raw, "line_spacing", minimum=0.5, default=1.0),
        )
    if kind == "number":
        return NumberBlock(
            field=_field(where, raw, "display_number"),
            size=_number(where, raw, "size", minimum=1),
            bold=_bool(where, raw, "bold", True),
            align=_align(where, raw),
        )
    if kind == "qr":
        quiet = raw.get("quiet_zone", 4)
        if isinstance(quiet, bool) or not isinstance(quiet, int) or quiet < 0:
            raise where.error(f"'quiet_zone' must be a non-negative integer (modules), got {quiet!r}")
        return QrBlock(
            field=_field(where, raw, "tracking_url"),
            size=_number(where, raw, "size", minimum=1),
            align=_align(where, raw),
            quiet_zone=quiet,
        )
    if kind == "rule":
        return RuleBlock(
            thickness=_number(where, raw, "thickness", minimum=0, default=_DEFAULT_RULE[target]),
            dashed=_bool(where, raw, "dashed", False),
        )
    return SpacerBlock(height=_number(where, raw, "height", minimum=0, allow_zero=True))


def _check_keys(where: _Where, table: dict[str, Any], required: set[str], allowed: set[str]) -> None:
    missing = sorted(required - set(table))
    if missing:
        raise where.error(f"missing required key(s): {', '.join(missing)}")
    unknown = sorted(set(table) - allowed - {"kind"})
    if unknown:
        raise where.error(f"unknown key(s): {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _number(
    where: _Where,
    table: dict[str, Any],
    key: str,
    minimum: float,
    default: float | None = None,
    allow_zero: bool = False,
) -> float:
    value = table.get(key, default)
    if value is None:
        raise where.error(f"missing required key: {key}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise where.error(f"{key!r} must be a number, got {value!r}")
    if value < minimum:
        raise where.error(f"{key!r} must be at least {minimum:g}, got {value!r}")
    if value == 0 and not allow_zero:
        raise where.error(f"{key!r} must be greater than 0")
    return float(value)


def _bool(where: _Where, table: dict[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise where.error(f"{key!r} must be true or false, got {value!r}")
    return value


def _align(where: _Where, table: dict[str, Any]) -> Align:
    value = table.get("align", "center")
    if value not in ALIGNS:
        raise where.error(f"'align' must be one of {', '.join(ALIGNS)}, got {value!r}")
    return value


def _field(where: _Where, table: dict[str, Any], default: str) -> str:
    value = table.get("field", default)
    if value not in TEMPLATE_FIELDS:
        raise where.error(f"unknown field {value!r} (known: {', '.join(TEMPLATE_FIELDS)})")
    return value


def _template(where: _Where, table: dict[str, Any]) -> str:
    if ("text" in table) == ("field" in table):
        raise where.error("needs exactly one of 'text' (a template) or 'field'")
    if "field" in table:
        return "{" + _field(where, table, "") + "}"
    template = table["text"]
    if not isinstance(template, str) or not template.strip():
        raise where.error("'text' must be a non-empty string")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise where.error(f"bad template {template!r}: {exc}") from exc
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            raise where.error(f"unknown placeholder {{{name}}} in {template!r} (known: {', '.join(TEMPLATE_FIELDS)})")
        if spec or conversion:
            raise where.error(f"placeholder {{{name}}} must not carry a format spec or conversion")
    return nfc(template)


def placeholders(template: str) -> list[str]:
    """Field names used by a (validated) template."""
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name]


def fill_template(template: str, values: dict[str, str | None]) -> str | None:
    """``template`` with its placeholders filled, or None when one of them has no value."""
    names = placeholders(template)
    if any(values.get(name) is None for name in names):
        return None
    return template.format_map({name: values[name] for name in names})
