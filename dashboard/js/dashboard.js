// The live manager dashboard: the hall state (agencies and services, waiting, longest wait, counters) comes from
// the shared live connection (snapshot + queue.changed / counter.changed); today's figures (served, average and
// p90 wait, within target, satisfaction) are computed by the server (/dashboard/api/live: one list of values per
// service and agency and the site's total, in the order of its `fields`; kept in memory there and fed by the
// committed events — a constant-size answer) and fetched again, at most once per REFRESH_MS, after an event that
// changes them. The page computes no statistic itself, so it shows exactly what history will show for the day.
import { connectLive } from "../../web/lib/live.js";
import { feedbackPanel } from "./_feedback.js";

// The site picker sends its form when changed (no inline handler: the pages' CSP allows no inline script).
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

const root = document.getElementById("live");
const S = JSON.parse(document.getElementById("strings").textContent);
const siteId = Number(root.dataset.site);
const REFRESH_MS = 1000;

const state = {
  agencies: [], // from the snapshot, in display order
  services: [], // from the snapshot: {id, code, name, agency_id, target_wait_minutes}
  stats: null, // the last /dashboard/api/live answer
  queues: new Map(), // service id → {waiting, longest_wait_seconds, open_counters, receivedAt}
  counters: new Map(), // id → {status, service_ids}
  fetching: false,
  again: false,
  timer: null,
};

async function loadStats() {
  if (state.fetching) { state.again = true; return; }
  state.fetching = true;
  try {
    const response = await fetch(root.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`live figures: ${response.status}`);
    const stats = await response.json();
    const named = (values) => Object.fromEntries(stats.fields.map((name, i) => [name, values ? values[i] : null]));
    state.stats = {
      total: named(stats.total),
      agencies: new Map(Object.entries(stats.agencies).map(([id, values]) => [Number(id), named(values)])),
      services: new Map(Object.entries(stats.services).map(([id, values]) => [Number(id), named(values)])),
      empty: named(null),
    };
    render();
  } finally {
    state.fetching = false;
    if (state.again) { state.again = false; scheduleStats(); }
  }
}

function scheduleStats() {
  if (state.timer !== null) return;
  state.timer = setTimeout(() => {
    state.timer = null;
    loadStats().catch((error) => console.error(error));
  }, REFRESH_MS);
}

function setQueues(queues) {
  const now = Date.now();
  for (const q of queues) state.queues.set(q.service_id, { ...q, receivedAt: now });
}

// ---------------------------------------------------------------- figures

/** The line now: people waiting and the longest wait (aged since the figures were received). */
function lineFigures(serviceIds) {
  let waiting = 0, longest = 0;
  const now = Date.now();
  for (const id of serviceIds) {
    const q = state.queues.get(id);
    if (!q) continue;
    waiting += q.waiting;
    const age = q.waiting ? (now - q.receivedAt) / 1000 : 0;
    longest = Math.max(longest, q.waiting ? q.longest_wait_seconds + age : 0);
  }
  return { waiting, longest };
}

/** Counters serving any of these services, open and paused. */
function counterFigures(serviceIds) {
  const open = new Set(), paused = new Set();
  for (const [cid, c] of state.counters) {
    if (!c.service_ids.some((id) => serviceIds.includes(id))) continue;
    if (c.status === "open") open.add(cid);
    if (c.status === "paused") paused.add(cid);
  }
  return { open: open.size, paused: paused.size };
}

const seconds = (min) => (min === null ? null : min * 60);

// f: the server's figures of the row (served, avg_wait_min, p90_wait_min, within_target, satisfaction);
// targets: the target waits (minutes) of its services. Waiting, longest and counters come from the hall state.
function summarise(serviceIds, f, targets) {
  const { waiting, longest } = lineFigures(serviceIds);
  const avg = seconds(f.avg_wait_min);
  const share = f.within_target;
  const minTarget = Math.min(...targets, Infinity) * 60;
  return {
    waiting, longest, ...counterFigures(serviceIds), served: f.served, avg, p90: seconds(f.p90_wait_min), share,
    satisfaction: f.satisfaction, ratings: f.ratings,
    breach: (waiting > 0 && longest > minTarget) || (avg !== null && avg > minTarget) || (share !== null && share < 0.8),
  };
}

const minutes = (seconds) => (seconds === null || seconds === undefined ? "–" : (seconds / 60).toFixed(1));
const percent = (share) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)} %`);

// Satisfaction next to its base, ratings/served: 3 ratings of 900 served must not look like 100 %.
const satisfactionText = (f) => (typeof f.ratings === "number" && f.ratings > 0
  ? `${percent(f.satisfaction)} (${f.ratings}/${f.served ?? 0})` : percent(f.satisfaction));

function row(kind, id, label, f) {
  const tr = document.createElement("tr");
  tr.className = `${kind}${f.breach ? " breach" : ""}`;
  tr.dataset[kind] = id;
  const cells = [
    ["waiting", f.waiting], ["longest", minutes(f.longest)], ["open", f.open], ["paused", f.paused],
    ["served", f.served], ["avg", minutes(f.avg)], ["p90", minutes(f.p90)], ["within", percent(f.share)],
    ["satisfaction", satisfactionText(f)],
  ];
  const th = document.createElement("th");
  th.textContent = label;
  tr.append(th);
  for (const [key, value] of cells) {
    const td = document.createElement("td");
    td.dataset.k = key;
    td.textContent = String(value);
    tr.append(td);
  }
  return tr;
}

function render() {
  const stats = state.stats;
  if (stats === null) return;
  const body = document.createElement("tbody");
  const figuresOf = (map, id) => map.get(id) || { ...stats.empty, served: 0 };
  for (const agency of state.agencies) {
    const services = state.services.filter((s) => s.agency_id === agency.id);
    const targets = services.map((s) => s.target_wait_minutes);
    body.append(row("agency", agency.id, agency.name, summarise(services.map((s) => s.id), figuresOf(stats.agencies, agency.id), targets)));
    for (const s of services) {
      body.append(row("service", s.id, `${s.code} · ${s.name}`, summarise([s.id], figuresOf(stats.services, s.id), [s.target_wait_minutes])));
    }
  }
  const table = document.getElementById("agencies");
  table.tBodies[0].replaceWith(body);
  const foot = document.createElement("tfoot");
  const all = state.services.map((s) => s.id);
  foot.append(row("site", siteId, S.Total, summarise(all, stats.total, state.services.map((s) => s.target_wait_minutes))));
  table.tFoot.replaceWith(foot);
}

// ---------------------------------------------------------------- province

async function loadProvince() {
  const response = await fetch(root.dataset.provinceUrl, { credentials: "same-origin" });
  if (!response.ok) return;
  const data = await response.json();
  const body = document.createElement("tbody");
  const figure = (s) => ({
    waiting: s.waiting, longest: s.longest_wait_seconds, open: s.open, paused: s.paused, served: s.served,
    avg: s.avg_wait_min === null ? null : s.avg_wait_min * 60, p90: s.p90_wait_min === null ? null : s.p90_wait_min * 60,
    share: s.within_target, satisfaction: s.satisfaction, breach: s.within_target !== null && s.within_target < 0.8,
  });
  for (const s of data.sites) body.append(row("site", s.id, `${s.code} · ${s.name}`, figure(s)));
  const table = document.getElementById("province");
  table.tBodies[0].replaceWith(body);
  const foot = document.createElement("tfoot");
  foot.append(row("province", 0, S["Province total"], figure(data.total)));
  table.tFoot.replaceWith(foot);
}

// ---------------------------------------------------------------- wiring

const status = document.getElementById("status");
const feedback = feedbackPanel(S);
connectLive({
  auth: { site_id: siteId },
  onStatus: (online) => {
    status.dataset.online = String(online);
    status.textContent = online ? S.online : S.offline;
  },
  onSnapshot: (snapshot) => {
    state.agencies = snapshot.agencies;
    state.services = snapshot.services;
    state.counters = new Map(snapshot.counters.map((c) => [c.id, c]));
    state.queues = new Map();
    setQueues(snapshot.queues);
    loadStats().catch((error) => console.error(error));
    if (feedback) feedback.load().catch((error) => console.error(error));
    render();
  },
  handlers: {
    "queue.changed": (payload) => { setQueues(payload.queues); render(); },
    "counter.changed": (payload) => { state.counters.set(payload.counter.id, payload.counter); render(); },
    "ticket.issued": scheduleStats,
    "ticket.called": scheduleStats,
    "ticket.updated": scheduleStats,
    "rating.negative": (rating) => { if (feedback) feedback.arrived(rating); },
  },
});
setInterval(render, 15000); // the longest current wait grows while nobody is called
if (root.dataset.province === "true") {
  loadProvince();
  setInterval(loadProvince, 60000);
}
