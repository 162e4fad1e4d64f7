// The citizen's phone page: my number, the number now served for my service, people ahead, estimated wait,
// an alert (vibration + sound) when my turn is near and when I am called, and the rating afterwards.
import { connectLive } from "../../web/lib/live.js";
import { connectionMark, format, readConfig } from "./_common.js";

const config = readConfig();
const S = config.strings || {};
const token = config.tracking_token;
const near = config.near_places || 3;
const $ = (id) => document.getElementById(id);
const api = `/api/v1/tickets/${encodeURIComponent(token)}`;

let ticket = null; // public ticket from the snapshot and the events
let queue = null; // my service's figures from queue.changed: {waiting, last_called, …}
let progress = null; // my ticket's figures from the line's projection: {waiting_ahead, estimated_wait_minutes, …}
let details = null; // GET /api/v1/tickets/<token>: now_serving, counter, can_rate, rating_scale
let nowServing = null;
let counterNumber = null;
let rated = false;
let audioContext = null;
window.__luotTrack = { alerts: [], snapshots: 0 };

// ------------------------------------------------------------------ alerts

function remembered(key) {
  try {
    return window.sessionStorage.getItem(`luot.track.${token}.${key}`) === "1";
  } catch {
    return false;
  }
}

function remember(key) {
  try {
    window.sessionStorage.setItem(`luot.track.${token}.${key}`, "1");
  } catch {
    // private mode: the alert may repeat after a reload, which is harmless
  }
}

function beep() {
  if (!audioContext) return;
  const start = audioContext.currentTime;
  for (const [offset, frequency] of [[0, 880], [0.25, 660], [0.5, 880]]) {
    const osc = audioContext.createOscillator();
    const gain = audioContext.createGain();
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, start + offset);
    gain.gain.exponentialRampToValueAtTime(0.4, start + offset + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.22);
    osc.connect(gain).connect(audioContext.destination);
    osc.start(start + offset);
    osc.stop(start + offset + 0.24);
  }
}

function alertOnce(key, kind, message) {
  if (remembered(key)) return;
  remember(key);
  window.__luotTrack.alerts.push({ kind, message });
  const box = $("alert");
  box.textContent = message;
  box.dataset.kind = kind;
  box.hidden = false;
  if (navigator.vibrate) navigator.vibrate(kind === "called" ? [400, 150, 400, 150, 400] : [300, 150, 300]);
  beep();
}

$("enable-alerts").addEventListener("click", (event) => {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (Context && !audioContext) audioContext = new Context();
  if (audioContext) audioContext.resume().catch(() => {});
  if (navigator.vibrate) navigator.vibrate(50);
  event.currentTarget.textContent = S.alerts_on || "";
  event.currentTarget.disabled = true;
});

// ------------------------------------------------------------------ drawing

/** People ahead, as the server's projection of the line counts them (never counted here). */
function aheadOfMe() {
  if (!ticket || ticket.status !== "waiting" || !progress) return null;
  return typeof progress.waiting_ahead === "number" ? progress.waiting_ahead : null;
}

function waitText(ahead) {
  if (ahead === null) return "—";
  if (progress.no_counter_open) {
    if (!progress.opens_at) return S.no_counter;
    const time = new Date(progress.opens_at).toLocaleTimeString("vi-VN", {
      hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh",
    });
    return format(S.no_counter_until, { time });
  }
  if (ahead === 0) return S.ahead_none;
  return format(S.minutes, { minutes: progress.estimated_wait_minutes });
}

// the server's clock less this phone's, measured when the page loaded (a phone's clock may be off)
const clockOffset = config.server_now ? Date.parse(config.server_now) - Date.now() : 0;

/**
 * An online number (taken from a phone, the citizen away from the hall): "come back by about HH:MM", the
 * projection's expected call time less a margin (config.come_back_margin minutes), never earlier than now.
 */
function drawComeBack(ahead) {
  const box = $("come-back");
  if (!box) return;
  const minutes = progress?.estimated_wait_minutes;
  const show = config.channel === "online" && ticket.status === "waiting" && ahead !== null && ahead > 0
    && !progress.no_counter_open && Number.isFinite(minutes);
  box.hidden = !show;
  if (!show) return;
  const back = new Date(Date.now() + clockOffset + Math.max(minutes - (config.come_back_margin || 0), 0) * 60000);
  const time = back.toLocaleTimeString("vi-VN", { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });
  box.textContent = format(S.come_back, { time });
}

/** The number last called for my service: from the queue figures when the server sends it, else the events. */
function servingNumber() {
  if (queue && "last_called" in queue) return queue.last_called;
  return nowServing ?? progress?.now_serving ?? details?.now_serving ?? null;
}

/** The ticket's status in words, with the counter to go to (or being served at) when there is one. */
function statusText() {
  const counter = counterNumber ?? details?.counter?.number ?? ticket.counter_number;
  const status = S[`status_${ticket.status}`] || ticket.status;
  if (ticket.status === "called" && counter != null) return `${status} ${format(S.go_to_counter, { counter })}`;
  if (ticket.status === "serving" && counter != null) return `${status} · ${format(S.served_at, { counter })}`;
  if (ticket.status === "no_show") return `${status}. ${S.no_show_hint}`;
  return status;
}

function draw() {
  if (!ticket) return;
  document.body.dataset.status = ticket.status;
  $("my-number").textContent = ticket.display_number;
  $("my-status").textContent = statusText();
  $("now-serving").textContent = servingNumber() || "—";

  const ahead = aheadOfMe();
  $("ahead").textContent = ahead === null ? "—" : String(ahead);
  $("wait").textContent = waitText(ahead);
  drawComeBack(ahead);
  $("progress").hidden = ticket.status !== "waiting" && ticket.status !== "called";

  if (ahead !== null && ahead <= near && !progress.no_counter_open) alertOnce("near", "near", S.near);
  if (ticket.status !== "waiting" && ticket.status !== "called") $("alert").hidden = true;
  drawRating();
}

function drawRating() {
  const box = $("rating");
  const canRate = !rated && ticket?.status === "done" && details?.can_rate;
  box.hidden = !canRate && !rated;
  if (rated) return;
  if (!canRate || !$("rating-reasons").hidden) return;
  $("rating-prompt").textContent = S.rate_prompt;
  const buttons = $("rating-buttons");
  if (buttons.childElementCount) return;
  for (const score of details.rating_scale || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `rate rate-${score}`;
    button.dataset.score = score;
    button.textContent = S[score] || score;
    button.addEventListener("click", () => chooseScore(score));
    buttons.append(button);
  }
}

/** A score: sent at once, or (after a negative one, when the site lists reasons) the reason chips first. */
function chooseScore(score) {
  const reasons = details?.rating_reasons || [];
  if (!(details?.rating_reason_scores || []).includes(score) || !reasons.length) {
    sendRating(score, [], "");
    return;
  }
  $("rating-buttons").replaceChildren();
  $("rating-prompt").textContent = S[score] || score;
  $("reason-chips").replaceChildren(...reasons.map((text) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.textContent = text;
    chip.setAttribute("aria-pressed", "false");
    chip.addEventListener("click", () =>
      chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true"));
    return chip;
  }));
  $("rating-reasons").hidden = false;
  $("rating-send").onclick = () => {
    const picked = [...document.querySelectorAll("#reason-chips [aria-pressed='true']")].map((c) => c.textContent);
    sendRating(score, picked, $("rating-comment").value.trim());
  };
}

async function sendRating(score, reasons, comment) {
  const buttons = $("rating-buttons");
  const controls = document.querySelectorAll("#rating button");
  controls.forEach((b) => (b.disabled = true));
  try {
    const response = await fetch(`${api}/rating`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ score, reasons, comment }),
    });
    if (!response.ok && response.status !== 409) throw new Error(String(response.status));
    rated = true;
    buttons.replaceChildren();
    $("rating-reasons").hidden = true;
    $("rating-prompt").textContent = S.rate_thanks;
  } catch {
    $("rating-prompt").textContent = S.rate_failed;
    controls.forEach((b) => (b.disabled = false));
  }
}

async function refreshDetails() {
  try {
    const response = await fetch(api, { cache: "no-store" });
    if (!response.ok) return;
    details = await response.json();
    if (ticket && details.status === "waiting") progress = details;
    if (ticket && details.status !== ticket.status && details.status === "cancelled") ticket = { ...ticket, status: "cancelled" };
    rated = rated || details.rated;
    if (rated) $("rating-prompt").textContent = S.rate_thanks;
    draw();
  } catch {
    // offline: the next snapshot refreshes
  }
}

// ------------------------------------------------------------------ live connection

function onSnapshot(snapshot) {
  window.__luotTrack.snapshots += 1;
  if (snapshot.ticket) ticket = snapshot.ticket;
  if (snapshot.progress) progress = snapshot.progress;
  queue = (snapshot.queues || []).find((q) => q.service_id === ticket?.service_id) || null;
  draw();
  refreshDetails();
}

function onCall(payload) {
  if (ticket && payload.service_id === ticket.service_id) nowServing = payload.display_number;
  if (ticket && payload.ticket?.id === ticket.id) {
    ticket = payload.ticket;
    counterNumber = payload.counter?.number ?? counterNumber;
    nowServing = payload.display_number;
    alertOnce(`call-${payload.call_id}`, "called",
      `${S.status_called} ${format(S.go_to_counter, { counter: counterNumber ?? "" })}`);
  }
  draw();
}

connectLive({
  auth: { tracking_token: token },
  onSnapshot,
  onStatus: connectionMark($("offline")),
  handlers: {
    "ticket.called": onCall,
    "ticket.recalled": onCall,
    "ticket.updated": (payload) => {
      if (!ticket || payload.ticket?.id !== ticket.id) return;
      const serviceChanged = payload.ticket.service_id !== ticket.service_id;
      ticket = payload.ticket;
      if (serviceChanged) queue = null;
      draw();
      refreshDetails();
    },
    "queue.changed": (payload) => {
      const mine = (payload.queues || []).find((q) => q.service_id === ticket?.service_id);
      if (mine) {
        queue = mine;
        draw();
      }
    },
    "ticket.progress": (payload) => {
      if (!ticket || payload.ticket?.id !== ticket.id) return;
      ticket = payload.ticket;
      progress = payload;
      draw();
    },
  },
});
