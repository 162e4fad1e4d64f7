// The counter-top display: the number this counter serves now, and the counter's name and state.
import { connectLive } from "../../web/lib/live.js";
import { connectionMark, readConfig } from "./_common.js";

const config = readConfig();
const S = config.strings || {};
const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["called", "serving"]);
let current = null; // {id, display_number, status}
let counterStatus = "open";

function draw(flash) {
  const number = $("counter-number");
  number.textContent = current ? current.display_number : "—";
  number.classList.toggle("idle", !current);
  number.classList.remove("flash");
  if (flash) {
    void number.offsetWidth;
    number.classList.add("flash");
  }
  const label = { paused: S.paused, closed: S.closed }[counterStatus];
  $("counter-state").textContent = current ? (current.recalled ? S.recall : "") : label || S.idle || "";
  document.body.dataset.counterStatus = counterStatus;
}

function onSnapshot(snapshot) {
  const counter = (snapshot.counters || []).find((c) => c.id === config.counter_id);
  if (!counter) return;
  counterStatus = counter.status;
  if (counter.name) $("counter-name").textContent = counter.name;
  const ticket = counter.current;
  current = ticket && ACTIVE.has(ticket.status) ? { ...ticket } : null;
  draw(false);
}

function onCall(payload) {
  if (payload.counter?.id !== config.counter_id) return;
  current = { ...payload.ticket, display_number: payload.display_number, recalled: payload.kind === "recalled" };
  draw(true);
}

connectLive({
  auth: { token: config.token },
  onSnapshot,
  onStatus: connectionMark($("offline")),
  handlers: {
    "ticket.called": onCall,
    "ticket.recalled": onCall,
    "ticket.updated": (payload) => {
      const ticket = payload.ticket || {};
      if (current && ticket.id === current.id && !ACTIVE.has(ticket.status)) {
        current = null;
        draw(false);
      }
    },
    "counter.changed": (payload) => {
      const counter = payload.counter;
      if (!counter || counter.id !== config.counter_id) return;
      counterStatus = counter.status;
      if (counter.name) $("counter-name").textContent = counter.name;
      draw(false);
    },
  },
});
draw(false);
