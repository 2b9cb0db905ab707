// SQL: read-only DuckDB over `flows` (already limited to the time range and filters), results as a
// table and a chart, saved queries (the lake's own reports), CSV download. The query that ran is
// `?q=` in the URL, so a link reruns it.
import * as api from "../api.js";
import * as charts from "../charts.js";
import * as fmt from "../format.js";
import * as state from "../state.js";
import { card, fill, h, segmented, select, table } from "../ui.js";

const EXAMPLE = `-- flows holds the selected time range and filters
SELECT dstport, port_name(dstport) AS service, count(*) AS flows, sum(bytes) AS bytes
FROM flows
GROUP BY ALL
ORDER BY bytes DESC
LIMIT 20`;
const DEFAULTS = { limit: "1000", graph: "bar" };
const LIMITS = ["100", "1000", "10000"].map((n) => [n, `${fmt.integer(n)} rows`]);
const GRAPHS = [["bar", "Bars"], ["line", "Lines"]];

// "Top talkers (web)" → "top-talkers-web": saved queries are named as reports are.
const slug = (title) => title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 80);

// Line and column (1-based) of a character offset, and back.
function lineColumn(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}
function offsetOf(text, line, column) {
  const lines = text.split("\n").slice(0, line - 1);
  return lines.reduce((n, l) => n + l.length + 1, 0) + column - 1;
}

function cellText(v) {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "number" && Number.isInteger(v)) return fmt.integer(v);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function mount(root, { meta, reload }) {
  const editor = h("textarea", {
    class: "sql-editor", "data-testid": "sql-editor", spellcheck: false, rows: 12, "aria-label": "SQL query",
    placeholder: "SELECT … FROM flows",
  });
  const run = () => {
    if (!state.update({ q: editor.value.trim() ? editor.value : null })) reload();
  };
  editor.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      run();
    }
  });
  const limit = h("span", {});
  const status = h("span", { class: "muted sql-status", "data-testid": "sql-status" });
  const error = h("div", { class: "sql-error", "data-testid": "sql-error", role: "alert", hidden: true });
  const saveTitle = h("input", { type: "text", placeholder: "Title to save as", "aria-label": "Saved query title", "data-testid": "sql-save-title" });
  const saveNote = h("span", { class: "muted" });
  const save = h("form", { class: "sql-save" }, saveTitle, h("button", { type: "submit" }, "Save"), saveNote);
  const queryCard = card({ title: "Query", chart: false, testid: "sql-query", tools: [h("span", { class: "hint" }, "Ctrl/⌘ + Enter runs")] });
  queryCard.body.append(editor, error, h("div", { class: "sql-actions" },
    h("button", { type: "button", class: "primary", "data-testid": "sql-run", onclick: run }, "▶ Run"),
    limit,
    h("button", { type: "button", "data-testid": "sql-csv", onclick: () => downloadCsv() }, "⤓ CSV"),
    status, save));

  const graphTools = h("span", {});
  const chart = card({ title: "Chart", testid: "sql-chart", tools: [graphTools],
    info: "First column on the x axis, every numeric column as a series." });
  const results = card({ title: "Results", chart: false, testid: "sql-results-card" });
  const saved = card({ title: "Saved queries", chart: false, testid: "sql-saved" });
  const columnFilter = h("input", { type: "search", placeholder: "Find a column", "aria-label": "Find a column" });
  const schema = card({ title: "Table flows", chart: false, testid: "sql-schema", cls: "schema",
    info: "Click a column to insert its name. Also queryable: traffic, vpc_flow_logs, web_logs and the reference tables." });
  root.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "SQL")),
    h("div", { class: "sql-layout" },
      h("div", { class: "sql-main" }, queryCard.root, chart.root, results.root),
      h("div", { class: "sql-side" }, saved.root, schema.root)));

  // The schema: click a column to insert its name at the cursor.
  const columns = meta.columns.map((c) => h("li", { "data-name": c.name },
    h("button", { type: "button", class: "column", title: c.description, onclick: () => insert(c.name) },
      h("code", {}, c.name), h("span", { class: "type" }, c.type)),
    c.description ? h("div", { class: "description" }, c.description) : null));
  columnFilter.addEventListener("input", () => {
    const needle = columnFilter.value.toLowerCase();
    for (const li of columns) li.hidden = needle && !li.textContent.toLowerCase().includes(needle);
  });
  schema.body.append(columnFilter, h("ul", { class: "columns", "data-testid": "sql-columns" }, columns));

  function insert(text) {
    editor.setRangeText(text, editor.selectionStart, editor.selectionEnd, "end");
    editor.focus();
  }

  function showError(err, text) {
    error.hidden = false;
    delete error.dataset.line;
    delete error.dataset.column;
    // The position is an offset into the SQL, or {offset, line, column}; either can be missing.
    const pos = typeof err.position === "number" ? { offset: err.position } : err.position;
    if (!pos) {
      error.replaceChildren(h("strong", {}, err.message));
      return;
    }
    const offset = Number.isInteger(pos.offset) ? pos.offset : offsetOf(text, pos.line, pos.column);
    const { line, column } = pos.line ? pos : lineColumn(text, offset);
    const source = text.split("\n")[line - 1] ?? "";
    error.dataset.line = line;
    error.dataset.column = column;
    error.replaceChildren(
      h("strong", {}, err.message),
      h("div", { class: "sql-error-where", "data-testid": "sql-error-position" }, `line ${line}, column ${column}`),
      h("pre", { class: "sql-error-source" }, `${source}\n${" ".repeat(Math.max(0, column - 1))}^`));
    // Mark the offending spot in the editor itself.
    editor.focus();
    editor.setSelectionRange(offset, offset + (/^\w+/.exec(text.slice(offset))?.[0].length || 1));
  }

  async function downloadCsv() {
    try {
      const response = await api.request("POST", "/api/sql.csv", { body: { sql: editor.value }, raw: true });
      const link = h("a", { href: URL.createObjectURL(await response.blob()), download: "flowlake-query.csv" });
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (err) {
      showError(err, editor.value);
    }
  }

  save.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const title = saveTitle.value.trim();
    const name = slug(title);
    if (!name) {
      saveNote.textContent = "Give it a title first.";
      return;
    }
    try {
      await api.request("PUT", `/api/queries/${name}`, { body: { sql: editor.value, title }, scoped: false });
      saveNote.textContent = `Saved as ${name} (flowlake report ${name}).`;
      await fill(saved, () => loadSaved());
    } catch (err) {
      saveNote.textContent = err.message;
    }
  });

  async function loadSaved(signal) {
    const list = await api.request("GET", "/api/queries", { signal, scoped: false });
    if (!list.length) return saved.empty("None yet: run a query, give it a title and Save.");
    saved.body.replaceChildren(h("ul", { class: "saved" }, list.map((q) => {
      const remove = h("button", {
        type: "button", class: "chip-x", "aria-label": `Delete ${q.name}`, title: "Delete", "data-testid": "sql-saved-delete",
        onclick: async () => {
          // Two clicks: the first asks, the second deletes.
          if (!remove.classList.contains("confirm")) {
            remove.classList.add("confirm");
            remove.textContent = "Delete?";
            return;
          }
          try {
            await api.request("DELETE", `/api/queries/${q.name}`, { scoped: false });
            await fill(saved, () => loadSaved());
          } catch (err) {
            saved.fail(err);
          }
        },
      }, "×");
      return h("li", { "data-name": q.name },
        h("button", { type: "button", class: "saved-open", title: q.sql, "data-testid": "sql-saved-open", onclick: () => {
          editor.value = q.sql;
          saveTitle.value = q.title;
          run();
        } }, h("span", {}, q.title), h("code", {}, q.name)),
        remove);
    })));
  }

  async function loadResults(signal) {
    const q = state.get("q");
    const rows = state.get("limit") || DEFAULTS.limit;
    const graph = state.get("graph") || DEFAULTS.graph;
    limit.replaceChildren(select(LIMITS, rows, (n) => state.settle({ limit: n }, DEFAULTS), { "aria-label": "Row limit", "data-testid": "sql-limit" }));
    graphTools.replaceChildren(segmented(GRAPHS, graph, (g) => state.settle({ graph: g }, DEFAULTS), { "data-testid": "sql-graph" }));
    if (q !== null && editor.value !== q) editor.value = q;
    if (q === null && !editor.value) editor.value = EXAMPLE;
    error.hidden = true;
    if (!q) {
      chart.root.hidden = true;
      status.textContent = "";
      return results.empty("Write a query and press Run (Ctrl/⌘ + Enter).");
    }
    status.textContent = "running…";
    let data;
    try {
      data = await api.post("/api/sql", { sql: q, limit: Number(rows) }, signal);
    } catch (err) {
      if (err.name === "AbortError") throw err;
      status.textContent = "";
      chart.root.hidden = true;
      showError(err, q);
      return results.empty("The query failed: see the message above.");
    }
    status.textContent = `${fmt.integer(data.rows.length)} rows${data.truncated ? " (truncated)" : ""} in ${data.elapsed_ms} ms`;
    results.body.replaceChildren(table({
      testid: "sql-results",
      columns: data.columns.map((c) => ({
        key: c.name, title: c.type, numeric: /INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/i.test(c.type),
        format: /TIMESTAMP/i.test(c.type) ? (v) => fmt.time(v) : cellText,
      })),
      rows: data.rows,
    }));
    chart.root.hidden = !(data.columns.length > 1 && data.rows.length);
    if (!chart.root.hidden) {
      await fill(chart, async () => {
        if (!(await charts.drawResults(chart.body, data.columns, data.rows, graph))) {
          return chart.empty("No numeric column to chart.");
        }
      });
    }
    if (!data.rows.length) return results.empty("The query returned no rows.");
  }

  return {
    title: "SQL",
    load: (signal) => Promise.all([fill(results, () => loadResults(signal)), fill(saved, () => loadSaved(signal))]),
  };
}
