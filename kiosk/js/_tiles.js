// Lays a grid of kiosk tiles out so that every tile shows on one screen, without scrolling: it picks the number of
// columns from the number of tiles and the space there is, then shrinks the type a step at a time, and only when
// even the smallest type does not fit it splits the tiles into pages turned by large buttons.
//
// A grid is an element `#<name>` (class "tiles") whose children are the tiles, with a pager `#<name>-pager`
// (two `.page-turn` buttons and `#<name>-page-of`). The grid must have a fixed height (flex: 1 in its screen).

const MAX_COLUMNS = 6;
const MAX_TILE_REM = 8; // a tile taller than this looks like a banner: the rows stop growing
const MIN_TILE_REM = 3.4; // ≈ 105 px at 1920 px: still an easy target for an unsteady finger
const MIN_WIDTH_REM = 9; // ≈ 275 px at 1920 px: two words of a long agency name on a line
const SCALES = [1, 0.92, 0.84, 0.76, 0.7, 0.65]; // type sizes tried, largest first (0.65 × 1.2 rem ≈ 24 px at 1920 px)
const PAGE_TRIES = 12; // at most this many smaller page sizes are tried when a page does not fit

const grids = new Map(); // name → {page, pages: [[first, end)…]}

function rem() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}

function showOnly(tiles, first, end) {
  tiles.forEach((tile, index) => {
    tile.hidden = index < first || index >= end;
  });
}

/** Whether every shown tile's content fits its box, and the rows fit the grid. */
function fits(grid, tiles) {
  if (grid.scrollHeight > grid.clientHeight + 1) return false;
  return tiles.every(
    (tile) => tile.hidden || (tile.scrollHeight <= tile.clientHeight + 1 && tile.scrollWidth <= tile.clientWidth + 1),
  );
}

/** The column counts worth trying for `count` tiles in the grid's box, best first (larger tiles, wide enough). */
function layouts(grid, count) {
  const style = getComputedStyle(grid);
  const gap = parseFloat(style.rowGap) || 0;
  const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
  const width = grid.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const height = grid.clientHeight - padding;
  const unit = rem();
  const options = [];
  for (let columns = 1; columns <= Math.min(count, MAX_COLUMNS); columns += 1) {
    const rows = Math.ceil(count / columns);
    const tileWidth = (width - (columns - 1) * gap) / columns;
    const row = Math.min((height - (rows - 1) * gap) / rows, MAX_TILE_REM * unit);
    if (row < MIN_TILE_REM * unit || tileWidth < MIN_WIDTH_REM * unit) continue;
    options.push({ columns, row: Math.floor(row), score: Math.min(row, tileWidth / 2.2) });
  }
  return options.sort((a, b) => b.score - a.score || a.columns - b.columns);
}

function apply(grid, layout, scale) {
  grid.style.setProperty("--cols", String(layout.columns));
  grid.style.setProperty("--row", `${layout.row}px`);
  grid.style.setProperty("--scale", String(scale));
}

/** Lays the tiles first…end out in the largest type that fits; false if none does. */
function layOut(grid, tiles, first, end) {
  showOnly(tiles, first, end);
  const options = layouts(grid, end - first);
  for (const scale of SCALES) {
    for (const layout of options) {
      apply(grid, layout, scale);
      if (fits(grid, tiles)) return true;
    }
  }
  return false;
}

/** Pages of `size` tiles (the last one shorter). */
function split(count, size) {
  const pages = [];
  for (let first = 0; first < count; first += size) pages.push([first, Math.min(first + size, count)]);
  return pages;
}

/** How many tiles of the smallest size the grid holds: the first page size to try. */
function capacity(grid) {
  const unit = rem();
  const gap = parseFloat(getComputedStyle(grid).rowGap) || 0;
  const columns = Math.max(1, Math.min(MAX_COLUMNS, Math.floor((grid.clientWidth + gap) / (MIN_WIDTH_REM * unit + gap))));
  const rows = Math.max(1, Math.floor((grid.clientHeight + gap) / (MIN_TILE_REM * unit + gap)));
  return columns * rows;
}

function paged(grid, tiles, pager) {
  pager.hidden = false; // the pager takes its room before the grid is measured
  let size = Math.min(capacity(grid), tiles.length - 1);
  for (let tries = 0; size > 1 && tries < PAGE_TRIES; tries += 1) {
    const pages = split(tiles.length, size);
    if (pages.every(([first, end]) => layOut(grid, tiles, first, end))) return pages;
    size -= 1;
  }
  return split(tiles.length, Math.max(size, 1));
}

function draw(name) {
  const entry = grids.get(name);
  const grid = document.getElementById(name);
  const tiles = [...grid.children];
  const [first, end] = entry.pages[entry.page] || [0, tiles.length];
  layOut(grid, tiles, first, end);
  const pager = document.getElementById(`${name}-pager`);
  pager.hidden = entry.pages.length < 2;
  document.getElementById(`${name}-page-of`).textContent = `${entry.page + 1} / ${entry.pages.length}`;
  for (const button of pager.querySelectorAll(".page-turn")) {
    const target = entry.page + Number(button.dataset.step);
    button.disabled = target < 0 || target >= entry.pages.length;
  }
}

/**
 * Lays grid `name` out again (after its tiles changed, the language or the window): on one page if the tiles fit,
 * else in pages. `keepPage` keeps the page shown when the tiles are the same ones (a count changed).
 */
export function fitTiles(name, keepPage = false) {
  const grid = document.getElementById(name);
  const pager = document.getElementById(`${name}-pager`);
  if (!grid || !pager || grid.offsetParent === null) return; // not on screen: laid out when shown
  const tiles = [...grid.children];
  const before = grids.get(name);
  pager.hidden = true;
  const pages = tiles.length && !layOut(grid, tiles, 0, tiles.length) ? paged(grid, tiles, pager) : [[0, tiles.length]];
  const page = keepPage && before ? Math.min(before.page, pages.length - 1) : 0;
  grids.set(name, { page, pages });
  draw(name);
}

/** Turns grid `name` `step` pages on (−1: back). */
export function turnPage(name, step) {
  const entry = grids.get(name);
  if (!entry) return;
  entry.page = Math.max(0, Math.min(entry.pages.length - 1, entry.page + step));
  draw(name);
}

/** The pages of grid `name` as [first, end) index pairs (for tests and the page-turn buttons). */
export function pagesOf(name) {
  return grids.get(name)?.pages || [];
}
