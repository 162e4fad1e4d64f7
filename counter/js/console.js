// The clerk's pages: sign-in, counter picker and the console. Every action goes through REST v1 with the
// session cookie and the CSRF token; the live state comes over the shared Socket.IO connection
// (web/lib/live.js: reconnection, one snapshot per connect, sequence-gap detection).
import { connectLive } from "../../web/lib/live.js";
import { $, api, fill, leave, showMessage, signOut, STRINGS, t, withLang } from "./_common.js";
import { shortcutFor } from "./_console_keys.js";
import { openTransfer } from "./_console_transfer.js";
import { dossierField } from "./_console_dossiers.js";
import { ACTIVE, consoleView } from "./_console_view.js";

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
      leave(withLang("/counter/"));
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
    for (const other of document.querySelectorAll(".counter-choice, .counter-shortcut")) other.disabled = true;
    showMessage(message, "");
    try {
      await api("POST", `/api/v1/counters/${id}/open`, { takeover });
      leave(withLang(`/counter/${id}`));
      return;
    } catch (error) {
      if (error.code === "counter_taken" && !takeover) {
        askTakeover(button, error.message);
      } else {
        showMessage(message, error.message, true);
      }
    }
    for (const other of document.querySelectorAll(".counter-choice, .counter-shortcut")) {
      other.disabled = other.classList.contains("kept"); // a counter kept for other clerks stays shut
    }
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
  for (const button of document.querySelectorAll(".counter-choice, .counter-shortcut")) {
    button.addEventListener("click", () => (button.dataset.holder ? askTakeover(button) : take(button, false)));
  }
  $("#logout").addEventListener("click", () => signOut(message));
}

// ------------------------------------------------------------------ console

const SUCCESS = {
  next: "called_msg", recall: "recalled_msg", start: "started_msg", finish: "finished_msg",
  "no-show": "no_show_msg", hold: "held_msg", pause: "paused_msg", resume: "resumed_msg",
};

// The actions on the citizen at the counter: each names the ticket the console shows (`ticket_id`, null for
// nobody), so the server refuses it (409 ticket_changed) when another console has moved the counter on.
const AT_COUNTER = new Set(["next", "recall", "start", "finish", "no-show", "transfer", "hold"]);

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
    rules: {}, // the site's rules from the snapshot: recall_limit, no_show_after_recall_limit
  };

  const serverNow = () => Date.now() + state.offset;
  const { render, renderClock, enabled, serviceName, lastRecallNext } = consoleView(state, buttons);
  const dossiers = dossierField(counterId, { onTicketChanged: ticketChanged });
  const shownId = () => (state.current ? state.current.id : null);
  let holdFor = null; // the ticket shown when the hold dialog opened

  // ---------------------------------------------------------------- state from the server

  function setCurrent(ticket, timing) {
    if (!ticket || !ACTIVE.includes(ticket.status)) {
      state.current = null;
      state.timing = null;
      dossiers.sync(null);
      return;
    }
    if (!state.current || state.current.id !== ticket.id) state.timing = { called_at: null, started_at: null };
    state.current = ticket;
    if (timing) state.timing = { ...timing };
    dossiers.sync(ticket);
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
        leave(withLang("/counter/login"));
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

  // ---------------------------------------------------------------- actions

  /** Sends `action`; one on the citizen at the counter names `ticketId` (by default the one shown now). */
  async function act(action, body = {}, ticketId = shownId()) {
    if (!enabled(action === "resume" ? "pause" : action)) return;
    state.busy = true;
    render();
    // Read before the request: its live events (sent as the transaction commits) may clear it before the answer.
    const before = state.current;
    const sent = AT_COUNTER.has(action) ? { ...body, ticket_id: ticketId } : body;
    try {
      answered(action, await api("POST", `/api/v1/counters/${counterId}/${action}`, sent), before);
    } catch (error) {
      // ticket_changed: another console moved the counter on; storage_unconfirmed: the database may have done it
      // without the answer reaching us. Either way the counter is read again rather than guessed.
      if (error.code === "ticket_changed" || error.code === "storage_unconfirmed") ticketChanged(error);
      else showMessage(message, error.message, true);
      if (error.code === "wrong_counter") state.mine = false;
    } finally {
      state.busy = false;
      render();
      runQueued();
    }
  }

  /** The server's answer to `action`: the counter's state, the current ticket's timing and what to say. */
  function answered(action, data, before) {
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
    } else if (action === "recall") {
      showMessage(message, recallMessage(data.ticket, before, number));
    } else {
      showMessage(message, t(SUCCESS[action], { number }));
    }
  }

  /** A recall past the site's limit marks the citizen absent: say that, and warn one recall before it. */
  function recallMessage(ticket, before, number) {
    if (ticket && ticket.status === "no_show") {
      return t("absent_msg", { number, count: ((before && before.recall_count) || 0) + 1 });
    }
    return t(lastRecallNext(ticket) ? "recalled_last_msg" : "recalled_msg", { number });
  }

  /** The server refused an action naming a ticket no longer at the counter (another console of the clerk moved it
   * on, or its live update is still on its way): say so — the message names who is there now — and read again. */
  function ticketChanged(error) {
    showMessage(message, error.message, true);
    refresh();
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
    if (action === "transfer") {
      const shown = shownId(); // the citizen the clerk chose to transfer, whatever arrives while choosing
      openTransfer(state, (service) => act("transfer", { service }, shown));
    } else if (action === "hold") {
      holdFor = shownId();
      openDialog($("#hold-dialog"), $("#hold-note"));
    } else if (action === "pause") {
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

  wireDialog($("#hold-dialog"), () => act("hold", { note: $("#hold-note").value.trim() }, holdFor));
  wireDialog($("#pause-dialog"), () => act("pause", { reason: $("#pause-reason").value.trim() }));
  wireDialog($("#transfer-dialog"), () => {});

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
      leave(withLang("/counter/"));
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
      state.rules = snapshot.rules || {};
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
