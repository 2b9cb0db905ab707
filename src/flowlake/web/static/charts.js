// Plotly charts: one look for every chart, time series, top lists, donut, sankey, and drill-down
// clicks. Each chart draws into its card's container, so `element.data` holds what it shows.
import * as fmt from "./format.js";

// Plotly (4.8 MB) loads while the page's first API calls are under way: charts wait for it, data does not.
const plotly = window.Plotly
  ? Promise.resolve(window.Plotly)
  : new Promise((resolve, reject) => {
    const script = document.getElementById("plotly-js");
    script.addEventListener("load", () => resolve(window.Plotly));
    script.addEventListener("error", () => reject(new Error("could not load /static/plotly.min.js")));
  });

const CONFIG = {
  responsive: true,
  displaylogo: false,
  showSendToCloud: false,
  displayModeBar: "hover",
  modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "hoverClosestCartesian",
    "hoverCompareCartesian", "zoomIn2d", "zoomOut2d"],
};

// Green and red mean ACCEPT and REJECT only; other series take the palette in order.
const FIXED = { ACCEPT: "#2f9e5b", REJECT: "#d9463e", ingress: "#3b7dd8", egress: "#e08a2e", Other: "#b4bbc4",
  "(none)": "#8d96a3" };
const PALETTE = ["#3b7dd8", "#e08a2e", "#8e5cc4", "#1aa3b8", "#c9a227", "#6c7ae0", "#e0609d", "#8c6d4f",
  "#4fb0c6", "#b36b00", "#5b6b8c", "#a85fa0"];

export function colorsFor(names) {
  let next = 0;
  return names.map((name) => FIXED[name] || PALETTE[next++ % PALETTE.length]);
}

function baseLayout(extra = {}) {
  const axis = { gridcolor: "#edf0f4", linecolor: "#d3d9e0", zeroline: false, automargin: true, tickfont: { size: 10 } };
  return {
    margin: { l: 8, r: 12, t: 6, b: 8 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: getComputedStyle(document.body).fontFamily, size: 11, color: "#3a4350" },
    hoverlabel: { font: { size: 11 }, namelength: -1 },
    legend: { orientation: "h", x: 0, y: -0.12, yanchor: "top", font: { size: 11 } },
    ...extra,
    xaxis: { ...axis, ...extra.xaxis },
    yaxis: { ...axis, ...extra.yaxis },
  };
}

// d3's SI prefixes on ticks (1.5k, 2G), decimals when everything is below one (rates of rare flows).
function valueAxis(metric, unit, max) {
  const suffix = { bytes: "B", packets: " pkt", flows: " flows" }[metric] + (unit === "rate" ? "/s" : "");
  return { tickformat: max >= 1 ? "~s" : "~r", ticksuffix: suffix, rangemode: "tozero", fixedrange: true };
}

async function draw(el, traces, layout) {
  await (await plotly).react(el, traces, layout, CONFIG);
}

// plotly_click and plotly_legendclick: handlers replace the previous ones, since a chart is redrawn
// in place on every refresh.
function on(el, event, handler) {
  el.removeAllListeners?.(event);
  el.on(event, handler);
}

// A time series answer (/api/timeseries) as stacked areas ("area"), 100 % stacks ("percent") or
// lines; `previous` adds the period before as dashed lines. `pick(key)` gets a clicked series' key
// (legend or plot); `zoom({from, to})` a range dragged on the time axis.
export async function drawTimeseries(el, data, { graph = "area", previous = false, pick, zoom }) {
  const grid = buckets(data);
  const colors = colorsFor(data.series.map((s) => s.name));
  const stacked = graph === "area" || graph === "percent";
  const x = grid.map((t) => fmt.time(t));
  const traces = data.series.map((s, i) => {
    const y = align(grid, s.points);
    return {
      type: "scatter", mode: "lines", name: s.name, x, y, meta: s.key,
      customdata: y.map((v) => fmt.metric(v, data.metric, data.unit)),
      hovertemplate: graph === "percent" ? "%{y:.1f} % · %{customdata}" : "%{customdata}",
      line: { color: colors[i], width: stacked ? 0.6 : 1.6, shape: "linear" },
      // Hovering (and so clicking) anywhere inside an area picks its series, not just near its edge.
      ...(stacked ? { stackgroup: "now", groupnorm: graph === "percent" ? "percent" : "", hoveron: "points+fills" } : {}),
    };
  });
  if (previous && graph !== "percent" && data.previous?.length) traces.push(...previousTraces(data, grid, x, graph, colors));
  const max = Math.max(0, ...data.series.flatMap((s) => s.points.map((p) => p[1])));
  await draw(el, traces, baseLayout({
    hovermode: "closest",
    showlegend: true,
    xaxis: { type: "date", hoverformat: "%Y-%m-%d %H:%M" },
    yaxis: graph === "percent" ? { ticksuffix: " %", range: [0, 100], fixedrange: true } : valueAxis(data.metric, data.unit, max),
  }));
  if (pick) {
    const pickTrace = (trace) => trace && trace.meta && Object.keys(trace.meta).length && pick(trace.meta);
    on(el, "plotly_click", (ev) => pickTrace(ev.points[0]?.data));
    on(el, "plotly_legendclick", (ev) => {
      pickTrace(ev.data[ev.curveNumber]);
      return false;
    });
  }
  if (zoom) {
    on(el, "plotly_relayout", (ev) => {
      const [from, to] = [ev["xaxis.range[0]"], ev["xaxis.range[1]"]].map(fmt.fromWallClock);
      if (from && to) zoom({ from, to });
    });
  }
}

// Every bucket from the first to the last. Buckets with no traffic are missing from the answer; they
// must count as zeros, not be bridged by interpolated lines or left out of averages.
export function buckets(data) {
  const times = [...new Set(data.series.flatMap((s) => s.points.map((p) => p[0])))].sort();
  const seconds = data.seconds;
  if (times.length < 2 || !seconds) return times;
  const out = [];
  const last = Date.parse(times[times.length - 1]);
  for (let t = Date.parse(times[0]); t <= last; t += seconds * 1000) out.push(new Date(t).toISOString().replace(/\.000Z$/, "Z"));
  return out;
}

function align(grid, points) {
  const byTime = new Map(points);
  return grid.map((t) => byTime.get(t) ?? 0);
}

// Stacks compare against the previous period's total; lines against each previous series.
function previousTraces(data, grid, x, graph, colors) {
  const dashed = (name, y, color, key) => ({
    type: "scatter", mode: "lines", name, x, y, meta: key, showlegend: graph !== "lines",
    customdata: y.map((v) => fmt.metric(v, data.metric, data.unit)),
    hovertemplate: "%{customdata} (previous period)",
    line: { color, width: 1.4, dash: "dash" },
  });
  const series = data.previous.map((s) => ({ s, y: align(grid, s.points) }));
  if (graph === "lines") {
    const colorOf = new Map(data.series.map((s, i) => [s.name, colors[i]]));
    return series.map(({ s, y }) => dashed(`${s.name} (previous)`, y, colorOf.get(s.name) || "#8a94a0", s.key));
  }
  const total = grid.map((_, i) => series.reduce((acc, { y }) => acc + y[i], 0));
  return [dashed("previous period (total)", total, "#4a5563", {})];
}

// A forecast (/api/forecast, one series): history as a line, the expected values dashed inside their band,
// each day's peak as a diamond, anomalies as red rings on the history.
export async function drawForecast(el, series, { metric, level }) {
  const history = series.history.map(([t]) => fmt.time(t));
  const ahead = series.forecast.map(([t]) => fmt.time(t));
  const said = (values) => values.map((v) => (v === null ? "gap" : fmt.metric(v, metric)));
  const band = (i) => series.forecast.map((p) => p[i]);
  const peaks = series.peaks;
  const anomalies = series.anomalies.rows;
  await draw(el, [
    { type: "scatter", mode: "lines", name: "history", x: history, y: series.history.map(([, v]) => v),
      customdata: said(series.history.map(([, v]) => v)), hovertemplate: "%{customdata}<extra>history</extra>",
      line: { color: "#3b7dd8", width: 1.3 }, connectgaps: false },
    { type: "scatter", mode: "lines", name: "low", x: ahead, y: band(2), showlegend: false, hoverinfo: "skip",
      line: { width: 0, color: "rgba(224, 138, 46, 0)" } },
    { type: "scatter", mode: "lines", name: `${Math.round(level * 100)} % band`, x: ahead, y: band(3), fill: "tonexty",
      fillcolor: "rgba(224, 138, 46, 0.22)", line: { width: 0, color: "rgba(224, 138, 46, 0)" }, hoverinfo: "skip" },
    { type: "scatter", mode: "lines", name: "expected", x: ahead, y: band(1),
      customdata: series.forecast.map((p) => `${fmt.metric(p[1], metric)} (${fmt.metric(p[2], metric)} to ${fmt.metric(p[3], metric)})`),
      hovertemplate: "%{customdata}<extra>expected</extra>", line: { color: "#e08a2e", width: 1.6, dash: "dash" } },
    { type: "scatter", mode: "markers", name: "daily peak", x: peaks.map((p) => fmt.time(p.time)), y: peaks.map((p) => p.expected),
      customdata: peaks.map((p) => fmt.metric(p.expected, metric)), hovertemplate: "peak %{x}: %{customdata}<extra></extra>",
      marker: { symbol: "diamond", size: peaks.map((p) => (p.busiest ? 12 : 8)), color: "#8e5cc4" } },
    { type: "scatter", mode: "markers", name: "anomaly", x: anomalies.map((a) => fmt.time(a.time)), y: anomalies.map((a) => a.observed),
      customdata: anomalies.map((a) => `${fmt.metric(a.observed, metric)}, expected ${fmt.metric(a.expected, metric)}`),
      hovertemplate: "anomaly %{x}: %{customdata}<extra></extra>", visible: anomalies.length ? true : "legendonly",
      marker: { symbol: "circle-open", size: 12, color: "#d9463e", line: { width: 2 } } },
  ], baseLayout({
    hovermode: "closest",
    showlegend: true,
    // Opens on the last week of history and the forecast; double-click shows the whole history.
    xaxis: { type: "date", hoverformat: "%Y-%m-%d %H:%M", range: [recent(series), ahead[ahead.length - 1]] },
    yaxis: { ...valueAxis(metric, "total", Math.max(0, ...band(3))), fixedrange: false },
  }));
}

function recent(series) {
  const first = Date.parse(series.history[0][0]);
  const week = Date.parse(series.forecast[0][0]) - 7 * 86400 * 1000;
  return fmt.time(new Date(Math.max(first, week)).toISOString());
}

// The Overview's expected band (/api/forecast/band) as two dotted lines over a time series chart already
// drawn in `el` (uid band-low and band-high; their empty meta keeps clicks on them from filtering).
export async function addBand(el, points, { metric, level }) {
  const x = points.map(([t]) => fmt.time(t));
  const P = await plotly;
  const old = el.data.map((trace, i) => (String(trace.uid).startsWith("band-") ? i : -1)).filter((i) => i >= 0);
  if (old.length) await P.deleteTraces(el, old);
  const line = { width: 1.2, dash: "dot", color: "#4a5563" };
  await P.addTraces(el, [
    { type: "scatter", mode: "lines", uid: "band-low", name: "expected low", x, y: points.map((p) => p[2]), meta: {},
      showlegend: false, hoverinfo: "skip", line },
    { type: "scatter", mode: "lines", uid: "band-high", name: `expected (${Math.round(level * 100)} % band)`, x,
      y: points.map((p) => p[3]), meta: {}, customdata: points.map((p) => `${fmt.metric(p[2], metric)} to ${fmt.metric(p[3], metric)}`),
      hovertemplate: "expected %{customdata}<extra></extra>", line },
  ]);
}

const shorten = (text, max = 36) => (text.length > max ? `${text.slice(0, max / 2 - 1)}…${text.slice(1 - max / 2)}` : text);

// Horizontal bars of a top list, biggest on top. `label(row)` names a bar; `pick(row)` drills down.
export async function drawBars(el, rows, { label, metric, pick }) {
  const labels = rows.map(label);
  const values = rows.map((r) => r[metric]);
  await draw(el, [{
    type: "bar", orientation: "h", y: labels, x: values,
    customdata: values.map((v) => fmt.metric(v, metric)),
    hovertemplate: "%{y}: %{customdata}<extra></extra>",
    text: values.map((v) => fmt.metric(v, metric)), textposition: "auto", insidetextanchor: "end",
    textfont: { size: 10 }, cliponaxis: false,
    marker: { color: "#3b7dd8" },
  }], baseLayout({
    showlegend: false,
    bargap: 0.25,
    hovermode: "closest",
    // Long labels (IPv6 pairs) are shortened in the middle on the axis; the hover shows them whole.
    yaxis: { type: "category", autorange: "reversed", fixedrange: true, ticks: "", showgrid: false,
      tickvals: labels, ticktext: labels.map((l) => shorten(l)) },
    xaxis: { rangemode: "tozero", fixedrange: true, showticklabels: false, showgrid: false },
  }));
  if (pick) on(el, "plotly_click", (ev) => pick(rows[ev.points[0].pointNumber]));
}

export async function drawDonut(el, rows, { label, metric, pick }) {
  const labels = rows.map(label);
  const values = rows.map((r) => r[metric]);
  await draw(el, [{
    type: "pie", hole: 0.55, labels, values, sort: false, direction: "clockwise",
    marker: { colors: colorsFor(labels), line: { color: "#fff", width: 1 } },
    customdata: values.map((v) => fmt.metric(v, metric)),
    hovertemplate: "%{label}: %{customdata} (%{percent})<extra></extra>",
    textinfo: "percent", textposition: "inside", insidetextorientation: "horizontal",
  }], baseLayout({ showlegend: true, legend: { orientation: "v", x: 1.02, y: 0.5, yanchor: "middle" } }));
  if (pick) on(el, "plotly_click", (ev) => pick(rows[ev.points[0].pointNumber]));
}

// Flows between the values of consecutive dimensions (/api/top with two or more `by`). Clicking a
// node picks [[dimension, value]]; clicking a link picks the values at both of its ends.
export async function drawSankey(el, rows, { dims, metric, label, pick }) {
  const nodes = [];
  const index = new Map();
  const node = (level, value, name) => {
    const id = `${level}\u0000${value}`;
    if (!index.has(id)) {
      index.set(id, nodes.length);
      nodes.push({ dim: dims[level], value, name });
    }
    return index.get(id);
  };
  const links = new Map();
  for (const row of rows) {
    for (let level = 0; level < dims.length - 1; level += 1) {
      const [a, b] = [dims[level], dims[level + 1]];
      const source = node(level, row[a], label(a, row));
      const target = node(level + 1, row[b], label(b, row));
      const key = `${source}-${target}`;
      links.set(key, { source, target, value: (links.get(key)?.value || 0) + row[metric] });
    }
  }
  const linkList = [...links.values()];
  const colors = colorsFor(nodes.map((n) => n.name));
  // Fixed nodes: draggable ones swallow the clicks that drill down.
  await draw(el, [{
    type: "sankey", arrangement: "fixed", valueformat: "~s",
    node: { label: nodes.map((n) => n.name), color: colors, pad: 10, thickness: 14, line: { width: 0 },
      hovertemplate: "%{label}: %{value}<extra></extra>" },
    link: { source: linkList.map((l) => l.source), target: linkList.map((l) => l.target),
      value: linkList.map((l) => l.value), color: "rgba(120, 135, 155, 0.28)",
      customdata: linkList.map((l) => fmt.metric(l.value, metric)),
      hovertemplate: "%{source.label} → %{target.label}: %{customdata}<extra></extra>" },
  }], baseLayout({ margin: { l: 8, r: 8, t: 8, b: 8 } }));
  if (pick) {
    on(el, "plotly_click", (ev) => {
      const point = ev.points[0];
      if (!point) return;
      const ends = point.source && point.target ? [point.source.index, point.target.index] : [point.pointNumber];
      pick(ends.map((i) => [nodes[i].dim, nodes[i].value]));
    });
  }
}

// Capture health: one thin cell per hour, coloured by what the flow logs reported in it.
export async function drawHealth(el, hours) {
  const status = (h) => (h.skipdata ? "skipdata" : h.nodata ? "nodata" : h.ok ? "ok" : "empty");
  const colors = { ok: "#4caf7a", nodata: "#c5ccd4", skipdata: "#e0892e", empty: "#f0f2f5" };
  await draw(el, [{
    type: "bar", x: hours.map((h) => fmt.time(h.time)), y: hours.map(() => 1),
    marker: { color: hours.map((h) => colors[status(h)]) },
    customdata: hours.map((h) => [fmt.integer(h.ok), fmt.integer(h.nodata), fmt.integer(h.skipdata)]),
    hovertemplate: "%{x|%Y-%m-%d %H:00}<br>OK %{customdata[0]} · NODATA %{customdata[1]} · "
      + "SKIPDATA %{customdata[2]}<extra></extra>",
  }], baseLayout({
    showlegend: false, bargap: 0.08, hovermode: "closest", margin: { l: 4, r: 4, t: 2, b: 2 },
    xaxis: { type: "date", showgrid: false, tickfont: { size: 9 }, fixedrange: true },
    yaxis: { visible: false, fixedrange: true, range: [0, 1] },
  }));
}

// A chart of arbitrary query results: first column on x, every numeric column as a series.
export async function drawResults(el, columns, rows, kind) {
  const [first, ...rest] = columns;
  const numeric = rest.filter((c) => rows.some((r) => typeof r[c.name] === "number"));
  const isTime = /timestamp|date/i.test(first.type);
  const x = rows.map((r) => (isTime ? fmt.time(r[first.name]) : r[first.name]));
  const colors = colorsFor(numeric.map((c) => c.name));
  const trace = (c, i) => (kind === "line"
    ? { type: "scatter", mode: "lines+markers", marker: { color: colors[i], size: 4 }, line: { color: colors[i], width: 1.6 } }
    : { type: "bar", marker: { color: colors[i] } });
  await draw(el, numeric.map((c, i) => ({ ...trace(c, i), name: c.name, x, y: rows.map((r) => r[c.name]) })), baseLayout({
    showlegend: numeric.length > 1, hovermode: "x unified", barmode: "group",
    legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" },
    xaxis: { type: isTime ? "date" : "category", title: { text: first.name, font: { size: 11 } } },
    yaxis: { tickformat: "~s", fixedrange: true },
  }));
  return numeric.length;
}
