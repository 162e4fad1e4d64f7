"""Measuring a page's layout in the browser: text that overflows its box, boxes outside the viewport, type sizes.

`layout_report(page)` walks every visible text node of the page and compares the rectangles of its text (a DOM
Range's client rects) with
- the box of the element that lays it out (its nearest non-inline ancestor): text sticking out of its box (up to
  the half-leading a line-height below 1.2 or so takes away is allowed);
- every ancestor that clips (overflow hidden/clip) up to the first scroll container: text cut off;
- the viewport, unless the text sits in a scroll container or the page itself is allowed to scroll.
Text inside `[data-marquee]` (the boards' scrolling notice, which moves through its box on purpose) is only
counted for its type size. Rectangles are compared with a 1.5 px tolerance (sub-pixel rounding).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"

LAYOUT_JS = r"""
(pageScrolls) => {
  const SLACK = 1.5;
  const problems = [];
  let minFont = Infinity;
  const inside = (r, b, overhang = 0) => r.left >= b.left - SLACK && r.right <= b.right + SLACK
    && r.top >= b.top - SLACK - overhang && r.bottom <= b.bottom + SLACK + overhang;
  const describe = (r) => `[${Math.round(r.left)},${Math.round(r.top)} ${Math.round(r.width)}×${Math.round(r.height)}]`;
  const scrolls = (s) => /(auto|scroll)/.test(s.overflowX + s.overflowY);
  const clips = (s) => /(hidden|clip)/.test(s.overflowX + s.overflowY);
  const viewport = { left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest("script, style, template, option, datalist")) continue;
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5);
    if (!rects.length) continue;
    minFont = Math.min(minFont, parseFloat(getComputedStyle(el).fontSize));
    if (el.closest("[data-marquee]")) continue;
    let block = el;
    while (block.parentElement && getComputedStyle(block).display.startsWith("inline")
           && getComputedStyle(block).display !== "inline-block") block = block.parentElement;
    let inScroller = false;
    const clippers = [];
    const top = [document.body, document.documentElement];
    for (let up = el.parentElement; up && !top.includes(up); up = up.parentElement) {
      const style = getComputedStyle(up);
      if (scrolls(style)) { inScroller = true; break; }
      if (clips(style)) clippers.push(up);
    }
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\s+/).join(".") : "";
    const name = `"${text.slice(0, 40)}" in <${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes}>`;
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight);
    for (const r of rects) {
      const box = block.getBoundingClientRect();
      // A line-height below the font's own height makes the text's box taller than its line: that much is allowed
      // out of the element's box (not past a clipping box, which would cut the glyphs).
      const overhang = lineHeight > 0 ? Math.max(0, (r.height - lineHeight) / 2) : 0;
      if (!inside(r, box, overhang)) problems.push(`${name} ${describe(r)} overflows its box ${describe(box)}`);
      for (const clipper of clippers) {
        const b = clipper.getBoundingClientRect();
        const what = `<${clipper.tagName.toLowerCase()}.${clipper.className}>`;
        if (!inside(r, b)) problems.push(`${name} ${describe(r)} is cut by ${what} ${describe(b)}`);
      }
      if (!inScroller && !pageScrolls && !inside(r, viewport)) {
        problems.push(`${name} ${describe(r)} is outside the viewport`);
      }
    }
  }
  const sideways = document.documentElement.scrollWidth > window.innerWidth + 1;
  if (sideways) problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px wide)`);
  return { problems, minFont };
}
"""

GLYPH_HEIGHT_JS = r"""
(selector) => {
  // Queried and measured in one evaluation: a board redraws its latest call (replaceChildren) as events and
  // snapshots arrive, and a detached element's computed style is empty, which the canvas would refuse as a font
  // and silently measure in its default 10px sans-serif.
  const el = document.querySelector(selector);
  if (!el) return null;
  const style = getComputedStyle(el);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const size = /([\d.]+)px/.exec(context.font);
  if (!size || Math.abs(parseFloat(size[1]) - parseFloat(style.fontSize)) > 0.5) return null;
  const metrics = context.measureText(el.textContent.trim());
  return metrics.actualBoundingBoxAscent + metrics.actualBoundingBoxDescent;
}
"""


def layout_report(page: Any, page_scrolls: bool = False) -> dict[str, Any]:
    """{"problems": [description…], "minFont": smallest font size of visible text in px} of the page as shown."""
    return page.evaluate(LAYOUT_JS, page_scrolls)


def glyph_height(page: Any, selector: str) -> float | None:
    """The height in px of the inked glyphs of the text of the first element matching `selector` (digits: their
    cap height), not its line box; None when no such element is shown or its font could not be read."""
    return page.evaluate(GLYPH_HEIGHT_JS, selector)


def glyph_height_reaching(page: Any, selector: str, minimum: float, timeout_ms: float = 10_000) -> float:
    """`glyph_height` once it reaches `minimum` px (the reading that reached it), or the last reading after
    `timeout_ms` (0 when nothing could be measured): a board redraws its latest call as events and snapshots
    arrive (a placeholder for a moment, then the number fitted), so one reading can fall in between; a number that
    never reaches `minimum` still fails the caller's assertion."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    condition = f"([selector, minimum]) => {{ const h = ({GLYPH_HEIGHT_JS})(selector); return h >= minimum ? h : 0; }}"
    with contextlib.suppress(PlaywrightTimeout):
        return float(page.wait_for_function(condition, arg=[selector, minimum], timeout=timeout_ms).json_value())
    return glyph_height(page, selector) or 0.0


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    """Saves a PNG under test-artifacts/screens/ (ignored by git) and returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def within(box: dict[str, float] | None, width: int, height: int) -> bool:
    """Whether a Playwright bounding box lies entirely within a width × height viewport."""
    return (
        box is not None
        and box["x"] >= -0.5
        and box["y"] >= -0.5
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
    )
