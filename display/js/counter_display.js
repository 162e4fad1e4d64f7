// The counter-top display: the number this counter serves now, and the counter's name and state.
import { connectLive } from "../../web/lib/live.js";
import { connectionMark, format, readConfig } from "./_common.js";

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
  // Paused or closed: that alone, under the counter's name and agency (no "now serving" above it).
  const stopped = { paused: S.paused, closed: S.closed }[counterStatus];
  $("counter-serving").hidden = Boolean(stopped);
  $("counter-state").textContent = stopped || (current ? (current.recalled ? S.recall : "") : S.idle || "");
  document.body.dataset.counterStatus = counterStatus;
}

/** The counter's name as the hall knows it ("Quầy 5"); in English "Counter 5". */
function showName(counter) {
  const name = config.language === "en" || !counter.name ? format(S.counter, { number: counter.number }) : counter.name;
  $("counter-name").textContent = name;
}

function onSnapshot(snapshot) {
  const counter = (snapshot.counters || []).find((c) => c.id === config.counter_id);
  if (!counter) return;
  counterStatus = counter.status;
  showName(counter);
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
      showName(counter);
      draw(false);
    },
  },
});
draw(false);
