// The kiosk page: agencies → services (optional priority) → the ticket on screen, or an appointment check-in.
// Talks to the REST API with the kiosk's device token and follows the hall through web/lib/live.js.
// Rules it keeps: no number is issued while the server is unreachable (buttons disabled, stated plainly);
// one Idempotency-Key per tap-sequence and the button disabled while the request runs (no double tickets);
// closed or capped services are shown as such before anyone taps them.
import { connectLive } from "../../web/lib/live.js";
import { tapKeys } from "../../web/lib/tap_keys.js";
import { findServices, KEYBOARD_ROWS } from "./_search.js";
import { fitTiles, pagesOf, turnPage } from "./_tiles.js";

const config = JSON.parse(document.getElementById("kiosk-config").textContent);
const byId = (id) => document.getElementById(id);
const CATALOGUE_REFRESH_MS = 60000;
const NOTICE_MS = 12000;
const UNCONFIRMED_TRIES = 4; // asks about one number at most this many times when the database did not confirm it
const UNCONFIRMED_PAUSE_MS = 1500; // between those asks: the database is coming back

const state = {
  lang: config.language,
  online: false,
  catalogue: null, // GET /api/v1/services
  catalogueSeq: 0,
  agencyId: null,
  priority: "",
  busy: false,
  screen: "agencies",
  ticket: null, // the last issue response
  printJob: null, // {job_id, status, …}
  printer: { status: "unknown", version: 0 },
  results: new Map(), // print.result by job id (an event may beat the HTTP response)
  clockOffset: 0,
  timer: null,
  countdown: 0,
  holding: false, // the print failed: the ticket stays on screen until someone touches Done
};

// Test instrumentation: the pages of each tile grid, as [first, end) index pairs.
window.__luotKiosk = { pages: pagesOf };

// ------------------------------------------------------------------ text

function t(message, params = {}) {
  const entry = config.messages[message];
  const text = (entry && entry[state.lang]) || message;
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function named(item) {
  return state.lang === "en" && item.name_en ? item.name_en : item.name;
}

function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === false || value == null) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false && child !== "") el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function translateStatic() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-msg]")) el.textContent = t(el.dataset.msg);
  for (const el of document.querySelectorAll("[data-msg-placeholder]")) el.placeholder = t(el.dataset.msgPlaceholder);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
  }
}

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

function daysText(days) {
  const sorted = [...days].sort((a, b) => a - b);
  const parts = [];
  let start = sorted[0];
  let previous = sorted[0];
  for (const day of [...sorted.slice(1), null]) {
    if (day !== null && day === previous + 1) {
      previous = day;
      continue;
    }
    parts.push(start === previous ? t(DAYS[start]) : `${t(DAYS[start])} – ${t(DAYS[previous])}`);
    start = previous = day;
  }
  return parts.join(", ");
}

function hoursText(hours) {
  if (!hours || !hours.periods || !hours.periods.length) return "";
  const periods = hours.periods.map(([from, to]) => `${from}–${to}`).join(", ");
  const days = hours.days && hours.days.length && hours.days.length < 7 ? daysText(hours.days) : "";
  return t("Hours: {hours}", { hours: days ? `${periods} (${days})` : periods });
}

/** Why a service cannot give a number now ("" when it can). */
function unavailableReason(service) {
  if (!service.open_now) return [t("Outside receiving hours"), hoursText(service.opening_hours)].filter(Boolean).join("\n");
  if (service.remaining_today === 0) return t("All numbers for today have been issued");
  if (!service.available) return t("No service is taking numbers now");
  return "";
}

function openingText(opensAt) {
  if (!opensAt) return t("No counter is open yet");
  const time = new Date(opensAt).toLocaleTimeString("vi-VN", {
    hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh",
  });
  return t("No counter is open yet — expected to open at {time}", { time });
}

/** The wait promised on the ticket screen: the line's projection, or no minutes at all while no counter is open. */
function ticketWaitText(ticket) {
  if (ticket.no_counter_open) return openingText(ticket.opens_at);
  return t("Estimated wait: about {minutes} min", { minutes: ticket.estimated_wait_minutes });
}

function waitingText(service) {
  const parts = [t("Waiting: {count}", { count: service.waiting })];
  if (service.estimated_wait_minutes === null && service.waiting > 0) {
    parts.push(openingText(service.opens_at));
  } else if (service.waiting > 0 && service.estimated_wait_minutes > 0) {
    parts.push(t("About {minutes} min wait", { minutes: service.estimated_wait_minutes }));
  }
  return parts.join(" · ");
}

// ------------------------------------------------------------------ catalogue

function visibleAgencies() {
  const all = state.catalogue ? state.catalogue.agencies : [];
  const shown = config.agency_ids.length ? all.filter((a) => config.agency_ids.includes(a.id)) : all;
  return shown.filter((agency) => agency.services.length > 0);
}

function singleAgency() {
  const agencies = visibleAgencies();
  return agencies.length === 1 ? agencies[0] : null;
}

function currentAgency() {
  return visibleAgencies().find((a) => a.id === state.agencyId) || null;
}

function findService(serviceId) {
  for (const agency of state.catalogue ? state.catalogue.agencies : []) {
    const service = agency.services.find((s) => s.id === serviceId);
    if (service) return service;
  }
  return null;
}

async function loadCatalogue() {
  const seq = ++state.catalogueSeq;
  try {
    const response = await fetch(config.urls.services, {
      headers: { Authorization: `Bearer ${config.token}` },
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`services: HTTP ${response.status}`);
    const data = await response.json();
    if (seq !== state.catalogueSeq) return; // a newer load is on its way
    state.catalogue = data;
    document.body.classList.remove("loading");
    renderCatalogue();
  } catch (error) {
    console.warn("kiosk: catalogue not loaded", error);
  }
}

function applyQueues(queues) {
  if (!state.catalogue) return;
  for (const queue of queues) {
    const service = findService(queue.service_id);
    if (!service) continue;
    service.waiting = queue.waiting;
    service.estimated_wait_minutes = queue.estimated_wait_minutes;
    service.opens_at = queue.opens_at;
    service.open_counters = queue.open_counters;
  }
  updateCounts();
}

function applyIssued(payload) {
  const service = payload.ticket && findService(payload.ticket.service_id);
  if (!service || service.remaining_today == null) return;
  service.remaining_today = Math.max(service.remaining_today - 1, 0);
  if (service.remaining_today === 0) {
    service.available = false;
    renderCatalogue();
  } else {
    updateCounts();
  }
}

// ------------------------------------------------------------------ screens

function show(screen) {
  state.screen = screen;
  for (const section of document.querySelectorAll(".screen")) section.hidden = section.id !== `screen-${screen}`;
  document.body.dataset.screen = screen;
  fitTiles(screen);
  renderPrinterBanner();
  restartIdleTimer();
}

function renderCatalogue() {
  renderAgencies();
  renderServices();
  if (state.screen === "agencies" && singleAgency()) {
    state.agencyId = singleAgency().id;
    renderServices();
    show("services");
  }
  refreshEnabled();
}

function renderAgencies() {
  const grid = byId("agencies");
  grid.replaceChildren(
    ...visibleAgencies().map((agency) => {
      const open = agency.services.some((s) => s.available);
      return h(
        "button",
        { type: "button", class: `tile agency${open ? "" : " unavailable"}`, dataset: { agency: agency.id, action: "1", available: open ? "1" : "" }, onclick: () => chooseAgency(agency.id) },
        h("span", { class: "tile-name" }, named(agency)),
        h("span", { class: "tile-meta", dataset: { count: `agency-${agency.id}` } }, t("Waiting: {count}", { count: agency.waiting })),
        open ? null : h("span", { class: "tile-reason" }, t("No service is taking numbers now")),
      );
    }),
  );
  fitTiles("agencies");
}

function renderServices() {
  const agency = currentAgency();
  byId("agency-title").textContent = agency ? named(agency) : "";
  byId("services-back").hidden = Boolean(singleAgency());
  renderPriorities();
  byId("services").replaceChildren(
    ...(agency ? agency.services : []).map((service) => {
      const reason = unavailableReason(service);
      return h(
        "button",
        {
          type: "button",
          class: `tile service${reason ? " unavailable" : ""}`,
          dataset: { service: service.code, action: "1", available: reason ? "" : "1" },
          onclick: (event) => issue({ service: service.code }, event.currentTarget),
        },
        h("span", { class: "tile-name" }, named(service)),
        h("span", { class: "tile-meta", dataset: { count: `service-${service.id}` } }, waitingText(service)),
        !reason && service.remaining_today != null
          ? h("span", { class: "tile-meta", dataset: { remaining: `service-${service.id}` } }, t("{count} numbers left today", { count: service.remaining_today }))
          : null,
        reason ? h("span", { class: "tile-reason" }, reason) : null,
      );
    }),
  );
  fitTiles("services");
}

// ------------------------------------------------------------------ finding a procedure

function openSearch() {
  if (!state.online || state.busy || !state.catalogue) return;
  state.priority = "";
  byId("search-text").value = "";
  show("search");
  renderResults();
}

function typeSearch(key) {
  const input = byId("search-text");
  if (key === "delete") input.value = input.value.slice(0, -1);
  else if (key === "clear") input.value = "";
  else if (input.value.length < 60) input.value += key;
  renderResults();
}

function searchNote(query, count) {
  if (!query.trim()) return t("Type a few letters of the procedure; accents are not needed (e.g. ly lich tu phap).");
  return count ? t("{count} procedures found", { count }) : t("No procedure matches these words.");
}

function renderResults() {
  const query = byId("search-text").value;
  const found = findServices(visibleAgencies(), query);
  byId("search-note").textContent = searchNote(query, found.length);
  byId("results").replaceChildren(
    ...found.map(({ agency, service }) => {
      const reason = unavailableReason(service);
      return h(
        "button",
        {
          type: "button",
          class: `tile result${reason ? " unavailable" : ""}`,
          dataset: { result: service.code, action: "1", available: reason ? "" : "1" },
          onclick: (event) => issue({ service: service.code }, event.currentTarget),
        },
        h("span", { class: "tile-name" }, named(service)),
        h("span", { class: "tile-agency" }, named(agency)),
        h("span", { class: "tile-meta" }, reason || waitingText(service)),
      );
    }),
  );
  refreshEnabled();
  fitTiles("results");
}

function buildSearchKeys() {
  const key = (label, value, extra = "") =>
    h("button", { type: "button", class: `key ${extra}`, onclick: () => typeSearch(value) }, label);
  const rows = KEYBOARD_ROWS.map((row) => h("div", { class: "search-row" }, row.map((letter) => key(letter, letter))));
  rows[rows.length - 1].append(
    key(t("Space"), " ", "space"),
    key("⌫", "delete", "action"),
    key(t("Clear"), "clear", "action"),
  );
  byId("search-keys").replaceChildren(...rows);
}

function updateCounts() {
  for (const agency of visibleAgencies()) {
    agency.waiting = agency.services.reduce((sum, s) => sum + s.waiting, 0);
    const el = document.querySelector(`[data-count="agency-${agency.id}"]`);
    if (el) el.textContent = t("Waiting: {count}", { count: agency.waiting });
    for (const service of agency.services) {
      const count = document.querySelector(`[data-count="service-${service.id}"]`);
      if (count) count.textContent = waitingText(service);
      const remaining = document.querySelector(`[data-remaining="service-${service.id}"]`);
      if (remaining) remaining.textContent = t("{count} numbers left today", { count: service.remaining_today });
    }
  }
}

function renderPriorities() {
  byId("priorities").replaceChildren(
    ...config.priorities.map((p) =>
      h(
        "button",
        { type: "button", class: "chip", "aria-pressed": String(state.priority === p.code), dataset: { priority: p.code }, onclick: () => choosePriority(p.code) },
        t(p.label),
      ),
    ),
  );
}

function chooseAgency(agencyId) {
  if (!state.online || state.busy) return;
  state.agencyId = agencyId;
  state.priority = "";
  renderServices();
  refreshEnabled();
  show("services");
}

function choosePriority(code) {
  state.priority = state.priority === code ? "" : code;
  for (const chip of document.querySelectorAll("[data-priority]")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.priority === state.priority));
  }
}

function backToStart() {
  clearInterval(state.timer);
  state.timer = null;
  taps.end(); // the tap-sequence is over
  state.priority = "";
  state.ticket = null;
  state.printJob = null;
  state.holding = false;
  byId("appointment-code").value = "";
  hideNotice();
  const single = singleAgency();
  state.agencyId = single ? single.id : null;
  renderServices();
  refreshEnabled();
  show(single ? "services" : "agencies");
}

/** Disable every button that would issue a number while offline, busy, or for an unavailable service. */
function refreshEnabled() {
  document.body.classList.toggle("offline", !state.online && !document.body.classList.contains("connecting"));
  document.body.classList.toggle("busy", state.busy);
  const ready = state.online && !state.busy && state.catalogue !== null;
  for (const button of document.querySelectorAll("[data-action]")) {
    button.disabled = !ready || button.dataset.available === "";
  }
  byId("appointment-submit").disabled = !ready || !byId("appointment-code").value.trim();
}

// ------------------------------------------------------------------ issuing

const taps = tapKeys("kiosk"); // one Idempotency-Key per tap-sequence

async function issue(request, button) {
  if (state.busy || !state.online) return;
  state.busy = true;
  if (button) button.disabled = true; // synchronously: a second tap finds it disabled
  refreshEnabled();
  const body = { ...request, priority: state.priority || null };
  const key = taps.keyFor(JSON.stringify(body));
  try {
    let response;
    let data;
    for (let attempt = 1; ; attempt += 1) {
      response = await fetch(config.urls.tickets, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Authorization: `Bearer ${config.token}`,
          "Idempotency-Key": key,
          "Accept-Language": state.lang,
        },
        body: JSON.stringify(body),
      });
      data = await response.json().catch(() => null);
      // storage_unconfirmed: the database may have issued the number without the answer reaching us. The same
      // key again finds it (or issues it once), so the kiosk asks again by itself rather than send the citizen away.
      if (!(data && data.error && data.error.code === "storage_unconfirmed") || attempt >= UNCONFIRMED_TRIES) break;
      showNotice(t("Checking whether your number was issued…"));
      await new Promise((resolve) => setTimeout(resolve, UNCONFIRMED_PAUSE_MS));
    }
    if (response.ok && data) {
      hideNotice();
      taps.end();
      showTicket(data);
    } else {
      refused(response.status, data && data.error);
    }
  } catch (error) {
    // No answer: the ticket may or may not exist. The same tap again reuses the key, so it cannot double.
    console.warn("kiosk: issue failed", error);
    showNotice(t("The server did not answer. Please try again."));
  } finally {
    state.busy = false;
    refreshEnabled();
  }
}

/** A refusal (4xx, nothing was issued) or a failure (429, 5xx: the same tap may retry with the same key). */
function refused(status, error) {
  if (status < 500 && status !== 429) taps.end();
  showNotice(error ? (error.messages && error.messages[state.lang]) || error.message : t("The server did not answer. Please try again."));
  if (error && ["service_closed", "daily_cap_reached", "numbers_exhausted"].includes(error.code)) loadCatalogue();
}

/** A typed or scanned booking code, or the QR text of a chip ID card (CCCD: 12 digits, then fields after "|"). */
function checkIn() {
  const text = byId("appointment-code").value.trim();
  if (/^\d{12}\|/.test(text)) issue({ card: text }, byId("appointment-submit"));
  else if (text) issue({ appointment: text.toUpperCase() }, byId("appointment-submit"));
}

function showNotice(message) {
  byId("notice-text").textContent = message;
  byId("notice").hidden = false;
  clearTimeout(state.noticeTimer);
  state.noticeTimer = setTimeout(hideNotice, NOTICE_MS);
}

function hideNotice() {
  byId("notice").hidden = true;
  clearTimeout(state.noticeTimer);
}

// ------------------------------------------------------------------ the ticket

function showTicket(ticket) {
  state.ticket = ticket;
  const job = ticket.print || null;
  state.printJob = job && job.job_id && state.results.has(job.job_id) ? state.results.get(job.job_id) : job;
  if (job && job.printer) applyPrinterStatus(job.printer);
  renderTicket();
  show("ticket");
  fitNumber();
  startCountdown();
  holdIfNotPrinted();
}

function startCountdown() {
  state.countdown = config.return_seconds;
  state.holding = false;
  renderCountdown();
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    state.countdown -= 1;
    if (state.countdown <= 0) backToStart();
    else renderCountdown();
  }, 1000);
}

/**
 * A ticket that could not be printed stays on screen (the citizen must note the number) until Done is touched;
 * if it prints after all (the paper was changed), the countdown starts again.
 */
function holdIfNotPrinted() {
  if (state.screen !== "ticket") return;
  const warn = byId("ticket-print").classList.contains("warn");
  if (warn && !state.holding) {
    state.holding = true;
    clearInterval(state.timer);
    state.timer = null;
    renderCountdown();
  } else if (!warn && state.holding) {
    startCountdown();
  }
}

/** Shrink a long number (e.g. LT-10234) until it fits its box on one line. */
function fitNumber() {
  const el = byId("ticket-number");
  el.style.fontSize = "";
  const available = el.parentElement.clientWidth;
  if (el.scrollWidth > available) {
    el.style.fontSize = `${Math.floor(parseFloat(getComputedStyle(el).fontSize) * (available / el.scrollWidth) * 0.97)}px`;
  }
}

function renderCountdown() {
  byId("ticket-countdown").textContent = state.holding
    ? t("This screen stays until you touch Done.")
    : t("Back to the start in {seconds} s", { seconds: state.countdown });
}

function renderTicket() {
  const ticket = state.ticket;
  if (!ticket) return;
  byId("ticket-number").textContent = ticket.display_number;
  byId("ticket-agency").textContent = named(ticket.agency);
  byId("ticket-service").textContent = named(ticket.service);
  const priority = config.priorities.find((p) => p.code === ticket.priority);
  byId("ticket-priority").hidden = !priority;
  byId("ticket-priority").textContent = priority ? `${t("Priority")} · ${t(priority.label)}` : "";
  byId("ticket-ahead").textContent =
    ticket.waiting_ahead > 0 ? t("People waiting ahead: {count}", { count: ticket.waiting_ahead }) : t("You are next");
  byId("ticket-wait").hidden = !(ticket.waiting_ahead > 0 || ticket.no_counter_open);
  byId("ticket-wait").textContent = ticketWaitText(ticket);
  byId("ticket-counters").hidden = !ticket.counters.length;
  byId("ticket-counters").textContent = t("Counters: {counters}", { counters: ticket.counters.join(", ") });
  const qr = byId("ticket-qr");
  const src = `${config.urls.qr}${encodeURIComponent(ticket.tracking_token)}.svg`;
  if (qr.getAttribute("src") !== src) qr.src = src;
  renderPrintState();
}

function renderPrintState() {
  const el = byId("ticket-print");
  const job = state.printJob;
  const status = state.printer.status;
  let text = "";
  let warn = false;
  if (config.has_printer && state.ticket) {
    const failed = job && ["failed", "expired"].includes(job.status);
    if (status === "paper_out" && !(job && job.status === "printed")) {
      text = `${t("The printer is out of paper — please ask at the help desk.")}\n${t("Please note the number on the screen.")}`;
      warn = true;
    } else if (failed || (status === "offline" && !(job && job.status === "printed"))) {
      text = `${t("The printer is not working — please ask at the help desk.")}\n${t("Please note the number on the screen.")}`;
      warn = true;
    } else if (job && ["printed", "repeated"].includes(job.status)) {
      text = t("Please take your printed ticket.");
    } else if (job && job.status !== "none") {
      text = t("Printing your ticket…");
    }
  }
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle("warn", warn);
  renderPrinterBanner();
  holdIfNotPrinted();
}

function renderPrinterBanner() {
  const banner = byId("printer-banner");
  const status = state.printer.status;
  const down = config.has_printer && (status === "paper_out" || status === "offline") && state.screen !== "ticket";
  banner.hidden = !down;
  banner.textContent = !down
    ? ""
    : status === "paper_out"
      ? t("The printer is out of paper — please ask at the help desk.")
      : t("The printer is not working — please ask at the help desk.");
}

function applyPrinterStatus(printer) {
  if (!printer || printer.device_id !== config.device.id) return;
  if (printer.version < state.printer.version) return; // an older word than the one we have
  state.printer = printer;
  renderPrintState();
}

function applyPrintResult(result) {
  if (result.device_id !== config.device.id) return;
  state.results.set(result.job_id, result);
  if (state.results.size > 50) state.results.delete(state.results.keys().next().value);
  if (state.printJob && state.printJob.job_id === result.job_id) {
    state.printJob = result;
    renderPrintState();
  }
}

// ------------------------------------------------------------------ appointment keypad

function buildKeypad() {
  const keys = [..."1234567890ABCDEFGHIJKLMNOPQRSTUVWXYZ"];
  byId("keypad").replaceChildren(
    ...keys.map((key) => h("button", { type: "button", class: "key", onclick: () => typeKey(key) }, key)),
  );
}

function typeKey(key) {
  const input = byId("appointment-code");
  if (input.value.length < 32) input.value += key;
  refreshEnabled();
}

// ------------------------------------------------------------------ timers, clock, language

function restartIdleTimer() {
  clearTimeout(state.idleTimer);
  if (["services", "appointment", "search"].includes(state.screen)) {
    state.idleTimer = setTimeout(() => {
      if (!state.busy) backToStart();
    }, config.idle_seconds * 1000);
  }
}

const timeFormat = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat("vi-VN", { timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric" });

function tick() {
  const now = new Date(Date.now() + state.clockOffset); // the server's clock, not the kiosk PC's
  byId("clock-time").textContent = timeFormat.format(now);
  byId("clock-date").textContent = dateFormat.format(now);
}

function setLanguage(language) {
  state.lang = language;
  translateStatic();
  if (state.catalogue) renderCatalogue();
  renderTicket();
  renderPrintState();
  if (state.screen === "ticket") renderCountdown();
  buildKeypad();
  buildSearchKeys();
  if (state.screen === "search") renderResults();
}

// ------------------------------------------------------------------ start

function start() {
  translateStatic();
  buildKeypad();
  buildSearchKeys();
  byId("open-search").addEventListener("click", openSearch);
  byId("search-back").addEventListener("click", backToStart);
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  byId("services-back").addEventListener("click", backToStart);
  byId("ticket-done").addEventListener("click", backToStart);
  byId("notice-close").addEventListener("click", hideNotice);
  for (const button of document.querySelectorAll(".page-turn")) {
    button.addEventListener("click", () => turnPage(button.dataset.grid, Number(button.dataset.step)));
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => fitTiles(state.screen), 150);
  });
  for (const button of document.querySelectorAll(".open-appointment")) {
    button.addEventListener("click", () => {
      if (!state.online || state.busy) return;
      state.priority = "";
      show("appointment");
      byId("appointment-code").focus();
    });
  }
  byId("appointment-back").addEventListener("click", backToStart);
  byId("appointment-delete").addEventListener("click", () => {
    const input = byId("appointment-code");
    input.value = input.value.slice(0, -1);
    refreshEnabled();
  });
  byId("appointment-clear").addEventListener("click", () => {
    byId("appointment-code").value = "";
    refreshEnabled();
  });
  byId("appointment-code").addEventListener("input", refreshEnabled);
  byId("appointment-form").addEventListener("submit", (event) => {
    event.preventDefault(); // a barcode scanner types the code and Enter
    checkIn();
  });
  document.addEventListener("pointerdown", restartIdleTimer, { passive: true });
  show("agencies");
  refreshEnabled();
  tick();
  setInterval(tick, 1000);

  const socket = connectLive({
    auth: { token: config.token },
    onSnapshot: (snapshot) => {
      state.clockOffset = Date.parse(snapshot.now) - Date.now();
      tick();
      loadCatalogue();
    },
    handlers: {
      "queue.changed": (payload) => applyQueues(payload.queues || []),
      "ticket.issued": applyIssued,
    },
    onStatus: (online) => {
      document.body.classList.remove("connecting"); // from now on, not connected means offline
      state.online = online;
      refreshEnabled();
    },
  });
  // Printer news is not part of the site's numbered event stream: listen to it directly.
  socket.on("connect", () => {
    state.printer = { ...state.printer, version: 0 }; // the server may have restarted: its word wins
    socket.emit("printer.status.request");
  });
  socket.on("printer.status", applyPrinterStatus);
  socket.on("print.result", applyPrintResult);
  setInterval(() => {
    if (state.online) loadCatalogue();
  }, CATALOGUE_REFRESH_MS);
}

start();
