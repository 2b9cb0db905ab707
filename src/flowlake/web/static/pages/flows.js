// Flows: the raw records, a page at a time, sorted by any column, with CSV and Parquet downloads of
// everything that matches. Clicking a value filters on it.
import * as api from "../api.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, select, table } from "../ui.js";

const SIZES = ["25", "50", "100", "200", "500"].map((n) => [n, `${n} rows`]);
const DEFAULTS = { page: "1", size: "50", sort: "start_time", order: "desc" };
// Shown elsewhere: `start`/`end` are start_time/end_time as Unix seconds, protocol_name joins protocol.
const HIDDEN = new Set(["start", "end", "protocol_name"]);
// What a reader looks at first; every other column follows in lake order.
const FIRST = ["start_time", "end_time", "action", "srcaddr", "srcport", "dstaddr", "dstport", "protocol", "packets",
  "bytes", "flow_direction", "interface_id", "account_id", "log_status"];

function view() {
  const get = (key) => state.get(key) || DEFAULTS[key];
  return { page: Math.max(1, Number(get("page")) || 1), size: get("size"), sort: get("sort"), order: get("order") };
}

const set = (changes) => state.settle(changes, DEFAULTS);

function cellFormat(column) {
  if (/^timestamp/.test(column.type)) return (v) => fmt.time(v);
  if (column.name === "protocol") return (v, row) => (v === null || v === undefined ? "" : api.dimensionLabel("protocol", v, row.protocol_name));
  if (column.name === "bytes" || column.name === "packets") return (v) => fmt.integer(v);
  return (v) => (v === null || v === undefined ? "" : String(v));
}

export function mount(root, { meta }) {
  const dimensions = new Set(meta.dimensions);
  const pager = h("span", { class: "pager" });
  const downloads = h("span", { class: "downloads" });
  const records = card({ title: "Flow records", chart: false, testid: "flows", cls: "flows-card", tools: [pager, downloads] });
  const note = h("p", { class: "hint flows-note" });
  root.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Flows")), records.root, note);

  function tools(v, total) {
    const pages = Math.max(1, Math.ceil(total / v.size));
    const first = total ? (v.page - 1) * v.size + 1 : 0;
    const last = Math.min(total, v.page * v.size);
    pager.replaceChildren(
      select(SIZES, v.size, (size) => set({ size, page: 1 }), { "aria-label": "Page size", "data-testid": "flows-size" }),
      h("button", { type: "button", disabled: v.page <= 1, "data-testid": "flows-prev", onclick: () => set({ page: v.page - 1 }) }, "‹ Prev"),
      h("span", { class: "muted", "data-testid": "flows-range", "data-total": total }, `${fmt.integer(first)}–${fmt.integer(last)} of ${fmt.integer(total)}`),
      h("button", { type: "button", disabled: v.page >= pages, "data-testid": "flows-next", onclick: () => set({ page: v.page + 1 }) }, "Next ›"));
    const link = (fmtName) => h("a", {
      class: "button", href: api.url(`/api/flows.${fmtName}`, { sort: v.sort, order: v.order }), download: `flows.${fmtName}`,
      "data-testid": `flows-download-${fmtName}`, title: `All ${fmt.integer(total)} matching records (up to 1,000,000) as ${fmtName.toUpperCase()}`,
    }, `⤓ ${fmtName.toUpperCase()}`);
    downloads.replaceChildren(link("csv"), link("parquet"));
  }

  return {
    title: "Flows",
    load: (signal) => fill(records, async () => {
      const v = view();
      const data = await api.get("/api/flows", { page: v.page, size: v.size, sort: v.sort, order: v.order }, signal);
      tools(v, data.total);
      const present = (c) => data.rows.some((r) => r[c.name] !== null && r[c.name] !== undefined);
      const shown = data.columns.filter((c) => !HIDDEN.has(c.name) && (present(c) || c.name === v.sort));
      const ordered = [...FIRST.map((n) => shown.find((c) => c.name === n)).filter(Boolean), ...shown.filter((c) => !FIRST.includes(c.name))];
      const empty = data.columns.filter((c) => !HIDDEN.has(c.name) && !shown.includes(c)).map((c) => c.name);
      note.textContent = `Times in ${fmt.zoneName()}.${empty.length ? ` ${empty.length} columns empty on this page are hidden.` : ""}`;
      note.title = empty.join(", ");
      records.body.replaceChildren(table({
        testid: "flows-table",
        columns: ordered.map((c) => ({
          key: c.name, numeric: /int|float|double|decimal/.test(c.type) && !["protocol", "srcport", "dstport", "version"].includes(c.name),
          pick: dimensions.has(c.name), format: cellFormat(c), title: meta.columns.find((m) => m.name === c.name)?.description,
        })),
        rows: data.rows,
        sort: v.sort,
        order: v.order,
        onSort: (key) => set({ sort: key, order: key === v.sort && v.order === "desc" ? "asc" : "desc", page: 1 }),
        pick: (col, row) => state.addFilter(col.key, row[col.key]),
      }));
      if (!data.rows.length) return records.empty("No records match this time range and these filters.");
    }),
  };
}
