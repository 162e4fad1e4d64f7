// Finding a procedure (a service) by its name on the kiosk, with or without Vietnamese accents:
// "ly lich tu phap" finds "Cấp phiếu lý lịch tư pháp", "can cuoc" finds "Căn cước, cư trú".

/** Lower case, no accents or tone marks, đ as d, single spaces: the form both sides are compared in. */
export function plain(text) {
  return String(text || "")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/[đĐ]/g, "d")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/**
 * The services whose name (either language) or agency name holds every word of `query` at the start of one of its
 * words, best first: the service's own name before its agency's, then names that start with the query.
 * `agencies`: [{name, name_en, services: [{name, name_en, …}]}]. Returns [{agency, service}].
 */
export function findServices(agencies, query) {
  const words = plain(query).split(" ").filter(Boolean);
  if (!words.length) return [];
  const found = [];
  for (const agency of agencies) {
    const agencyWords = plain(`${agency.name} ${agency.name_en || ""}`).split(" ");
    for (const service of agency.services) {
      const own = plain(`${service.name} ${service.name_en || ""}`).split(" ");
      const all = [...own, ...agencyWords];
      if (!words.every((word) => all.some((w) => w.startsWith(word)))) continue;
      const inOwn = words.every((word) => own.some((w) => w.startsWith(word)));
      const starts = plain(service.name).startsWith(words.join(" "));
      found.push({ agency, service, rank: (inOwn ? 0 : 2) + (starts ? 0 : 1) });
    }
  }
  return found.sort((a, b) => a.rank - b.rank).map(({ agency, service }) => ({ agency, service }));
}

// The on-screen keyboard: Latin letters, then the Vietnamese ones (tone marks are not needed: the search ignores them).
export const KEYBOARD_ROWS = [
  [..."qwertyuiop"],
  [..."asdfghjkl", "đ"],
  [..."zxcvbnm", "ă", "â", "ê"],
  ["ô", "ơ", "ư"],
];
