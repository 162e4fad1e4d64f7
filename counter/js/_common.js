// What every clerk page shares: the page's strings, the REST caller (session cookie + CSRF token) and messages.
export const STRINGS = JSON.parse(document.getElementById("luot-strings").textContent);
export const LANG = document.documentElement.lang || "vi";
export const $ = (selector) => document.querySelector(selector);

export function fill(text, params = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

export function t(key, params) {
  return fill(STRINGS[key] ?? key, params);
}

/** Keeps an explicit ?lang= when moving between the surface's pages. */
export function withLang(path) {
  const lang = new URLSearchParams(window.location.search).get("lang");
  return lang ? `${path}${path.includes("?") ? "&" : "?"}lang=${encodeURIComponent(lang)}` : path;
}

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/** A JSON call; a refusal becomes an ApiError carrying the server's message in the page language. */
export async function api(method, url, body) {
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

export function showMessage(element, text, isError = false) {
  element.textContent = text || "";
  element.classList.toggle("error", Boolean(isError));
  element.hidden = !text;
}

let leaving = false;

/**
 * Goes to `url` once: a second navigation while the page is already leaving (a state read answered 401 after the
 * sign-out it raced with, say) would abort the first.
 */
export function leave(url) {
  if (leaving) return;
  leaving = true;
  window.location.assign(url);
}

export async function signOut(message) {
  try {
    await api("POST", "/api/v1/auth/logout", {});
    leave(withLang("/counter/login"));
  } catch (error) {
    showMessage(message, error.message, true);
  }
}
