// The clerk's pages: sign-in, counter picker and the console. Every action goes through REST v1 with the
// session cookie and the CSRF token; the live state comes over the shared Socket.IO connection
// (web/lib/live.js: reconnection, one snapshot per connect, sequence-gap detection).
import { connectLive } from "../../web/lib/live.js";

const STRINGS = JSON.parse(document.getElementById("luot-strings").textContent);
const LANG = document.documentElement.lang || "vi";
const $ = (selector) => document.querySelector(selector);

function fill(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function t(key, params) {
  return fill(STRINGS[key] ?? key, params);
}

/** Keeps an explicit ?lang= when moving between the surface's pages. */
function withLang(path) {
  const lang = new URLSearchParams(window.location.search).get("lang");
  return lang ? `${path}${path.includes("?") ? "&" : "?"}lang=${encodeURIComponent(lang)}` : path;
}

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** A JSON call; a refusal becomes an ApiError carrying the server's message in the page language. */
async function api(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError("network", t("network_error"), 0);
  }
  let data;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    const message = error ? (error.messages && error.messages[LANG]) || error.message : t("refused");
    throw new ApiError(error ? error.code : `http_${response.status}`, message, response.status);
  }
  return data;
}

function showMessage(element, text, isError = false) {
  element.textContent = text || "";
  element.classList.toggle("error", Boolean(isError));
  element.hidden = !text;
}

async function signOut(message) {
  try {
    await api("POST", "/api/v1/auth/logout", {});
    window.location.assign(withLang("/counter/login"));
  } catch (error) {
    showMessage(message, error.message, true);
  }
}

// ------------------------------------------------------------------ sign-in

function loginPage() {
  const form = $("#login-form");
  const message = $("#message");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username || !password) {
      showMessage(message, STRINGS.credentials_missing || "", true);
      (username ? form.elements.password : form.elements.username).focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showMessage(message, "");
    try {
      await api("POST", "/api/v1/auth/login", { username, password });
      window.location.assign(withLang("/counter/"));
    } catch (error) {
      showMessage(message, error.message, true);
      form.elements.password.value = "";
      form.elements.password.focus();
      button.disabled = false;
    }
  });
}

// ------------------------------------------------------------------ counter picker

function pickerPage() {
  const message = $("#message");
  const dialog = $("#takeover-dialog");
  const text = $("#takeover-text");
  let asked = null;

  async function take(button, takeover) {
    const id = button.dataset.counterId;
    for (const other of document.querySelectorAll(".counter-choice")) other.disabled = true;
    showMessage(message, "");
    try {
      await api("POST", `/api/v1/counters/${id}/open`, { takeover });
      window.location.assign(withLang(`/counter/${id}`));
      return;
    } catch (error) {
      if (error.code === "counter_taken" && !takeover) {
        askTakeover(button, error.message);
      } else {
        showMessage(message, error.message, true);
      }
    }
    for (const other of document.querySelectorAll(".counter-choice")) other.disabled = false;
  }

  function askTakeover(button, serverMessage = "") {
    const holder = button.dataset.holder;
    text.textContent = holder ? fill(text.dataset.template, { number: button.dataset.number, clerk: holder })
      : serverMessage;
    asked = button;
    dialog.returnValue = "";
    dialog.showModal();
  }

  dialog.addEventListener("close", () => {
    const button = asked;
    asked = null;
    if (dialog.returnValue === "confirm" && button) take(button, true);
  });
  for (const button of document.querySelectorAll(".counter-choice")) {
    button.addEventListener("click", () => (button.dataset.holder ? askTakeover(button) : take(button, false)));
  }
  $("#logout").addEventListener("click", () => signOut(message));
}

// ------------------------------------------------------------------ console

const ACTIVE = ["called", "serving"];
const SHORTCUTS = {
  " ": "next", Enter: "next", F1: "next",
  r: "recall", s: "start", f: "finish", n: "no-show", t: "transfer", h: "hold", p: "pause",
};
const SUCCESS = {
  next: "called_msg", recall: "recalled_msg", start: "started_msg", finish: "finished_msg",
  "no-show": "no_show_msg", hold: "held_msg", pause: "paused_msg", resume: "resumed_msg",
};

function consolePage() {
  const counterId = Number(document.body.dataset.counterId);
  const siteId = Number(document.body.dataset.siteId);
  const message = $("#message");
  const buttons = Object.fromEntries([...document.querySelectorAll("[data-action]")]
    .map((button) => [button.dataset.action, button]));
  const state = {
    online: null, // not known until the first connection attempt ends
    busy: false, // an action is on its way: no second one until it is answered
    queued: null, // one key pressed meanwhile, tried again (if still allowed) once the answer is in
    mine: true, // false once another clerk has taken the counter over
    loaded: false,
    offset: 0, // server clock − browser clock, in ms
    services: new Map(),
    agencies: [],
    myServices: new Set(),
    counter: null,
    current: null,
    timing: null, // {called_at, started_at} of the current ticket
    tickets: new Map(), // known tickets of this counter's services, by id
    line: [], // waiting tickets in the order Call next takes them, with why (from the server's projection)
    lineTotal: 0,
    held: new Map(),
    figures: null,
  };

  const serverNow = () => Date.now() + state.offset;

  // ---------------------------------------------------------------- state from the server

  function setCurrent(ticket, timing) {
    if (!ticket || !ACTIVE.includes(ticket.status)) {
      state.current = null;
      state.timing = null;
      return;
    }
    if (!state.current || state.current.id !== ticket.id) state.timing = { called_at: null, started_at: null };
    state.current = ticket;
    if (timing) state.timing = { ...timing };
  }

  function applyCounterState(data) {
    state.counter = data;
    state.myServices = new Set(data.service_ids);
    setCurrent(data.current);
    if (Array.isArray(data.waiting)) setLine(data.waiting, data.waiting.length);
    if (Array.isArray(data.held)) state.held = new Map(data.held.map((ticket) => [ticket.id, ticket]));
  }

  function setLine(entries, total) {
    state.line = entries;
    state.lineTotal = total;
    for (const ticket of entries) state.tickets.set(ticket.id, ticket);
  }

  // One state read at a time; anything that changes meanwhile asks for one more.
  let fetching = false;
  let again = false;
  async function refresh() {
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      do {
        again = false;
        const data = await api("GET", `/counter/${counterId}/state`);
        state.offset = Date.parse(data.now) - Date.now();
        state.mine = data.mine;
        applyCounterState(data.counter);
        setCurrent(data.counter.current, data.timing);
        state.figures = data.figures;
        state.loaded = true;
        render();
      } while (again);
    } catch (error) {
      if (error.status === 401) {
        window.location.assign(withLang("/counter/login"));
        return;
      }
      if (error.code !== "network") showMessage(message, error.message, true);
    } finally {
      fetching = false;
    }
  }

  // An event that lands while a state read is on its way may be missing from that read: read once more.
  const live = (handler) => (payload) => {
    if (fetching) again = true;
    handler(payload);
  };

  const handlers = {
    "ticket.issued": ({ ticket }) => {
      if (state.myServices.has(ticket.service_id)) state.tickets.set(ticket.id, ticket);
      render();
    },
    // The counter's order as Call next will take it, sent by the server whenever the line changes.
    "counter.line": ({ counter_id: id, waiting, total }) => {
      if (id !== counterId) return;
      setLine(waiting, total);
      render();
    },
    "ticket.called": onCall,
    "ticket.recalled": onCall,
    "ticket.updated": onUpdate,
    "counter.changed": ({ counter }) => {
      if (counter.id !== counterId || !state.counter) return;
      state.counter = { ...state.counter, status: counter.status, pause_reason: counter.pause_reason };
      render();
      refresh(); // the event does not say who holds the counter now (a takeover)
    },
  };

  function onCall({ ticket, at }) {
    if (state.tickets.has(ticket.id)) state.tickets.set(ticket.id, ticket);
    if (ticket.counter_id === counterId) {
      const same = state.current && state.current.id === ticket.id;
      setCurrent(ticket, same ? { ...state.timing, called_at: at } : { called_at: at, started_at: null });
    }
    render();
  }

  function onUpdate({ kind, ticket, at }) {
    const isCurrent = state.current && state.current.id === ticket.id;
    if (isCurrent && kind === "started") setCurrent(ticket, { ...state.timing, started_at: at });
    else if (isCurrent && ["finished", "no_show", "transferred", "held", "cancelled"].includes(kind)) setCurrent(null);
    if (state.tickets.has(ticket.id) || state.myServices.has(ticket.service_id)) state.tickets.set(ticket.id, ticket);
    if (kind === "held" && state.myServices.has(ticket.service_id)) {
      state.held.set(ticket.id, { note: "", ...state.held.get(ticket.id), ...ticket });
      refresh(); // the event carries no hold note
    }
    if (["returned", "cancelled", "transferred"].includes(kind)) state.held.delete(ticket.id);
    render();
  }

  // ---------------------------------------------------------------- drawing

  function serviceName(id) {
    const service = state.services.get(id);
    return service ? service.name : "";
  }

  function minutesText(since) {
    const minutes = Math.floor((serverNow() - Date.parse(since)) / 60000);
    return minutes < 1 ? t("under_a_minute") : t("minutes", { minutes });
  }

  function clockText(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(s / 3600);
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, "0");
    const ss = String(s % 60).padStart(2, "0");
    return hours ? `${hours}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  /** Waiting tickets in the order Call next will take them (the server's order, never re-sorted here). */
  function waitingTickets() {
    return state.line.filter((ticket) => (state.tickets.get(ticket.id) || ticket).status === "waiting");
  }

  function enabled(action) {
    const ready = state.online === true && state.loaded && state.mine && !state.busy && state.counter;
    if (!ready) return false;
    const status = state.current ? state.current.status : null;
    const paused = state.counter.status === "paused";
    switch (action) {
      case "next": return !paused;
      case "recall": case "start": case "no-show": return status === "called";
      case "finish": case "transfer": case "hold": return Boolean(status);
      case "pause": return true;
      case "return": return true;
      default: return false;
    }
  }

  function ticketRow(ticket, extra) {
    const item = document.createElement("li");
    item.dataset.ticketId = ticket.id;
    item.classList.toggle("is-priority", Boolean(ticket.priority));
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = ticket.display_number;
    const what = document.createElement("span");
    what.className = "service";
    what.textContent = serviceName(ticket.service_id);
    if (ticket.priority) {
      const badge = document.createElement("span");
      badge.className = "badge priority";
      badge.textContent = t(`priority_${ticket.priority}`);
      what.append(badge);
    }
    for (const reason of ticket.reasons || []) {
      if (reason === "priority" || reason === "ordinary") continue;
      const badge = document.createElement("span");
      badge.className = `badge reason-${reason}`;
      badge.textContent = t(`reason_${reason}`);
      what.append(badge);
    }
    item.append(number, what);
    extra(item, what);
    return item;
  }

  function renderLists() {
    const waiting = waitingTickets();
    $("#waiting-list").replaceChildren(...waiting.map((ticket) => ticketRow(ticket, (item) => {
      const wait = document.createElement("span");
      wait.className = "wait";
      wait.dataset.since = ticket.queue_since;
      wait.textContent = minutesText(ticket.queue_since);
      item.append(wait);
    })));
    $("#waiting-count").textContent = String(Math.max(state.lineTotal, waiting.length));
    $("#waiting-empty").hidden = waiting.length > 0;

    const held = [...state.held.values()].filter((ticket) => ticket.status === "held")
      .sort((a, b) => Date.parse(a.queue_since) - Date.parse(b.queue_since));
    $("#held-list").replaceChildren(...held.map((ticket) => ticketRow(ticket, (item, what) => {
      if (ticket.note) {
        const note = document.createElement("span");
        note.className = "note";
        note.textContent = ticket.note;
        what.append(note);
      }
      const back = document.createElement("button");
      back.type = "button";
      back.className = "return";
      back.dataset.returnId = ticket.id;
      back.textContent = STRINGS.return_button;
      back.disabled = !enabled("return");
      item.append(back);
    })));
    $("#held-count").textContent = String(held.length);
    $("#held-empty").hidden = held.length > 0;
  }

  function renderCurrent() {
    const ticket = state.current;
    const box = $("#current");
    box.dataset.state = ticket ? ticket.status : "empty";
    $("#current-number").textContent = ticket ? ticket.display_number : "—";
    $("#current-status").textContent = ticket ? t(`status_${ticket.status}`) : t("no_current");
    $("#current-service").textContent = ticket ? serviceName(ticket.service_id) : t("no_current_hint");
    const priority = $("#current-priority");
    priority.hidden = !(ticket && ticket.priority);
    priority.textContent = ticket && ticket.priority ? t(`priority_${ticket.priority}`) : "";
    const recalls = $("#current-recalls");
    recalls.hidden = !(ticket && ticket.recall_count > 0);
    recalls.textContent = ticket ? t("recalls", { count: ticket.recall_count }) : "";
    $("#timer-label").textContent = ticket ? t(ticket.status === "serving" ? "timer_serving" : "timer_called") : "";
    renderClock();
  }

  function renderClock() {
    const ticket = state.current;
    const timing = state.timing || {};
    const since = ticket && (ticket.status === "serving" ? timing.started_at : timing.called_at);
    $("#timer").textContent = since ? clockText((serverNow() - Date.parse(since)) / 1000) : "00:00";
    for (const wait of document.querySelectorAll(".wait[data-since]")) wait.textContent = minutesText(wait.dataset.since);
  }

  function renderFigures() {
    const figures = state.figures;
    if (!figures) return;
    $("#fig-served").textContent = String(figures.served);
    $("#fig-no-show").textContent = String(figures.no_show);
    $("#fig-transferred").textContent = String(figures.transferred);
    const average = figures.average_service_seconds;
    $("#fig-average").textContent = average === null ? "—" : clockText(average);
  }

  function render() {
    const connection = $("#connection");
    connection.textContent = state.online ? t("online") : state.online === null ? t("connecting") : t("offline_short");
    connection.className = `pill ${state.online ? "online" : "offline"}`;
    $("#offline-banner").hidden = state.online !== false;
    $("#taken-banner").hidden = state.mine;
    const paused = state.counter && state.counter.status === "paused";
    const pausedBanner = $("#paused-banner");
    pausedBanner.hidden = !paused;
    if (paused) {
      pausedBanner.textContent = state.counter.pause_reason ? t("paused", { reason: state.counter.pause_reason })
        : t("paused_no_reason");
    }
    buttons.pause.querySelector(".label").textContent = paused ? t("resume") : t("pause");
    for (const [action, button] of Object.entries(buttons)) button.disabled = !enabled(action);
    renderCurrent();
    renderLists();
    renderFigures();
  }

  // ---------------------------------------------------------------- actions

  async function act(action, body = {}) {
    if (!enabled(action === "resume" ? "pause" : action)) return;
    state.busy = true;
    render();
    // Read before the request: its live events (sent as the transaction commits) may clear it before the answer.
    const before = state.current;
    try {
      const data = await api("POST", `/api/v1/counters/${counterId}/${action}`, body);
      applyCounterState(data.counter);
      if (data.ticket && ACTIVE.includes(data.ticket.status)) {
        const now = new Date(serverNow()).toISOString();
        const timing = action === "start" ? { ...state.timing, started_at: now }
          : action === "next" || action === "recall" ? { called_at: now, started_at: null } : null;
        setCurrent(data.counter.current, timing);
      }
      const number = (data.ticket || data.finished || before || {}).display_number || "";
      if (action === "next" && !data.ticket) {  // the served citizen is finished; nobody was left to call
        showMessage(message, t("finished_nobody_msg", { number }));
      } else if (action === "transfer") {
        showMessage(message, t("transferred_msg", { number, service: serviceName(data.ticket.service_id) }));
      } else {
        showMessage(message, t(SUCCESS[action], { number }));
      }
    } catch (error) {
      showMessage(message, error.message, true);
      if (error.code === "wrong_counter") state.mine = false;
    } finally {
      state.busy = false;
      render();
      runQueued();
    }
  }

  function runQueued() {
    const next = state.queued;
    state.queued = null;
    if (next) trigger(next);
  }

  async function returnHeld(ticketId) {
    if (!enabled("return")) return;
    state.busy = true;
    render();
    try {
      const data = await api("POST", `/api/v1/tickets/${ticketId}/return`, {});
      state.held.delete(ticketId);
      if (data.ticket) state.tickets.set(data.ticket.id, data.ticket);
      showMessage(message, t("returned_msg", { number: data.ticket ? data.ticket.display_number : "" }));
    } catch (error) {
      showMessage(message, error.message, true);
    } finally {
      state.busy = false;
      render();
      refresh();
      runQueued();
    }
  }

  function trigger(action) {
    if (state.busy && state.online === true) {
      state.queued = action; // e.g. S pressed right after Space: start once the call is answered
      return;
    }
    if (!enabled(action)) return;
    if (action === "transfer") openTransfer();
    else if (action === "hold") openDialog($("#hold-dialog"), $("#hold-note"));
    else if (action === "pause") {
      if (state.counter.status === "paused") act("resume");
      else openDialog($("#pause-dialog"), $("#pause-reason"));
    } else act(action);
  }

  // ---------------------------------------------------------------- dialogs

  function openDialog(dialog, input) {
    dialog.returnValue = "";
    if (input) input.value = "";
    dialog.showModal();
    if (input) input.focus();
  }

  function wireDialog(dialog, onConfirm) {
    // Cancel must not be the form's default button: Enter in the text field confirms.
    for (const cancel of dialog.querySelectorAll('button[value="cancel"]')) {
      cancel.type = "button";
      cancel.addEventListener("click", () => dialog.close("cancel"));
    }
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "confirm") onConfirm();
    });
  }

  wireDialog($("#hold-dialog"), () => act("hold", { note: $("#hold-note").value.trim() }));
  wireDialog($("#pause-dialog"), () => act("pause", { reason: $("#pause-reason").value.trim() }));
  wireDialog($("#transfer-dialog"), () => {});

  function openTransfer() {
    const dialog = $("#transfer-dialog");
    const agencies = state.agencies;
    const current = state.current;
    let chosen = current ? current.agency_id : agencies.length ? agencies[0].id : null;

    function drawServices() {
      const list = [...state.services.values()].filter((service) => service.agency_id === chosen
        && (!current || service.id !== current.service_id));
      $("#transfer-services").replaceChildren(...list.map((service) => {
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.service = service.code;
        button.textContent = service.name;
        if (!service.open_now) {
          const closed = document.createElement("span");
          closed.className = "closed";
          closed.textContent = t("closed_now");
          button.append(closed);
        }
        button.addEventListener("click", () => {
          dialog.close("");
          act("transfer", { service: service.code });
        });
        return button;
      }));
    }

    $("#transfer-agencies").replaceChildren(...agencies.map((agency) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.agencyId = agency.id;
      button.textContent = agency.name;
      button.setAttribute("aria-pressed", String(agency.id === chosen));
      button.addEventListener("click", () => {
        chosen = agency.id;
        for (const other of $("#transfer-agencies").children) {
          other.setAttribute("aria-pressed", String(Number(other.dataset.agencyId) === chosen));
        }
        drawServices();
      });
      return button;
    }));
    drawServices();
    dialog.returnValue = "";
    dialog.showModal();
  }

  // ---------------------------------------------------------------- wiring

  for (const [action, button] of Object.entries(buttons)) {
    button.addEventListener("click", () => {
      button.blur(); // keeps Space/Enter as shortcuts instead of re-pressing this button
      trigger(action);
    });
  }
  $("#held-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-return-id]");
    if (button) returnHeld(Number(button.dataset.returnId));
  });

  function typing(target) {
    return target instanceof HTMLElement
      && (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable);
  }

  function shortcutFor(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return null;
    if (typing(event.target)) return null;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const action = SHORTCUTS[key];
    // Space and Enter keep their usual meaning on a focused button or link (Return, Recall, Close the counter…).
    if ((key === " " || key === "Enter") && event.target !== document.body
        && event.target !== document.documentElement) {
      return null;
    }
    return action || null;
  }

  document.addEventListener("keydown", (event) => {
    const action = shortcutFor(event);
    if (!action) return;
    event.preventDefault();
    if (!event.repeat) trigger(action);
  });
  document.addEventListener("keyup", (event) => {
    if (event.key === " " && shortcutFor(event)) event.preventDefault();
  });

  $("#close-counter").addEventListener("click", async () => {
    try {
      await api("POST", `/api/v1/counters/${counterId}/close`, {});
      window.location.assign(withLang("/counter/"));
    } catch (error) {
      showMessage(message, error.message, true);
    }
  });
  $("#logout").addEventListener("click", async () => {
    if (state.mine) {
      try {
        await api("POST", `/api/v1/counters/${counterId}/close`, {});
      } catch (error) {
        if (error.code !== "wrong_counter") {
          showMessage(message, error.message, true);
          return;
        }
      }
    }
    signOut(message);
  });

  setInterval(renderClock, 1000);
  render();
  connectLive({
    auth: { site_id: siteId },
    onSnapshot: (snapshot) => {
      state.offset = Date.parse(snapshot.now) - Date.now();
      state.services = new Map(snapshot.services.map((service) => [service.id, service]));
      state.agencies = snapshot.agencies.filter((agency) => agency.active !== false);
      refresh();
    },
    handlers: Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, live(handler)])),
    onStatus: (online) => {
      if (state.online === online) return;
      state.online = online;
      render();
    },
  });
}

const pages = { login: loginPage, picker: pickerPage, console: consolePage };
const page = pages[document.body.dataset.page];
if (page) page();
