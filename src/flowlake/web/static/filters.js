// The filter bar: the URL's filters as removable chips, and a form to add one (a short key from the
// API's filter table or any column), with values the lake actually holds as suggestions.
import * as api from "./api.js";
import * as state from "./state.js";
import { h } from "./ui.js";

let meta;
let bar;

const OR_AND = "Values of the same key are alternatives (OR); different keys must all hold (AND).";

// The short key the API offers for a column (account_id → account), else the column itself.
export function shortKey(column) {
  const entry = meta?.filters.find((f) => f.column === column);
  return entry ? entry.key : column;
}

// What to suggest values from: the column a key matches (src → srcaddr, port → srcport).
function suggestionColumn(key) {
  const entry = meta.filters.find((f) => f.key === key);
  const column = entry ? entry.column.split(" ")[0] : key;
  return meta.dimensions.includes(column) ? column : null;
}

export function mountFilters(el, info) {
  meta = info;
  bar = el;
  renderFilters();
}

export function renderFilters() {
  const chips = state.filters().map(([key, value]) => h("span", {
    class: "chip", "data-testid": "filter-chip", "data-key": key, "data-value": value, title: OR_AND,
  },
  h("span", { class: "chip-key" }, key), h("span", { class: "chip-eq" }, "="), h("span", { class: "chip-value" }, value),
  h("button", {
    type: "button", class: "chip-x", "aria-label": `Remove filter ${key}=${value}`, "data-testid": "filter-remove",
    onclick: () => state.removeFilter(key, value),
  }, "×")));
  const clear = chips.length > 1 ? h("button", {
    type: "button", class: "link-button", onclick: () => state.update({ ...Object.fromEntries(state.filters().map(([k]) => [k, null])), page: null }),
  }, "Clear all") : null;
  bar.replaceChildren(...[
    h("span", { class: "toolbar-label" }, "Filters"),
    ...(chips.length ? chips : [h("span", { class: "muted" }, "none")]),
    clear,
    addForm()].filter(Boolean));
}

function addForm() {
  const keys = h("select", { "aria-label": "Filter key", "data-testid": "filter-key" },
    h("optgroup", { label: "Filters" }, meta.filters.map((f) => h("option", { value: f.key, title: f.column }, f.key))),
    h("optgroup", { label: "Columns" }, meta.dimensions.filter((d) => !meta.filters.some((f) => f.key === d))
      .map((d) => h("option", { value: d }, d))));
  const options = h("datalist", { id: "filter-values" });
  const value = h("input", {
    type: "text", placeholder: "value, e.g. 10.0.0.0/8", "aria-label": "Filter value", list: "filter-values",
    "data-testid": "filter-value", autocomplete: "off",
  });
  const form = h("form", { class: "filter-add", hidden: true, "data-testid": "filter-form" }, keys, value, options,
    h("button", { type: "submit", class: "primary" }, "Add"),
    h("button", { type: "button", onclick: () => close() }, "Cancel"));
  const open = h("button", { type: "button", class: "add-filter", "data-testid": "filter-add", onclick: () => {
    form.hidden = false;
    open.hidden = true;
    suggest();
    value.focus();
  } }, "+ Add filter");
  const close = () => {
    form.hidden = true;
    open.hidden = false;
  };
  let asked;
  async function suggest() {
    const column = suggestionColumn(keys.value);
    options.replaceChildren();
    if (!column) return;
    const ask = (asked = column);
    try {
      const top = await api.get("/api/top", { by: column, limit: 25, metric: "flows" });
      if (ask === asked) options.replaceChildren(...top.rows.map((r) => h("option", { value: String(r[column]) })));
    } catch {
      // Suggestions are a convenience: without them the field still takes any value.
    }
  }
  keys.addEventListener("change", suggest);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (value.value.trim()) state.addFilter(keys.value, value.value.trim());
  });
  form.addEventListener("keydown", (ev) => ev.key === "Escape" && close());
  return h("span", { class: "filter-add-wrap" }, open, form);
}
