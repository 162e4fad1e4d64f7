// The hall board: latest calls (newest highlighted and flashing), waiting per agency, a clock in Hà Nội
// time, a scrolling notice, and the voice calls — one after another, never overlapping, never twice.
import { connectLive } from "../../web/lib/live.js";
import { connectionMark, DailySet, dayOf, formatNodes, readConfig, ServerClock, TIME_ZONE } from "./_common.js";

const config = readConfig();
const S = config.strings || {};
const agencyFilter = Array.isArray(config.agency_ids) ? new Set(config.agency_ids) : null;
const rows = Math.max(1, config.rows || 6);
const clock = new ServerClock();
const STALE_MS = 120000; // a call not announced within 2 minutes (sound locked, long queue) is dropped
const $ = (id) => document.getElementById(id);

const state = {
  calls: [], // newest first: {call_id, ticket_id, kind, display_number, counter_number, counter_name, agency_id}
  agencies: [],
  queues: new Map(), // service_id → queue
  counters: new Map(), // counter id → {number, name}
};

// Test and operations instrumentation: what was played, when (performance.now() milliseconds).
window.__luotAudioLog = [];
window.__luotBoard = { snapshots: 0, calls: 0, pending: () => pending.length + (playing ? 1 : 0) };

function shows(agencyId) {
  return !agencyFilter || agencyFilter.has(agencyId);
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
    counter_number: counter.number ?? known.number,
    counter_name: raw.counter_name || counter.name || known.name || "",
    agency_id: raw.agency_id,
  };
}

function drawCalls(flash) {
  const latest = $("latest");
  const [first, ...rest] = state.calls;
  latest.replaceChildren();
  latest.classList.remove("flash");
  if (!first) {
    const empty = document.createElement("p");
    empty.className = "latest-empty";
    empty.textContent = S.no_calls || "";
    latest.append(empty);
    delete latest.dataset.callId;
  } else {
    latest.dataset.callId = first.call_id;
    const line = document.createElement("p");
    line.className = "latest-line";
    line.append(formatNodes(S.call_line, { number: first.display_number, counter: first.counter_number }));
    latest.append(line);
    if (first.kind === "recalled") {
      const tag = document.createElement("p");
      tag.className = "latest-tag";
      tag.textContent = S.recall || "";
      latest.append(tag);
    }
    if (flash) {
      void latest.offsetWidth; // restart the animation for each new call
      latest.classList.add("flash");
    }
  }
  const body = $("calls");
  body.replaceChildren(
    ...rest.slice(0, rows).map((call) => {
      const tr = document.createElement("tr");
      tr.dataset.callId = call.call_id;
      const number = document.createElement("td");
      number.className = "num";
      number.textContent = call.display_number;
      const counter = document.createElement("td");
      counter.className = "ctr";
      counter.textContent = call.counter_number ?? "";
      if (call.kind === "recalled") tr.classList.add("recalled");
      tr.append(number, counter);
      return tr;
    }),
  );
}

function addCall(call) {
  state.calls = [call, ...state.calls.filter((c) => c.ticket_id !== call.ticket_id)].slice(0, rows + 1);
  drawCalls(true);
}

function drawWaiting() {
  const totals = new Map();
  for (const queue of state.queues.values()) {
    totals.set(queue.agency_id, (totals.get(queue.agency_id) || 0) + (queue.waiting || 0));
  }
  const list = $("waiting");
  list.replaceChildren(
    ...state.agencies
      .filter((agency) => agency.active !== false && shows(agency.id))
      .map((agency) => {
        const li = document.createElement("li");
        li.dataset.agencyId = agency.id;
        const name = document.createElement("span");
        name.className = "agency";
        name.textContent = config.language === "en" && agency.name_en ? agency.name_en : agency.name;
        const count = document.createElement("span");
        count.className = "count";
        count.textContent = String(totals.get(agency.id) || 0);
        li.append(name, count);
        return li;
      }),
  );
}

// ------------------------------------------------------------------ clock and notice

const timeFormat = new Intl.DateTimeFormat(config.language === "en" ? "en-GB" : "vi-VN", {
  timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});
const dateFormat = new Intl.DateTimeFormat(config.language === "en" ? "en-GB" : "vi-VN", {
  timeZone: TIME_ZONE, weekday: "long", day: "2-digit", month: "2-digit", year: "numeric",
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
  state.agencies = snapshot.agencies || [];
  state.counters = new Map((snapshot.counters || []).map((c) => [c.id, { number: c.number, name: c.name }]));
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
    "counter.changed": (payload) => {
      const c = payload.counter;
      if (c) state.counters.set(c.id, { number: c.number, name: c.name });
    },
  },
});

startNotice();
tick();
setInterval(tick, 1000);
probeAutoplay();
