// The console's keyboard: which key is which action, and when a key press is not a shortcut at all.
export const SHORTCUTS = {
  " ": "next", Enter: "next", F1: "next",
  r: "recall", s: "start", f: "finish", n: "no-show", t: "transfer", h: "hold", p: "pause",
};

function typing(target) {
  return target instanceof HTMLElement
    && (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable);
}

export function shortcutFor(event) {
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
