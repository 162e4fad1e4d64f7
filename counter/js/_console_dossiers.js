// The dossier-code field of the console: the clerk types or scans the one-stop software's dossier code (mã hồ
// sơ) of the citizen at the counter and presses Enter (or Add); several codes may be attached to one ticket.
// POST /api/v1/counters/<id>/dossiers answers with all of the ticket's codes, listed under the field. The code
// names the ticket it is for: if another console has moved the counter on, the server refuses (ticket_changed)
// and `onTicketChanged(error)` lets the console say so and read the counter again (which empties this field).
import { $, api, showMessage } from "./_common.js";

export function dossierField(counterId, { onTicketChanged = () => {} } = {}) {
  const form = $("#dossier-form");
  const input = $("#dossier-code");
  const list = $("#dossier-list");
  const note = $("#dossier-message");
  let ticketId = null;

  function draw(codes) {
    list.replaceChildren(...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = input.value.trim();
    if (!code || ticketId === null) return;
    try {
      const body = { ticket_id: ticketId, dossiers: [code] };
      const data = await api("POST", `/api/v1/counters/${counterId}/dossiers`, body);
      draw(data.dossiers);
      input.value = "";
      note.hidden = true;
    } catch (error) {
      if (error.code === "ticket_changed") onTicketChanged(error);
      else showMessage(note, error.message, true);
    }
  });

  return {
    /** The citizen at the counter changed (or not): a new one starts with an empty list. */
    sync(current) {
      const id = current ? current.id : null;
      input.disabled = id === null;
      form.querySelector("button").disabled = id === null;
      if (id === ticketId) return;
      ticketId = id;
      input.value = "";
      note.hidden = true;
      draw([]);
    },
  };
}
