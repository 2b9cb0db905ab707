// Forecasts: per series, the history, the expected traffic ahead with its band, each day's peak, the
// backtest against the seasonal-naive baseline and the last day's anomalies (/api/forecast).
// Filters apply as on every page; the time range does not: a forecast learns from its own history.
import * as api from "../api.js";
import * as charts from "../charts.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, segmented, select, table } from "../ui.js";

const METRICS = [["bytes", "Bytes"], ["packets", "Packets"], ["flows", "Flows"]];
const GROUPS = [["none", "All traffic"], ["account", "Account"], ["region", "Region"], ["vpc", "VPC"],
  ["interface", "Interface"], ["dstport", "Destination port"]];
const HORIZONS = [["1d", "1 day"], ["3d", "3 days"], ["7d", "7 days"], ["14d", "14 days"]];
const HISTORIES = [["14d", "14 days"], ["28d", "28 days"], ["56d", "56 days"], ["91d", "13 weeks"]];
const DEFAULTS = { metric: "bytes", by: "none", horizon: "7d", history: "28d", top: "5" };

function view() {
  return Object.fromEntries(Object.entries(DEFAULTS).map(([key, value]) => [key, state.get(key) || value]));
}

const set = (key, value) => state.settle({ [key]: value, series: null }, DEFAULTS);
const amount = (metric) => (v) => (v === null || v === undefined ? "–" : fmt.metric(v, metric));
const mape = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)} %`);

export function mount(root) {
  const tools = h("div", { class: "page-tools" });
  const headline = h("p", { class: "forecast-headline", "data-testid": "forecast-headline" });
  const chart = card({ title: "Forecast", testid: "chart-forecast", cls: "tall",
    info: "History, the expected traffic ahead (dashed) and its interval band; peaks are diamonds, anomalies of the last day red rings." });
  const seriesCard = card({ title: "Series", chart: false, testid: "forecast-series",
    info: "Backtest: the model and the seasonal-naive baseline (same hour last week) forecast the last stretch of history as long as the horizon; MAPE over hours with traffic, coverage of the band." });
  const peaksCard = card({ title: "Daily peaks", chart: false, testid: "forecast-peaks" });
  const anomaliesCard = card({ title: "Anomalies in the last 24 hours", chart: false, testid: "forecast-anomalies",
    info: "Hours outside the 99 % band that the model expects from the history before them." });
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Forecasts"), tools),
    headline, chart.root,
    seriesCard.root, h("div", { class: "forecast-grid" }, peaksCard.root, anomaliesCard.root));

  function controls(v) {
    tools.replaceChildren(
      h("span", { class: "toolbar-label" }, "Metric"),
      segmented(METRICS, v.metric, (m) => set("metric", m), { "data-testid": "forecast-metric", title: fmt.UNIT_NOTE }),
      h("span", { class: "toolbar-label" }, "Series"),
      select(GROUPS, v.by, (b) => set("by", b), { "data-testid": "forecast-by", "aria-label": "One series per" }),
      h("span", { class: "toolbar-label" }, "Ahead"),
      select(HORIZONS, v.horizon, (x) => set("horizon", x), { "data-testid": "forecast-horizon", "aria-label": "Horizon" }),
      h("span", { class: "toolbar-label" }, "Learn from"),
      select(HISTORIES, v.history, (x) => set("history", x), { "data-testid": "forecast-history", "aria-label": "History" }));
  }

  async function load(signal) {
    const v = view();
    controls(v);
    await fill(chart, async () => {
      const data = await api.get("/api/forecast", { metric: v.metric, by: v.by, top: v.top, horizon: v.horizon, history: v.history }, signal);
      if (!data.series.length) {
        const why = data.skipped.map((s) => s.reason).join(" ") || "No traffic to forecast.";
        headline.textContent = "";
        [seriesCard, peaksCard, anomaliesCard].forEach((c) => c.empty(why));
        return chart.empty(why);
      }
      const chosen = data.series.find((s) => s.key === state.get("series")) || data.series[0];
      const busiest = chosen.peaks.find((p) => p.busiest);
      headline.textContent = `${chosen.key === "all" ? "All traffic" : chosen.key}: busiest hour in the next `
        + `${v.horizon}: ${fmt.time(busiest.time, { seconds: false })} ${fmt.zoneName()}, `
        + `${fmt.metric(busiest.expected, v.metric)} (${Math.round(data.level * 100)} %: `
        + `${fmt.metric(busiest.low, v.metric)} to ${fmt.metric(busiest.high, v.metric)})`;
      chart.title(`Forecast · ${chosen.key === "all" ? "all traffic" : chosen.key} · ${v.metric} per hour`);
      await charts.drawForecast(chart.body, chosen, { metric: v.metric, level: data.level });
      drawTables(v, data, chosen);
      return true;
    });
  }

  function drawTables(v, data, chosen) {
    const rows = data.series.map((s) => {
      const [model, baseline] = s.backtest.rows;
      const busiest = s.peaks.find((p) => p.busiest);
      return {
        series: s.key, peak: busiest.time, expected: busiest.expected, mape: model?.mape ?? null,
        baseline: baseline?.mape ?? null, coverage: model?.coverage ?? null,
        gain: model && baseline && baseline.mape ? 1 - model.mape / baseline.mape : null,
        anomalies: s.anomalies.rows.length, note: s.backtest.reason,
      };
    });
    seriesCard.body.replaceChildren(table({
      testid: "forecast-series-table",
      rows,
      columns: [
        { key: "series", label: "Series", pick: true, format: (k) => (k === chosen.key ? `▸ ${k}` : k) },
        { key: "peak", label: "Busiest hour", format: (t) => fmt.time(t, { seconds: false }) },
        { key: "expected", label: "Expected", numeric: true, format: amount(v.metric) },
        { key: "mape", label: "MAPE", numeric: true, format: mape, title: "Backtest error of the model" },
        { key: "baseline", label: "Baseline MAPE", numeric: true, format: mape, title: "Same hour last week" },
        { key: "gain", label: "Better by", numeric: true, format: (x) => (x === null ? "–" : fmt.percent(x, 0)) },
        { key: "coverage", label: "Band coverage", numeric: true, format: (x) => (x === null ? "–" : fmt.percent(x, 0)) },
        { key: "anomalies", label: "Anomalies", numeric: true },
        { key: "note", label: "", format: (x) => x || "" },
      ],
      pick: (_, row) => state.update({ series: row.series === data.series[0].key ? null : row.series }),
    }), ...data.skipped.map((s) => h("p", { class: "note", "data-testid": "forecast-skipped" }, `${s.key} skipped: ${s.reason}`)));
    seriesCard.done();
    peaksCard.body.replaceChildren(table({
      testid: "forecast-peaks-table",
      rows: chosen.peaks,
      columns: [
        { key: "time", label: "Peak", format: (t, p) => `${fmt.time(t, { seconds: false })}${p.busiest ? " ★" : ""}` },
        { key: "expected", label: "Expected", numeric: true, format: amount(v.metric) },
        { key: "low", label: "Low", numeric: true, format: amount(v.metric) },
        { key: "high", label: "High", numeric: true, format: amount(v.metric) },
      ],
    }));
    peaksCard.done();
    const anomalies = chosen.anomalies;
    if (!anomalies.rows.length) {
      anomaliesCard.empty(anomalies.reason || "None: every hour of the last day was inside its band.");
      return;
    }
    anomaliesCard.body.replaceChildren(table({
      testid: "forecast-anomalies-table",
      rows: anomalies.rows,
      columns: [
        { key: "time", label: "Hour", format: (t) => fmt.time(t, { seconds: false }) },
        { key: "observed", label: "Observed", numeric: true, format: amount(v.metric) },
        { key: "expected", label: "Expected", numeric: true, format: amount(v.metric) },
        { key: "direction", label: "" },
      ],
    }));
    anomaliesCard.done();
  }

  return { title: "Forecasts", load };
}
