"""Measuring a page in Chromium: text that spills out of its element's box, and what lies beyond the viewport."""

from __future__ import annotations

from typing import Any

# Every element with text of its own whose text (a Range over its text nodes) reaches beyond the element's box,
# or whose content is wider than its box while it clips (overflow hidden): {tag, id, cls, text, over} each.
OVERFLOWING_TEXT = """
() => {
  const found = [];
  for (const el of document.body.querySelectorAll("*")) {
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    if (el.closest("[hidden], script, style, svg, noscript")) continue;
    const texts = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (!texts.length) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const range = document.createRange();
    range.setStartBefore(texts[0]);
    range.setEndAfter(texts[texts.length - 1]);
    const text = range.getBoundingClientRect();
    const right = text.right - box.right, bottom = text.bottom - box.bottom, left = box.left - text.left;
    const clipped = style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1;
    if (right > 1 || left > 1 || bottom > 2 || clipped) {
      found.push({ tag: el.tagName, id: el.id, cls: el.className && String(el.className),
                   text: el.textContent.trim().slice(0, 60), over: [right, bottom, left, clipped] });
    }
  }
  return found;
}
"""


def overflowing_text(page: Any) -> list[dict[str, Any]]:
    """The elements whose text does not fit their box (see OVERFLOWING_TEXT)."""
    return page.evaluate(OVERFLOWING_TEXT)


def sideways_scroll(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
