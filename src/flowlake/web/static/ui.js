// DOM helpers every page shares: elements, cards with loading and error states, tables.

// h("a", {href, class, onclick}, "text", child, ...): text always goes in as text, never as HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && !key.includes("-") && key !== "list") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// A segmented control: one button per [value, label]; the current value is pressed.
export function segmented(options, current, onPick, attrs = {}) {
  return h("div", { class: "seg", role: "group", ...attrs },
    options.map(([value, label, extra = {}]) => h("button", {
      type: "button", "data-value": value, "aria-pressed": String(value === current), onclick: () => onPick(value), ...extra,
    }, label)));
}

export function select(options, current, onPick, attrs = {}) {
  const el = h("select", { ...attrs, onchange: () => onPick(el.value) },
    options.map(([value, label]) => h("option", { value }, label)));
  el.value = current;
  return el;
}

// A card: title, tools on the right, a message line for errors and empty answers, and a body that is
// either a chart container (Plotly draws into it, so its `.data` is the chart's data) or a plain box.
export function card({ title, testid, cls = "", tools = [], chart = true, info }) {
  const body = h("div", { class: chart ? "chart" : "card-body", "data-testid": testid });
  const message = h("div", { class: "card-message", role: "status", hidden: true });
  const heading = h("h2", { title: info || null }, title);
  const root = h("section", { class: `card ${cls}`, "data-card": testid },
    h("header", { class: "card-head" },
      heading,
      h("div", { class: "card-tools" }, tools)),
    message, body);
  const say = (kind, text) => {
    message.className = `card-message ${kind}`;
    message.textContent = text;
    message.hidden = false;
  };
  return {
    root,
    body,
    title: (text) => {
      heading.textContent = text;
    },
    loading: () => root.classList.add("is-loading"),
    done: () => {
      root.classList.remove("is-loading", "has-error");
      message.hidden = true;
    },
    // What the card showed before stays, dimmed, under the error.
    fail: (err) => {
      root.classList.remove("is-loading");
      root.classList.add("has-error");
      say("error", err.message || String(err));
    },
    empty: (text = "No traffic matches this time range and these filters.") => {
      root.classList.remove("is-loading", "has-error");
      if (chart && window.Plotly) window.Plotly.purge(body);
      body.replaceChildren();
      say("empty", text);
      return false;
    },
  };
}

// Runs one card's work, which returns false when it left a message instead (as `empty` does).
// Errors land in the card, so a page's Promise.all never rejects and one failing card never
// blanks the others. A superseded (aborted) load leaves the card as it is.
export async function fill(c, work) {
  c.loading();
  try {
    if ((await work()) !== false) c.done();
  } catch (err) {
    if (err.name !== "AbortError") c.fail(err);
  }
}

// columns: [{key, label, format(value, row), numeric, pick}]; cells carry the raw value in data-value.
// `pick(column, row)` makes cells of columns marked `pick` clickable (drill-down).
export function table({ columns, rows, testid, sort, order, onSort, pick }) {
  const head = h("tr", {}, columns.map((col) => {
    const sorted = sort === col.key;
    return h("th", {
      class: [col.numeric && "num", onSort && "sortable"].filter(Boolean).join(" "),
      "data-key": col.key,
      "aria-sort": sorted ? (order === "asc" ? "ascending" : "descending") : null,
      title: col.title || (onSort ? `Sort by ${col.key}` : null),
      onclick: onSort ? () => onSort(col.key) : null,
    }, col.label ?? col.key, sorted ? h("span", { class: "arrow" }, order === "asc" ? " ▲" : " ▼") : null);
  }));
  const body = rows.map((row) => h("tr", {}, columns.map((col) => {
    const value = row[col.key];
    const clickable = pick && col.pick && value !== null && value !== undefined;
    return h("td", {
      class: [col.numeric && "num", clickable && "pick"].filter(Boolean).join(" ") || null,
      "data-key": col.key,
      "data-value": value === null || value === undefined ? null : typeof value === "object" ? JSON.stringify(value) : value,
      title: clickable ? `Filter on ${col.key} = ${value}` : null,
      onclick: clickable ? () => pick(col, row) : null,
    }, col.format ? col.format(value, row) : value ?? "");
  })));
  return h("div", { class: "table-wrap" },
    h("table", { class: "grid-table", "data-testid": testid }, h("thead", {}, head), h("tbody", {}, body)));
}
