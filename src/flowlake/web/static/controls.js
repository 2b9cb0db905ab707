// The controls every page shares: time range, time zone, auto-refresh, and how fresh the data is.
import * as fmt from "./format.js";
import * as state from "./state.js";
import { h, segmented, select } from "./ui.js";

export const REFRESH = [["", "Off"], ["10s", "10 s"], ["30s", "30 s"], ["1m", "1 min"], ["5m", "5 min"]];
const SECONDS = { s: 1, m: 60 };

export const refreshSeconds = (value = state.get("refresh")) => {
  const m = /^(\d+)([sm])$/.exec(value || "");
  return m ? Number(m[1]) * SECONDS[m[2]] : 0;
};

let presets;
let els;

export function mountControls(root, info) {
  presets = info.presets?.length ? info.presets : ["15m", "1h", "6h", "24h", "7d", "30d"];
  els = {
    time: root.querySelector("#time-picker"),
    tz: root.querySelector("#tz"),
    refresh: root.querySelector("#refresh"),
    freshness: root.querySelector("#freshness"),
    updated: root.querySelector("#last-updated"),
  };
  renderControls();
}

export function renderControls() {
  renderTime();
  els.tz.replaceChildren(segmented([["utc", "UTC"], ["local", "Local"]], state.isLocalTime() ? "local" : "utc",
    (tz) => state.update({ tz: tz === "local" ? "local" : null }, { push: false }),
    { "aria-label": "Time zone", "data-testid": "tz-switch" }));
  els.refresh.replaceChildren(h("span", { class: "toolbar-label" }, "Refresh"),
    select(REFRESH, state.get("refresh") || "", (value) => state.update({ refresh: value || null }, { push: false }),
      { "aria-label": "Auto-refresh", "data-testid": "refresh-select" }));
}

function renderTime() {
  const from = state.get("from");
  const to = state.get("to");
  const since = from || to ? null : state.get("since") || "24h";
  const custom = !since;
  const options = [...presets];
  if (since && !options.includes(since)) options.push(since);
  const range = custom ? `${from ? fmt.time(from, { seconds: false }) : "…"} → ${to ? fmt.time(to, { seconds: false }) : "now"}` : "Custom";
  const start = h("input", { type: "datetime-local", value: fmt.inputValue(from || defaultFrom(since)), "data-testid": "time-from", required: true });
  const end = h("input", { type: "datetime-local", value: fmt.inputValue(to || new Date().toISOString()), "data-testid": "time-to" });
  const panel = h("form", { class: "time-custom", hidden: true, "data-testid": "time-custom" },
    h("label", {}, "From ", start), h("label", {}, "To ", end),
    h("span", { class: "muted" }, fmt.zoneName()),
    h("button", { type: "submit", class: "primary" }, "Apply"));
  panel.addEventListener("keydown", (ev) => ev.key === "Escape" && toggle.click());
  panel.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const chosen = { from: fmt.fromWallClock(start.value), to: end.value ? fmt.fromWallClock(end.value) : null };
    if (chosen.from) state.setTimeRange(chosen);
  });
  const toggle = h("button", {
    type: "button", class: "time-toggle", "aria-pressed": String(custom), "aria-expanded": "false", "data-testid": "time-custom-toggle",
    onclick: () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
    },
  }, range);
  els.time.replaceChildren(
    segmented(options.map((p) => [p, p, { title: `The last ${p}` }]), since, (p) => state.setTimeRange({ since: p }),
      { "aria-label": "Time range", "data-testid": "time-presets" }),
    toggle, panel);
}

// Where a custom range starts when switching from a preset: the preset's own start.
function defaultFrom(since) {
  const m = /^(\d+)([smhdw])$/.exec(since || "24h");
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m ? m[2] : "h"];
  return new Date(Date.now() - (m ? Number(m[1]) : 24) * unit * 1000).toISOString();
}

export function showUpdated(date) {
  els.updated.textContent = `Last updated ${fmt.clock(date)}`;
  els.updated.dataset.time = date.toISOString();
  els.updated.title = `${fmt.time(date)} ${fmt.zoneName()}`;
}

export function showStatus(status) {
  const lag = status.lag_seconds;
  els.freshness.textContent = lag === null || lag === undefined ? "no records yet" : `latest record ${fmt.ago(lag)}`;
  els.freshness.className = `freshness ${!(lag <= 3600) ? "stale" : "fresh"}`;
  els.freshness.title = [
    `${fmt.integer(status.records)} records in ${fmt.integer(status.files)} files (${fmt.bytes(status.bytes)})`,
    `latest record: ${fmt.time(status.last_record)} ${fmt.zoneName()}`,
    `last ingest: ${fmt.time(status.last_ingest)} ${fmt.zoneName()}`,
  ].join("\n");
}
