// The single-page front end: reads the view from the URL, draws the page it names, and draws again
// whenever the URL changes (a control, a drill-down click, back/forward) or the refresh timer fires.
// body[data-ready] is "1" once everything the page shows is drawn, "0" while it loads.
import * as api from "./api.js";
import { mountControls, refreshSeconds, renderControls, showStatus, showUpdated } from "./controls.js";
import { mountFilters, renderFilters } from "./filters.js";
import * as state from "./state.js";
import { h } from "./ui.js";
import * as explain from "./pages/explain.js";
import * as explore from "./pages/explore.js";
import * as findings from "./pages/findings.js";
import * as flows from "./pages/flows.js";
import * as forecast from "./pages/forecast.js";
import * as overview from "./pages/overview.js";
import * as placeholder from "./pages/placeholder.js";
import * as sql from "./pages/sql.js";

const PAGES = {
  "/": overview,
  "/explore": explore,
  "/flows": flows,
  "/sql": sql,
  "/findings": findings,
  "/forecasts": forecast,
  "/explain": explain,
};

const main = document.getElementById("page");
let meta;
let page;
let pagePath;
let viewKey;
let controller;
let generation = 0;
let timer;

const setReady = (ready) => {
  document.body.dataset.ready = ready ? "1" : "0";
};

function highlightNav() {
  for (const link of document.querySelectorAll("#nav a[data-path]")) {
    link.href = state.hrefFor(link.dataset.path);
    link.toggleAttribute("aria-current", link.dataset.path === state.path());
  }
}

// Everything the URL says except the refresh interval: when only that changes, nothing is fetched.
const currentView = () => {
  const query = state.params();
  query.delete("refresh");
  return `${state.path()}?${query}`;
};

async function load() {
  const mine = ++generation;
  controller?.abort();
  controller = new AbortController();
  clearTimeout(timer);
  setReady(false);
  const started = Date.now();
  // Cards report their own errors; allSettled keeps an unexpected one from leaving the page unready.
  const results = await Promise.allSettled([
    page.load(controller.signal),
    api.get("/api/status", {}, controller.signal).then(showStatus),
  ]);
  results.filter((r) => r.status === "rejected" && r.reason.name !== "AbortError" && r.reason.status === undefined)
    .forEach((r) => console.error(r.reason));
  if (mine !== generation) return;
  showUpdated(new Date());
  setReady(true);
  schedule(started);
}

// The next refresh is due one interval after this one started, so new data shows within an interval.
function schedule(started) {
  clearTimeout(timer);
  const seconds = refreshSeconds();
  if (seconds) timer = setTimeout(load, Math.max(0, started + seconds * 1000 - Date.now()));
}

function route() {
  renderControls();
  renderFilters();
  highlightNav();
  const key = currentView();
  if (state.path() !== pagePath) {
    pagePath = state.path();
    const module = PAGES[pagePath] || placeholder;
    main.replaceChildren();
    page = module.mount(main, { meta, reload: load, path: pagePath });
    document.title = `${page.title} · flowlake`;
  } else if (key === viewKey) {
    schedule(Date.now());
    return;
  }
  viewKey = key;
  load();
}

function followLinks() {
  document.getElementById("nav").addEventListener("click", (ev) => {
    const link = ev.target.closest("a[data-path]");
    if (!link || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    ev.preventDefault();
    state.navigate(link.dataset.path);
  });
}

async function start() {
  try {
    meta = await api.get("/api/meta");
  } catch (err) {
    main.replaceChildren(h("section", { class: "card notice error", "data-testid": "fatal-error" },
      h("h2", {}, err.status === 401 ? "Access token needed" : "The dashboard cannot load"), h("p", {}, err.message)));
    setReady(true);
    return;
  }
  document.getElementById("lake-name").textContent = meta.lake;
  document.getElementById("lake-name").title = `flowlake ${meta.version}`;
  mountControls(document, meta);
  mountFilters(document.getElementById("filters"), meta);
  followLinks();
  state.onChange(route);
  route();
}

start();
