// One Idempotency-Key per tap sequence, shared by the kiosk and the citizen's booking page: the same request again
// (the same `what`) keeps its key while its answer was lost (no answer, a 5xx, 503 storage_unconfirmed), so the
// server answers it with what the first tap made instead of making a second; `end()` after an answer (a success or
// a 4xx refusal) starts the next sequence with a new key.

function newKey(prefix) {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes); // crypto.randomUUID needs a secure context; a LAN server may be plain http
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** The tap sequences of one page: `keyFor(what)` the key of the request `what` (a text), `end()` the sequence. */
export function tapKeys(prefix) {
  let pending = null;
  return {
    keyFor(what) {
      if (!pending || pending.what !== what) pending = { what, key: newKey(prefix) };
      return pending.key;
    },
    end() {
      pending = null;
    },
  };
}
