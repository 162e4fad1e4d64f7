// The live connection every surface uses: Socket.IO with endless reconnection (back-off), one snapshot
// on every (re)connect, per-site sequence numbers with gap detection, and an online/offline callback.
import { io } from "socket.io-client";

/**
 * @param {object} options
 * @param {object} options.auth          sent on connect: {token} | {tracking_token} | {} (session cookie)
 * @param {(snapshot: object) => void} options.onSnapshot   draw the whole state
 * @param {Record<string, (payload: object) => void>} options.handlers  per event name
 * @param {(online: boolean) => void} [options.onStatus]
 */
export function connectLive({ auth, onSnapshot, handlers, onStatus = () => {} }) {
  const socket = io({
    auth,
    transports: ["websocket", "polling"],
    reconnection: true,
    reconnectionAttempts: Infinity,
    reconnectionDelay: 500,
    reconnectionDelayMax: 10000,
    randomizationFactor: 0.3,
  });
  let lastSeq = null;
  let epoch = null;
  let sequenced = true; // false for phones: they receive only a subset of the site's events
  let asked = 0; // when a snapshot was last asked for (Date.now()), 0 = none on its way
  let held = []; // events that came while a snapshot was on its way (null: none on its way), replayed after it
  let refusals = 0;

  // One request until the snapshot comes (or 5 s pass): a new epoch must not send one request per event.
  function askSnapshot() {
    if (held === null) held = [];
    if (asked && Date.now() - asked < 5000) return;
    asked = Date.now();
    socket.emit("snapshot.request");
  }

  function handle(name, payload) {
    const handler = handlers[name];
    if (handler) handler(payload);
  }

  // One sequenced event: applied when it is the next one; a gap or a new epoch holds it (and those after it)
  // until a snapshot, so that calls are never applied out of order.
  function receive(name, payload) {
    if (!sequenced) return handle(name, payload);
    if (held !== null) {
      if (held.length < 1000) held.push([name, payload]);
      return askSnapshot();
    }
    if (payload.epoch !== epoch || payload.seq > lastSeq + 1) {
      held = [[name, payload]]; // the numbering started over (restart, queue emptied) or an event was lost
      return askSnapshot();
    }
    if (payload.seq <= lastSeq) return; // already part of the state we drew
    lastSeq = payload.seq;
    handle(name, payload);
  }

  socket.on("connect", () => {
    refusals = 0;
    onStatus(true);
  });
  socket.on("disconnect", () => {
    // The next connection brings a snapshot (delivered before "connect": socket.io-client buffers it).
    if (held === null) held = [];
    onStatus(false);
  });
  socket.on("connect_error", () => {
    onStatus(false);
    // Refused by the server (its database or queue unreachable): the client does not retry by itself.
    if (!socket.active) {
      refusals += 1;
      const delay = Math.min(10000, 500 * 2 ** Math.min(refusals, 5)) * (0.7 + Math.random() * 0.6);
      setTimeout(() => socket.connect(), delay);
    }
  });
  socket.on("snapshot", (snapshot) => {
    asked = 0;
    lastSeq = snapshot.seq;
    epoch = snapshot.epoch;
    sequenced = snapshot.sequenced !== false;
    onSnapshot(snapshot);
    const replay = held || [];
    held = null;
    // Held events of another epoch are older than this snapshot; the rest are applied in their order.
    for (const [name, payload] of replay) if (!sequenced || payload.epoch === epoch) receive(name, payload);
  });
  // Every site event carries the sequence, whether or not this surface handles it.
  socket.onAny((name, payload) => {
    // Figures computed for this client alone (its ticket, its counter's order) carry no sequence number.
    if (payload && payload.direct === true && name !== "snapshot") return handle(name, payload);
    if (name === "snapshot" || !payload || typeof payload.seq !== "number") return;
    receive(name, payload);
  });
  return socket;
}
