// The console's drawing: the current ticket with its timer, the waiting and held lists, the clerk's figures,
// the connection state and which buttons may be pressed. Reads the console's state; changes nothing but the page.
import { $, STRINGS, t } from "./_common.js";

export const ACTIVE = ["called", "serving"];

// Which action the current ticket's status (null: none) and a paused counter allow.
const whenCalled = (status) => status === "called";
const withTicket = (status) => Boolean(status);
const ALLOWED = {
  next: (_status, paused) => !paused,
  recall: whenCalled, start: whenCalled, "no-show": whenCalled,
  finish: withTicket, transfer: withTicket, hold: withTicket,
  pause: () => true, return: () => true,
};

/** The drawing functions over `state` (the console's state object) and its action `buttons` by name. */
export function consoleView(state, buttons) {
  const serverNow = () => Date.now() + state.offset;


  function serviceName(id) {
    const service = state.services.get(id);
    return service ? service.name : "";
  }

  function minutesText(since) {
    const minutes = Math.floor((serverNow() - Date.parse(since)) / 60000);
    return minutes < 1 ? t("under_a_minute") : t("minutes", { minutes });
  }

  /** Whether the next Recall of `ticket` marks it as not present (the site's recall limit is reached). */
  function lastRecallNext(ticket) {
    const rules = state.rules || {};
    return Boolean(ticket && rules.no_show_after_recall_limit && rules.recall_limit > 0
      && ticket.recall_count >= rules.recall_limit);
  }

  /** A length of time in words: "45 giây", "1 phút 5 giây", "1 giờ 2 phút" (never "00:01", which reads as hours). */
  function durationText(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return t("duration_seconds", { seconds: s });
    if (s < 3600) return t("duration_minutes", { minutes: Math.floor(s / 60), seconds: s % 60 });
    return t("duration_hours", { hours: Math.floor(s / 3600), minutes: Math.floor((s % 3600) / 60) });
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

  /** Whether `action` may be pressed now: online, loaded, this clerk's counter, no action on its way. */
  function enabled(action) {
    const ready = state.online === true && state.loaded && state.mine && !state.busy && state.counter;
    if (!ready || !Object.hasOwn(ALLOWED, action)) return false;
    return ALLOWED[action](state.current ? state.current.status : null, state.counter.status === "paused");
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
    const last = lastRecallNext(ticket);
    recalls.textContent = ticket ? t(last ? "recalls_last" : "recalls", { count: ticket.recall_count }) : "";
    recalls.classList.toggle("last", last);
    buttons.recall.classList.toggle("last", last);
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
    $("#fig-average").textContent = average === null ? "—" : durationText(average);
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

  return { render, renderClock, enabled, serviceName, lastRecallNext };
}
