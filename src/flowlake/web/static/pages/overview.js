// Overview: totals against the previous period, traffic over time, top talkers, ports, protocols,
// accounts and regions, and capture health. Every chart drills down into a filter.
import * as api from "../api.js";
import * as charts from "../charts.js";
import { shortKey } from "../filters.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, segmented } from "../ui.js";

const DEFAULTS = { metric: "bytes", stack: "action" };
const METRICS = [["bytes", "Bytes"], ["packets", "Packets"], ["flows", "Flows"]];
const STACKS = [["action", "Action"], ["protocol", "Protocol"], ["flow_direction", "Direction"]];

const TOTALS = [
  { id: "bytes", label: "Bytes", text: (c) => fmt.bytes(c.bytes) },
  { id: "packets", label: "Packets", text: (c) => fmt.count(c.packets) },
  { id: "flows", label: "Flows", text: (c) => fmt.count(c.flows) },
  { id: "accepted", label: "Accepted", share: true, info: "Share of the flows with an action that were accepted" },
  { id: "rejected", label: "Rejected", share: true, info: "Share of the flows with an action that were rejected" },
  { id: "interfaces", label: "Active interfaces", text: (c) => fmt.integer(c.interfaces) },
];

// Top lists: what to ask /api/top for, and which filter keys a clicked row adds (docs/dashboard.md).
const TOPS = [
  { id: "top-sources", title: "Top sources", by: ["srcaddr"], keys: ["src"] },
  { id: "top-destinations", title: "Top destinations", by: ["dstaddr"], keys: ["dst"] },
  { id: "top-pairs", title: "Top pairs", by: ["srcaddr", "dstaddr"], keys: ["src", "dst"], join: " → " },
  { id: "top-ports", title: "Top destination ports", by: ["dstport"], keys: ["dstport"] },
  { id: "accounts", title: "Accounts and regions", by: ["account_id", "region"], keys: ["account", "region"] },
];

const share = (c, id) => c[id] / ((c.accepted + c.rejected) || 1);
const rowLabel = (by, join = " · ") => (row) => by.map((d) => api.dimensionLabel(d, row[d], row[`${d}_name`])).join(join);

export function mount(root) {
  const metric = () => state.get("metric") || DEFAULTS.metric;
  const stack = () => state.get("stack") || DEFAULTS.stack;

  const totals = TOTALS.map((t) => {
    const value = h("div", { class: "stat-value", "data-testid": `total-${t.id}` }, "…");
    const delta = h("div", { class: "stat-delta" });
    const el = h("section", { class: "stat", "data-stat": t.id }, h("div", { class: "stat-label", title: t.info || null }, t.label), value, delta);
    return { ...t, el, value, delta };
  });

  const metricTools = h("span", {});
  const stackTools = h("span", {});
  const bandTools = h("span", {});
  const bandNote = h("span", { class: "health-note", "data-testid": "timeseries-band-note" });
  const series = card({ title: "Traffic over time", testid: "chart-timeseries", cls: "area-ts tall", tools: [bandTools, stackTools],
    info: "Drag across the chart to zoom into a time range; click a series or its legend entry to filter on it." });
  const protocols = card({ title: "Protocols", testid: "chart-protocols", cls: "area-proto tall" });
  const healthNote = h("span", { class: "health-note" });
  const health = card({ title: "Capture health", testid: "health-strip", cls: "area-health strip", tools: [healthNote],
    info: "Per hour: green when every record was OK, grey with NODATA records (no traffic), orange with SKIPDATA (records AWS skipped)." });
  const tops = TOPS.map((t) => ({ ...t, card: card({ title: t.title, testid: `chart-${t.id}`, cls: `area-${t.id}` }) }));

  const findingsLink = h("a", { class: "findings-count", "data-testid": "overview-findings",
    onclick: (ev) => { ev.preventDefault(); state.navigate("/findings"); } });
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Overview"), h("div", { class: "page-tools" }, findingsLink,
      h("span", { class: "toolbar-label" }, "Rank by"), metricTools)),
    h("div", { class: "stats", "data-testid": "totals" }, totals.map((t) => t.el)),
    h("div", { class: "overview-grid" }, series.root, protocols.root, health.root, tops.map((t) => t.card.root)));

  async function loadTotals(signal) {
    totals.forEach((t) => t.el.classList.add("is-loading"));
    try {
      const data = await api.get("/api/summary", {}, signal);
      for (const t of totals) drawTotal(t, data);
    } catch (err) {
      if (err.name === "AbortError") return;
      for (const t of totals) {
        t.value.textContent = "–";
        t.delta.textContent = err.message;
        t.delta.className = "stat-delta error";
      }
    } finally {
      totals.forEach((t) => t.el.classList.remove("is-loading"));
    }
  }

  function drawTotal(t, { current, before, previous }) {
    const since = `vs ${fmt.time(previous.start, { seconds: false })} → ${fmt.time(previous.end, { seconds: false })}`;
    t.value.dataset.value = String(current[t.id]);
    if (t.share) {
      t.value.dataset.share = String(share(current, t.id));
      t.value.textContent = fmt.percent(share(current, t.id));
      t.value.title = `${fmt.integer(current[t.id])} flows`;
    } else {
      t.value.textContent = t.text(current);
      t.value.title = `${fmt.integer(current[t.id])} (${fmt.UNIT_NOTE})`;
    }
    const delta = t.share ? fmt.change(share(current, t.id), share(before, t.id), { points: true }) : fmt.change(current[t.id], before[t.id]);
    t.delta.textContent = `${delta.text} vs previous`;
    t.delta.className = `stat-delta ${delta.trend} ${t.id === "rejected" ? "bad-up" : ""}`;
    t.delta.title = `${since} ${fmt.zoneName()}: ${t.share ? fmt.percent(share(before, t.id)) : fmt.integer(before[t.id])}`;
  }

  const loadSeries = (signal) => fill(series, async () => {
    const data = await api.get("/api/timeseries", { metric: metric(), by: stack(), limit: 10 }, signal);
    if (!data.series.length) return series.empty();
    series.title(`Traffic over time · ${data.metric} per ${data.bucket}`);
    await charts.drawTimeseries(series.body, data, {
      graph: "area",
      pick: (key) => state.addFilters(Object.entries(key).map(([column, value]) => [shortKey(column), value])),
      zoom: (range) => state.setTimeRange(range),
    });
    if (state.get("band") !== "1") return true;
    const band = await api.get("/api/forecast/band", { metric: metric(), seconds: data.seconds }, signal);
    bandNote.textContent = band.reason ? `no expected band: ${band.reason}` : "";
    if (band.points.length) await charts.addBand(series.body, band.points, { metric: metric(), level: band.level });
    return true;
  });

  const loadProtocols = (signal) => fill(protocols, async () => {
    const data = await api.get("/api/top", { by: "protocol", metric: metric(), limit: 8 }, signal);
    if (!data.rows.length) return protocols.empty();
    await charts.drawDonut(protocols.body, data.rows, {
      label: (r) => r.protocol_name || String(r.protocol), metric: metric(),
      pick: (r) => state.addFilters([["protocol", r.protocol]]),
    });
  });

  const loadTop = (t, signal) => fill(t.card, async () => {
    const data = await api.get("/api/top", { by: t.by, metric: metric(), limit: 10 }, signal);
    if (!data.rows.length) return t.card.empty();
    await charts.drawBars(t.card.body, data.rows, {
      label: rowLabel(t.by, t.join), metric: metric(),
      pick: (row) => state.addFilters(t.by.map((d, i) => [t.keys[i], row[d]])),
    });
  });

  const loadHealth = (signal) => fill(health, async () => {
    const data = await api.get("/api/health", {}, signal);
    healthNote.replaceChildren(
      h("span", {}, `data complete up to ${fmt.time(data.complete_up_to, { seconds: false })}`),
      h("span", {}, `latest record ${fmt.time(data.last_record, { seconds: false })}`),
      h("span", { class: data.silent_interfaces ? "warn" : "" }, `${fmt.integer(data.silent_interfaces)} silent interfaces`),
      h("span", { class: "legend" }, ["ok", "nodata", "skipdata"].map((k) => h("i", { class: `swatch ${k}` }, k.toUpperCase()))));
    if (!data.hours.length) return health.empty("No records in this time range.");
    await charts.drawHealth(health.body, data.hours);
  });

  // The findings `flowlake findings` stored for this range, most severe first, linking to their page.
  async function loadFindings(signal) {
    findingsLink.href = state.hrefFor("/findings");
    try {
      const data = await api.get("/api/findings", {}, signal);
      const worst = data.severities.find((s) => s.count);
      findingsLink.dataset.total = String(data.total);
      findingsLink.textContent = `${fmt.integer(data.total)} findings${worst ? ` · ${fmt.integer(worst.count)} ${worst.severity}` : ""}`;
      findingsLink.className = `findings-count ${worst ? worst.severity : ""}`;
    } catch (err) {
      if (err.name !== "AbortError") findingsLink.textContent = `findings: ${err.message}`;
    }
  }

  return {
    title: "Overview",
    async load(signal) {
      metricTools.replaceChildren(segmented(METRICS, metric(), (m) => state.settle({ metric: m }, DEFAULTS),
        { "data-testid": "overview-metric", title: fmt.UNIT_NOTE }));
      stackTools.replaceChildren(segmented(STACKS, stack(), (s) => state.settle({ stack: s }, DEFAULTS),
        { "data-testid": "timeseries-stack", "aria-label": "Stack by" }));
      const toggle = h("input", { type: "checkbox", checked: state.get("band") === "1", "data-testid": "timeseries-band",
        onchange: () => state.update({ band: toggle.checked ? "1" : null }) });
      bandTools.replaceChildren(h("label", { class: "check", title: "The band the forecast model expects, learnt from the 28 days before this range" },
        toggle, " Expected"), bandNote);
      await Promise.all([loadTotals(signal), loadFindings(signal), loadSeries(signal), loadProtocols(signal), loadHealth(signal),
        ...tops.map((t) => loadTop(t, signal))]);
    },
  };
}
