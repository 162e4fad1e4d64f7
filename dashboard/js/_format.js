// Numbers and times on the manager pages, written the page language's way (Vietnamese: 1.234 and 1,8 and
// 100,0%), as Babel writes them on the server-rendered pages and in the PDF (server/stats/numbers.py).
const LOCALE = document.documentElement.lang === "en" ? "en-GB" : "vi-VN";
const ONE_DECIMAL = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const WHOLE = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });
const PERCENT = new Intl.NumberFormat(LOCALE, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
const CLOCK = new Intl.DateTimeFormat(LOCALE, { hour: "2-digit", minute: "2-digit", timeZone: "Asia/Ho_Chi_Minh" });

const missing = (value) => value === null || value === undefined;

/** Seconds → minutes with one decimal ("1,8"); "–" when there is no figure. */
export const minutes = (seconds) => (missing(seconds) ? "–" : ONE_DECIMAL.format(seconds / 60));
/** A share 0…1 → "95,5%". */
export const percent = (share) => (missing(share) ? "–" : PERCENT.format(share));
/** A count → "1.234". */
export const count = (value) => (missing(value) ? "–" : WHOLE.format(value));
/** An ISO instant → "14:05" in the centre's time zone. */
export const timeOf = (iso) => (iso ? CLOCK.format(new Date(iso)) : "");
