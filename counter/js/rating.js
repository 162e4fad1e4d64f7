// The rating tablet facing the citizen. It joins its counter's room with its device token; when the clerk
// finishes a ticket there (`ticket.updated`, kind "finished") it offers the site's rating scale; after a score
// of the site's `rating_reason_scores` (Không hài lòng; Bình thường too if the site says so) it offers the
// site's reason chips and a comment with one Send button (score, chip, comment, Send: four taps), then thanks
// the citizen and goes idle.
import { connectLive } from "../../web/lib/live.js";

const STRINGS = JSON.parse(document.getElementById("luot-strings").textContent);
const LANG = document.documentElement.lang || "vi";
const ORDER = ["very_satisfied", "satisfied", "neutral", "unsatisfied"];
const DEFAULT_SCALE = ["very_satisfied", "satisfied", "unsatisfied"];
const CHOICES_TIMEOUT_MS = 90_000; // nobody touched the screen: back to idle
const THANKS_MS = 5_000;
// Simple faces drawn inline (no emoji font or image download needed on the hall LAN).
const MOUTHS = {
  very_satisfied: "M30 60 Q50 82 70 60",
  satisfied: "M33 62 Q50 74 67 62",
  neutral: "M33 66 L67 66",
  unsatisfied: "M33 72 Q50 56 67 72",
};

const $ = (selector) => document.querySelector(selector);
const counterId = Number(document.body.dataset.counterId);
const token = document.body.dataset.token;

let scale = DEFAULT_SCALE;
let reasons = []; // the site's reason chips (texts, Vietnamese as configured)
let reasonScores = ["unsatisfied"];
let chosenScore = null; // a negative score waiting for its reasons and comment
let ticket = null; // the ticket being rated now
let sending = false;
let idleTimer = null;
const done = new Set(); // tickets rated (or refused as already rated) on this tablet

function t(key, params = {}) {
  return (STRINGS[key] ?? key).replace(/\{(\w+)\}/g, (whole, name) => (name in params ? params[name] : whole));
}

function show(name) {
  for (const screen of ["idle", "choices", "reasons", "thanks"]) $(`#screen-${screen}`).hidden = screen !== name;
}

function goIdleAfter(ms) {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    ticket = null;
    show("idle");
  }, ms);
}

function face(score) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 100");
  svg.setAttribute("width", "84");
  svg.setAttribute("height", "84");
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = '<circle cx="50" cy="50" r="44" fill="none" stroke="#fff" stroke-width="7"/>'
    + '<circle cx="35" cy="40" r="6" fill="#fff"/><circle cx="65" cy="40" r="6" fill="#fff"/>'
    + `<path d="${MOUTHS[score]}" fill="none" stroke="#fff" stroke-width="7" stroke-linecap="round"/>`;
  return svg;
}

function drawChoices() {
  $("#choices").replaceChildren(...scale.map((score) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `score ${score}`;
    button.dataset.score = score;
    const label = document.createElement("span");
    label.textContent = t(score);
    button.append(face(score), label);
    button.addEventListener("click", () => choose(score));
    return button;
  }));
}

function offer(finished) {
  if (done.has(finished.id) || (ticket && ticket.id === finished.id)) return;
  ticket = finished;
  chosenScore = null;
  $("#ticket-number").textContent = t("number", { number: finished.display_number });
  $("#comment").value = "";
  $("#rating-error").hidden = true;
  drawChoices();
  show("choices");
  goIdleAfter(CHOICES_TIMEOUT_MS);
}

/** A score: sent at once, or (after a negative one, when the site lists reasons) the reasons screen first. */
function choose(score) {
  if (!ticket || sending) return;
  if (!reasonScores.includes(score) || !reasons.length) {
    send(score, [], $("#comment").value.trim());
    return;
  }
  chosenScore = score;
  $("#reason-comment").value = $("#comment").value;
  $("#reasons-error").hidden = true;
  $("#reasons").replaceChildren(...reasons.map((text) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "reason";
    chip.textContent = text;
    chip.setAttribute("aria-pressed", "false");
    chip.addEventListener("click", () => {
      chip.setAttribute("aria-pressed", chip.getAttribute("aria-pressed") === "true" ? "false" : "true");
      goIdleAfter(CHOICES_TIMEOUT_MS);
    });
    return chip;
  }));
  show("reasons");
  goIdleAfter(CHOICES_TIMEOUT_MS);
}

function sendReasons() {
  const picked = [...document.querySelectorAll("#reasons .reason[aria-pressed='true']")].map((c) => c.textContent);
  send(chosenScore, picked, $("#reason-comment").value.trim());
}

function thank(text) {
  ticket = null;
  chosenScore = null;
  $("#thanks-text").textContent = text;
  show("thanks");
  goIdleAfter(THANKS_MS);
}

function setButtons(disabled) {
  for (const button of document.querySelectorAll("#choices button, #reasons button, #send-reasons")) {
    button.disabled = disabled;
  }
}

async function send(score, picked, comment) {
  if (!ticket || sending || !score) return;
  const rated = ticket;
  sending = true;
  setButtons(true);
  const error = chosenScore ? $("#reasons-error") : $("#rating-error");
  error.hidden = true;
  try {
    const response = await fetch(`/api/v1/tickets/${rated.id}/rating`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ score, reasons: picked, comment }),
      cache: "no-store",
    });
    if (response.ok) {
      done.add(rated.id);
      thank(t("thanks"));
      return;
    }
    const data = await response.json().catch(() => null);
    const refusal = data && data.error;
    if (refusal && refusal.code === "already_rated") {
      done.add(rated.id);
      thank(t("already_rated"));
      return;
    }
    error.textContent = refusal ? (refusal.messages && refusal.messages[LANG]) || refusal.message : t("send_failed");
    error.hidden = false;
  } catch {
    error.textContent = t("send_failed");
    error.hidden = false;
  } finally {
    sending = false;
    setButtons(false);
  }
}

async function offerPending() {
  try {
    const response = await fetch("/counter/rating/pending", {
      headers: { Accept: "application/json", Authorization: `Bearer ${token}` },
      cache: "no-store",
    });
    if (!response.ok) return;
    const data = await response.json();
    if (data.ticket) offer(data.ticket);
  } catch {
    // offline: the next snapshot asks again
  }
}

$("#comment").addEventListener("input", () => goIdleAfter(CHOICES_TIMEOUT_MS));
$("#reason-comment").addEventListener("input", () => goIdleAfter(CHOICES_TIMEOUT_MS));
$("#send-reasons").addEventListener("click", sendReasons);

connectLive({
  auth: { token },
  onSnapshot: (snapshot) => {
    const wanted = (snapshot.rules && snapshot.rules.rating_scale) || DEFAULT_SCALE;
    scale = ORDER.filter((score) => wanted.includes(score));
    reasons = (snapshot.rules && snapshot.rules.rating_reasons) || [];
    reasonScores = (snapshot.rules && snapshot.rules.rating_reason_scores) || reasonScores;
    const desk = (snapshot.counters || []).find((counter) => counter.id === counterId);
    if (desk) $("#counter-name").textContent = desk.name || t("counter", { number: desk.number });
    if (ticket) drawChoices();
    offerPending();
  },
  handlers: {
    // A ticket rated meanwhile on the phone stays on screen: the API refuses the tap and we say so.
    "ticket.updated": ({ kind, ticket: changed }) => {
      if (kind === "finished" && changed.counter_id === counterId) offer(changed);
    },
  },
  onStatus: (online) => {
    $("#connection").hidden = online;
  },
});
