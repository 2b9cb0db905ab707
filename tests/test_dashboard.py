"""The dashboard in a real browser: Debian's chromium driven by Playwright against the real server
(`python -m flowlake serve` in a subprocess) over a generated lake. Every number the pages show is
compared with an answer computed from the generated records read independently (tests/rawdata.py).

Also writes the screenshots in docs/img (1440x900 viewports of Overview, Explore, Flows and SQL).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from conftest import run_cli
from flowlake.generate import generate
from rawdata import Row, read_raw

END = datetime(2026, 11, 27, tzinfo=UTC)
FROM, TO = "2026-11-26T00:00Z", "2026-11-27T00:00Z"
RANGE = f"from={FROM}&to={TO}"
"""The last of the two generated days: every page opens on it, so its numbers never depend on the clock."""
DOCS_IMG = Path(__file__).resolve().parent.parent / "docs" / "img"
VIEWPORT = {"width": 1440, "height": 900}
TOKEN = "s3cret"
TIMEOUT = 30_000
"""Milliseconds a page may take to draw."""

# Counts the page's load cycles: body[data-ready] going to "0" (loading) and to "1" (drawn).
WATCH_READY = """
window.__ready = {zeros: 0, ones: 0};
new MutationObserver((records) => {
  records.forEach((record, i) => {
    if (record.attributeName !== "data-ready" || record.target !== document.body) return;
    const next = records.slice(i + 1).find((r) => r.attributeName === "data-ready" && r.target === document.body);
    const value = next ? next.oldValue : document.body.dataset.ready;
    if (value === "0") window.__ready.zeros += 1;
    if (value === "1") window.__ready.ones += 1;
  });
}).observe(document, {attributes: true, attributeOldValue: true, subtree: true, attributeFilter: ["data-ready"]});
"""


# ---------------------------------------------------------------------------------------------
# The truth, from the raw records.

def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def in_range(records: list[Row], start: str | datetime = FROM, end: str | datetime = TO) -> list[Row]:
    lo, hi = (parse_time(t) if isinstance(t, str) else t for t in (start, end))
    return [r for r in records if r["start_time"] is not None and lo <= r["start_time"] < hi]


def carries_traffic(r: Row) -> bool:
    return (r["log_status"] or "OK") == "OK"


def totals(records: list[Row]) -> dict[str, int]:
    ok = [r for r in records if carries_traffic(r)]
    return {"bytes": sum(r["bytes"] or 0 for r in ok), "packets": sum(r["packets"] or 0 for r in ok),
            "flows": len(ok), "accepted": sum(r["action"] == "ACCEPT" for r in records),
            "rejected": sum(r["action"] == "REJECT" for r in records),
            "interfaces": len({r["interface_id"] for r in records if r["interface_id"]})}


def sums(records: list[Row], by: tuple[str, ...], metric: str = "bytes") -> dict[tuple, int]:
    """The metric per combination of the dimensions, over the records that carry traffic."""
    out: dict[tuple, int] = defaultdict(int)
    for r in records:
        if carries_traffic(r):
            out[tuple(r[d] for d in by)] += 1 if metric == "flows" else r[metric] or 0
    return dict(out)


# ---------------------------------------------------------------------------------------------
# Servers, browser, pages.

def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium is missing: the dashboard tests drive Debian's chromium. Run `make test` (it installs "
                    "it) or `apt-get install chromium` as root; never `playwright install`.", pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(lake: Path, log: Path, *options: str) -> Iterator[str]:
    """`flowlake serve` over the lake on a free loopback port, until the block ends; yields its base URL."""
    port = free_port()
    headers = {"Authorization": f"Bearer {options[options.index('--token') + 1]}"} if "--token" in options else {}
    with log.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "flowlake", "serve", "--lake", str(lake), "--port", str(port),
                                 *options], stdout=subprocess.DEVNULL, stderr=err, env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"flowlake serve exited with {proc.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{base}/api/status", headers=headers, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"flowlake serve did not answer /api/status within 60 s: {log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module", autouse=True)
def _has_chromium() -> None:
    """Before any data is generated: without chromium every test fails at once, with the way to get it."""
    chromium()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Row]]:
    """Two days of traffic (45,000 records) ending at END, and the records read back independently."""
    root = tmp_path_factory.mktemp("dashboard")
    generate(root / "raw", records=45_000, seed=3, days=2, end=END)
    ingested = run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake"))
    assert ingested.returncode == 0, ingested.stderr.decode()
    return root / "lake", read_raw(root / "raw")


@pytest.fixture(scope="module")
def records(lake: tuple[Path, list[Row]]) -> list[Row]:
    return lake[1]


@pytest.fixture(scope="module")
def server(lake: tuple[Path, list[Row]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(lake[0], tmp_path_factory.mktemp("serve") / "stderr.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, headless=True)
        yield launched
        launched.close()


class Tab:
    """A page with the console errors and uncaught exceptions it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.set_default_timeout(TIMEOUT)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def open(self, url: str) -> Tab:
        self.page.goto(url)
        self.page.wait_for_selector('body[data-ready="1"]')
        assert not self.page.locator('[data-testid="fatal-error"]').count(), self.page.inner_text("main")
        return self

    def loads(self) -> dict[str, int]:
        return self.page.evaluate("() => ({...window.__ready})")

    @contextlib.contextmanager
    def reloading(self) -> Iterator[None]:
        """The block's action makes the page load again: waits until it went to loading and then to drawn."""
        before = self.loads()
        yield
        self.page.wait_for_function("(n) => window.__ready.zeros > n.zeros && window.__ready.ones > n.ones "
                                    "&& document.body.dataset.ready === '1'", arg=before)

    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.page.url).query)

    def totals(self) -> dict[str, int]:
        got = self.page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('[data-testid^="total-"]')]
            .map((el) => [el.dataset.testid.slice(6), el.dataset.value]))""")
        assert None not in got.values(), f"a totals card has no value: {got}"
        return {key: int(value) for key, value in got.items()}

    def chart(self, testid: str) -> list[dict]:
        """The traces of a Plotly chart, as the page gave them to Plotly."""
        data = self.page.evaluate("""(id) => {
            const el = document.querySelector(`[data-testid="${id}"]`);
            return el && el.data ? JSON.parse(JSON.stringify(el.data)) : null;
        }""", testid)
        assert data is not None, f"{testid} holds no Plotly chart"
        return data

    def chips(self) -> list[tuple[str, str]]:
        return [(c.get_attribute("data-key"), c.get_attribute("data-value"))
                for c in self.page.locator('[data-testid="filter-chip"]').all()]

    def table(self, testid: str) -> list[dict[str, str | None]]:
        """A table's rows: the raw value of each cell (data-value) by column key; None for empty cells."""
        return self.page.evaluate("""(id) => [...document.querySelectorAll(`[data-testid="${id}"] tbody tr`)]
            .map((tr) => Object.fromEntries([...tr.cells].map((td) => [td.dataset.key, td.dataset.value ?? null])))""",
                                  testid)


@pytest.fixture
def new_tab(browser: Browser) -> Iterator[Callable[..., Tab]]:
    """Opens tabs, each in a new browser context (no shared cookies), closed after the test."""
    contexts = []

    def make(**options: object) -> Tab:
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, **options)
        context.add_init_script(WATCH_READY)
        contexts.append(context)
        return Tab(context.new_page())

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def tab(new_tab: Callable[..., Tab]) -> Tab:
    return new_tab()


def bar_center(tab: Tab, testid: str, index: int = 0) -> tuple[float, float]:
    """Where a bar of a Plotly bar chart is on the screen (bars in trace order, the first row first)."""
    box = tab.page.evaluate("""([id, i]) => {
        const bar = document.querySelectorAll(`[data-testid="${id}"] .bars .point path`)[i];
        if (!bar) return null;
        const r = bar.getBoundingClientRect();
        return {x: r.x + r.width / 2, y: r.y + r.height / 2};
    }""", [testid, index])
    assert box, f"{testid} shows no bar {index}"
    return box["x"], box["y"]


def click_bar(tab: Tab, testid: str, index: int = 0) -> None:
    """A real mouse click on a bar: the pointer moves onto it (Plotly shows its hover label), then clicks."""
    tab.page.locator(f'[data-testid="{testid}"]').scroll_into_view_if_needed()
    x, y = bar_center(tab, testid, index)
    tab.page.mouse.move(x, y)
    tab.page.wait_for_selector(f'[data-testid="{testid}"] .hoverlayer .hovertext')
    tab.page.mouse.click(x, y)


def no_errors(tab: Tab, allowed: tuple[str, ...] = ()) -> None:
    unexpected = [e for e in tab.errors if not any(a in e for a in allowed)]
    assert not unexpected, f"errors in the browser console: {unexpected}"


# ---------------------------------------------------------------------------------------------
# The tests.

def test_overview_shows_the_true_totals_top_talker_protocols_and_traffic(server: str, records, tab: Tab) -> None:
    tab.open(f"{server}/?{RANGE}")
    expected = totals(in_range(records))
    assert expected["flows"] > 10_000 and expected["rejected"] > 0
    assert tab.totals() == expected

    by_source = sums(in_range(records), ("srcaddr",))
    (top_source,), top_bytes = max(((k, v) for k, v in by_source.items() if k[0] is not None), key=lambda kv: kv[1])
    [bars] = tab.chart("chart-top-sources")
    assert (bars["y"][0], bars["x"][0]) == (top_source, top_bytes)
    assert bars["x"] == sorted(bars["x"], reverse=True) and len(bars["x"]) == 10

    [donut] = tab.chart("chart-protocols")
    assert {"TCP", "UDP"} <= set(donut["labels"])
    by_protocol = sums(in_range(records), ("protocol",))
    assert donut["values"][donut["labels"].index("TCP")] == by_protocol[(6,)]

    series = tab.chart("chart-timeseries")
    assert {s["name"] for s in series} >= {"ACCEPT", "REJECT"}
    assert sum(y for s in series for y in s["y"]) == expected["bytes"], "the stacked areas add up to the total bytes"
    assert series[0]["x"][0] == "2026-11-26 00:00:00" and series[0]["x"][-1] == "2026-11-26 23:55:00"
    assert len(tab.chart("health-strip")[0]["x"]) == 24
    no_errors(tab)


def test_a_filter_added_in_the_filter_bar_narrows_every_total_and_its_chip_removes_it(server: str, records,
                                                                                        tab: Tab) -> None:
    tab.open(f"{server}/?{RANGE}")
    everything = tab.totals()
    page = tab.page
    page.get_by_test_id("filter-add").click()
    page.get_by_test_id("filter-key").select_option("action")
    page.get_by_test_id("filter-value").fill("REJECT")
    with tab.reloading():
        page.get_by_test_id("filter-value").press("Enter")
    assert tab.chips() == [("action", "REJECT")]
    assert ("action", "REJECT") in tab.query()
    rejected = totals([r for r in in_range(records) if r["action"] == "REJECT"])
    assert rejected["flows"] > 0 and rejected["bytes"] < everything["bytes"]
    assert tab.totals() == rejected

    with tab.reloading():
        page.get_by_test_id("filter-chip").get_by_test_id("filter-remove").click()
    assert tab.chips() == []
    assert "action" not in dict(tab.query())
    assert tab.totals() == everything == totals(in_range(records))
    no_errors(tab)


def test_clicking_the_top_talkers_bar_filters_on_it(server: str, records, tab: Tab) -> None:
    tab.open(f"{server}/?{RANGE}")
    source = tab.chart("chart-top-sources")[0]["y"][0]
    with tab.reloading():
        click_bar(tab, "chart-top-sources", 0)
    assert tab.chips() == [("src", source)]
    assert ("src", source) in tab.query()
    expected = totals([r for r in in_range(records) if r["srcaddr"] == source])
    assert expected["flows"] > 0
    assert tab.totals() == expected
    [bars] = tab.chart("chart-top-sources")
    assert bars["y"] == [source], "only the clicked source is left"
    no_errors(tab)


def test_time_presets_and_a_custom_range_reload_the_data(server: str, records, tab: Tab) -> None:
    tab.open(f"{server}/?{RANGE}")
    presets = tab.page.get_by_test_id("time-presets")
    with tab.reloading():
        now = datetime.now(UTC)
        presets.locator('button[data-value="7d"]').click()
    query = dict(tab.query())
    assert query.get("since") == "7d" and "from" not in query and "to" not in query
    assert presets.locator('button[data-value="7d"]').get_attribute("aria-pressed") == "true"
    near = [r for r in records if abs(r["start_time"] - (now - timedelta(days=7))) < timedelta(minutes=2)]
    assert not near, "records lie at the edge of the last 7 days: the expected totals would depend on timing"
    assert tab.totals() == totals(in_range(records, now - timedelta(days=7), now + timedelta(days=1)))

    page = tab.page
    page.get_by_test_id("time-custom-toggle").click()
    page.get_by_test_id("time-from").fill("2026-11-25T18:30")
    page.get_by_test_id("time-to").fill("2026-11-26T06:00")
    with tab.reloading():
        page.get_by_test_id("time-custom").get_by_role("button", name="Apply").click()
    query = dict(tab.query())
    assert (query.get("from"), query.get("to"), query.get("since")) == ("2026-11-25T18:30Z", "2026-11-26T06:00Z", None)
    assert page.get_by_test_id("time-custom-toggle").inner_text() == "2026-11-25 18:30 → 2026-11-26 06:00"
    assert tab.totals() == totals(in_range(records, "2026-11-25T18:30Z", "2026-11-26T06:00Z"))

    tab.open(f"{server}/?from=2026-11-26T12:00Z&to=2026-11-26T13:00Z")
    assert tab.totals() == totals(in_range(records, "2026-11-26T12:00Z", "2026-11-26T13:00Z"))
    no_errors(tab)


def test_a_shared_url_reopens_the_same_view(server: str, records, new_tab: Callable[..., Tab]) -> None:
    url = f"{server}/explore?{RANGE}&by=dstport&graph=bars&metric=flows&limit=15&action=ACCEPT&protocol=6"
    first = new_tab().open(url)
    chips, chart = first.chips(), first.chart("explore-chart")
    assert chips == [("action", "ACCEPT"), ("protocol", "6")]
    [bars] = chart
    flows = sums([r for r in in_range(records) if r["action"] == "ACCEPT" and r["protocol"] == 6], ("dstport",),
                 "flows")
    assert bars["x"] == sorted(flows.values(), reverse=True)[:15]
    for label, value in zip(bars["y"], bars["x"], strict=True):
        assert flows[(int(label.split()[0]),)] == value, label
    assert any(label == "443 https" for label in bars["y"])

    second = new_tab().open(first.page.url)
    assert second.page.url == first.page.url
    assert second.chips() == chips
    assert second.chart("explore-chart") == chart
    assert second.page.get_by_test_id("explore-graph").locator('[aria-pressed="true"]').get_attribute(
        "data-value") == "bars"
    assert second.page.get_by_test_id("explore-metric").locator('[aria-pressed="true"]').get_attribute(
        "data-value") == "flows"
    no_errors(first)
    no_errors(second)


def test_explore_draws_the_dimension_and_graph_chosen_in_its_panel(server: str, records, tab: Tab) -> None:
    tab.open(f"{server}/explore?{RANGE}")
    page = tab.page
    with tab.reloading():
        page.get_by_test_id("dimension-add").select_option("protocol")
    with tab.reloading():
        page.locator('[data-testid="dimension-chip"][data-value="srcaddr"] button').click()
    with tab.reloading():
        page.get_by_test_id("explore-graph").locator('button[data-value="bars"]').click()
    assert dict(tab.query()).get("graph") == "bars" and [v for k, v in tab.query() if k == "by"] == ["protocol"]
    [bars] = tab.chart("explore-chart")
    assert bars["type"] == "bar"
    by_protocol = sums(in_range(records), ("protocol",))
    assert {int(label.split()[0]): value for label, value in zip(bars["y"], bars["x"], strict=True)} == \
        {k[0]: v for k, v in by_protocol.items() if k[0] is not None}
    assert bars["y"][0] == "6 TCP"

    with tab.reloading():
        page.get_by_test_id("dimension-add").select_option("action")
    with tab.reloading():
        page.get_by_test_id("explore-graph").locator('button[data-value="sankey"]').click()
    [sankey] = tab.chart("explore-chart")
    assert sankey["type"] == "sankey"
    pairs = sums(in_range(records), ("protocol", "action"))
    labels = sankey["node"]["label"]
    links = {(labels[s], labels[t]): v for s, t, v in zip(sankey["link"]["source"], sankey["link"]["target"],
                                                         sankey["link"]["value"], strict=True)}
    assert len(links) == min(10, len(pairs))
    for (protocol, action), value in links.items():
        key = (int(protocol.split()[0]), None if action == "(none)" else action)
        assert pairs[key] == value, (protocol, action)
    assert links[("6 TCP", "ACCEPT")] == pairs[(6, "ACCEPT")]
    assert page.locator('[data-testid="explore-chart"] .sankey-node').count() == len(labels), "the nodes are drawn"
    assert page.locator('[data-testid="explore-chart"] .sankey-link').count() == len(links), "the links are drawn"
    no_errors(tab)


def test_flows_table_sorts_on_a_header_click_and_downloads_every_matching_record(server: str, records,
                                                                                 tab: Tab) -> None:
    tab.open(f"{server}/flows?{RANGE}&action=REJECT")
    page = tab.page
    rejected = [r for r in in_range(records) if r["action"] == "REJECT"]
    rows = tab.table("flows-table")
    assert len(rows) == 50
    assert int(page.get_by_test_id("flows-range").get_attribute("data-total")) == len(rejected)
    assert {row["action"] for row in rows} == {"REJECT"}
    assert rows[0]["start_time"] >= rows[-1]["start_time"], "newest first"

    with tab.reloading():
        page.locator('[data-testid="flows-table"] th[data-key="bytes"]').click()
    assert ("sort", "bytes") in tab.query()
    rows = tab.table("flows-table")
    assert int(rows[0]["bytes"]) == max(r["bytes"] for r in rejected if r["bytes"] is not None)
    column = [int(row["bytes"]) for row in rows]
    assert column == sorted(column, reverse=True)
    with tab.reloading():
        page.locator('[data-testid="flows-table"] th[data-key="bytes"]').click()
    assert ("order", "asc") in tab.query()
    assert int(tab.table("flows-table")[0]["bytes"]) == min(r["bytes"] for r in rejected if r["bytes"] is not None)

    with page.expect_download() as download:
        page.get_by_test_id("flows-download-csv").click()
    with open(download.value.path(), newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rejected)
    assert {row["action"] for row in table} == {"REJECT"}
    assert int(table[0]["bytes"]) == min(r["bytes"] for r in rejected if r["bytes"] is not None), "sorted as shown"
    no_errors(tab)


def test_sql_console_runs_queries_and_points_at_errors(server: str, records, tab: Tab) -> None:
    tab.open(f"{server}/sql?{RANGE}")
    page = tab.page
    editor = page.get_by_test_id("sql-editor")
    editor.fill("select action, count(*) as n from flows group by 1 order by 1")
    with tab.reloading():
        page.get_by_test_id("sql-run").click()
    got = {row["action"]: int(row["n"]) for row in tab.table("sql-results")}
    assert got == dict(Counter(r["action"] for r in in_range(records)))
    assert dict(tab.query()).get("q", "").startswith("select action")

    editor.fill("select sum(bytes) as total_bytes, count(*) as records from flows where protocol = 17")
    with tab.reloading():
        editor.press("Control+Enter")
    udp = [r for r in in_range(records) if r["protocol"] == 17]
    assert tab.table("sql-results") == [{"total_bytes": str(sum(r["bytes"] or 0 for r in udp)),
                                         "records": str(len(udp))}]
    assert page.get_by_test_id("sql-error").is_hidden()

    bad = "select srcaddr,\n       nosuch from flows"
    editor.fill(bad)
    with tab.reloading():
        editor.press("Control+Enter")
    error = page.get_by_test_id("sql-error")
    assert error.is_visible() and "nosuch" in error.inner_text()
    position = page.get_by_test_id("sql-error-position").inner_text()
    assert position == "line 2, column 8", f"the error should point at `nosuch` (line 2, column 8): {position}"
    marked = editor.evaluate("(el) => el.value.slice(el.selectionStart, el.selectionEnd)")
    assert marked == "nosuch", "the editor selects the offending word"
    assert not page.locator('[data-testid="sql-results"]').count()

    editor.fill("select * from read_csv('/etc/passwd')")
    with tab.reloading():
        page.get_by_test_id("sql-run").click()
    assert error.is_visible()
    text = error.inner_text()
    assert "read_csv" in text, f"the refusal should name what is refused: {text}"
    assert "root:" not in page.content()
    assert not page.locator('[data-testid="sql-results"]').count()
    no_errors(tab, allowed=("status of 400",))


def test_auto_refresh_shows_newly_ingested_records(new_tab: Callable[..., Tab], tmp_path: Path) -> None:
    now = datetime.now(UTC)
    generate(tmp_path / "first", records=3000, seed=8, days=1, end=now)
    assert run_cli("ingest", str(tmp_path / "first"), "--lake", str(tmp_path / "lake")).returncode == 0
    with serving(tmp_path / "lake", tmp_path / "stderr.log") as base:
        tab = new_tab().open(f"{base}/?since=7d")
        before = tab.totals()
        assert before["flows"] == totals(read_raw(tmp_path / "first"))["flows"]
        updated = tab.page.get_by_test_id("last-updated").get_attribute("data-time")
        tab.page.get_by_test_id("refresh-select").select_option("10s")
        assert ("refresh", "10s") in tab.query()

        generate(tmp_path / "second", records=2000, seed=9, days=1, end=datetime.now(UTC))
        ingested = run_cli("ingest", str(tmp_path / "second"), "--lake", str(tmp_path / "lake"))
        assert ingested.returncode == 0, ingested.stderr.decode()
        expected = totals(read_raw(tmp_path / "first") + read_raw(tmp_path / "second"))
        assert expected["flows"] > before["flows"]
        try:
            tab.page.wait_for_function("(n) => document.querySelector('[data-testid=\"total-flows\"]').dataset.value"
                                       " === String(n) && document.body.dataset.ready === '1'",
                                       arg=expected["flows"], timeout=25_000)
        except PlaywrightTimeout:
            pytest.fail(f"25 s after the ingest, with refresh every 10 s, the totals still show {tab.totals()}, "
                        f"not {expected}", pytrace=False)
        assert tab.totals() == expected
        assert tab.page.get_by_test_id("last-updated").get_attribute("data-time") > updated
        no_errors(tab)


def test_a_token_guards_the_dashboard_and_opening_it_with_the_token_works(lake, records, new_tab,
                                                                          tmp_path: Path) -> None:
    with serving(lake[0], tmp_path / "stderr.log", "--host", "127.0.0.1", "--token", TOKEN) as base:
        tab = new_tab()
        response = tab.page.goto(f"{base}/?{RANGE}")
        assert response.status == 401
        assert "token" in tab.page.inner_text("body")

        tab.open(f"{base}/?token={TOKEN}&{RANGE}")
        assert "token" not in tab.page.url, "the token leaves the address bar"
        assert dict(tab.query()) == {"from": FROM, "to": TO}
        assert [c["name"] for c in tab.page.context.cookies()] == ["flowlake_token"]
        assert tab.totals() == totals(in_range(records))
        assert len(tab.chart("chart-top-sources")[0]["x"]) == 10
        no_errors(tab, allowed=("status of 401",))


def test_local_time_shifts_every_shown_time_and_goes_in_the_url(server: str, new_tab: Callable[..., Tab]) -> None:
    tab = new_tab(timezone_id="Asia/Kolkata").open(f"{server}/?{RANGE}")
    page = tab.page
    assert page.get_by_test_id("time-custom-toggle").inner_text() == "2026-11-26 00:00 → 2026-11-27 00:00"
    assert tab.chart("chart-timeseries")[0]["x"][0] == "2026-11-26 00:00:00"
    with tab.reloading():
        page.get_by_test_id("tz-switch").locator('button[data-value="local"]').click()
    assert ("tz", "local") in tab.query()
    assert page.get_by_test_id("time-custom-toggle").inner_text() == "2026-11-26 05:30 → 2026-11-27 05:30"
    assert tab.chart("chart-timeseries")[0]["x"][0] == "2026-11-26 05:30:00"
    clock = datetime.fromisoformat(page.get_by_test_id("last-updated").get_attribute("data-time").replace("Z",
                                                                                                         "+00:00"))
    kolkata = clock + timedelta(hours=5, minutes=30)
    assert page.get_by_test_id("last-updated").inner_text() == f"Last updated {kolkata:%H:%M:%S}"

    with tab.reloading():
        page.locator('#nav a[data-path="/flows"]').click()
    assert ("tz", "local") in tab.query()
    note = page.locator(".flows-note").inner_text()
    assert "Asia/Kolkata" in note or "Asia/Calcutta" in note, note  # ICU still names the zone Calcutta
    first = tab.table("flows-table")[0]
    shown = page.locator('[data-testid="flows-table"] tbody tr').first.locator('td[data-key="start_time"]')
    local = parse_time(first["start_time"]).astimezone(UTC) + timedelta(hours=5, minutes=30)
    assert shown.inner_text() == f"{local:%Y-%m-%d %H:%M:%S}"
    no_errors(tab)


SCREENSHOTS = {
    "overview": f"/?{RANGE}",
    "explore": f"/explore?{RANGE}&by=account_id&by=action&by=protocol&graph=sankey&limit=20",
    "flows": f"/flows?{RANGE}&sort=bytes",
    "sql": f"/sql?{RANGE}&graph=line&q=" + (
        "select time_bucket(interval 1 hour, start_time) as hour,\n"
        "       sum(bytes) filter (where action = 'ACCEPT') as accepted_bytes,\n"
        "       sum(bytes) filter (where action = 'REJECT') as rejected_bytes\n"
        "from flows\ngroup by all\norder by hour").replace("\n", "%0A").replace(" ", "%20"),
}


def test_screenshots_of_each_page(server: str, tab: Tab) -> None:
    """docs/img/*.png: what each page looks like, at 1440x900."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    for name, path in SCREENSHOTS.items():
        tab.open(server + path)
        tab.page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover label in the picture
        tab.page.evaluate("() => document.activeElement && document.activeElement.blur()")
        tab.page.screenshot(path=str(DOCS_IMG / f"{name}.png"))
        assert (DOCS_IMG / f"{name}.png").stat().st_size > 20_000, name
    no_errors(tab)


# ---------------------------------------------------------------------------------------------
# Forecasts: a longer lake, since a forecast learns from weeks of history.

@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Thirty days of traffic ending at END, and a server over them."""
    root = tmp_path_factory.mktemp("weeks")
    generate(root / "raw", records=240_000, seed=5, days=30, end=END, records_per_object=10_000)
    ingested = run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake"))
    assert ingested.returncode == 0, ingested.stderr.decode()
    with serving(root / "lake", root / "stderr.log") as base:
        yield root / "lake", base


def cli_json(*args: str) -> list[dict]:
    result = run_cli(*args, "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_forecast_page_shows_the_models_peaks_backtest_and_band(weeks: tuple[Path, str], tab: Tab) -> None:
    lake, server = weeks
    tab.open(f"{server}/forecasts?metric=flows")
    peaks = cli_json("forecast", "--lake", str(lake), "--metric", "flows")
    shown = tab.table("forecast-peaks-table")
    assert [parse_time(r["time"]) for r in shown] == [parse_time(p["peak"]) for p in peaks]
    assert [round(float(r["expected"])) for r in shown] == [round(p["expected_flows"]) for p in peaks]
    busiest = next(p for p in peaks if p["busiest"])
    assert f"busiest hour in the next 7d: {parse_time(busiest['peak']):%Y-%m-%d %H:%M} UTC" in \
        tab.page.get_by_test_id("forecast-headline").inner_text()

    scores = {r["model"]: r for r in cli_json("forecast", "--lake", str(lake), "--metric", "flows", "--backtest")}
    [row] = tab.table("forecast-series-table")
    assert float(row["mape"]) == pytest.approx(scores["harmonic"]["mape"])
    assert float(row["baseline"]) == pytest.approx(scores["seasonal-naive"]["mape"])
    assert float(row["coverage"]) == pytest.approx(scores["harmonic"]["coverage"])

    traces = {t["name"]: t for t in tab.chart("chart-forecast")}
    assert {"history", "expected", "80 % band", "daily peak", "anomaly"} <= set(traces)
    assert len(traces["expected"]["x"]) == 7 * 24
    assert all(lo <= mid <= hi for lo, mid, hi in zip(traces["low"]["y"], traces["expected"]["y"],
                                                       traces["80 % band"]["y"], strict=True))
    assert traces["history"]["x"][-1] < traces["expected"]["x"][0]

    tab.page.mouse.move(0, VIEWPORT["height"] - 1)
    tab.page.screenshot(path=str(DOCS_IMG / "forecast.png"))
    with tab.reloading():
        tab.page.get_by_test_id("forecast-by").select_option("account")
    rows = tab.table("forecast-series-table")
    assert ("by", "account") in tab.query()
    accounts = [p["series"] for p in cli_json("forecast", "--lake", str(lake), "--by", "account", "--top", "5")
                if p["busiest"]]
    assert len(accounts) >= 3 and [r["series"] for r in rows] == accounts
    with tab.reloading():
        tab.page.locator('[data-testid="forecast-series-table"] td[data-key="series"]').nth(2).click()
    assert ("series", accounts[2]) in tab.query()
    assert accounts[2] in tab.page.get_by_test_id("forecast-headline").inner_text()
    no_errors(tab)


def test_overview_draws_the_expected_band_over_the_traffic_chart(weeks: tuple[Path, str], tab: Tab) -> None:
    _, server = weeks
    tab.open(f"{server}/?{RANGE}")
    assert not [t for t in tab.chart("chart-timeseries") if str(t.get("uid", "")).startswith("band-")]
    with tab.reloading():
        tab.page.get_by_test_id("timeseries-band").check()
    assert ("band", "1") in tab.query()
    traces = tab.chart("chart-timeseries")
    band = {t["uid"]: t for t in traces if str(t.get("uid", "")).startswith("band-")}
    assert set(band) == {"band-low", "band-high"}
    assert band["band-high"]["x"] == traces[0]["x"]  # one expected range per five-minute bucket of the day
    assert all(0 <= lo <= hi for lo, hi in zip(band["band-low"]["y"], band["band-high"]["y"], strict=True))
    assert tab.page.get_by_test_id("timeseries-band-note").inner_text() == ""
    no_errors(tab)


def test_overview_says_why_there_is_no_band_before_two_days_of_history(server: str, tab: Tab) -> None:
    tab.open(f"{server}/?from=2026-11-26T00:00Z&to=2026-11-26T12:00Z&band=1")
    assert tab.page.get_by_test_id("timeseries-band-note").inner_text() == \
        "no expected band: series 'all' has 1.0 days of history with data; forecasting needs at least 2"
    assert not [t for t in tab.chart("chart-timeseries") if str(t.get("uid", "")).startswith("band-")]
    tab.open(f"{server}/?from=2026-11-25T00:00Z&to=2026-11-25T12:00Z&band=1")
    assert tab.page.get_by_test_id("timeseries-band-note").inner_text() == \
        "no expected band: no traffic in the 28 days before this range to learn from"
    no_errors(tab)


# ---------------------------------------------------------------------------------------------
# Explain.

def inbound_reject(records: list[Row]) -> tuple[tuple[str, str, int, int], list[Row]]:
    """The busiest request of the day (source, destination, port, protocol) rejected where it arrives,
    never accepted and never answered: `flowlake explain` must call it an inbound reject."""
    day = [r for r in in_range(records) if carries_traffic(r)]
    legs: dict[tuple, list[Row]] = defaultdict(list)
    for r in day:
        legs[(r["srcaddr"], r["dstaddr"], r["dstport"], r["protocol"])].append(r)
    replies = {(r["dstaddr"], r["srcaddr"], r["srcport"], r["protocol"]) for r in day}
    for key, rows in sorted(legs.items(), key=lambda item: (-len(item[1]), item[0])):
        if (len(rows) > 1 and key not in replies and all(r["action"] == "REJECT" for r in rows)
                and all(r["flow_direction"] != "egress" and r["reject_reason"] is None for r in rows)):
            return key, rows
    raise AssertionError("the generated day has no rejected inbound request")


def test_explain_page_says_why_and_shows_the_evidence(server: str, records, tab: Tab) -> None:
    """The form filled in and submitted as a user does; the verdict, evidence and chart against the records."""
    (src, dst, port, protocol), rows = inbound_reject(records)
    tab.open(f"{server}/explain?{RANGE}")
    assert tab.page.locator('[data-card="explain-verdict"] .card-message').inner_text().startswith("Give a source")
    for field, value in (("client", src), ("server", dst), ("server_port", str(port)), ("proto", str(protocol))):
        tab.page.fill(f'[data-testid="explain-{field}"]', value)
    with tab.reloading():
        tab.page.click('[data-testid="explain-submit"]')
    assert {"client": src, "server": dst, "server_port": str(port), "proto": str(protocol)}.items() <= dict(
        tab.query()).items()
    assert tab.page.get_attribute('[data-testid="explain-headline"]', "data-verdict") == "inbound-reject"
    assert dst in tab.page.inner_text('[data-testid="explain-summary"]') or "rejected inbound" in tab.page.inner_text(
        '[data-testid="explain-summary"]')
    shown = Counter()
    for row in tab.table("explain-evidence-table"):
        shown[(row["interface_id"], row["leg"], row["action"])] += int(row["flows"])
    assert shown == Counter((r["interface_id"], "request", r["action"]) for r in rows)
    [pair] = tab.table("explain-pairs-table")
    assert (pair["srcaddr"], pair["dstaddr"], int(pair["rejected"])) == (src, dst, len(rows))
    traces = tab.chart("chart-explain")
    assert [t["name"] for t in traces] == ["request reject"] and sum(traces[0]["y"]) == len(rows)
    no_errors(tab)
