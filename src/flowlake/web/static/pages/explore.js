// Explore: any metric split by any dimensions, as a time graph (/api/timeseries) or as bars, a table
// or a sankey of the top combinations (/api/top). Clicks filter on the clicked values, keyed by
// column name (pkt_srcaddr=...).
import * as api from "../api.js";
import * as charts from "../charts.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, segmented, select, table } from "../ui.js";

const METRICS = [["bytes", "Bytes"], ["packets", "Packets"], ["flows", "Flows"]];
const UNITS = [["total", "Total"], ["rate", "Per second"]];
const GRAPHS = [["area", "Stacked area"], ["lines", "Lines"], ["percent", "100 % stacked"], ["bars", "Bars"],
  ["table", "Table"], ["sankey", "Sankey"]];
const TIME_GRAPHS = new Set(["area", "lines", "percent"]);
const LIMITS = [5, 10, 15, 20, 30, 50].map((n) => [String(n), String(n)]);
const DEFAULTS = { metric: "bytes", unit: "total", by: ["srcaddr"], graph: "area", limit: "10" };

function view() {
  const by = state.getAll("by").filter(Boolean);
  return {
    metric: state.get("metric") || DEFAULTS.metric,
    unit: state.get("unit") || DEFAULTS.unit,
    by: by.length ? by : DEFAULTS.by,
    graph: state.get("graph") || DEFAULTS.graph,
    limit: state.get("limit") || DEFAULTS.limit,
    previous: state.get("previous") === "true",
  };
}

const set = (key, value) => state.settle({ [key]: value }, DEFAULTS);

const capitalize = (text) => text[0].toUpperCase() + text.slice(1);
const label = (d, row) => api.dimensionLabel(d, row[d], row[`${d}_name`]);

export function mount(root, { meta }) {
  const panel = h("aside", { class: "panel explore-panel", "data-testid": "explore-controls" });
  const main = card({ title: "Explore", testid: "explore-chart", cls: "explore-main",
    info: "Click a series, bar, node or cell to filter on it; drag across a time graph to zoom." });
  const details = card({ title: "Values", chart: false, testid: "explore-table", cls: "explore-details" });
  root.replaceChildren(h("div", { class: "explore" }, panel, h("div", { class: "explore-body" }, main.root, details.root)));

  function controls(v) {
    const isTime = TIME_GRAPHS.has(v.graph);
    const chosen = h("div", { class: "dims" }, v.by.map((d, i) => h("span", { class: "chip dim", "data-testid": "dimension-chip", "data-value": d },
      h("span", { class: "chip-value" }, `${i + 1}. ${d}`),
      h("button", {
        type: "button", class: "chip-x", "aria-label": `Remove dimension ${d}`, disabled: v.by.length === 1,
        title: v.by.length === 1 ? "At least one dimension" : `Remove ${d}`,
        onclick: () => set("by", v.by.filter((x) => x !== d)),
      }, "×"))));
    const add = select([["", "+ Add dimension…"], ...meta.dimensions.filter((d) => !v.by.includes(d)).map((d) => [d, d])], "",
      (d) => d && set("by", [...v.by, d]), { "aria-label": "Add dimension", "data-testid": "dimension-add" });
    const previous = h("input", {
      type: "checkbox", checked: v.previous, disabled: !isTime || v.graph === "percent", "data-testid": "explore-previous",
      onchange: () => state.update({ previous: previous.checked ? "true" : null }),
    });
    panel.replaceChildren(
      field("Metric", segmented(METRICS, v.metric, (m) => set("metric", m), { "data-testid": "explore-metric", title: fmt.UNIT_NOTE })),
      field("Unit", segmented(UNITS, v.unit, (u) => set("unit", u), { "data-testid": "explore-unit" }),
        isTime ? null : "Per second applies to time graphs."),
      field("Dimensions", [chosen, add]),
      field("Graph", segmented(GRAPHS.map(([g, text]) => [g, text, { disabled: g === "sankey" && v.by.length < 2,
        title: g === "sankey" && v.by.length < 2 ? "Sankey needs two or more dimensions" : null }]),
      v.graph, (g) => set("graph", g), { class: "seg seg-grid", "data-testid": "explore-graph" })),
      field("Top", select(LIMITS, v.limit, (n) => set("limit", n), { "data-testid": "explore-limit" }),
        isTime ? "Series past the top are summed into Other." : null),
      field("Compare", h("label", { class: "check" }, previous, " Previous period (dashed)")));
  }

  async function drawTime(v, signal) {
    const data = await api.get("/api/timeseries", { metric: v.metric, unit: v.unit, by: v.by, limit: v.limit, previous: v.previous }, signal);
    if (!data.series.length) return main.empty();
    main.title(v.unit === "rate"
      ? `${capitalize(v.metric)} per second by ${v.by.join(", ")} (averaged over ${data.bucket})`
      : `${capitalize(v.metric)} per ${data.bucket} by ${v.by.join(", ")}`);
    await charts.drawTimeseries(main.body, data, {
      graph: v.graph, previous: v.previous,
      pick: (key) => state.addFilters(Object.entries(key)),
      zoom: (range) => state.setTimeRange(range),
    });
    const count = charts.buckets(data).length || 1;
    const rows = data.series.map((s) => {
      const sum = s.points.reduce((acc, p) => acc + p[1], 0);
      return { series: s.name, key: s.key, total: sum, average: sum / count, peak: Math.max(...s.points.map((p) => p[1])) };
    });
    const value = (n) => fmt.metric(n, v.metric, v.unit);
    details.body.replaceChildren(table({
      testid: "explore-values",
      columns: [{ key: "series", label: "Series", pick: true },
        ...(v.unit === "rate" ? [] : [{ key: "total", label: "Total", numeric: true, format: value }]),
        { key: "average", label: `Average per ${v.unit === "rate" ? "second" : data.bucket}`, numeric: true, format: value },
        { key: "peak", label: "Peak", numeric: true, format: value }],
      rows,
      pick: (_, row) => state.addFilters(Object.entries(row.key)),
    }));
  }

  async function drawTop(v, signal) {
    const data = await api.get("/api/top", { metric: v.metric, by: v.by, limit: v.limit }, signal);
    if (!data.rows.length) return main.empty();
    main.title(`Top ${v.limit} ${v.by.join(" · ")} by ${v.metric}`);
    const rowFilters = (row) => state.addFilters(v.by.map((d) => [d, row[d]]));
    const rows = data.rows.map((r) => ({ ...r, share: r[v.metric] / (data.total[v.metric] || 1) }));
    const grid = table({
      testid: "explore-top",
      columns: [...v.by.map((d) => ({ key: d, pick: true, format: (_, row) => label(d, row) })),
        ...METRICS.map(([m, text]) => ({ key: m, label: text, numeric: true, title: fmt.UNIT_NOTE, format: (n) => fmt.amount(n, m) })),
        { key: "share", label: `Share of ${v.metric}`, numeric: true, format: (x) => fmt.percent(x) }],
      rows,
      pick: (col, row) => state.addFilters([[col.key, row[col.key]]]),
    });
    if (v.graph === "table") {
      window.Plotly?.purge(main.body);
      main.body.classList.add("as-table");
      main.body.replaceChildren(grid);
      details.root.hidden = true;
      return;
    }
    if (v.graph === "sankey") {
      if (v.by.length < 2) return main.empty("A sankey needs two or more dimensions: add one on the left.");
      await charts.drawSankey(main.body, data.rows, { dims: v.by, metric: v.metric, label, pick: state.addFilters });
    } else {
      await charts.drawBars(main.body, data.rows, {
        label: (row) => v.by.map((d) => label(d, row)).join(" · "), metric: v.metric, pick: rowFilters,
      });
    }
    details.body.replaceChildren(grid);
  }

  return {
    title: "Explore",
    async load(signal) {
      const v = view();
      controls(v);
      details.root.hidden = false;
      // A table left by the Table graph goes; a chart stays until its replacement is drawn over it.
      if (main.body.classList.contains("as-table")) {
        main.body.classList.remove("as-table");
        main.body.replaceChildren();
      }
      await fill(main, async () => {
        const drawn = await (TIME_GRAPHS.has(v.graph) ? drawTime(v, signal) : drawTop(v, signal)).catch((err) => {
          details.root.hidden = true;
          throw err;
        });
        if (drawn === false) details.root.hidden = true;
        return drawn;
      });
    },
  };
}

function field(title, content, hint) {
  return h("div", { class: "field" }, h("div", { class: "field-label" }, title), content, hint ? h("p", { class: "hint" }, hint) : null);
}
