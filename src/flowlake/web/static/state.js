// The whole view lives in the address bar: the path names the page, the query string holds the time
// range, the filters and each page's settings. Everything reads from here and writes back here, so
// a copied URL reopens the same view.

const GLOBAL_KEYS = ["since", "from", "to", "refresh", "tz"];
const PAGE_KEYS = {
  "/": ["stack", "metric", "band"],
  "/explore": ["metric", "unit", "by", "graph", "limit", "previous"],
  "/flows": ["page", "size", "sort", "order"],
  "/sql": ["q", "limit", "graph"],
  "/findings": ["severity", "rule", "finding"],
  "/forecasts": ["metric", "by", "top", "history", "horizon", "series"],
  "/explain": ["client", "server", "server_port", "proto"],
};
// Never filters: the server reads the same names as API or UI settings (web/app.py API_KEYS, UI_KEYS).
const RESERVED = new Set([...GLOBAL_KEYS, ...Object.values(PAGE_KEYS).flat(), "max", "token"]);

const listeners = new Set();

export const params = () => new URLSearchParams(location.search);
export const path = () => location.pathname;
export const get = (key) => params().get(key);
export const getAll = (key) => params().getAll(key);
export const isLocalTime = () => get("tz") === "local";

// Filters are every pair that is not a setting, in URL order, so unknown-but-valid keys round-trip.
export function filters(from = params()) {
  return [...from].filter(([key, value]) => !RESERVED.has(key) && value !== "");
}

// The part of the URL that every API call shares: time range and filters.
export function scope() {
  const out = new URLSearchParams();
  const current = params();
  for (const key of ["since", "from", "to"]) if (current.get(key)) out.set(key, current.get(key));
  for (const [key, value] of filters(current)) out.append(key, value);
  return out;
}

function write(pathname, query, push) {
  const text = query.toString();
  const url = pathname + (text ? `?${text}` : "");
  if (url === location.pathname + location.search) return false;
  history[push ? "pushState" : "replaceState"](null, "", url);
  listeners.forEach((fn) => fn());
  return true;
}

// Changes query parameters: `changes` maps a key to a value, a list (repeated key) or null (removed).
// Returns whether the URL changed.
export function update(changes, { push = true } = {}) {
  const query = params();
  for (const [key, value] of Object.entries(changes)) {
    query.delete(key);
    for (const v of [value].flat()) if (v !== null && v !== undefined && v !== "") query.append(key, String(v));
  }
  return write(location.pathname, query, push);
}

// Page settings: a value equal to its default leaves the URL, so plain views keep short addresses.
export function settle(changes, defaults) {
  return update(Object.fromEntries(Object.entries(changes).map(([key, value]) => [
    key, String(value) === String(defaults[key]) ? null : value])));
}

// A changed filter set or time range moves the Flows page back to its first page.
export const addFilter = (key, value) => addFilters([[key, value]]);

export function addFilters(pairs) {
  const query = params();
  for (const [key, value] of pairs) {
    if (value !== null && value !== undefined && !query.getAll(key).includes(String(value))) query.append(key, String(value));
  }
  query.delete("page");
  return write(location.pathname, query, true);
}

export function removeFilter(key, value) {
  const query = params();
  const kept = query.getAll(key).filter((v) => v !== value);
  query.delete(key);
  kept.forEach((v) => query.append(key, v));
  query.delete("page");
  return write(location.pathname, query, true);
}

export function setTimeRange(range) {
  const query = params();
  ["since", "from", "to", "page"].forEach((key) => query.delete(key));
  for (const [key, value] of Object.entries(range)) if (value) query.set(key, value);
  return write(location.pathname, query, true);
}

// Another page keeps the time range, filters, refresh and time zone, and drops the old page's settings.
function carried() {
  const query = new URLSearchParams();
  for (const [key, value] of params()) if (!RESERVED.has(key) || GLOBAL_KEYS.includes(key)) query.append(key, value);
  return query;
}

export const navigate = (pathname) => write(pathname, carried(), true);

export function hrefFor(pathname) {
  const text = carried().toString();
  return pathname + (text ? `?${text}` : "");
}

export function onChange(fn) {
  listeners.add(fn);
}

window.addEventListener("popstate", () => listeners.forEach((fn) => fn()));
