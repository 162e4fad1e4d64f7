// The staff page: book for a citizen who phones, and the day's bookings per service (move, cancel).
const config = JSON.parse(document.getElementById("luot-config").textContent);
const base = config.base;
const lang = config.language;
const csrf = document.getElementById("csrf").value;
const S = config.strings;
const $ = (id) => document.getElementById(id);

async function call(method, url, body) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrf };
  const options = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const refusal = data.error || {}; // the API's errors: {"error": {"code", "message", "messages": {vi, en}}}
    throw new Error((refusal.messages && refusal.messages[lang]) || refusal.message || response.statusText);
  }
  return data;
}

function named(item) {
  return lang === "en" && item.name_en ? item.name_en : item.name;
}

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

async function loadServices() {
  const catalogue = await call("GET", `${base}/catalogue`);
  const select = $("staff-service");
  select.replaceChildren();
  for (const agency of catalogue.agencies) {
    for (const service of agency.services.filter((s) => s.bookable)) {
      select.append(new Option(`${named(agency)} – ${named(service)}`, service.code));
    }
  }
}

async function loadSlots() {
  const service = $("staff-service").value;
  const day = $("staff-date").value;
  const select = $("staff-slot");
  select.replaceChildren();
  if (!service || !day) return;
  const { slots } = await call("GET", `${base}/slots?service=${encodeURIComponent(service)}&date=${day}`);
  for (const slot of slots) {
    const option = new Option(`${slot.time} (${slot.remaining})`, slot.at);
    option.disabled = slot.remaining <= 0;
    select.append(option);
  }
}

async function loadDay() {
  const { services } = await call("GET", `${base}/staff/day?date=${$("day-date").value}`);
  const list = $("day-list");
  list.replaceChildren();
  for (const group of services) {
    const heading = document.createElement("h3");
    heading.textContent = `${named(group)} (${group.bookings.length})`;
    const table = document.createElement("table");
    for (const booking of group.bookings) {
      const row = document.createElement("tr");
      row.dataset.code = booking.code;
      row.append(
        cell(booking.time),
        cell(booking.code),
        cell(S[`status_${booking.status}`] || booking.status),
        cell(S[`channel_${booking.channel}`] || booking.channel),
      );
      row.lastChild.previousSibling.dataset.status = booking.status;
      const actions = document.createElement("td");
      if (booking.status === "booked") {
        const cancel = document.createElement("button");
        cancel.type = "button";
        cancel.textContent = S.cancel_short;
        cancel.dataset.action = "cancel";
        cancel.addEventListener("click", async () => {
          await call("POST", `${base}/staff/${booking.id}/cancel`, {});
          loadDay();
        });
        const move = document.createElement("button");
        move.type = "button";
        move.textContent = S.move_here;
        move.dataset.action = "move";
        move.addEventListener("click", async () => {
          try {
            await call("POST", `${base}/staff/${booking.id}/move`, { slot: $("staff-slot").value });
            loadDay();
          } catch (error) {
            $("staff-result").textContent = error.message;
          }
        });
        actions.append(move, cancel);
      }
      row.append(actions);
      table.append(row);
    }
    list.append(heading, table);
  }
}

$("staff-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const answer = await call("POST", `${base}/bookings`, {
      service: $("staff-service").value,
      slot: $("staff-slot").value,
      card: $("staff-card").value.trim() || null,
      contact: $("staff-contact").value.trim() || null,
      language: lang,
    });
    $("staff-result").textContent = `${answer.booking.code} · ${answer.booking.date} ${answer.booking.time} · ${answer.link}`;
    $("staff-result").dataset.code = answer.booking.code;
    loadSlots();
    loadDay();
  } catch (error) {
    $("staff-result").textContent = error.message;
  }
});
const today = config.today;
$("staff-date").value = today;
$("day-date").value = today;
$("staff-service").addEventListener("change", loadSlots);
$("staff-date").addEventListener("change", loadSlots);
$("day-date").addEventListener("change", loadDay);
loadServices().then(loadSlots);
loadDay();
