// Device health on the live page: every kiosk, board, counter display and rating tablet of the site, connected or
// not, and each kiosk printer's status. Loaded from /dashboard/api/devices on each snapshot, then kept current by
// `device.status` (a device connected or dropped) and `printer.status` (online, offline, out of paper). A device
// that dropped and a printer offline or out of paper raise an alert at the top of the page.
import { timeOf } from "./_format.js";

const PRINTER_ALERTS = new Set(["offline", "paper_out"]);

function isAlert(device) {
  const dropped = device.seen && !device.connected;
  return dropped || (device.printer !== null && PRINTER_ALERTS.has(device.printer.status));
}

function stateText(device, S) {
  if (device.connected) return S.Connected;
  return device.seen ? `${S["Connection lost"]} ${timeOf(device.since)}` : S["Not connected"];
}

function printerText(printer, S, language) {
  const words = { online: S["Printer ready"], offline: S["Printer offline"], paper_out: S["Printer out of paper"] };
  const detail = printer.detail && printer.detail[language];
  return [words[printer.status] || S["Printer status unknown"], detail].filter(Boolean).join(" — ");
}

function item(device, S, language) {
  const li = document.createElement("li");
  li.dataset.device = String(device.id);
  li.dataset.state = device.connected ? "connected" : device.seen ? "dropped" : "unseen";
  li.className = isAlert(device) ? "alert" : "";
  const name = document.createElement("b");
  name.textContent = device.name;
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = S[device.kind] || device.kind;
  const state = document.createElement("span");
  state.className = "state";
  state.textContent = stateText(device, S);
  li.append(name, kind, state);
  if (device.printer) {
    const printer = document.createElement("span");
    printer.className = "printer";
    printer.dataset.status = device.printer.status;
    printer.textContent = printerText(device.printer, S, language);
    li.append(printer);
  }
  return li;
}

function alertLine(device, S, language) {
  const p = document.createElement("p");
  p.dataset.device = String(device.id);
  const problem = device.printer && PRINTER_ALERTS.has(device.printer.status)
    ? printerText(device.printer, S, language)
    : stateText(device, S);
  p.textContent = `⚠ ${device.name}: ${problem}`;
  return p;
}

/** The panel, or null when the page has none. `onChange(alerts, connected, total)` feeds the totals. */
export function healthPanel(S, language, onChange) {
  const section = document.getElementById("devices");
  if (!section) return null;
  const list = document.getElementById("device-list");
  const box = document.getElementById("alerts");
  const devices = new Map();

  function render() {
    const all = [...devices.values()];
    list.replaceChildren(...all.map((d) => item(d, S, language)));
    const alerts = all.filter(isAlert);
    box.replaceChildren(...alerts.map((d) => alertLine(d, S, language)));
    box.hidden = alerts.length === 0;
    onChange(alerts.length, all.filter((d) => d.connected).length, all.length);
  }

  return {
    async load() {
      const response = await fetch(section.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      devices.clear();
      for (const device of data.devices) devices.set(device.id, device);
      render();
    },
    presence(payload) {
      const device = devices.get(payload.device_id);
      if (!device) return;
      Object.assign(device, { connected: payload.connected, since: payload.since, seen: payload.since !== null });
      render();
    },
    printer(payload) {
      const device = devices.get(payload.device_id);
      if (!device || !device.printer) return;
      Object.assign(device.printer, { status: payload.status, detail: payload.detail, at: payload.at });
      render();
    },
  };
}
