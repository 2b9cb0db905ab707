// Findings: what `flowlake findings` stored, active in the time range, by severity and time, narrowed
// by severity and rule; opening one shows its evidence (its flows, a per-minute timeline and the talkers),
// all from the finding's own query (/api/findings, /api/findings/ID).
import * as api from "../api.js";
import * as charts from "../charts.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, select, table } from "../ui.js";

const SEVERITIES = ["critical", "high", "medium", "low", "informational"];
const EVIDENCE_COLUMNS = ["start_time", "action", "srcaddr", "srcport", "dstaddr", "dstport", "protocol", "packets",
  "bytes", "interface_id"];

const number = (v) => fmt.integer(v);
// One end of a finding: its address (null: many addresses) and, for a public one, its country and AS.
const where = (address, country) => (address == null ? "many" : country ? `${address} (${country})` : address);
const end = (address, country, as) => (address == null ? "many addresses"
  : [country, as].some(Boolean) ? `${address} (${[country, as].filter(Boolean).join(", ")})` : address);

function sqlHref(query) {
  const link = new URL(state.hrefFor("/sql"), location.origin);
  link.searchParams.set("q", query);
  return link.pathname + link.search;
}
const badge = (severity) => h("span", { class: `severity ${severity}`, "data-severity": severity }, severity);

export function mount(root) {
  const tools = h("div", { class: "page-tools" });
  const counts = h("div", { class: "severity-counts", "data-testid": "findings-counts" });
  const list = card({ title: "Findings", chart: false, testid: "findings-list",
    info: "Stored by `flowlake findings` (and `flowlake demo`); a finding shows when its span overlaps the time range." });
  const detail = card({ title: "Evidence", chart: false, testid: "finding-detail" });
  const timeline = card({ title: "Timeline", testid: "finding-timeline" });
  const talkers = card({ title: "Talkers", chart: false, testid: "finding-talkers" });
  root.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Findings"), tools), counts, list.root,
    detail.root, h("div", { class: "forecast-grid" }, timeline.root, talkers.root));

  const showDetail = (shown) => [detail, timeline, talkers].forEach((c) => { c.root.hidden = !shown; });

  function controls(data) {
    const rules = [["", "Every rule"], ...data.rules.map((r) => [r.rule, `${r.rule} (${r.count})`])];
    tools.replaceChildren(
      h("span", { class: "toolbar-label" }, "Rule"),
      select(rules, state.get("rule") || "", (rule) => state.update({ rule, finding: null }),
        { "data-testid": "findings-rule", "aria-label": "Rule" }));
    const picked = state.getAll("severity");
    counts.replaceChildren(...data.severities.filter((s) => s.count || picked.includes(s.severity)).map((s) => {
      const on = picked.includes(s.severity);
      return h("button", {
        type: "button", class: `severity-filter ${s.severity}${on ? " on" : ""}`, "aria-pressed": String(on),
        "data-testid": `findings-severity-${s.severity}`, "data-count": s.count,
        onclick: () => state.update({ severity: on ? picked.filter((p) => p !== s.severity) : [...picked, s.severity], finding: null }),
      }, `${s.severity} ${fmt.integer(s.count)}`);
    }));
  }

  const loadList = (signal) => fill(list, async () => {
    const data = await api.get("/api/findings", { severity: state.getAll("severity"), rule: state.get("rule") }, signal);
    controls(data);
    list.title(`Findings · ${fmt.integer(data.total)}`);
    if (!data.findings.length) {
      list.empty("No findings in this time range. Run `flowlake findings --lake DIR` to look for some.");
      return false;
    }
    const current = state.get("finding");
    list.body.replaceChildren(table({
      testid: "findings-table",
      columns: [
        { key: "severity", format: (v) => badge(v) },
        { key: "title" },
        { key: "src", format: (v, row) => where(v, row.src_country) },
        { key: "dst", format: (v, row) => where(v, row.dst_country) },
        { key: "ports" },
        { key: "first_seen", label: "first seen", format: (v) => fmt.time(v) },
        { key: "last_seen", label: "last seen", format: (v) => fmt.time(v) },
        { key: "flows", numeric: true, format: number },
        { key: "bytes", numeric: true, format: (v) => fmt.bytes(v) },
        { key: "detail" },
        { key: "id", label: "", pick: true, format: (v) => (v === current ? "▾ open" : "open ›") },
      ],
      rows: data.findings,
      pick: (_, row) => state.update({ finding: row.id === current ? null : row.id }),
    }));
    return true;
  });

  const loadDetail = async (signal) => {
    const id = state.get("finding");
    showDetail(Boolean(id));
    if (!id) return;
    let data;
    await fill(detail, async () => {
      data = await api.get(`/api/findings/${encodeURIComponent(id)}`, {}, signal);
      const f = data.finding;
      detail.title(`Evidence · ${f.title}`);
      detail.body.replaceChildren(
        h("p", { class: "finding-summary", "data-testid": "finding-summary" }, badge(f.severity), " ",
          `${f.rule}: ${f.detail}. ${f.mitre} (${f.tactic}).`),
        h("p", { class: "finding-ends", "data-testid": "finding-ends" },
          `From ${end(f.src, f.src_country, f.src_as)} to ${end(f.dst, f.dst_country, f.dst_as)}.`),
        h("pre", { class: "finding-query", "data-testid": "finding-query" }, f.query),
        h("p", {}, h("a", { href: sqlHref(f.query), "data-testid": "finding-open-sql" }, "Open the query in SQL ›")),
        table({
          testid: "finding-flows",
          columns: EVIDENCE_COLUMNS.map((key) => ({
            key, numeric: key === "packets" || key === "bytes",
            format: key === "start_time" ? (v) => fmt.time(v) : key === "bytes" ? (v) => fmt.bytes(v) : undefined,
          })),
          rows: data.flows,
        }));
    });
    if (!data) return;
    await fill(timeline, async () => {
      if (!data.timeline.length) return timeline.empty("No flows.");
      await charts.drawResults(timeline.body, [{ name: "minute", type: "TIMESTAMP WITH TIME ZONE" }, { name: "flows", type: "BIGINT" }],
        data.timeline, "bar");
      return true;
    });
    await fill(talkers, async () => {
      talkers.body.replaceChildren(table({
        testid: "finding-talkers-table",
        columns: [{ key: "srcaddr" }, { key: "dstaddr" }, { key: "flows", numeric: true, format: number },
          { key: "bytes", numeric: true, format: (v) => fmt.bytes(v) }],
        rows: data.talkers,
      }));
      return true;
    });
  };

  return {
    title: "Findings",
    load: (signal) => Promise.all([loadList(signal), loadDetail(signal)]),
  };
}
