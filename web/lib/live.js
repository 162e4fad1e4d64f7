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
  let refusals = 0;

  // One request until the snapshot comes (or 5 s pass): a new epoch must not send one request per event.
  function askSnapshot() {
    if (asked && Date.now() - asked < 5000) return;
    asked = Date.now();
    socket.emit("snapshot.request");
  }

  socket.on("connect", () => {
    refusals = 0;
    onStatus(true);
  });
  socket.on("disconnect", () => onStatus(false));
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
  });
  // Every site event carries the sequence, whether or not this surface handles it.
  socket.onAny((name, payload) => {
    // Figures computed for this client alone (its ticket, its counter's order) carry no sequence number.
    if (payload && payload.direct === true && name !== "snapshot") {
      if (handlers[name]) handlers[name](payload);
      return;
    }
    if (name === "snapshot" || !payload || typeof payload.seq !== "number") return;
    if (lastSeq === null) return; // the snapshot is on its way and will include this
    if (!sequenced) {
      if (handlers[name]) handlers[name](payload);
      return;
    }
    if (payload.epoch !== epoch) {
      askSnapshot(); // the numbering started over (server restart, message queue emptied)
      return;
    }
    if (payload.seq <= lastSeq) return; // already part of the state we drew
    const gap = payload.seq > lastSeq + 1;
    lastSeq = payload.seq;
    if (gap) {
      askSnapshot();
      return;
    }
    const handler = handlers[name];
    if (handler) handler(payload);
  });
  return socket;
}
