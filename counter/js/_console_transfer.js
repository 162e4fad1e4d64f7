// The transfer dialog: the clerk picks an agency, then one of its services (not the ticket's own).
import { $, t } from "./_common.js";

/** Opens the dialog over `state` (services, agencies, current ticket); `onPick(code)` gets the chosen service. */
export function openTransfer(state, onPick) {
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
        onPick(service.code);
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
