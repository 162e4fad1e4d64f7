// The citizen's booking page (phone-sized): agency → service → day → slot → identify → confirm → confirmation,
// or a number for today; on a confirmation link (/book/<site>/m/<secret>) the booking with change and cancel.
// Every request that changes something carries one Idempotency-Key per tap sequence, kept while its answer was
// lost (no answer, a 5xx): tapping again then gets the number or booking the first tap made, never a second one
// nor a refusal of it (web/lib/tap_keys.js, as the kiosk does).
import { tapKeys } from "../../web/lib/tap_keys.js";

const config = JSON.parse(document.getElementById("luot-config").textContent);
const S = config.strings;
const lang = config.language;
const base = config.base;
const app = document.getElementById("app");
const SLOT_REFRESH_MS = 15000; // the remaining places of the shown day are read again this often
const UNCONFIRMED_TRIES = 3; // asks about one request at most this many times when the database did not confirm it
const UNCONFIRMED_PAUSE_MS = 1500; // between those asks: the database is coming back

const state = {
  catalogue: null,
  agency: null,
  service: null,
  day: null,
  slot: null,
  secret: config.secret || "",
  booking: null,
  moving: false,
  want: "book", // book | online
  timer: null,
};

function format(template, params = {}) {
  return String(template).replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

function named(item) {
  return lang === "en" && item.name_en ? item.name_en : item.name;
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

function show(...nodes) {
  clearInterval(state.timer);
  app.replaceChildren(...nodes);
  window.scrollTo(0, 0);
  hideError();
  document.body.dataset.step = nodes[0]?.dataset?.step || "";
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message || S.failed;
  box.hidden = false;
}

function hideError() {
  document.getElementById("error").hidden = true;
}

async function call(method, url, body, key) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (key) options.headers["Idempotency-Key"] = key;
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch {
    throw new Error(S.failed);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const refusal = data.error || {}; // the API's errors: {"error": {"code", "message", "messages": {vi, en}}}
    const error = new Error((refusal.messages && refusal.messages[lang]) || refusal.message || S.failed);
    error.code = refusal.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

const taps = tapKeys("book"); // one Idempotency-Key per tap sequence

/** POSTs a change with the tap sequence's Idempotency-Key. An answer (success or a 4xx refusal) ends the
 * sequence; a lost one (no answer, a 5xx) keeps the key for the next tap; 503 storage_unconfirmed (it may have
 * been recorded) is asked again by itself, with the same key, a few times. */
async function send(url, body) {
  const key = taps.keyFor(`${url} ${JSON.stringify(body)}`);
  for (let attempt = 1; ; attempt += 1) {
    try {
      const data = await call("POST", url, body, key);
      taps.end();
      return data;
    } catch (error) {
      if (error.status !== undefined && error.status < 500) taps.end();
      if (error.code !== "storage_unconfirmed" || attempt >= UNCONFIRMED_TRIES) throw error;
      showError(S.checking);
      await new Promise((resolve) => setTimeout(resolve, UNCONFIRMED_PAUSE_MS));
    }
  }
}

function back(action) {
  return h("button", { type: "button", class: "bk-back", onclick: action }, `← ${S.back}`);
}

function title(text, step) {
  return [h("h1", {}, text), step ? h("p", { class: "bk-step" }, format(S.step, { n: step, total: 5 })) : null];
}

/** "1 place left" / "{count} places left" (Vietnamese has one form: "Còn {count} chỗ"). */
function placesLeft(count) {
  return count === 1 ? S.free_one : format(S.free, { count });
}

function dateLabel(iso, weekday) {
  const [y, m, d] = iso.split("-");
  return `${S[`weekday_${weekday}`]} ${d}/${m}/${y}`;
}

// ------------------------------------------------------------------ choosing

async function start() {
  try {
    state.catalogue = await call("GET", `${base}/catalogue`);
  } catch (error) {
    showError(error.message);
    return;
  }
  if (state.secret) {
    await openBooking();
    return;
  }
  if (restoreChoice()) return;
  if (state.catalogue.agencies.length === 1) chooseAgency(state.catalogue.agencies[0], true);
  else agencies();
}

function agencies() {
  const section = h("section", { "data-step": "agency" }, title(S.choose_agency, 1));
  section.append(
    h(
      "div",
      { class: "bk-list" },
      state.catalogue.agencies.map((agency) =>
        h("button", { type: "button", class: "bk-choice", onclick: () => chooseAgency(agency) }, named(agency)),
      ),
    ),
  );
  show(section);
}

function chooseAgency(agency, only = false) {
  state.agency = agency;
  const section = h("section", { "data-step": "service" });
  if (!only) section.append(back(agencies));
  section.append(...title(S.choose_service, 2), h("p", {}, named(agency)));
  const list = h("div", { class: "bk-list" });
  for (const service of agency.services) {
    const card = h("div", { class: "bk-card" }, h("b", {}, named(service)));
    const actions = h("div", { class: "bk-actions" });
    if (service.bookable) {
      actions.append(h("button", { type: "button", class: "bk-primary", onclick: () => chooseService(service) }, S.book));
    }
    if (service.online) {
      actions.append(
        h(
          "button",
          { type: "button", class: "bk-secondary", disabled: !service.open_now, onclick: () => wantNumber(service) },
          service.open_now ? S.online : S.online_closed,
        ),
      );
    }
    card.append(actions);
    list.append(card);
  }
  section.append(list);
  show(section);
}

async function chooseService(service) {
  state.service = service;
  state.want = "book";
  let days;
  try {
    days = (await call("GET", `${base}/days?service=${encodeURIComponent(service.code)}`)).days;
  } catch (error) {
    showError(error.message);
    return;
  }
  const section = h(
    "section",
    { "data-step": "day" },
    back(() => (state.moving ? renderBooking() : chooseAgency(state.agency))),
    ...title(S.choose_day, 3),
    h("p", {}, named(service)),
  );
  const open = days.filter((day) => day.remaining > 0);
  if (!open.length) section.append(h("p", { class: "bk-note" }, S.no_day));
  section.append(
    h(
      "div",
      { class: "bk-list" },
      days.map((day, index) =>
        h(
          "button",
          { type: "button", class: "bk-choice", disabled: day.remaining <= 0, onclick: () => chooseDay(day) },
          index === 0 ? `${S.today} – ${dateLabel(day.date, day.weekday)}` : dateLabel(day.date, day.weekday),
          h("small", {}, day.remaining > 0 ? placesLeft(day.remaining) : day.open ? S.full : index === 0 ? S.closed_today : S.closed_day),
        ),
      ),
    ),
  );
  show(section);
}

async function chooseDay(day) {
  state.day = day;
  const grid = h("div", { id: "slots" });
  const section = h(
    "section",
    { "data-step": "slot" },
    back(() => chooseService(state.service)),
    ...title(S.choose_slot, 4),
    h("p", {}, `${named(state.service)} · ${dateLabel(day.date, day.weekday)}`),
    grid,
  );
  show(section);
  await fillSlots(grid);
  state.timer = setInterval(() => fillSlots(grid), SLOT_REFRESH_MS);
}

async function fillSlots(grid) {
  let slots;
  try {
    slots = (await call("GET", `${base}/slots?service=${encodeURIComponent(state.service.code)}&date=${state.day.date}`))
      .slots;
  } catch (error) {
    showError(error.message);
    return;
  }
  if (!slots.some((slot) => slot.remaining > 0)) {
    grid.replaceChildren(h("p", { class: "bk-note" }, S.no_slot));
    return;
  }
  const button = (slot) =>
    h(
      "button",
      { type: "button", class: "bk-slot", disabled: slot.remaining <= 0, "data-at": slot.at, onclick: () => chooseSlot(slot) },
      h("b", {}, slot.time),
      h("small", {}, slot.remaining > 0 ? placesLeft(slot.remaining) : S.full),
    );
  const parts = [
    [S.morning, slots.filter((slot) => slot.time < "12:00")],
    [S.afternoon, slots.filter((slot) => slot.time >= "12:00")],
  ].filter(([, part]) => part.length);
  grid.replaceChildren(
    ...parts.flatMap(([label, part]) => [h("h2", { class: "bk-part" }, label), h("div", { class: "bk-slots" }, part.map(button))]),
  );
}

function chooseSlot(slot) {
  state.slot = slot;
  if (state.moving) {
    moveBooking();
    return;
  }
  if (state.catalogue.identified) confirmStep();
  else identify();
}

function wantNumber(service) {
  state.service = service;
  state.want = "online";
  if (state.catalogue.identified) takeNumber();
  else identify();
}

// ------------------------------------------------------------------ identify (server/identity: OTP or OIDC)

const CHOICE_KEY = `luot.book.${config.site.code}`;

/** The sign-in page of the identity provider leaves this page: the choice made so far comes back with us. */
function rememberChoice() {
  try {
    const choice = { agency: state.agency?.code, service: state.service?.code, day: state.day, slot: state.slot, want: state.want };
    window.sessionStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
  } catch {
    // private mode: the citizen chooses again after signing in
  }
}

/** After signing in: the choice made before, if any (once). */
function restoreChoice() {
  let choice = null;
  try {
    choice = JSON.parse(window.sessionStorage.getItem(CHOICE_KEY) || "null");
    window.sessionStorage.removeItem(CHOICE_KEY);
  } catch {
    return false;
  }
  const agency = choice && state.catalogue.agencies.find((a) => a.code === choice.agency);
  const service = agency && agency.services.find((s) => s.code === choice.service);
  if (!service || !state.catalogue.identified) return false;
  state.agency = agency;
  state.service = service;
  state.want = choice.want;
  if (choice.want === "online") {
    takeNumber();
    return true;
  }
  if (!choice.day || !choice.slot) return false;
  state.day = choice.day;
  state.slot = choice.slot;
  confirmStep();
  return true;
}

async function identify() {
  let consent = S.consent_fallback;
  try {
    const answer = await call("GET", config.urls.consent);
    consent = answer.texts?.[lang] || answer.text || consent;
  } catch {
    // the consent endpoint's own text is preferred; ours says the same in fewer words
  }
  const phone = h("input", { id: "phone", type: "tel", inputmode: "tel", autocomplete: "tel", maxlength: "16" });
  const agree = h("input", { id: "consent", type: "checkbox" });
  const code = h("input", { id: "otp", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "8" });
  const next = `${location.pathname}${location.search}`;
  const send = h("button", { type: "button", class: "bk-primary", id: "send-code" }, S.send_code);
  const codePart = h(
    "div",
    { id: "code-part", hidden: true },
    h("label", { class: "bk-field" }, h("span", {}, S.code), code),
    h("button", { type: "button", class: "bk-primary", id: "verify", onclick: () => verify(phone, code) }, S.verify),
  );
  const otherWay = !config.urls.oidc ? h("div", { hidden: true }) : h(
    "div",
    { id: "other-way" },
    h("p", { class: "bk-or" }, S.or),
    h(
      "a",
      { class: "bk-secondary", id: "oidc", href: `${config.urls.oidc}?next=${encodeURIComponent(next)}`, onclick: rememberChoice },
      S.oidc,
    ),
  );
  send.addEventListener("click", () => sendCode(phone, agree, { send, codePart, otherWay, code }));
  const section = h(
    "section",
    { "data-step": "identify" },
    back(() => (state.want === "online" ? chooseAgency(state.agency) : chooseDay(state.day))),
    ...(state.want === "online" ? title(S.identify_online) : title(S.identify, 5)), // a number: no 5 booking steps
    h("div", { class: "bk-consent", id: "consent-text" }, h("b", {}, S.consent_title), h("p", {}, String(consent))),
    h("label", { class: "bk-agree" }, agree, h("span", {}, S.consent_agree)),
    h("label", { class: "bk-field" }, h("span", {}, S.phone), phone),
    send,
    codePart,
    otherWay,
  );
  show(section);
}

/** Asks identity for a one-time code (consent first); the code field then takes the place of the other way in. */
async function sendCode(phone, agree, parts) {
  if (!agree.checked) {
    showError(S.consent_title);
    agree.focus();
    return;
  }
  try {
    await call("POST", config.urls.otp, { phone: phone.value.trim(), consent: true, language: lang });
  } catch (error) {
    showError(error.message);
    return;
  }
  hideError();
  parts.send.hidden = true;
  parts.otherWay.hidden = true;
  parts.codePart.hidden = false;
  parts.code.focus();
}

async function verify(phone, code) {
  try {
    await call("POST", config.urls.verify, { phone: phone.value.trim(), code: code.value.trim() });
  } catch (error) {
    showError(error.message);
    return;
  }
  state.catalogue.identified = true;
  if (state.want === "online") takeNumber();
  else confirmStep();
}

// ------------------------------------------------------------------ book, take a number

function summary(booking) {
  const when = booking
    ? format(S.when, { date: booking.date.split("-").reverse().join("/"), time: booking.time })
    : format(S.when, { date: state.day.date.split("-").reverse().join("/"), time: state.slot.time });
  return h(
    "dl",
    { class: "bk-card" },
    h("dt", {}, S.service),
    h("dd", {}, booking ? named(booking.service) : named(state.service)),
    h("dt", {}, S.slot_label),
    h("dd", { id: "when" }, when),
    h("dt", {}, S.place),
    h("dd", {}, state.catalogue.site.name, state.catalogue.site.address ? h("div", { class: "bk-note" }, state.catalogue.site.address) : null),
  );
}

function confirmStep() {
  const card = h("input", { id: "card", inputmode: "numeric", maxlength: "12", autocomplete: "off" });
  const button = h("button", { type: "button", class: "bk-primary", id: "confirm" }, S.confirm);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await send(`${base}/bookings`, {
        service: state.service.code,
        slot: state.slot.at,
        card: card.value.trim() || null,
        language: lang,
      });
      state.secret = answer.secret;
      state.booking = answer.booking;
      history.replaceState(null, "", `${base}/m/${answer.secret}${location.search}`);
      renderBooking(true);
    } catch (error) {
      button.disabled = false;
      if (error.code === "slot_full" || error.code === "booking_closed") chooseDay(state.day); // redraws, then:
      showError(error.message); // shown after the redraw, which hides the last error
    }
  });
  show(
    h(
      "section",
      { "data-step": "confirm" },
      back(() => chooseDay(state.day)),
      ...title(S.confirm_title, 5),
      summary(null),
      h("label", { class: "bk-field" }, h("span", {}, S.card), card),
      button,
    ),
  );
}

async function takeNumber() {
  try {
    const ticket = await send(`${base}/online`, { service: state.service.code });
    location.assign(`${config.urls.track}${ticket.tracking_token}${lang === "en" ? "?lang=en" : ""}`);
  } catch (error) {
    chooseAgency(state.agency); // redraws (hiding the last error), then the refusal is shown
    showError(error.message);
  }
}

// ------------------------------------------------------------------ the booking (confirmation link)

async function openBooking() {
  try {
    state.booking = (await call("GET", `${base}/b/${state.secret}`)).booking;
  } catch (error) {
    show(h("section", { "data-step": "missing" }, h("h1", {}, error.message)));
    return;
  }
  renderBooking(false);
}

function renderBooking(fresh = false) {
  const booking = state.booking;
  state.moving = false;
  const status = {
    cancelled: S.cancelled,
    lapsed: S.lapsed,
    checked_in: S.checked_in,
  }[booking.status];
  const section = h(
    "section",
    { "data-step": "booking" },
    h("h1", { class: status ? "" : "bk-ok" }, status || S.confirmed),
  );
  if (!status) {
    section.append(
      h("p", { class: "bk-step" }, S.your_code),
      h("div", { class: "bk-code", id: "booking-code" }, booking.code),
      h("img", { class: "bk-qr", id: "booking-qr", alt: booking.code, src: `${base}/b/${state.secret}/qr.svg` }),
      h("p", { class: "bk-note" }, S.show_at_kiosk),
    );
  }
  section.append(summary(booking));
  if (!status) {
    section.append(h("p", { class: "bk-note" }, S.come_early));
    if (fresh) section.append(h("p", { class: "bk-consent", id: "keep-link" }, S.keep_link));
    const actions = h(
      "div",
      { class: "bk-actions" },
      h("a", { class: "bk-secondary", id: "ics", href: `${base}/b/${state.secret}/booking.ics`, download: "" }, S.add_calendar),
    );
    if (booking.changeable) {
      actions.append(
        h("button", { type: "button", class: "bk-secondary", id: "reschedule", onclick: reschedule }, S.reschedule),
        h("button", { type: "button", class: "bk-danger", id: "cancel", onclick: cancelBooking }, S.cancel),
      );
    }
    section.append(actions);
  } else {
    section.append(h("a", { class: "bk-primary bk-link", id: "book-again", href: `${base}${location.search}` }, S.book_again));
  }
  show(section);
}

function reschedule() {
  state.moving = true;
  const service = state.catalogue.agencies.flatMap((agency) => agency.services).find((s) => s.code === state.booking.service.code);
  chooseService(service || { ...state.booking.service, bookable: true });
}

async function moveBooking() {
  try {
    state.booking = (await send(`${base}/b/${state.secret}/move`, { slot: state.slot.at })).booking;
    renderBooking(false);
  } catch (error) {
    showError(error.message);
  }
}

async function cancelBooking() {
  if (!window.confirm(S.cancel_confirm)) return;
  try {
    state.booking = (await send(`${base}/b/${state.secret}/cancel`, {})).booking;
    renderBooking(false);
  } catch (error) {
    showError(error.message);
  }
}

start();
