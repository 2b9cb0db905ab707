"""Dashboard benchmark: the Overview's API calls over HTTP, beside in-process DuckDB and chDB, the page in
Chromium, and the API under load while an ingest runs.

Uses the lake bench/reports.py builds and caches in `--out` (`--records` generated records over `--days` days
ending 2026-11-27T00:00Z); the same cache, never rebuilt here when the parameters match. Then:

1. API latency: `flowlake serve` in a subprocess on that lake (once `/api/status` says no rollups are
   pending: the server builds missing ones itself). Every call the Overview makes (pages/overview.js, plus
   main.js's `/api/meta` and `/api/status`, with the same parameters) over the last 24 hours of the data,
   over a 24 hours that straddles two days (as a rolling `since=24h` does: the files it cuts are read row by
   row, not from their rollups) and over all of it, as explicit `from`/`to`. The server keeps its answers
   until the data change (flowlake.web.cache), so each call is timed twice: computed, with a `q=` parameter
   that differs every time (a key the page keeps in its URL for the SQL page: the API ignores it, the answer
   cache does not), which is what the first viewer of a range waits for; and shared, the same call again,
   which is what everyone else gets. One warm-up call, then `--runs` of each, one call at a time over one
   keep-alive connection; p50 and p95 (nearest rank).
2. Baselines, in the same loop (alternating with the computed HTTP calls): in-process, the
   `flowlake.web.dashboard` function on connections opened as the server opens them (no HTTP, no JSON, no
   cache; `/api/meta` and `/api/status` have no such function, so their route functions run, JSON included);
   and chDB (embedded ClickHouse) on `file()` of the same Parquet files for the heavier calls (summary, top
   sources, top pairs), `--chdb-runs` times. Their answers are compared with the server's before anything is
   timed. The server reads rollups where a rollup holds the answer; chDB reads the records.
3. The Overview's calls all at once from six connections (as Chromium makes them), no browser; and the
   Overview in Debian's chromium (Playwright, never `playwright install`), a new browser context each run,
   timed from navigation start until `document.body.dataset.ready === "1"` (set by main.js once every card is
   drawn). Both computed (every API request gets a fresh `q=`, added by request interception in the browser)
   and shared; one warm-up, then `--browser-runs` of each per range. Each page is checked for error and
   empty cards and console errors, and its API calls are compared with those of step 1.
4. Load: the lake is copied to a scratch folder in `--out` (data files hard-linked: they are never
   rewritten), a server is started on the copy, and a second process runs `--clients` client threads for
   `--load-seconds`, each looping over the Overview's calls one at a time (a closed loop: one request in
   flight per client). The range is the 24 hours up to noon of the day after the cached data (half of it
   there from the start, half filled by the ingest); every `--long-every`-th round of a client asks for the
   30 days up to the same time instead. `--ingest-delay` s into the load, `flowlake ingest` adds
   `--ingest-records` freshly generated records (seed 2) for that day. Twice: with shared answers (every
   client asks the page's questions) and computed (every request with its own `q=`: as if each client looked
   at a different view). Every request's latency and status is recorded; the server's stderr is searched for
   exceptions. The copies are deleted at the end.

    .venv/bin/python bench/dashboard.py [--records 50000000] [--days 30] [--out bench/out] [--runs 20]
        [--load-seconds 60] [--clients 20] [--write-doc]

Quick check: `--records 1000000 --runs 3 --browser-runs 2 --load-seconds 10 --clients 4 --ingest-records 100000`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

if __name__ != "__mp_main__":  # the load process (multiprocessing's spawn) needs none of it: keep it small
    import reports  # bench/reports.py: the cached data, the chDB helpers, the machine's description

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
END = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
"""Where bench/reports.py's data ends (checked in main); the load's ingest fills the day after it."""
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
CHROMIUM = "/usr/bin/chromium"
INGEST_SEED = 2
BEGIN_MARK = "<!-- bench/dashboard.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/dashboard.py: end -->"
SHORT, ACROSS = "24 h", "24 h across days"
COMPUTED, SHARED = "computed", "shared"
BUST = "q"
"""A key the page keeps in its URL (the SQL page's query): the API ignores it, its answer cache does not."""
GOAL_SHORT, GOAL_LONG, GOAL_DRAW, GOAL_LOAD = 0.3, 2.0, 2.0, 2.0
"""Seconds: p95 of every call over 24 hours and over 30 days, the Overview drawn, p99 under load."""
REQUEST_TIMEOUT = 120.0
VOLATILE = {"now", "lag_seconds"}
"""Keys of /api/meta and /api/status that differ from one call to the next."""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def long_label(days: int) -> str:
    return f"{days} d"


Span = tuple[dt.datetime, dt.datetime]

# ---------------------------------------------------------------------------------------------
# The Overview's calls.


@dataclass(frozen=True)
class Call:
    name: str
    path: str
    extra: tuple[tuple[str, str], ...] = ()

    def url(self, span: Span, bust: str | None = None) -> str:
        """The call as the page makes it (the time range first, then the call's own parameters); with `bust`,
        a `q=` the answer cache keys on."""
        query = [("from", stamp(span[0])), ("to", stamp(span[1])), *self.extra]
        return self.path + "?" + urlencode(query + ([(BUST, bust)] if bust else []))

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.path, tuple(sorted(self.extra))

    def param(self, name: str, default: str | None = None) -> str | None:
        return next((v for k, v in self.extra if k == name), default)

    @property
    def by(self) -> list[str]:
        return [v for k, v in self.extra if k == "by"]

    @property
    def shown(self) -> str:
        return self.path + "".join(f"{'&' if i else '?'}by={b}" for i, b in enumerate(self.by))


def _top(name: str, *by: str, limit: int = 10) -> Call:
    return Call(name, "/api/top", (*(("by", b) for b in by), ("metric", "bytes"), ("limit", str(limit))))


OVERVIEW = (
    Call("meta", "/api/meta"),
    Call("status", "/api/status"),
    Call("summary", "/api/summary"),
    Call("timeseries by action", "/api/timeseries", (("metric", "bytes"), ("by", "action"), ("limit", "10"))),
    _top("top protocols", "protocol", limit=8),
    Call("health", "/api/health"),
    _top("top sources", "srcaddr"),
    _top("top destinations", "dstaddr"),
    _top("top pairs", "srcaddr", "dstaddr"),
    _top("top destination ports", "dstport"),
    _top("top accounts and regions", "account_id", "region"),
)
"""Every call the Overview makes (main.js: meta and status; pages/overview.js: the rest), as it makes them."""
CHDB_CALLS = ("summary", "top sources", "top pairs")


def stamp(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%dT%H:%M}Z"


def request_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A request the page made, as a `Call.key` (time range and `q` left out)."""
    parts = urlsplit(url)
    return parts.path, tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k not in ("from", "to", BUST)))


def unique() -> str:
    return uuid.uuid4().hex[:12]


def percentile(values: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def med(values: list[float] | None) -> float | None:
    return statistics.median(values) if values else None


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


# ---------------------------------------------------------------------------------------------
# The server.


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`flowlake serve` on a lake, in its own process, on a free loopback port; stderr to a file."""

    def __init__(self, lake: Path, stderr: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stderr_path = stderr
        self._stderr = stderr.open("wb")
        self.proc = subprocess.Popen([PY, "-m", "flowlake", "serve", "--lake", str(lake), "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=self._stderr)
        self.client = httpx.Client(base_url=self.base, timeout=REQUEST_TIMEOUT)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"flowlake serve exited ({self.proc.returncode}):\n{self.log()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/api/status").status_code == 200:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"flowlake serve did not answer in 120 s:\n{self.log()[-2000:]}")
            time.sleep(0.2)
        # Another program could have taken the port between free_port() and the bind: make sure it is ours.
        served = self.client.get("/api/meta").json().get("lake")
        if self.proc.poll() is not None or served != lake.name:
            self.stop()
            raise SystemExit(f"port {self.port}: not the server started here (it serves {served!r})")

    def status(self) -> dict:
        return self.client.get("/api/status").raise_for_status().json()

    def wait_for_rollups(self, limit: float) -> int:
        """Wait until the server has rolled up every closed day's file (at most `limit` s); returns those left."""
        began, shown = time.monotonic(), None
        while True:
            pending = int(self.status().get("rollups_pending") or 0)
            if not pending or time.monotonic() - began > limit:
                return pending
            if pending != shown:
                log(f"  waiting for the server to roll up {pending} files")
                shown = pending
            time.sleep(2)

    def peak_rss_mib(self) -> float | None:
        return peak_rss_mib(self.proc.pid)

    def log(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn shuts down gracefully (and stops the rollup builder)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def peak_rss_mib(pid: int) -> float | None:
    """A running process's peak resident set (VmHWM)."""
    try:
        found = re.search(r"VmHWM:\s*(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return None
    return int(found[1]) / 1024 if found else None


def exceptions(text: str) -> Counter:
    """Exception lines (`SomeError: message`) and ERROR log lines in a server's stderr."""
    found = Counter()
    for line in text.splitlines():
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b", line) or "ERROR" in line:
            found[line.strip()[:240]] += 1
    return found


# ---------------------------------------------------------------------------------------------
# Steps 1 and 2: latency, in-process and chDB.


@dataclass
class Timing:
    call: Call
    computed: dict[str, list[float]] = field(default_factory=dict)
    shared: dict[str, list[float]] = field(default_factory=dict)
    local: dict[str, list[float]] = field(default_factory=dict)
    chdb: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def comparable(answer: object) -> object:
    """An answer as JSON would carry it, without the keys that change from call to call."""
    from flowlake.output import jsonable

    data = json.loads(json.dumps(answer, default=jsonable))
    if isinstance(data, dict):
        for key in VOLATILE:
            data.pop(key, None)
    return data


def in_process(lake: Path) -> Callable[[Call, Span], object]:
    """A function answering a call as the server's handler does, minus HTTP, the answer cache and (but for
    meta and status) JSON."""
    from flowlake.lake.store import Lake
    from flowlake.web import dashboard
    from flowlake.web.app import _open, create_app
    from flowlake.web.dashboard import Period
    from flowlake.web.filters import Filters

    target = Lake(lake)
    app = create_app(target, build_rollups=False)  # its route functions for meta and status; no server
    routes = {route.path: route.endpoint for route in app.routes if getattr(route, "path", "").startswith("/api/")}
    filters = Filters.parse([])

    def answer(call: Call, span: Span) -> object:
        period = Period(*span)
        if call.path in ("/api/meta", "/api/status"):
            return json.loads(routes[call.path]().body)
        opened = []

        def con(start: dt.datetime, end: dt.datetime):
            opened.append(_open(target, filters, start, end))
            return opened[-1]

        try:
            if call.path == "/api/summary":
                return dashboard.summary(con(period.start, period.end), con(period.before.start, period.start),
                                         period, filters)
            if call.path == "/api/timeseries":
                return dashboard.timeseries(con(period.start, period.end), period, call.param("metric", "bytes"),
                                            call.by, int(call.param("limit", "10")), False, False, filters)
            if call.path == "/api/top":
                return dashboard.top(con(period.start, period.end), call.param("metric", "bytes"), call.by,
                                     int(call.param("limit", "10")), filters)
            if call.path == "/api/health":
                return dashboard.health(con(period.start, period.end), filters)
            raise ValueError(f"no in-process equivalent of {call.path}")
        finally:
            for c in opened:
                c.close()

    return answer


CH_TOTALS = """
    SELECT sumIf(bytes, ok) AS b, sumIf(packets, ok) AS p, countIf(ok) AS f, countIf(action = 'ACCEPT') AS acc,
           countIf(action = 'REJECT') AS rej, countIf(log_status = 'NODATA') AS nd,
           countIf(log_status = 'SKIPDATA') AS sd, uniqExact(interface_id) AS ifs
    FROM (SELECT *, coalesce(log_status, 'OK') = 'OK' AS ok FROM flows)"""
TOTAL_KEYS = ("bytes", "packets", "flows", "accepted", "rejected", "nodata", "skipdata", "interfaces")


def ch_top(by: list[str], limit: int) -> str:
    cols = ", ".join(by)
    return (f"SELECT {cols}, sum(bytes) AS b, sum(packets) AS p, count() AS f, sum(sum(bytes)) OVER () AS tb, "
            f"sum(sum(packets)) OVER () AS tp, sum(count()) OVER () AS tf FROM traffic GROUP BY {cols} "
            f"ORDER BY b DESC, {cols} LIMIT {limit}")


def with_chdb(lake: Path) -> Callable[[Call, Span], object]:
    """A function answering summary and top calls with chDB over `file()` of the lake's Parquet files."""
    from flowlake.lake.store import FLOWS_DIR
    from flowlake.schema import PARTITION_COLUMN
    from flowlake.timerange import TimeRange

    def has_data(when: TimeRange) -> bool:
        first, last = (dt.date.fromisoformat(d) for d in when.dates)
        return any((lake / FLOWS_DIR / f"{PARTITION_COLUMN}={first + dt.timedelta(days=i)}").is_dir()
                   for i in range((last - first).days + 1))

    def totals(when: TimeRange) -> dict:
        if not has_data(when):  # file() fails on a glob matching nothing: no partition, nothing to count
            return dict.fromkeys(TOTAL_KEYS, 0)
        [row] = reports.run_chdb(reports.chdb_query(CH_TOTALS, lake, when)).to_pylist()
        return {k: int(v or 0) for k, v in zip(TOTAL_KEYS, row.values(), strict=True)}

    def answer(call: Call, span: Span) -> object:
        start, end = span
        if call.path == "/api/summary":
            return {"current": totals(TimeRange(start, end)), "before": totals(TimeRange(start - (end - start), start))}
        if call.path == "/api/top":
            table = reports.run_chdb(reports.chdb_query(ch_top(call.by, int(call.param("limit", "10"))), lake,
                                                        TimeRange(start, end)))
            rows = table.to_pylist()
            total = ({"bytes": int(rows[0]["tb"]), "packets": int(rows[0]["tp"]), "flows": int(rows[0]["tf"])}
                     if rows else {"bytes": 0, "packets": 0, "flows": 0})
            return {"rows": [(*(r[d] for d in call.by), int(r["b"]), int(r["p"]), int(r["f"])) for r in rows],
                    "total": total}
        raise ValueError(f"no chDB equivalent of {call.path}")

    return answer


def chdb_view(call: Call, answer: dict) -> dict:
    """The server's answer in the shape `with_chdb` gives."""
    if call.path == "/api/summary":
        return {"current": answer["current"], "before": answer["before"]}
    return {"rows": [(*(r[d] for d in call.by), r["bytes"], r["packets"], r["flows"]) for r in answer["rows"]],
            "total": answer["total"]}


def same_rows(expected: dict, got: dict) -> str | None:
    if "rows" in expected:
        if Counter(expected["rows"]) != Counter(got["rows"]):
            return f"rows differ: {expected['rows'][:2]} against {got['rows'][:2]}"
        if expected["total"] != got["total"]:
            return f"totals differ: {expected['total']} against {got['total']}"
        return None
    return None if expected == got else f"{got} instead of {expected}"


def latency(server: Server, lake: Path, ranges: dict[str, Span], runs: int, chdb_runs: int) -> list[Timing]:
    local = in_process(lake)
    chdb_answer = with_chdb(lake) if chdb_runs else None
    results = []

    def http(url: str) -> httpx.Response:
        response = server.client.get(url)
        response.read()
        return response

    for call in OVERVIEW:
        timing = Timing(call)
        results.append(timing)
        for label, span in ranges.items():
            url = call.url(span)
            _, response = timed(lambda url=url: http(url))  # warm-up, and the answer to compare with
            if response.status_code != 200:
                timing.problems.append(f"HTTP {label}: {response.status_code} {response.text[:200]}")
                log(f"{call.name} {label}: {response.status_code} {response.text[:300]}")
                continue
            expected = comparable(response.json())
            try:
                got = comparable(local(call, span))
                do_local = got == expected
                if not do_local:
                    timing.problems.append(f"in-process {label}: a different answer")
                    log(f"  {call.name} {label}: the in-process answer differs:\n    {got}\n    {expected}")
            except Exception as exc:
                do_local = False
                timing.problems.append(f"in-process {label}: {type(exc).__name__}: {exc}")
                log(f"  {call.name} {label}: in-process failed: {exc!r}")
            do_chdb = bool(chdb_answer and call.name in CHDB_CALLS)
            if do_chdb:
                try:
                    problem = same_rows(chdb_view(call, expected), chdb_answer(call, span))
                except Exception as exc:  # chDB raises RuntimeError with ClickHouse's message
                    problem = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
                if problem:
                    do_chdb = False
                    timing.problems.append(f"chDB {label}: {problem}")
                    log(f"  {call.name} {label}: chDB: {problem}")
            computed, shared, local_times, chdb_times = [], [], [], []
            for i in range(runs):
                busted = call.url(span, unique())
                elapsed, response = timed(lambda busted=busted: http(busted))
                if response.status_code != 200:
                    timing.problems.append(f"HTTP {label}: {response.status_code} in a timed run")
                elif i == 0 and comparable(response.json()) != expected:
                    timing.problems.append(f"HTTP {label}: another answer with {BUST}=")
                computed.append(elapsed)
                if do_local:
                    local_times.append(timed(lambda call=call, span=span: local(call, span))[0])
                if do_chdb and i < chdb_runs:
                    chdb_times.append(timed(lambda call=call, span=span: chdb_answer(call, span))[0])
            for _ in range(runs):
                shared.append(timed(lambda url=url: http(url))[0])
            timing.computed[label], timing.shared[label] = computed, shared
            if local_times:
                timing.local[label] = local_times
            if chdb_times:
                timing.chdb[label] = chdb_times
            log(f"{call.name:<26} {label:>16}: computed p50 {ms(med(computed))} p95 {ms(percentile(computed, 95))}, "
                f"shared p50 {ms(med(shared))}, in-process p50 {ms(med(local_times))}, chDB p50 {ms(med(chdb_times))}")
    return results


# ---------------------------------------------------------------------------------------------
# Step 3: the Overview's calls at once, and in Chromium.


def at_once(base: str, ranges: dict[str, Span], runs: int, connections: int = 6) -> dict[tuple[str, str], list]:
    """The Overview's calls made together over `connections` keep-alive connections (Chromium opens six per
    server), with no browser: seconds until the last answer, per (range, computed or shared) and run."""
    local = threading.local()
    opened: list[httpx.Client] = []

    def get(url: str) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT)
            opened.append(local.client)
        return local.client.get(url).status_code

    times: dict[tuple[str, str], list[float]] = {}
    try:
        with ThreadPoolExecutor(connections) as pool:
            for label, span in ranges.items():
                for mode in (SHARED, COMPUTED):
                    for run in range(runs + 1):  # the first is a warm-up
                        bust = unique() if mode == COMPUTED else "shared"
                        urls = [c.url(span, bust) for c in OVERVIEW]
                        elapsed, statuses = timed(lambda urls=urls: list(pool.map(get, urls)))
                        if any(s != 200 for s in statuses):
                            raise SystemExit(f"the Overview's calls at once: answers {statuses}")
                        if run:
                            times.setdefault((label, mode), []).append(elapsed)
                    done = times[label, mode]
                    log(f"the Overview's calls at once, {label}, {mode}: p50 {ms(statistics.median(done))}, "
                        f"max {ms(max(done))}")
    finally:
        for client in opened:
            client.close()
    return times


@dataclass
class Draw:
    label: str
    mode: str
    times: list[float] = field(default_factory=list)
    began: list[float] = field(default_factory=list)
    """When the first API call was made, per run (seconds after navigation start): the page's own loading."""
    answered: list[float] = field(default_factory=list)
    """When the last API answer had arrived, per run (seconds after navigation start)."""
    charts: int = 0
    problems: list[str] = field(default_factory=list)
    calls: set = field(default_factory=set)


READY = "() => document.body && document.body.dataset.ready === '1' ? performance.now() : null"
CHECK = """() => {
    const api = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/'));
    return {
        bad: [...document.querySelectorAll('.card-message:not([hidden]), .stat-delta.error, [data-testid=fatal-error]')]
            .map((e) => e.textContent.trim()).filter((t) => t),
        charts: document.querySelectorAll('.js-plotly-plot').length,
        began: Math.min(...api.map((e) => e.startTime)),
        answered: Math.max(0, ...api.map((e) => e.responseEnd)),
    };
}"""


def buster(bust: str) -> Callable:
    """A route handler adding `q=bust` to a request (a closure: Playwright passes a second argument, the request,
    to a handler that takes one)."""

    def add(route) -> None:
        address = route.request.url
        route.continue_(url=address + ("&" if "?" in address else "?") + urlencode({BUST: bust}))

    return add


def browser(base: str, ranges: dict[str, Span], runs: int) -> tuple[list[Draw], str]:
    """Each range: a warm-up load with shared answers, `runs` more with them, then `runs` with every API
    request computed (a fresh `q=` added to each by request interception, in both modes alike)."""
    from playwright.sync_api import sync_playwright

    draws = []
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        version = chromium.version
        try:
            for label, span in ranges.items():
                url = f"{base}/?" + urlencode([("from", stamp(span[0])), ("to", stamp(span[1]))])
                shared, computed = Draw(label, SHARED), Draw(label, COMPUTED)
                draws += [shared, computed]
                for draw, run in [(shared, -1), *((shared, i) for i in range(runs)),
                                  *((computed, i) for i in range(runs))]:
                    bust = "shared" if draw is shared else unique()
                    context = chromium.new_context(viewport={"width": 1600, "height": 1000})

                    context.route(re.compile(r"/api/"), buster(bust))
                    page = context.new_page()
                    seen, errors = [], []
                    page.on("request", lambda r, seen=seen: seen.append(r.url) if "/api/" in r.url else None)
                    page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                    page.on("console", lambda m, errors=errors: errors.append(m.text) if m.type == "error" else None)
                    page.goto(url, wait_until="commit")
                    ready = page.wait_for_function(READY, timeout=REQUEST_TIMEOUT * 1000).json_value() / 1000
                    checked = page.evaluate(CHECK)
                    context.close()
                    draw.calls |= {request_key(u) for u in seen}
                    for problem in [*checked["bad"], *errors]:
                        if problem not in draw.problems:
                            draw.problems.append(problem)
                    draw.charts = checked["charts"]
                    if run >= 0:
                        draw.times.append(ready)
                        draw.began.append(checked["began"] / 1000)
                        draw.answered.append(checked["answered"] / 1000)
                for draw in (shared, computed):
                    log(f"Chromium {label}, {draw.mode}: p50 {ms(statistics.median(draw.times))}, max "
                        f"{ms(max(draw.times))}, {draw.charts} charts, problems: {draw.problems or 'none'}")
        finally:
            chromium.close()
    return draws, version


# ---------------------------------------------------------------------------------------------
# Step 4: load, from a second process, while an ingest runs.


def load_worker(base: str, rounds: dict[str, list[tuple[str, str]]], clients: int, seconds: float, long_every: int,
                bust: bool, started, load_start, path: str) -> None:
    """The load process: `clients` threads, each making one request at a time until `seconds` have passed;
    with `bust`, each request with its own `q=`.

    Each request: (seconds since the load began, call, range, status or exception name, latency, bytes).
    Bodies are read and dropped as they arrive."""
    labels = list(rounds)
    records: list[list] = [[] for _ in range(clients)]
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        mine = records[index]
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as http:
            barrier.wait()
            deadline = load_start.value + seconds
            turn = index  # staggered, so the long rounds are spread over the clients
            while time.time() < deadline:
                label = labels[1] if long_every and len(labels) > 1 and turn % long_every == long_every - 1 \
                    else labels[0]
                calls = rounds[label]
                offset = index % len(calls)
                for name, url in calls[offset:] + calls[:offset]:
                    if time.time() >= deadline:
                        break
                    if bust:
                        url += f"&{BUST}={index}-{len(mine)}"
                    began = time.time()
                    clock = time.perf_counter()
                    size = 0
                    try:
                        with http.stream("GET", url) as response:
                            for chunk in response.iter_raw():
                                size += len(chunk)
                            status: int | str = response.status_code
                            if status != 200 and len(failures) < 50:
                                failures.append(f"{name} {label}: {status}")
                    except Exception as exc:
                        status = type(exc).__name__
                        if len(failures) < 50:
                            failures.append(f"{name} {label}: {exc!r}"[:300])
                    mine.append([began - load_start.value, name, label, status, time.perf_counter() - clock, size])
                turn += 1

    threads = [threading.Thread(target=client, args=(i,), name=f"client-{i}") for i in range(clients)]
    for t in threads:
        t.start()
    load_start.value = time.time()
    barrier.wait()
    started.set()
    for t in threads:
        t.join()
    peak = peak_rss_mib(os.getpid())  # not getrusage: its maximum carries over from the parent's fork
    Path(path).write_text(json.dumps({"requests": [r for rs in records for r in rs], "failures": failures,
                                      "peak_rss_mib": peak}))


@dataclass
class Load:
    mode: str
    requests: list[list]
    failures: list[str]
    seconds: float
    ingest: dict
    server_peak_mib: float | None
    worker_peak_mib: float | None
    server_errors: Counter
    status_before: dict
    status_after: dict


def ingest_data(out: Path, records: int) -> Path:
    """Fresh records for the day after the cached data, cached like bench/reports.py's data."""
    from flowlake.generate import generate

    params = {"records": records, "days": 1, "seed": INGEST_SEED, "end": (END + DAY).isoformat(),
              "records_per_object": reports.PER_OBJECT, "formats": ["v2-text"]}
    folder = out / f"dashboard-ingest-{records}-data"
    stamp_file = folder.with_name(folder.name + ".json")
    if not stamp_file.exists() or json.loads(stamp_file.read_text()) != params:
        shutil.rmtree(folder, ignore_errors=True)
        stamp_file.unlink(missing_ok=True)
        began = time.perf_counter()
        generate(folder, records=records, seed=INGEST_SEED, days=1, end=END + DAY,
                 records_per_object=reports.PER_OBJECT, formats=("v2-text",))
        stamp_file.write_text(json.dumps(params))
        log(f"generated {records:,} records to ingest in {time.perf_counter() - began:.0f} s")
    return folder


def copy_lake(source: Path, target: Path) -> None:
    """A copy whose Parquet files are hard links (flowlake never rewrites one; ledger and locks are copied)."""

    def link_or_copy(src: str, dst: str) -> str:
        if src.endswith(".parquet"):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, copy_function=link_or_copy)


def load_spans(days: int) -> dict[str, Span]:
    """The load's ranges: 24 hours and `days` days up to noon of the day the ingest fills."""
    noon = END + 12 * HOUR
    return {SHORT: (noon - DAY, noon), long_label(days): (noon - days * DAY, noon)}


def load(args: argparse.Namespace, lake: Path, mode: str) -> Load:
    out = args.out.resolve()
    fresh = ingest_data(out, args.ingest_records)
    scratch = out / "dashboard-load"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    copy = scratch / lake.name
    try:
        copy_lake(lake, copy)
        server = Server(copy, scratch / "server.log")
        try:
            left = server.wait_for_rollups(args.rollup_wait)
            if left:
                log(f"  {left} files still lack rollups; loading anyway")
            before = server.status()
            rounds = {label: [(c.name, c.url(span)) for c in OVERVIEW] for label, span in load_spans(args.days).items()}
            ctx = mp.get_context("spawn")
            started, load_start = ctx.Event(), ctx.Value("d", 0.0)
            results = scratch / "requests.json"
            worker = ctx.Process(target=load_worker, name="load-clients",
                                 args=(server.base, rounds, args.clients, args.load_seconds, args.long_every,
                                       mode == COMPUTED, started, load_start, str(results)))
            worker.start()
            if not started.wait(300):
                worker.kill()
                raise SystemExit("the load process did not start")
            log(f"load, {mode} answers: {args.clients} clients for {args.load_seconds:g} s")
            time.sleep(max(0.0, load_start.value + args.ingest_delay - time.time()))
            ingest = {"start": time.time() - load_start.value}
            with (scratch / "ingest.out").open("wb") as stdout, (scratch / "ingest.err").open("wb") as stderr:
                proc = subprocess.Popen([PY, "-m", "flowlake", "ingest", str(fresh), "--lake", str(copy)],
                                        stdout=stdout, stderr=stderr)
                while proc.poll() is None:
                    time.sleep(0.1)
            ingest |= {"end": time.time() - load_start.value, "rc": proc.returncode}
            errors = (scratch / "ingest.err").read_text(errors="replace").strip().splitlines()
            ingest["summary"] = next((line for line in reversed(errors) if line.startswith("ingested")),
                                     errors[-1] if errors else "")
            log(f"  ingest: from {ingest['start']:.1f} s to {ingest['end']:.1f} s, exit {proc.returncode}: "
                f"{ingest['summary']}")
            worker.join(args.load_seconds + REQUEST_TIMEOUT + 120)
            if worker.is_alive() or worker.exitcode != 0:
                worker.kill()
                raise SystemExit(f"the load process failed (exit {worker.exitcode})")
            data = json.loads(results.read_text())
            after = server.status()
            peak = server.peak_rss_mib()
        finally:
            server.stop()
        requests = data["requests"]
        seconds = max(r[0] + r[4] for r in requests) if requests else 0.0
        result = Load(mode, requests, data["failures"], seconds, ingest, peak, data["peak_rss_mib"],
                      exceptions(server.stderr_path.read_text(errors="replace")), before, after)
        times = [r[4] for r in requests]
        log(f"  {len(requests):,} requests, {sum(is_error(r) for r in requests):,} errors, p50 "
            f"{ms(percentile(times, 50))} p99 {ms(percentile(times, 99))}")
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Output.


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 < 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def rank(runs: int) -> str:
    """Which of `runs` times the p95 is, from the slowest."""
    place = runs - math.ceil(0.95 * runs) + 1
    return "slowest" if place == 1 else f"{ordinal(place)} slowest"


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:,.0f}" if value >= 0.0995 else f"{value * 1000:.1f}"


def ratio(num: float | None, den: float | None) -> str:
    if num is None or den is None or not den:
        return "-"
    return f"{num / den:.2f}×"


def p95(values: list[float] | None) -> float | None:
    return percentile(values, 95) if values else None


def latency_table(timings: list[Timing], labels: list[str]) -> str:
    head = ["call", "range", "computed p50", "computed p95", "shared p50", "shared p95", "in-process p50",
            "computed ÷ in-process", "chDB p50", "chDB ÷ computed"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for t in timings:
        for i, label in enumerate(labels):
            computed, local, chdb = med(t.computed.get(label)), med(t.local.get(label)), med(t.chdb.get(label))
            name = f"{t.call.name} (`{t.call.shown}`)" + (" ≠" if t.problems else "") if i == 0 else ""
            cells = [name, label, ms(computed), ms(p95(t.computed.get(label))), ms(med(t.shared.get(label))),
                     ms(p95(t.shared.get(label))), ms(local), ratio(computed, local), ms(chdb), ratio(chdb, computed)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def draw_table(draws: list[Draw] | None, burst: dict[tuple[str, str], list[float]], timings: list[Timing]) -> str:
    head = ["range", "answers"]
    if draws:
        head += ["drawn p50", "drawn max", "first API call at (p50)", "last API answer in (p50)", "Plotly charts",
                 "problems"]
    head += ["calls at once, no browser: p50", "max", "sum of the sequential p50s"]
    rule = "".join("---|" if h in ("range", "answers", "problems") else "---:|" for h in head)
    lines = ["| " + " | ".join(head) + " |", "|" + rule]
    for (label, mode), times in burst.items():
        cells = [label, mode]
        d = next((d for d in draws or [] if (d.label, d.mode) == (label, mode)), None)
        if d:
            cells += [ms(statistics.median(d.times)), ms(max(d.times)), ms(statistics.median(d.began)),
                      ms(statistics.median(d.answered)), str(d.charts), "; ".join(d.problems) or "none"]
        elif draws:
            cells += ["-"] * 6
        serial = [med((t.computed if mode == COMPUTED else t.shared).get(label)) for t in timings]
        cells += [ms(statistics.median(times)), ms(max(times)),
                  ms(sum(serial)) if all(v is not None for v in serial) else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def is_error(record: list) -> bool:
    return record[3] != 200


def load_row(mode: str, name: str, records: list[list], seconds: float | None) -> str:
    if not records:
        return f"| {mode} | {name} | 0 | - | - | - | - | - | - | - |"
    times = [r[4] for r in records]
    errors = sum(is_error(r) for r in records)
    rate = f"{len(records) / seconds:,.1f}" if seconds else "-"
    return (f"| {mode} | {name} | {len(records):,} | {errors:,} | {rate} | {ms(percentile(times, 50))} | "
            f"{ms(percentile(times, 95))} | {ms(percentile(times, 99))} | {ms(max(times))} |")


def during(result: Load) -> tuple[list[list], list[list]]:
    """Requests that overlapped the ingest, and the others."""
    lo, hi = result.ingest["start"], result.ingest["end"]
    inside = [r for r in result.requests if r[0] < hi and r[0] + r[4] > lo]
    outside = [r for r in result.requests if not (r[0] < hi and r[0] + r[4] > lo)]
    return inside, outside


def load_table(results: list[Load], labels: list[str]) -> str:
    lines = ["| answers | requests | count | errors | per second | p50 | p95 | p99 | max |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        lines.append(load_row(result.mode, "all", result.requests, result.seconds))
        for label in labels:
            chosen = [r for r in result.requests if r[2] == label]
            if chosen:
                lines.append(load_row("", f"{label} range", chosen, None))
        inside, outside = during(result)
        lines.append(load_row("", "overlapping the ingest", inside, None))
        lines.append(load_row("", "not overlapping it", outside, None))
    return "\n".join(lines)


def worst_calls(result: Load, label: str, count: int = 3) -> str:
    by_call: dict[str, list[float]] = {}
    for r in result.requests:
        if r[2] == label:
            by_call.setdefault(r[1], []).append(r[4])
    ranked = sorted(((percentile(v, 99), k) for k, v in by_call.items()), reverse=True)[:count]
    return ", ".join(f"{k} {ms(v)} ms" for v, k in ranked)


def slowest(values: dict[str, float], limit: float) -> str:
    slow = sorted(((v, k) for k, v in values.items() if v >= limit), reverse=True)
    return "met" if not slow else "not met: " + ", ".join(f"{k} {ms(v)} ms" for v, k in slow)


def goals(timings: list[Timing], draws: list[Draw] | None, loads: list[Load], days: int) -> list[str]:
    lines = []
    for label, limit in ((SHORT, GOAL_SHORT), (long_label(days), GOAL_LONG)):
        computed = {t.call.name: percentile(t.computed[label], 95) for t in timings if label in t.computed}
        shared = {t.call.name: percentile(t.shared[label], 95) for t in timings if label in t.shared}
        missing = [t.call.name for t in timings if label not in t.computed]
        verdict = slowest(computed, limit) + "".join(f", {k} failed" for k in missing)
        line = (f"- every Overview API call over {label} under {ms(limit)} ms at p95, computed (slowest "
                f"{ms(max(computed.values())) if computed else '-'} ms): {verdict}; shared answers: "
                f"{slowest(shared, limit)}")
        if label == SHORT:
            across = {t.call.name: percentile(t.computed[ACROSS], 95) for t in timings if ACROSS in t.computed}
            line += f"; over a 24 hours across two days (computed): {slowest(across, limit)}"
        lines.append(line)
    if draws:
        parts = []
        for mode in (COMPUTED, SHARED):
            mine = [d for d in draws if d.mode == mode]
            worst = max(max(d.times) for d in mine)
            bad = [d.label for d in mine if d.problems]
            verdict = ("met" if worst < GOAL_DRAW and not bad else "not met: " + ", ".join(
                [f"{d.label} up to {ms(max(d.times))} ms" for d in mine if max(d.times) >= GOAL_DRAW]
                + [f"{label} drew with problems" for label in bad]))
            parts.append(f"{mode} answers (slowest {ms(worst)} ms): {verdict}")
        lines.append(f"- the Overview fully drawn in Chromium in under {ms(GOAL_DRAW)} ms: " + "; ".join(parts))
    else:
        lines.append("- the Overview drawn in Chromium in under 2 s: not measured")
    for result in loads:
        errors = [r for r in result.requests if is_error(r)]
        kinds = Counter(str(r[3]) for r in errors)
        times = [r[4] for r in result.requests]
        p99 = percentile(times, 99) if times else float("inf")
        long = long_label(days)
        lines.append(
            f"- under load, {result.mode} answers: no errors: "
            f"{'met' if not errors and not result.server_errors else 'not met'} ({len(errors):,} of "
            f"{len(result.requests):,} requests failed"
            + (": " + ", ".join(f"{v:,}× {k}" for k, v in kinds.most_common()) if kinds else "")
            + f"; {sum(result.server_errors.values()):,} exception or ERROR lines in the server's stderr); p99 under "
            f"{ms(GOAL_LOAD)} ms: {'met' if p99 < GOAL_LOAD else 'not met'} (p99 {ms(p99)} ms; slowest calls by "
            f"p99: {worst_calls(result, SHORT)} over {SHORT}"
            + (f"; {worst_calls(result, long)} over {long}" if any(r[2] == long for r in result.requests) else "")
            + ")")
    return lines


def command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python bench/dashboard.py", f"--records {args.records}", f"--days {args.days}",
             f"--runs {args.runs}", f"--load-seconds {args.load_seconds:g}", f"--clients {args.clients}"]
    defaults = {"chdb_runs": 5, "browser_runs": 5, "ingest_records": 2_000_000, "ingest_delay": 5.0,
                "long_every": 10}
    for name, default in defaults.items():
        if getattr(args, name) != default:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name):g}")
    for flag in ("no_chdb", "no_browser", "no_load"):
        if getattr(args, flag):
            parts.append(f"--{flag.replace('_', '-')}")
    return reports.command_line(parts, args.out)


@dataclass
class Context:
    size: reports.Sizes
    rollups: str
    loadavg: tuple[tuple[float, ...], tuple[float, ...]]
    minutes: float
    chromium: str | None
    browser_note: str | None
    api_errors: Counter
    burst: dict[tuple[str, str], list[float]]
    ranges: dict[str, Span]


def plotly_mb() -> float:
    """The size of the plotly.min.js the server sends."""
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js" if spec and spec.origin else None
    return path.stat().st_size / 1e6 if path and path.exists() else 0.0


def section(args: argparse.Namespace, timings: list[Timing], draws: list[Draw] | None, loads: list[Load],
            ctx: Context) -> str:
    size = ctx.size
    (a1, a5, _), (b1, b5, _) = ctx.loadavg
    problems = [f"{t.call.name}: {p}" for t in timings for p in t.problems]
    spans = "; ".join(f"{label}: `from={stamp(a)}&to={stamp(b)}`" for label, (a, b) in ctx.ranges.items())
    parts = [
        *reports.section_head(BEGIN_MARK, command(args)),
        f"Machine: {reports.machine()}; Chromium {ctx.chromium or '-'}. Measured on {dt.date.today().isoformat()}; "
        f"the whole run took {ctx.minutes:.1f} minutes. The machine is shared with other work (load average "
        f"{a1:.1f} / {a5:.1f} over 1 / 5 minutes when the run began, {b1:.1f} / {b5:.1f} when it ended), so "
        "read the ratios and percentiles rather than any one time.",
        "",
        f"Data: bench/reports.py's lake, {size.records:,} records of `flowlake generate` v2 text over {args.days} "
        f"days ending {stamp(END)} (seed {reports.SEED}): {size.files} Parquet files, "
        f"{size.lake_bytes / 1e6:,.0f} MB; {ctx.rollups}.",
        "",
        f"**API latency**, milliseconds. `flowlake serve` in its own process; every call the Overview makes, with "
        f"the page's own parameters, over three ranges ({spans}): the last day of the data, a 24 hours across two "
        "days (as a rolling `since=24h` is: the files it cuts are read row by row, not from rollups) and all of "
        "it. The server keeps its answers until the data change, so each call is timed twice: *computed*, with a "
        f"`{BUST}=` that differs every time (the API ignores it, the answer cache does not), as the first viewer "
        "of a range waits for it; and *shared*, the same call repeated, as everyone after gets it. One warm-up "
        f"call, then {args.runs} of each, one at a time over a keep-alive connection (p95 by nearest rank: of "
        f"{args.runs} runs, the {rank(args.runs)}). In-process: the `flowlake.web.dashboard` function on "
        "connections opened as the server opens them, in the benchmark's process: no HTTP, no JSON, no cache "
        "(for meta and status, whose work is in the route functions, those functions, JSON included), "
        f"{args.runs} runs alternating with the computed calls. chDB: the same question in ClickHouse SQL over "
        "`file()` of the range's Parquet files (the records: the server reads its rollups where one holds the "
        f"answer), {args.chdb_runs} runs, for summary, top sources and top pairs only. Before timing, the "
        "in-process and chDB answers, and the server's with a `q=`, were compared with the server's (same values, "
        "same rows)" + (": all matched." if not problems else "; ≠ marks a call with a problem: "
                        + "; ".join(problems) + "."),
        "",
        latency_table(timings, list(ctx.ranges)),
    ]
    shown = [label for label in ctx.ranges if label != ACROSS]
    burst_text = (f"\"Calls at once\": the Overview's {len(OVERVIEW)} calls made together over six keep-alive "
                  "connections (as Chromium makes them, six per server) from the benchmark, no browser: one "
                  f"warm-up, then {args.browser_runs} runs, until the last answer; beside it, the sum of the calls' "
                  "p50s in the table above (the same work one call at a time).")
    if draws:
        same = all(d.calls == {c.key for c in OVERVIEW} for d in draws)
        parts += [
            "",
            f"**The Overview in Chromium** (headless, {' and '.join(shown)}; `/?from=...&to=...`, 1600×1000), "
            "milliseconds from navigation start until `document.body.dataset.ready` is `1` (main.js sets it once "
            "every card is drawn). A new browser context (empty cache) each load: one warm-up, then "
            f"{args.browser_runs} loads with shared answers and {args.browser_runs} with computed ones (every API "
            f"request gets a fresh `{BUST}=`, added by Playwright's request interception, which both modes go "
            "through). \"First API call at\" is when the page made its first API request (`/api/meta`: before "
            f"it, the page loads its scripts, Plotly's {plotly_mb():.1f} MB among them), \"last API answer in\" "
            "when its last API response had arrived (Resource Timing). Problems: cards showing an error or no data, "
            "and browser console errors. The page's API calls "
            + ("were exactly those of the latency table." if same else "differed from those of the latency table: "
               + "; ".join(f"{d.label} {d.mode}: {sorted(d.calls ^ {c.key for c in OVERVIEW})}" for d in draws)
               + ".") + " " + burst_text,
            "",
            draw_table(draws, ctx.burst, timings),
        ]
    else:
        parts += ["", f"**The Overview in Chromium**: not measured: {ctx.browser_note}. " + burst_text, "",
                  draw_table(None, ctx.burst, timings)]
    if loads:
        spans = load_spans(args.days)
        short, long = spans[SHORT], spans[long_label(args.days)]
        text = []
        for result in loads:
            ing = result.ingest
            added = (result.status_after.get("records") or 0) - (result.status_before.get("records") or 0)
            text.append(
                f"with {result.mode} answers, the ingest ran from {ing['start']:.1f} s to {ing['end']:.1f} s into the "
                f"load and exited with {ing['rc']} (\"{ing['summary']}\"), the server then counted {added:,} more "
                f"records ({result.status_after.get('records', 0):,} in all, "
                f"{result.status_after.get('rollups_pending', '-')} of its files awaiting rollups); peak memory: the "
                f"server {result.server_peak_mib or 0:,.0f} MiB, the load process {result.worker_peak_mib or 0:,.0f} "
                "MiB")
        parts += [
            "",
            f"**Under load**, milliseconds. A server on a copy of the lake; a second process runs {args.clients} "
            f"clients (threads, httpx, one keep-alive connection each) for {args.load_seconds:g} s, each making "
            "the Overview's calls one after the other, one request in flight per client, reading and dropping "
            f"every answer. The range is the 24 hours up to noon of the day after the cached data "
            f"(`from={stamp(short[0])}&to={stamp(short[1])}`: half of it there from the start, half filled by the "
            "ingest)"
            + (f"; every {ordinal(args.long_every)} round of each client asks for the {args.days} days up to the "
               f"same time instead (`from={stamp(long[0])}&to={stamp(long[1])}`)" if args.long_every else "")
            + f". {args.ingest_delay:g} s into the load, `flowlake ingest` adds {args.ingest_records:,} fresh "
            f"records (seed {INGEST_SEED}, objects of about {reports.PER_OBJECT:,} records) for that day. Twice: "
            "with shared answers (every client asks the page's questions: the server computes each once per "
            f"change of the data) and computed (every request with its own `{BUST}=`, as if every client looked at "
            "a view of its own). Errors: an answer other than 200 or an exception (timeout: "
            f"{REQUEST_TIMEOUT:.0f} s). Runs: " + "; ".join(text) + ".",
            "",
            load_table(loads, list(spans)),
        ]
        for result in loads:
            if result.server_errors:
                parts += ["", f"The server's stderr ({result.mode}): " + "; ".join(
                    f"{v:,}× `{k}`" for k, v in result.server_errors.most_common(8)) + "."]
            if result.failures:
                parts += ["", f"First failed requests ({result.mode}): "
                          + "; ".join(f"`{f}`" for f in result.failures[:5]) + "."]
    if ctx.api_errors:
        parts += ["", "The latency server's stderr: " + "; ".join(
            f"{v:,}× `{k}`" for k, v in ctx.api_errors.most_common(8)) + "."]
    parts += ["", "Goals:", "", *goals(timings, draws, loads, args.days), "", END_MARK]
    return "\n".join(parts)


def rollup_note(lake: Path) -> str:
    from flowlake.lake import rollup
    from flowlake.lake.store import Lake

    target = Lake(lake)
    folder = rollup.root(target)
    if not folder.is_dir():
        return "no rollups"
    made = sum(p.stat().st_size for p in folder.rglob("*.parquet"))
    return (f"rollups (version {rollup.version()}) built for every file, {len(rollup.definitions())} per file "
            f"({', '.join(sorted(rollup.definitions()))}): {made / 1e6:,.0f} MB")


def front_end() -> str | None:
    """Why the Chromium step cannot run, or None."""
    web = ROOT / "src" / "flowlake" / "web"
    for needed in (web / "templates" / "index.html", web / "static" / "pages" / "overview.js"):
        if not needed.exists():
            return f"no {needed.relative_to(ROOT)}"
    if "dataset.ready" not in (web / "static" / "main.js").read_text():
        return "the front end does not set document.body.dataset.ready"
    if not Path(CHROMIUM).exists():
        return f"no {CHROMIUM} (apt-get install chromium)"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--runs", type=int, default=20, help="timed calls of each API call per range and mode")
    parser.add_argument("--chdb-runs", type=int, default=5, help="timed chDB runs per call and range (0: none)")
    parser.add_argument("--browser-runs", type=int, default=5, help="timed Overview loads per range and mode")
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--ingest-records", type=int, default=2_000_000, help="records ingested during the load")
    parser.add_argument("--ingest-delay", type=float, default=5.0, help="seconds into the load the ingest starts")
    parser.add_argument("--long-every", type=int, default=10,
                        help="every Nth round of a load client asks for 30 days (0: never)")
    parser.add_argument("--rollup-wait", type=float, default=1800.0,
                        help="seconds to wait for the server to build missing rollups")
    parser.add_argument("--no-chdb", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-load", action="store_true")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    if reports.END != END:
        raise SystemExit(f"bench/reports.py's data now ends at {reports.END}: update END here")
    if args.no_chdb:
        args.chdb_runs = 0
    began = time.perf_counter()
    loadavg = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    data, lake = reports.prepare(args.records, args.days, args.out.resolve())
    if args.chdb_runs:
        try:
            reports.check_lake(lake)  # chDB reads partition folders by glob
        except SystemExit as exc:
            log(f"no chDB: {exc}")
            args.chdb_runs = 0
    size = reports.sizes(data, lake)
    ranges = {SHORT: (END - DAY, END), ACROSS: (END - DAY - 12 * HOUR, END - 12 * HOUR),
              long_label(args.days): (END - args.days * DAY, END)}
    shown = {label: span for label, span in ranges.items() if label != ACROSS}

    logs = args.out.resolve() / "dashboard-server.log"
    server = Server(lake, logs)
    try:
        left = server.wait_for_rollups(args.rollup_wait)
        rollups = rollup_note(lake) if not left else f"{left} files still without rollups"
        timings = latency(server, lake, ranges, args.runs, args.chdb_runs)
        burst = at_once(server.base, shown, args.browser_runs)
        draws, version, note = None, None, "skipped (--no-browser)" if args.no_browser else front_end()
        if note is None:
            try:
                draws, version = browser(server.base, shown, args.browser_runs)
            except Exception as exc:  # Playwright's errors: a timeout, a browser that does not start
                note = f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
                log(f"Chromium: {note}")
    finally:
        server.stop()
    api_errors = exceptions(logs.read_text(errors="replace"))
    logs.unlink(missing_ok=True)
    loads = [] if args.no_load else [load(args, lake, mode) for mode in (SHARED, COMPUTED)]
    ctx = Context(size, rollups, (loadavg, os.getloadavg()), (time.perf_counter() - began) / 60, version, note,
                  api_errors, burst, ranges)
    text = section(args, timings, draws, loads, ctx)
    print(text, flush=True)
    if args.write_doc:
        reports.write_section("## Dashboard", BEGIN_MARK, END_MARK, text)


if __name__ == "__main__":
    main()
