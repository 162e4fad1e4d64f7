// Helpers shared by the board, the counter display and the phone page (bundled into each; not an entry).

export const TIME_ZONE = "Asia/Ho_Chi_Minh";

/** The page's configuration, rendered by the server as JSON. */
export function readConfig() {
  const node = document.getElementById("luot-config");
  return node ? JSON.parse(node.textContent) : {};
}

/** Fills {name} placeholders of a translated string. */
export function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

/**
 * Builds DOM nodes from a translated template, putting each {name} into an element of its own
 * (e.g. the number and the counter of a call, drawn larger than the words around them).
 */
export function formatNodes(template, params) {
  const fragment = document.createDocumentFragment();
  let last = null; // the fill just added: punctuation right after it stays on its line ("14002," never ", PLEASE")
  for (const part of String(template).split(/(\{\w+\})/)) {
    const key = /^\{(\w+)\}$/.exec(part)?.[1];
    if (key && key in params) {
      last = textSpan(`fill-${key}`, params[key]);
      fragment.append(last);
      continue;
    }
    let text = part;
    const punctuation = last && /^[,.;:!?)]+/.exec(text)?.[0];
    if (punctuation) {
      const glue = textSpan("glue");
      last.replaceWith(glue);
      glue.append(last, textSpan("fill-text", punctuation));
      text = text.slice(punctuation.length);
    }
    // Words stay together within a part; the spaces around the parts are where a line may break.
    if (/^\s/.test(text)) fragment.append(" ");
    if (text.trim()) fragment.append(textSpan("fill-text", text.trim()));
    if (/\s$/.test(text) && text.trim()) fragment.append(" ");
    last = null;
  }
  return fragment;
}

function textSpan(className, text) {
  const span = document.createElement("span");
  span.className = className;
  if (text != null) span.textContent = String(text);
  return span;
}

/** The small "connection lost" mark, and data-online on <body> for whoever watches. */
export function connectionMark(element) {
  return (online) => {
    document.body.dataset.online = online ? "true" : "false";
    if (element) element.hidden = online;
  };
}

/** Server time: the offset between the server clock (from the snapshot) and this device's clock. */
export class ServerClock {
  constructor() {
    this.offset = 0;
  }

  sync(isoNow) {
    const server = Date.parse(isoNow);
    if (!Number.isNaN(server)) this.offset = server - Date.now();
  }

  now() {
    return new Date(Date.now() + this.offset);
  }
}

const localDay = new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE, year: "numeric", month: "2-digit",
  day: "2-digit" });

/** The local (Hà Nội time) calendar day of a Date, as YYYY-MM-DD. */
export function dayOf(date) {
  return localDay.format(date);
}

/**
 * A set of ids remembered in localStorage for one local day (e.g. the calls a board has announced),
 * so a reload or reconnect never repeats them. Falls back to memory when storage is unavailable.
 */
export class DailySet {
  // The day is the server's (see add): a lobby TV's own clock is often wrong, so it is not trusted here.
  constructor(key, limit = 400) {
    this.key = key;
    this.limit = limit;
    this.day = null;
    this.ids = [];
    try {
      const stored = JSON.parse(window.localStorage.getItem(key) || "null");
      if (stored && Array.isArray(stored.ids)) {
        this.day = stored.day;
        this.ids = stored.ids;
      }
    } catch {
      this.ids = [];
    }
    this.set = new Set(this.ids);
  }

  has(id) {
    return this.set.has(id);
  }

  /** Remembers `id` for `today` (the server's local day); the ids of another day are forgotten. */
  add(id, today) {
    if (today && today !== this.day) {
      this.day = today;
      this.ids = [];
      this.set = new Set();
    }
    if (this.set.has(id)) return;
    this.set.add(id);
    this.ids.push(id);
    if (this.ids.length > this.limit) this.set.delete(this.ids.shift());
    try {
      window.localStorage.setItem(this.key, JSON.stringify({ day: this.day, ids: this.ids }));
    } catch {
      // storage full or disabled: the in-memory set still prevents repeats until a reload
    }
  }
}
