// The live manager dashboard: the hall state comes from the shared live connection (snapshot + events), today's
// figures from /dashboard/api/live once per snapshot; every event then updates the figures by itself
// (waits from ticket.called, served and ratings from ticket.updated, lines from queue.changed, counters from
// counter.changed). Ticket-id sets make replays harmless.
import { connectLive } from "../../web/lib/live.js";

// The site picker sends its form when changed (no inline handler: the pages' CSP allows no inline script).
for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.submit());
}

const root = document.getElementById("live");
const S = JSON.parse(document.getElementById("strings").textContent);
const siteId = Number(root.dataset.site);

const state = {
  agencies: [],
  services: new Map(), // id → {id, name, code, agency_id, target_wait_minutes}
  queues: new Map(), // service id → {waiting, longest_wait_seconds, open_counters, receivedAt}
  counters: new Map(), // id → {status, service_ids}
  issued: new Map(),
  served: new Map(),
  waits: new Map(), // service id → [seconds]
  ratings: new Map(), // service id → {total, positive}
  seen: { called: new Set(), finished: new Set(), rated: new Set() },
  statsAt: null,
  loading: null,
  pending: [],
};

const POSITIVE = new Set(["very_satisfied", "satisfied"]);
const bump = (map, key, by = 1) => map.set(key, (map.get(key) || 0) + by);

function applyStats(stats) {
  state.agencies = stats.agencies;
  state.services = new Map(stats.services.map((s) => [s.id, s]));
  state.issued = new Map(stats.services.map((s) => [s.id, s.issued]));
  state.served = new Map(stats.services.map((s) => [s.id, s.served]));
  state.waits = new Map(stats.services.map((s) => [s.id, [...s.waits]]));
  state.ratings = new Map(stats.services.map((s) => [s.id, { total: s.ratings, positive: s.positive }]));
  state.seen = { called: new Set(stats.called_ids), finished: new Set(stats.finished_ids), rated: new Set(stats.rated_ids) };
  state.statsAt = Date.parse(stats.now);
}

async function loadStats() {
  const response = await fetch(root.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`live figures: ${response.status}`);
  applyStats(await response.json());
  const pending = state.pending;
  state.pending = [];
  for (const [name, payload] of pending) apply(name, payload);
  render();
}

function apply(name, payload) {
  const ticket = payload.ticket;
  if (name === "ticket.issued") {
    if (Date.parse(payload.at) > state.statsAt) bump(state.issued, ticket.service_id);
  } else if (name === "ticket.called") {
    if (!state.seen.called.has(ticket.id)) {
      state.seen.called.add(ticket.id);
      const seconds = Math.max(0, (Date.parse(payload.at) - Date.parse(ticket.issued_at)) / 1000);
      if (!state.waits.has(ticket.service_id)) state.waits.set(ticket.service_id, []);
      state.waits.get(ticket.service_id).push(seconds);
    }
  } else if (name === "ticket.updated" && payload.kind === "finished") {
    if (!state.seen.finished.has(ticket.id)) {
      state.seen.finished.add(ticket.id);
      bump(state.served, ticket.service_id);
    }
  } else if (name === "ticket.updated" && payload.kind === "rated") {
    if (!state.seen.rated.has(ticket.id)) {
      state.seen.rated.add(ticket.id);
      const r = state.ratings.get(ticket.service_id) || { total: 0, positive: 0 };
      r.total += 1;
      if (POSITIVE.has(payload.score)) r.positive += 1;
      state.ratings.set(ticket.service_id, r);
    }
  }
}

function onTicketEvent(name) {
  return (payload) => {
    if (state.statsAt === null || state.loading) state.pending.push([name, payload]);
    else apply(name, payload);
    render();
  };
}

function setQueues(queues) {
  const now = Date.now();
  for (const q of queues) state.queues.set(q.service_id, { ...q, receivedAt: now });
}

// ---------------------------------------------------------------- figures

function summarise(serviceIds) {
  const waits = serviceIds.flatMap((id) => state.waits.get(id) || []).sort((a, b) => a - b);
  const targets = new Map(serviceIds.map((id) => [id, (state.services.get(id)?.target_wait_minutes ?? 15) * 60]));
  let within = 0;
  for (const id of serviceIds) for (const w of state.waits.get(id) || []) if (w <= targets.get(id)) within += 1;
  let waiting = 0, longest = 0, total = 0, positive = 0, served = 0;
  const now = Date.now();
  for (const id of serviceIds) {
    const q = state.queues.get(id);
    if (q) {
      waiting += q.waiting;
      const age = q.waiting ? (now - q.receivedAt) / 1000 : 0;
      longest = Math.max(longest, q.waiting ? q.longest_wait_seconds + age : 0);
    }
    served += state.served.get(id) || 0;
    const r = state.ratings.get(id);
    if (r) { total += r.total; positive += r.positive; }
  }
  const open = new Set(), paused = new Set();
  for (const [cid, c] of state.counters) {
    if (!c.service_ids.some((id) => serviceIds.includes(id))) continue;
    if (c.status === "open") open.add(cid);
    if (c.status === "paused") paused.add(cid);
  }
  const avg = waits.length ? waits.reduce((a, b) => a + b, 0) / waits.length : null;
  const p90 = waits.length ? waits[Math.ceil(0.9 * waits.length) - 1] : null;
  const minTarget = Math.min(...[...targets.values()], Infinity);
  const share = waits.length ? within / waits.length : null;
  return {
    waiting, longest, open: open.size, paused: paused.size, served, avg, p90, share,
    satisfaction: total ? positive / total : null,
    breach: (waiting > 0 && longest > minTarget) || (avg !== null && avg > minTarget) || (share !== null && share < 0.8),
  };
}

const minutes = (seconds) => (seconds === null || seconds === undefined ? "–" : (seconds / 60).toFixed(1));
const percent = (share) => (share === null || share === undefined ? "–" : `${(share * 100).toFixed(1)} %`);

function row(kind, id, label, f) {
  const tr = document.createElement("tr");
  tr.className = `${kind}${f.breach ? " breach" : ""}`;
  tr.dataset[kind] = id;
  const cells = [
    ["waiting", f.waiting], ["longest", minutes(f.longest)], ["open", f.open], ["paused", f.paused],
    ["served", f.served], ["avg", minutes(f.avg)], ["p90", minutes(f.p90)], ["within", percent(f.share)],
    ["satisfaction", percent(f.satisfaction)],
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
  if (state.statsAt === null) return;
  const body = document.createElement("tbody");
  const all = [];
  for (const agency of state.agencies) {
    const ids = [...state.services.values()].filter((s) => s.agency_id === agency.id).map((s) => s.id);
    all.push(...ids);
    body.append(row("agency", agency.id, agency.name, summarise(ids)));
    for (const id of ids) body.append(row("service", id, `${state.services.get(id).code} · ${state.services.get(id).name}`, summarise([id])));
  }
  const table = document.getElementById("agencies");
  table.tBodies[0].replaceWith(body);
  const foot = document.createElement("tfoot");
  foot.append(row("site", siteId, S.Total, summarise(all)));
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
connectLive({
  auth: { site_id: siteId },
  onStatus: (online) => {
    status.dataset.online = String(online);
    status.textContent = online ? S.online : S.offline;
  },
  onSnapshot: (snapshot) => {
    state.counters = new Map(snapshot.counters.map((c) => [c.id, c]));
    state.queues = new Map();
    setQueues(snapshot.queues);
    state.loading = loadStats().catch((error) => console.error(error)).finally(() => { state.loading = null; });
    render();
  },
  handlers: {
    "queue.changed": (payload) => { setQueues(payload.queues); render(); },
    "counter.changed": (payload) => { state.counters.set(payload.counter.id, payload.counter); render(); },
    "ticket.issued": onTicketEvent("ticket.issued"),
    "ticket.called": onTicketEvent("ticket.called"),
    "ticket.updated": onTicketEvent("ticket.updated"),
  },
});
setInterval(render, 15000); // the longest current wait grows while nobody is called
if (root.dataset.province === "true") {
  loadProvince();
  setInterval(loadProvince, 60000);
}
