// The hall board: the latest call (highlighted and flashing) above today's earlier calls or a grid of the counters
// with their numbers, the people waiting per agency (page by page when they do not fit), a clock in Hà Nội time,
// a scrolling notice, and the voice calls — one after another, never overlapping, never twice.
import { connectLive } from "../../web/lib/live.js";
import { connectionMark, DailySet, dayOf, formatNodes, readConfig, ServerClock, TIME_ZONE } from "./_common.js";
import { PagedList } from "./_pages.js";

const config = readConfig();
const S = config.strings || {};
const agencyFilter = Array.isArray(config.agency_ids) ? new Set(config.agency_ids) : null;
const rows = Math.max(1, config.rows || 12);
const clock = new ServerClock();
const STALE_MS = 120000; // a call not announced within 2 minutes (sound locked, long queue) is dropped
const ENDED = new Set(["finished", "no_show", "transferred", "held", "cancelled"]);
const $ = (id) => document.getElementById(id);

const state = {
  calls: [], // newest first: {call_id, ticket_id, kind, display_number, counter_id, counter_number, agency_id}
  agencies: [],
  queues: new Map(), // service_id → queue
  counters: new Map(), // counter id → {id, number, name, status, staffed, service_ids, agency_ids, current}
  services: new Map(), // service id → agency id
};

const waiting = new PagedList($("waiting"), $("waiting-page"), config.page_seconds || 8);
const grid = new PagedList($("counter-grid"), $("counters-page"), config.page_seconds || 8);

// Test and operations instrumentation: what was played, when (performance.now() milliseconds), and the pages.
window.__luotAudioLog = [];
window.__luotBoard = {
  snapshots: 0,
  calls: 0,
  pending: () => pending.length + (playing ? 1 : 0),
  pages: () => ({ waiting: waiting.keysByPage(), counters: grid.keysByPage() }),
  showPage: (panel, page) => (panel === "waiting" ? waiting : grid).hold(page),
};

function shows(agencyId) {
  return !agencyFilter || agencyFilter.has(agencyId);
}

function named(item) {
  return config.language === "en" && item.name_en ? item.name_en : item.name;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

// ------------------------------------------------------------------ orientation

/** Portrait when the settings say so, or (no setting) when the screen is taller than wide. */
function applyOrientation() {
  const portrait = config.orientation === "portrait"
    || (config.orientation !== "landscape" && window.innerHeight > window.innerWidth);
  document.body.classList.toggle("portrait", portrait);
  document.body.classList.toggle("landscape", !portrait);
}

// ------------------------------------------------------------------ drawing

function callFrom(raw) {
  const counter = raw.counter || {};
  const known = state.counters.get(counter.id) || {};
  return {
    call_id: raw.call_id,
    ticket_id: raw.ticket_id ?? raw.ticket?.id,
    kind: raw.kind,
    display_number: raw.display_number,
    counter_id: counter.id,
    counter_number: counter.number ?? known.number,
    agency_id: raw.agency_id,
  };
}

function drawLatest(flash) {
  const latest = $("latest");
  const first = state.calls[0];
  latest.replaceChildren();
  latest.classList.remove("flash");
  if (!first) {
    latest.append(el("p", "latest-empty", S.no_calls || ""));
    delete latest.dataset.callId;
    return;
  }
  latest.dataset.callId = first.call_id;
  const line = el("p", "latest-line");
  line.append(formatNodes(S.call_line, { number: first.display_number, counter: first.counter_number }));
  // A recall is tagged at the end of the line (beside the counter when there is room), not on a line of its own.
  if (first.kind === "recalled") line.append(" ", el("span", "latest-tag", S.recall || ""));
  latest.append(line);
  if (flash) {
    void latest.offsetWidth; // restart the animation for each new call
    latest.classList.add("flash");
  }
}

/** Today's earlier calls, as many as the settings allow and the screen holds (never a row cut in half). */
function drawHistory() {
  const body = $("calls");
  if (!body) return;
  body.replaceChildren(
    ...state.calls.slice(1, rows + 1).map((call) => {
      const tr = el("tr", call.kind === "recalled" ? "recalled" : "");
      tr.dataset.callId = call.call_id;
      tr.append(el("td", "num", call.display_number), el("td", "ctr", call.counter_number ?? ""));
      return tr;
    }),
  );
  const box = $("history").getBoundingClientRect();
  for (let guard = 0; body.lastElementChild && guard < rows; guard += 1) {
    if (body.lastElementChild.getBoundingClientRect().bottom <= box.bottom + 1) break;
    body.lastElementChild.remove();
  }
}

/** The counters open today with the number each serves; the newest call highlighted. */
function drawCounters(flash) {
  if (!$("counter-grid")) return;
  const newest = state.calls[0];
  const cells = [...state.counters.values()]
    .filter((counter) => counter.staffed || counter.status !== "closed")
    .filter((counter) => !agencyFilter || counter.agency_ids.some(shows))
    .sort((a, b) => a.number - b.number)
    .map((counter) => {
      const cell = el("li", counter.status === "paused" ? "paused" : "");
      cell.dataset.key = String(counter.id);
      const mine = newest && newest.counter_id === counter.id && counter.current;
      if (mine) cell.classList.add("newest");
      if (mine && flash) cell.classList.add("flash");
      const number = counter.status === "paused" ? S.paused : counter.current ? counter.current.display_number : "—";
      cell.append(el("span", "ctr", counter.number), el("span", "num", number));
      return cell;
    });
  const newestAt = cells.findIndex((cell) => cell.classList.contains("newest"));
  grid.fill(cells);
  if (newestAt >= 0 && flash) grid.show(grid.pages.findIndex(([a, b]) => newestAt >= a && newestAt < b));
}

function drawCalls(flash) {
  drawLatest(flash);
  drawHistory();
  drawCounters(flash);
}

function addCall(call) {
  state.calls = [call, ...state.calls.filter((c) => c.ticket_id !== call.ticket_id)].slice(0, rows + 1);
  const counter = state.counters.get(call.counter_id);
  if (counter) counter.current = { id: call.ticket_id, display_number: call.display_number };
  drawCalls(true);
}

function waitingLine(agency, count) {
  const li = el("li", count ? "" : "nobody");
  li.dataset.key = String(agency.id);
  li.dataset.agencyId = agency.id;
  li.append(el("span", "agency", named(agency)), el("span", "count", count));
  return li;
}

/** Every agency with its count; when they do not all fit, only those with people waiting, page by page. */
function drawWaiting() {
  const totals = new Map();
  for (const queue of state.queues.values()) {
    totals.set(queue.agency_id, (totals.get(queue.agency_id) || 0) + (queue.waiting || 0));
  }
  const agencies = state.agencies.filter((agency) => agency.active !== false && shows(agency.id));
  waiting.fill(agencies.map((agency) => waitingLine(agency, totals.get(agency.id) || 0)));
  if (waiting.fitsOnePage()) return;
  const busy = agencies.filter((agency) => totals.get(agency.id));
  if (busy.length) waiting.fill(busy.map((agency) => waitingLine(agency, totals.get(agency.id))));
}

function counterFrom(raw, known = {}) {
  const agencies = new Set((raw.service_ids || known.service_ids || []).map((id) => state.services.get(id)));
  return {
    ...known,
    id: raw.id,
    number: raw.number,
    name: raw.name,
    status: raw.status,
    staffed: raw.staffed,
    service_ids: raw.service_ids || known.service_ids || [],
    agency_ids: [...agencies].filter((id) => id != null),
  };
}

function onCounterChanged(raw) {
  if (!raw) return;
  const known = state.counters.get(raw.id) || {};
  const counter = counterFrom(raw, known);
  if (counter.status === "closed") counter.current = null;
  state.counters.set(raw.id, counter);
  drawCounters(false);
}

function onTicketUpdated(payload) {
  const ticket = payload.ticket || {};
  if (!ENDED.has(ticket.status)) return;
  for (const counter of state.counters.values()) {
    if (counter.current && counter.current.id === ticket.id) {
      counter.current = null;
      drawCounters(false);
    }
  }
}

// ------------------------------------------------------------------ clock and notice

const timeFormat = new Intl.DateTimeFormat(config.language === "en" ? "en-GB" : "vi-VN", {
  timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hour12: false,
});
const dateFormat = new Intl.DateTimeFormat(config.language === "en" ? "en-GB" : "vi-VN", {
  timeZone: TIME_ZONE, day: "2-digit", month: "2-digit", year: "numeric",
});
let shownDay = null;

function tick() {
  const now = clock.now();
  $("clock-time").textContent = timeFormat.format(now);
  $("clock-date").textContent = dateFormat.format(now);
  const day = dayOf(now);
  if (shownDay && day !== shownDay && socket.connected) socket.emit("snapshot.request"); // numbers restart
  shownDay = day;
}

function startNotice() {
  const notice = $("notice");
  notice.textContent = config.notice || "";
  notice.style.animationDuration = `${Math.max(20, (config.notice || "").length * 0.18)}s`;
}

// ------------------------------------------------------------------ announcements

const played = new DailySet(`luot.board.${config.device_id}.played`);
const pending = [];
let playing = false;
let unlockWaiters = [];
const unlockButton = $("sound-unlock");

function needUnlock() {
  unlockButton.hidden = false;
  return new Promise((resolve) => unlockWaiters.push(resolve));
}

unlockButton.addEventListener("click", () => {
  unlockButton.hidden = true;
  new Audio(silentWav()).play().catch(() => {});
  if (window.speechSynthesis) window.speechSynthesis.cancel();
  const waiters = unlockWaiters;
  unlockWaiters = [];
  waiters.forEach((resolve) => resolve());
});

/** Fetches the call's audio right away (while another call may still be playing): one request per call. */
function fetchAudio(url) {
  return fetch(url)
    .then((response) => (response.ok ? response.blob() : null))
    .then((blob) => (blob ? URL.createObjectURL(blob) : null))
    .catch(() => null);
}

function enqueue(call, raw) {
  if (!call.call_id || played.has(call.call_id)) return;
  played.add(call.call_id, dayOf(clock.now()));
  pending.push({
    call,
    text: raw.announcement || "",
    audio: raw.audio_url ? fetchAudio(raw.audio_url) : Promise.resolve(null),
    received: performance.now(),
  });
  pump();
}

async function pump() {
  if (playing) return;
  playing = true;
  try {
    while (pending.length) {
      const item = pending.shift();
      const src = await item.audio;
      if (stale(item)) {
        if (src) URL.revokeObjectURL(src);
        continue;
      }
      await announce(item, src);
    }
  } finally {
    playing = false;
  }
}

const stale = (item) => performance.now() - item.received > STALE_MS;

async function announce(item, src) {
  const entry = { call_id: item.call.call_id, started: null, ended: null, via: null };
  if (src) {
    const outcome = await playAudio(src, entry, item);
    URL.revokeObjectURL(src);
    if (outcome !== "failed") return;
  }
  if (item.text && !stale(item)) await speak(item.text, entry);
}

function mark(entry, via) {
  entry.via = via;
  entry.started = performance.now();
  window.__luotAudioLog.push(entry);
}

/** Plays one announcement to its end: "played", "stale" (sound stayed locked too long) or "failed". */
async function playAudio(src, entry, item) {
  for (;;) {
    const audio = new Audio(src);
    try {
      await audio.play();
    } catch (error) {
      if (error && error.name === "NotAllowedError") {
        await needUnlock();
        if (stale(item)) return "stale";
        continue;
      }
      return "failed";
    }
    mark(entry, "audio");
    await untilEnded(audio);
    entry.ended = performance.now();
    return "played";
  }
}

function untilEnded(audio) {
  return new Promise((resolve) => {
    let timer = null;
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const guard = () => {
      clearTimeout(timer);
      const seconds = Number.isFinite(audio.duration) ? audio.duration - audio.currentTime + 3 : 30;
      timer = setTimeout(done, seconds * 1000); // never let a stuck element block the next call
    };
    audio.addEventListener("ended", done, { once: true });
    audio.addEventListener("error", done, { once: true });
    audio.addEventListener("durationchange", guard);
    guard();
  });
}

/** The browser's own voice, only when the server has no audio for the call. */
function speak(text, entry) {
  const synth = window.speechSynthesis;
  if (!synth || typeof SpeechSynthesisUtterance === "undefined") return Promise.resolve();
  return new Promise((resolve) => {
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "vi-VN";
    const voice = synth.getVoices().find((v) => v.lang && v.lang.toLowerCase().startsWith("vi"));
    if (voice) utterance.voice = voice;
    let timer = null;
    const done = () => {
      clearTimeout(timer);
      entry.ended = performance.now();
      resolve();
    };
    utterance.onend = done;
    utterance.onerror = done;
    mark(entry, "speech");
    timer = setTimeout(done, Math.min(20000, 1500 + 400 * text.split(/\s+/).length));
    synth.speak(utterance);
  });
}

/** A tiny silent WAV, to find out at start whether the browser lets this page play sound. */
function silentWav() {
  const samples = 800;
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const text = (offset, value) => [...value].forEach((ch, i) => view.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, 8000, true);
  view.setUint32(28, 16000, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  return URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
}

function probeAutoplay() {
  new Audio(silentWav()).play().catch((error) => {
    if (error && error.name === "NotAllowedError") unlockButton.hidden = false;
  });
}

// ------------------------------------------------------------------ live connection

function onSnapshot(snapshot) {
  window.__luotBoard.snapshots += 1;
  clock.sync(snapshot.now);
  tick();
  state.agencies = snapshot.agencies || [];
  state.services = new Map((snapshot.services || []).map((s) => [s.id, s.agency_id]));
  state.counters = new Map((snapshot.counters || []).map((c) => {
    const current = c.current && ["called", "serving"].includes(c.current.status) ? c.current : null;
    return [c.id, { ...counterFrom(c), current }];
  }));
  state.queues = new Map((snapshot.queues || []).map((q) => [q.service_id, q]));
  const seen = new Set();
  state.calls = [];
  for (const raw of snapshot.recent_calls || []) { // drawn; the missed ones are announced below
    if (!shows(raw.agency_id) || seen.has(raw.ticket_id)) continue;
    seen.add(raw.ticket_id);
    state.calls.push(callFrom(raw));
  }
  state.calls = state.calls.slice(0, rows + 1);
  drawCalls(false);
  drawWaiting();
  announceMissed(snapshot);
}

/** Calls made while this board was away (reconnecting, resyncing) are announced: the snapshot's recent calls
 * not played yet and at most STALE_MS old, oldest first. Those already played (this day's ids) are not. */
function announceMissed(snapshot) {
  const now = Date.parse(snapshot.now);
  const missed = (snapshot.recent_calls || []).filter(
    (raw) => shows(raw.agency_id) && raw.call_id && !played.has(raw.call_id) && now - Date.parse(raw.at) <= STALE_MS,
  );
  for (const raw of missed.reverse()) {
    enqueue(callFrom(raw), { ...raw, audio_url: raw.audio_url || `/display/audio/${raw.call_id}.wav` });
  }
}

function onCall(raw) {
  if (!shows(raw.agency_id)) return;
  window.__luotBoard.calls += 1;
  const call = callFrom(raw);
  addCall(call);
  enqueue(call, raw);
}

const socket = connectLive({
  auth: { token: config.token },
  onSnapshot,
  onStatus: connectionMark($("offline")),
  handlers: {
    "ticket.called": onCall,
    "ticket.recalled": onCall,
    "queue.changed": (payload) => {
      for (const queue of payload.queues || []) state.queues.set(queue.service_id, queue);
      drawWaiting();
    },
    "counter.changed": (payload) => onCounterChanged(payload.counter),
    "ticket.updated": onTicketUpdated,
  },
});

let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    applyOrientation();
    drawCalls(false);
    drawWaiting();
  }, 200);
});

const history = $("history");
if (history) new ResizeObserver(() => drawHistory()).observe(history);
applyOrientation();
startNotice();
tick();
setInterval(tick, 1000);
probeAutoplay();
