// Explain: why is traffic from a client to a server not getting through? A form (client, server, port,
// protocol) kept in the URL, then the verdict in words, the flows over time by leg and action, the evidence
// per interface and the address pairs with their country and AS (/api/explain, as `flowlake explain`).
// The time range and filters apply as on every page.
import * as api from "../api.js";
import * as charts from "../charts.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, table } from "../ui.js";

const FIELDS = [
  ["client", "Source (client)", "IP or CIDR, e.g. 203.0.113.12"],
  ["server", "Destination (server)", "IP or CIDR, e.g. 10.0.1.0/24"],
  ["server_port", "Port", "any"],
  ["proto", "Protocol", "tcp, udp, icmp or a number"],
];

const dash = (v) => (v === null || v === undefined ? "–" : v);

export function mount(root) {
  const inputs = Object.fromEntries(FIELDS.map(([key, , hint]) => [key, h("input", {
    type: "text", name: key, placeholder: hint, "data-testid": `explain-${key}`, spellcheck: "false",
  })]));
  const form = h("form", { class: "explain-form", "data-testid": "explain-form" },
    FIELDS.map(([key, label]) => h("label", {}, h("span", { class: "toolbar-label" }, label), inputs[key])),
    h("button", { type: "submit", "data-testid": "explain-submit" }, "Explain"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.update(Object.fromEntries(FIELDS.map(([key]) => [key, inputs[key].value.trim() || null])));
  });
  const verdict = card({ title: "Verdict", chart: false, testid: "explain-verdict" });
  const chart = card({ title: "Flows over time by leg and action", testid: "chart-explain",
    info: "Request: source to destination on the port; response: the other way, from the port." });
  const evidence = card({ title: "Evidence per interface", chart: false, testid: "explain-evidence" });
  const pairs = card({ title: "Requests by address pair", chart: false, testid: "explain-pairs",
    info: "Each end's class (private, public, aws-service), country and autonomous system." });
  root.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Explain")), form,
    verdict.root, chart.root, evidence.root, pairs.root);

  async function load(signal) {
    const asked = Object.fromEntries(FIELDS.map(([key]) => [key, state.get(key) || ""]));
    for (const [key, value] of Object.entries(asked)) inputs[key].value = value;
    const cards = [verdict, chart, evidence, pairs];
    if (!asked.client || !asked.server) {
      cards.forEach((c) => c.empty("Give a source and a destination: why is their traffic not getting through?"));
      return;
    }
    const extra = Object.fromEntries(Object.entries(asked).filter(([, value]) => value));
    let data;
    await fill(verdict, async () => {
      data = await api.get("/api/explain", extra, signal);
      verdict.body.replaceChildren(
        h("p", { class: "explain-headline", "data-testid": "explain-headline", "data-verdict": data.verdict },
          `${data.headline} `, h("code", {}, data.verdict)),
        h("p", { "data-testid": "explain-summary" }, data.summary),
        ...data.details.map((d) => h("p", { class: "note" }, d)));
      return true;
    });
    if (!data) return;
    if (!data.evidence.length) {
      [chart, evidence, pairs].forEach((c) => c.empty("No flow log record matches."));
      return;
    }
    await fill(chart, () => charts.drawTimeseries(chart.body, series(data), { graph: "lines" }));
    evidence.body.replaceChildren(table({
      testid: "explain-evidence-table",
      rows: data.evidence,
      columns: [
        { key: "interface_id", label: "Interface" },
        { key: "leg", label: "Leg" },
        { key: "flow_direction", label: "Direction", format: dash },
        { key: "action", label: "Action" },
        { key: "flows", label: "Flows", numeric: true, format: fmt.integer },
        { key: "packets", label: "Packets", numeric: true, format: fmt.count },
        { key: "bytes", label: "Bytes", numeric: true, format: fmt.bytes },
        { key: "first_seen", label: "First seen", format: (t) => fmt.time(t) },
        { key: "last_seen", label: "Last seen", format: (t) => fmt.time(t) },
        { key: "bpa_flows", label: "BPA", numeric: true, title: "Flows rejected by VPC Block Public Access" },
        { key: "min_dstport", label: "Ports", format: (low, row) => (low === row.max_dstport ? dash(low) : `${low}–${row.max_dstport}`) },
      ],
    }));
    evidence.done();
    pairs.body.replaceChildren(table({
      testid: "explain-pairs-table",
      rows: data.sources,
      columns: [
        { key: "srcaddr", label: "Source" },
        { key: "src_class", label: "Class", format: dash },
        { key: "src_country", label: "Country", format: dash },
        { key: "src_as_name", label: "AS", format: dash },
        { key: "dstaddr", label: "Destination" },
        { key: "dst_class", label: "Class", format: dash },
        { key: "dst_country", label: "Country", format: dash },
        { key: "dst_as_name", label: "AS", format: dash },
        { key: "accepted", label: "Accepted", numeric: true, format: fmt.integer },
        { key: "rejected", label: "Rejected", numeric: true, format: fmt.integer },
      ],
    }));
    pairs.done();
  }

  return { title: "Explain", load };
}

// The answer's series rows as a time series answer: one line of flows per leg and action.
function series(data) {
  const byName = new Map();
  for (const row of data.series) {
    const name = `${row.leg} ${row.action.toLowerCase()}`;
    if (!byName.has(name)) byName.set(name, { name, key: { leg: row.leg, action: row.action }, points: [] });
    byName.get(name).points.push([new Date(row.time).toISOString().replace(/\.000Z$/, "Z"), row.flows]);
  }
  return { metric: "flows", unit: "total", seconds: data.bucket_seconds, series: [...byName.values()] };
}
