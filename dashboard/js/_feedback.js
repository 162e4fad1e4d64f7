// Today's citizen ratings that were not satisfied, on the live page (managers only): loaded from
// /dashboard/api/negative-ratings on each snapshot, then one row added per `rating.negative` event as it
// arrives. Comments and reasons are set as text, never as HTML.
const SCORE_KEYS = { very_satisfied: "Very satisfied", satisfied: "Satisfied", neutral: "Neutral", unsatisfied: "Unsatisfied" };

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

function rowOf(rating, S) {
  const tr = document.createElement("tr");
  tr.dataset.ticket = String(rating.ticket_id);
  const counter = rating.counter ? rating.counter.name || String(rating.counter.number) : "";
  tr.append(
    cell(rating.time), cell(rating.display_number), cell(counter), cell(rating.clerk),
    cell(S[SCORE_KEYS[rating.score]] || rating.score), cell((rating.reasons || []).join("; ")), cell(rating.comment),
  );
  return tr;
}

/** The negative-ratings panel, or null when the page has none (a clerk's live page). */
export function feedbackPanel(S) {
  const section = document.getElementById("negative");
  if (!section) return null;
  const body = section.querySelector("tbody");
  const empty = document.getElementById("negative-empty");
  const seen = new Set();
  const add = (rating, first) => {
    if (seen.has(rating.ticket_id)) return;
    seen.add(rating.ticket_id);
    if (first) body.prepend(rowOf(rating, S));
    else body.append(rowOf(rating, S));
    empty.hidden = true;
  };
  return {
    async load() {
      const response = await fetch(section.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      for (const rating of data.ratings) add(rating, false);
    },
    arrived: (rating) => add(rating, true),
  };
}
