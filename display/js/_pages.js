// A board panel whose lines may not all fit: it shows them page by page, turning every few seconds, with
// "page / pages" in its heading. Pages are measured, not counted, so a name on two lines takes its room.

/** [first, end) index pairs of `items` (children of `list`) such that each page fits the list's box. */
export function splitPages(list, items) {
  const pages = [];
  let first = 0;
  while (first < items.length) {
    items.forEach((item, index) => {
      item.hidden = index < first;
    });
    const bottom = list.getBoundingClientRect().top + list.clientHeight + 1;
    let end = first;
    while (end < items.length && items[end].getBoundingClientRect().bottom <= bottom) end += 1;
    end = Math.max(end, first + 1); // a line taller than the panel still gets a page of its own
    pages.push([first, end]);
    first = end;
  }
  return pages.length ? pages : [[0, 0]];
}

export class PagedList {
  /**
   * `list`: the element holding the lines; `indicator`: where "1/3" goes; `seconds`: how long a page shows.
   * `onTurn` (optional) is told after each turn.
   */
  constructor(list, indicator, seconds) {
    this.list = list;
    this.indicator = indicator;
    this.pages = [[0, 0]];
    this.page = 0;
    this.keys = [];
    this.drawn = "";
    if (!list) return;
    this.held = false; // a page chosen by hand (tests, operations) stays until the next hand
    setInterval(() => this.held || this.show(this.page + 1), seconds * 1000);
    // The list's room changes when the fonts arrive or the call above it grows: measure the pages again.
    let size = "";
    new ResizeObserver(() => {
      const now = `${list.clientWidth}x${list.clientHeight}`;
      if (now !== size && this.keys.length) this.measure();
      size = now;
    }).observe(list);
  }

  measure() {
    this.pages = splitPages(this.list, [...this.list.children]);
    this.show(this.page);
  }

  /** Replaces the lines (`items`: elements with a data-key); the page shown stays where it can. */
  fill(items) {
    if (!this.list) return;
    const drawn = items.map((item) => `${item.dataset.key}:${item.className}:${item.textContent}`).join("|");
    if (drawn === this.drawn) return; // nothing to show differently: the pages stay as they are
    this.drawn = drawn;
    this.list.replaceChildren(...items);
    this.keys = items.map((item) => item.dataset.key);
    this.measure();
  }

  /** Whether every line fits on one page. */
  fitsOnePage() {
    return this.pages.length <= 1;
  }

  show(page) {
    if (!this.list) return;
    this.page = this.pages.length ? ((page % this.pages.length) + this.pages.length) % this.pages.length : 0;
    const [first, end] = this.pages[this.page];
    [...this.list.children].forEach((item, index) => {
      item.hidden = index < first || index >= end;
    });
    if (this.indicator) this.indicator.textContent = this.pages.length > 1 ? `${this.page + 1}/${this.pages.length}` : "";
  }

  /** Shows page `page` and stops turning (tests and operations). */
  hold(page) {
    this.held = true;
    this.show(page);
  }

  /** The keys of the lines on each page (tests and operations). */
  keysByPage() {
    return this.pages.map(([first, end]) => this.keys.slice(first, end));
  }
}
