// The JSON API (docs/dashboard.md). Every call carries the URL's time range and filters; the token,
// when the server wants one, travels as the cookie that opening a page with ?token=T sets.
import { scope } from "./state.js";

export class ApiError extends Error {
  constructor(status, message, position = null) {
    super(message);
    this.status = status;
    this.position = position;
  }
}

const TOKEN_HELP = "This dashboard needs an access token. Open it once with ?token=YOUR_TOKEN at the end of "
  + "the address (the server then keeps it in a cookie), or ask whoever runs `flowlake serve --token`.";

// `extra` values may be lists: a list becomes a repeated key (by=srcaddr&by=dstaddr).
export function url(path, extra = {}, scoped = true) {
  const query = scoped ? scope() : new URLSearchParams();
  for (const [key, value] of Object.entries(extra)) {
    for (const v of [value].flat()) if (v !== null && v !== undefined) query.append(key, String(v));
  }
  const text = query.toString();
  return path + (text ? `?${text}` : "");
}

// FastAPI answers {"detail": "..."}, {"detail": {"error", "position"}} or a list of field errors.
function describe(status, body) {
  if (status === 401) return new ApiError(401, TOKEN_HELP);
  const detail = body && body.detail;
  if (typeof detail === "string") return new ApiError(status, detail);
  if (detail && typeof detail === "object" && !Array.isArray(detail)) {
    return new ApiError(status, detail.error || JSON.stringify(detail), detail.position ?? null);
  }
  if (Array.isArray(detail)) {
    return new ApiError(status, detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; "));
  }
  return new ApiError(status, `the server answered ${status}`);
}

// `scoped: false` leaves the time range and filters out (saved queries do not depend on them).
export async function request(method, path, { extra = {}, body, signal, raw = false, scoped = true } = {}) {
  let response;
  try {
    response = await fetch(url(path, extra, scoped), {
      method,
      signal,
      cache: "no-store",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached. Is `flowlake serve` still running?");
  }
  if (!response.ok) {
    const text = await response.text();
    let parsed = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text.slice(0, 300) || undefined };
    }
    throw describe(response.status, parsed);
  }
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

export const get = (path, extra, signal) => request("GET", path, { extra, signal });
export const post = (path, body, signal) => request("POST", path, { body, signal });

// A dimension's value as shown: with its name when the API gives one (443 https, 6 TCP).
export function dimensionLabel(dimension, value, name) {
  if (value === null || value === undefined) return "(none)";
  return name && String(name) !== String(value) ? `${value} ${name}` : String(value);
}
