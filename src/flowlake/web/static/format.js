// Human units and times. Sizes use decimal (SI) prefixes, as network tools count traffic.
import { isLocalTime } from "./state.js";

export const UNIT_NOTE = "Decimal (SI) units: 1 kB = 1000 bytes, 1 MB = 1000 kB, 1 GB = 1000 MB; "
  + "packets and flows: k, M, G = thousand, million, billion.";

const PREFIXES = ["", "k", "M", "G", "T", "P", "E"];

function scaled(n) {
  let value = Math.abs(n);
  let i = 0;
  while (value >= 999.5 && i < PREFIXES.length - 1) {
    value /= 1000;
    i += 1;
  }
  return [Math.sign(n) * value, PREFIXES[i]];
}

// Three significant digits, no trailing zeros: 1.23, 12.3, 123.
const sig = (v) => String(Number(v.toPrecision(3)));

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const [v, prefix] = scaled(Number(n));
  return `${sig(v)} ${prefix}B`;
}

export function count(n) {
  if (n === null || n === undefined) return "–";
  const [v, prefix] = scaled(Number(n));
  return prefix ? `${sig(v)}${prefix}` : sig(v);
}

// A number under a column that already names the metric: bytes in B units, the rest as counts.
export const amount = (value, name) => (name === "bytes" ? bytes(value) : count(value));

export function metric(value, name, unit = "total") {
  const suffix = unit === "rate" ? "/s" : "";
  if (name === "bytes") return bytes(value) + suffix;
  return `${count(value)} ${name === "packets" ? "pkt" : "flows"}${suffix}`;
}

export const integer = (n) => (n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"));
export const percent = (x, digits = 1) => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)} %` : "–");

// Change against the period before: relative for amounts, in percentage points for shares.
export function change(now, before, { points = false } = {}) {
  if (points) {
    const d = (now - before) * 100;
    if (!Number.isFinite(d) || Math.abs(d) < 0.05) return { text: "±0 pp", trend: "flat" };
    return { text: `${d > 0 ? "▲" : "▼"} ${Math.abs(d).toFixed(1)} pp`, trend: d > 0 ? "up" : "down" };
  }
  if (!before) return { text: now ? "new" : "±0 %", trend: now ? "up" : "flat" };
  const r = (now - before) / before;
  if (Math.abs(r) < 0.0005) return { text: "±0 %", trend: "flat" };
  return { text: `${r > 0 ? "▲" : "▼"} ${Math.abs(r * 100).toFixed(1)} %`, trend: r > 0 ? "up" : "down" };
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

// Numbers (Unix seconds, as in the `start`/`end` columns) or ISO strings.
export const toDate = (value) => (typeof value === "number" ? new Date(value * 1000) : new Date(value));

function wallClock(date) {
  const local = isLocalTime();
  return local
    ? [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds()]
    : [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(),
      date.getUTCSeconds()];
}

// "2026-11-27 14:05:03" in the chosen zone. Plotly reads the same text as wall time, so charts
// built from it follow the UTC/local switch.
export function time(value, { seconds = true } = {}) {
  if (value === null || value === undefined || value === "") return "–";
  const date = toDate(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const [y, mo, d, h, mi, s] = wallClock(date);
  return `${y}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}${seconds ? `:${pad(s)}` : ""}`;
}

export function clock(date) {
  const [, , , h, mi, s] = wallClock(date);
  return `${pad(h)}:${pad(mi)}:${pad(s)}`;
}

export const zoneName = () => (isLocalTime() ? Intl.DateTimeFormat().resolvedOptions().timeZone : "UTC");

// Wall time in the chosen zone ("2026-11-27 14:05", "2026-11-27T14:05:30.5") to an ISO UTC instant.
export function fromWallClock(text) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d)(?::(\d\d))?/.exec(String(text));
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v || 0));
  const date = isLocalTime() ? new Date(y, mo - 1, d, h, mi, s) : new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:00Z$/, "Z");
}

// The value a datetime-local input shows for an instant, in the chosen zone.
export const inputValue = (value) => (value ? time(value, { seconds: false }).replace(" ", "T") : "");

export function ago(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
