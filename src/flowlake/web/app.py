"""The dashboard's server: a JSON API over the lake, and the page that uses nothing else.

Every request opens its own DuckDB connection over the ledger's live files for the asked range and
filters (`flowlake.engine.duckdb.connect`), so data ingested a moment ago is in the next answer and
a compaction never pulls a file from under a reader. Handlers are plain functions: FastAPI runs
them on its thread pool, and DuckDB releases the GIL while it scans.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated

import duckdb
import plotly
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import Body, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.background import BackgroundTask

from flowlake import __version__, explain, forecast
from flowlake.engine.duckdb import connect
from flowlake.lake import rollup
from flowlake.lake.store import Lake
from flowlake.output import jsonable
from flowlake.schema import DERIVED, FIELDS
from flowlake.timerange import TimeRange, parse_duration
from flowlake.web import dashboard, findings, forecasts, sandbox, saved
from flowlake.web.cache import Answers
from flowlake.web.dashboard import Period, QuestionError
from flowlake.web.filters import ALIASES, DIMENSIONS, SCHEMA, SPECIAL, FilterError, Filters

log = logging.getLogger(__name__)
PAGES = ("/", "/explore", "/flows", "/sql", "/findings", "/forecasts", "/explain")
PRESETS = ("15m", "1h", "6h", "24h", "7d", "30d")
API_KEYS = {"since", "from", "to", "metric", "unit", "by", "limit", "previous", "page", "size", "sort", "order",
            "max", "token", "top", "history", "horizon", "step", "level", "seconds", "client", "server", "server_port",
            "proto"}
UI_KEYS = {"tz", "refresh", "graph", "q", "stack", "band", "series"}
"""Page state the front end keeps in its URL and may pass along (download links): not filters."""
COOKIE = "flowlake_token"
SQL_ROWS = 10_000
SQL_SECONDS = 30.0
DOWNLOAD_ROWS = 1_000_000
SQL_AT_ONCE = 2
"""Console queries running together: each may take its memory limit and every core."""
DESCRIPTIONS = {f.column: f.description for f in FIELDS} | {name: text for name, _, text in DERIVED}


NOW_STEP = 5
ROLLUP_EVERY = 30.0
"""Seconds between looks for closed days' files that lack rollups."""


def create_app(lake: Lake, token: str | None = None, build_rollups: bool = True) -> FastAPI:
    """The app over `lake`; with `token`, every page and API call needs it. With `build_rollups`, a
    background thread keeps the rollups in step with what ingest and compaction write."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        stop = threading.Event()
        builder = threading.Thread(target=_roll_up, args=(lake, stop), name="rollups", daemon=True)
        if build_rollups:
            builder.start()
        yield
        stop.set()
        if build_rollups:
            builder.join(timeout=60)

    app = FastAPI(title="flowlake", version=__version__, lifespan=lifespan,
                  description="Amazon VPC Flow Logs from a flowlake lake: totals, time series, top lists, "
                              "records and SQL. Every GET takes `since` or `from`/`to`, and filters.")
    console = threading.BoundedSemaphore(SQL_AT_ONCE)
    package = resources.files("flowlake") / "web"
    index = (package / "templates" / "index.html").read_text()

    @app.exception_handler(QuestionError)
    async def bad_question(_: Request, exc: QuestionError) -> JSONResponse:
        """An unknown dimension, metric or sort column is the caller's error: 400, not 500."""
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.middleware("http")
    async def require_token(request: Request, call_next):
        if token is None:
            return await call_next(request)
        given = request.query_params.get("token")
        if given is not None and hmac.compare_digest(given, token) and not request.url.path.startswith("/api/"):
            # Opening a page with ?token=T once: keep it in a cookie and drop it from the address bar.
            response = RedirectResponse(str(request.url.remove_query_params("token")), status_code=303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        header = request.headers.get("authorization", "")
        offered = [given, request.cookies.get(COOKIE), header[7:] if header.lower().startswith("bearer ") else None]
        if any(o is not None and hmac.compare_digest(o, token) for o in offered):
            return await call_next(request)
        needed = "a token is needed: open the page with ?token=... or send Authorization: Bearer ..."
        if request.url.path.startswith("/api/") or request.url.path in ("/docs", "/openapi.json"):
            return JSONResponse({"detail": needed}, status_code=401)
        return HTMLResponse(f"<!doctype html><title>flowlake</title><p>This dashboard is protected: {needed}</p>",
                            status_code=401)

    def page() -> HTMLResponse:
        return HTMLResponse(index)

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(package / "static")), name="static")

    @app.api_route("/static/plotly.min.js", methods=["GET", "HEAD"], include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
                            media_type="text/javascript")

    # Routes are matched in order: the plotly route must win over the static mount.
    app.router.routes.insert(0, app.router.routes.pop())

    @app.get("/api/meta")
    def meta() -> Response:
        """Columns, dimensions, filter keys, time presets and how far the data reaches."""
        ledger = lake.reader()
        try:
            first, last, records = ledger.query(
                "select min(min_start), max(max_start), coalesce(sum(rows), 0) from files"
                " where removed_version is null and path glob 'flows/*'")[0]
        finally:
            ledger.close()
        return _json({
            "version": __version__, "lake": lake.root.name,
            "columns": [{"name": f.name, "type": str(f.type), "description": DESCRIPTIONS.get(f.name, "")}
                        for f in SCHEMA],
            "dimensions": list(DIMENSIONS),
            "filters": [{"key": k, "column": v, "description": f"{v} equals the value"} for k, v in ALIASES.items()]
                       + [{"key": k, "column": column, "description": text} for k, (column, text) in SPECIAL.items()],
            "presets": list(PRESETS),
            "data": {"first": _epoch_iso(first), "last": _epoch_iso(last), "records": records},
            "now": dashboard.iso(dt.datetime.now(dt.UTC)),
        })

    @app.get("/api/status")
    def status() -> Response:
        """How much the lake holds and how fresh it is (the dashboard's "latest record")."""
        ledger = lake.reader()
        try:
            files, rows, size, last = ledger.query(
                "select count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0), max(max_start) from files"
                " where removed_version is null and path glob 'flows/*'")[0]
            [(ingested,)] = ledger.query("select max(ingested_at) from objects where result != 'failed'")
        finally:
            ledger.close()
        now = time.time()
        waiting = len(rollup.pending(lake))
        return _json({"records": rows, "files": files, "bytes": size, "last_record": _epoch_iso(last),
                      "last_ingest": _epoch_iso(ingested), "lag_seconds": max(0, round(now - last)) if last else None,
                      "rollups_pending": waiting, "now": _epoch_iso(now)})

    @app.get("/api/summary")
    def summary(request: Request, since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
                to: str | None = None) -> Response:
        """Totals for the range and for the period just before it."""
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: dashboard.summary(
            _open(lake, filters, period.start, period.end, rollups=True),
            _open(lake, filters, period.before.start, period.start, rollups=True), period, filters))

    @app.get("/api/timeseries")
    def timeseries(request: Request, since: str | None = None,
                   from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
                   metric: str = "bytes", unit: str = "total", by: Annotated[list[str] | None, Query()] = None,
                   limit: Annotated[int, Query(ge=1, le=50)] = 10, previous: bool = False) -> Response:
        """The metric per time bucket, by zero or more dimensions; `previous` overlays the period before."""
        if unit not in ("total", "rate"):
            raise HTTPException(400, "unit is total or rate")
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: dashboard.timeseries(
            _open(lake, filters, period.before.start if previous else period.start, period.end, rollups=True), period,
            metric, by or [], limit, unit == "rate", previous, filters))

    @app.get("/api/top")
    def top(request: Request, since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
            to: str | None = None, metric: str = "bytes", by: Annotated[list[str] | None, Query()] = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 10) -> Response:
        """The biggest values (or combinations) of the dimensions in `by`."""
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: dashboard.top(
            _open(lake, filters, period.start, period.end, rollups=True), metric, by or [], limit, filters))

    @app.get("/api/health")
    def health(request: Request, since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
               to: str | None = None) -> Response:
        """NODATA/SKIPDATA per hour, how far the data is complete, silent interfaces."""
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: dashboard.health(
            _open(lake, filters, period.start, period.end, rollups=True), filters))

    @app.get("/api/forecast")
    def forecast_series(request: Request, metric: str = "bytes", by: str = "none",
                        top: Annotated[int, Query(ge=1, le=20)] = 5, history: str = "28d", horizon: str = "7d",
                        step: str = "1h", level: Annotated[int, Query(ge=50, le=99)] = 80) -> Response:
        """Per series (the top `top` of `by`) of the traffic the filters keep: its history, the forecast over
        `horizon` with its band at `level` percent, each day's peak, a backtest against the seasonal-naive
        baseline, and the last day's anomalies."""
        filters = _filters(request)
        asked = forecasts.question(metric, by, top, _seconds("history", history), _seconds("step", step))
        ahead = _seconds("horizon", horizon)

        def work() -> dict:
            con, _ = connect(lake, forecast.span(lake, asked), None, filters.bind, rollups=True)
            return forecasts.answer(con, asked, ahead, level / 100, filters.sql, _totals_hold(filters))

        return cached(request, _period(None, None, None), work)

    @app.get("/api/forecast/band")
    def forecast_band(request: Request, since: str | None = None,
                      from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
                      metric: str = "bytes", seconds: Annotated[int, Query(ge=300)] = 3600,
                      level: Annotated[int, Query(ge=50, le=99)] = 80) -> Response:
        """The band the model expects over the range at a step of `seconds`, learnt from the 28 days before it,
        for the traffic the filters keep: the Overview draws it over its traffic chart."""
        period, filters = _period(since, from_, to), _filters(request)
        history = period.start - dt.timedelta(seconds=forecast.Question.history + seconds)

        def work() -> dict:
            con, _ = connect(lake, TimeRange(history, period.start), None, filters.bind, rollups=True)
            return forecasts.band(con, period, metric, seconds, level / 100, filters.sql, _totals_hold(filters))

        return cached(request, period, work)

    @app.get("/api/explain")
    def explain_traffic(request: Request, client: str, server: str,
                        server_port: Annotated[int | None, Query(ge=0, le=65535)] = None, proto: str | None = None,
                        since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
                        to: str | None = None) -> Response:
        """Why traffic from `client` to `server` (addresses or CIDRs) on `server_port` and `proto` is not getting
        through, among the flows the filters keep: the verdict, the evidence per interface, the address pairs
        and the flows over time, as `flowlake explain --format json` gives them."""
        try:
            question = explain.Question.parse(client, server, server_port, proto,
                                              ("client", "server", "server_port", "proto"))
        except explain.ExplainError as exc:
            raise HTTPException(400, str(exc)) from None
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: explain.explain(
            _open(lake, filters, period.start, period.end), question, TimeRange(period.start, period.end)).to_json())

    @app.get("/api/flows")
    def flows(request: Request, since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
              to: str | None = None, page: Annotated[int, Query(ge=1)] = 1,
              size: Annotated[int, Query(ge=1, le=1000)] = 50, sort: str = "start_time", order: str = "desc"
              ) -> Response:
        """The records matching the filters, one page at a time."""
        period, filters = _period(since, from_, to), _filters(request)
        return cached(request, period, lambda: dashboard.flows_page(
            _open(lake, filters, period.start, period.end), page, size, sort, order))

    @app.get("/api/flows.{fmt}")
    def flows_download(request: Request, fmt: str, since: str | None = None,
                       from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
                       sort: str = "start_time", order: str = "desc",
                       max: Annotated[int, Query(ge=1, le=100_000_000)] = DOWNLOAD_ROWS) -> Response:
        """The records as CSV or Parquet, streamed."""
        if fmt not in ("csv", "parquet"):
            raise HTTPException(404, "flows.csv or flows.parquet")
        period = _period(since, from_, to)
        con = _open(lake, _filters(request), period.start, period.end)
        reader = _reader(con, dashboard.flows_sql(sort, order), {"limit": max, "offset": 0})
        return _download(reader, fmt, "flows")

    @app.get("/api/findings")
    def findings_list(since: str | None = None,
                      from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
                      severity: Annotated[list[str] | None, Query()] = None, rule: str | None = None) -> Response:
        """Stored findings (`flowlake findings`) active in the range, most severe and newest first, with
        counts by severity and by rule; `severity` (repeatable) and `rule` narrow the list."""
        # Not cached: a findings run changes the table without changing the ledger's version.
        return _json(findings.listing(lake, _period(since, from_, to), severity or [], rule))

    @app.get("/api/findings/{finding_id}")
    def finding_evidence(finding_id: str) -> Response:
        """One finding with its evidence: the flows its query returns, their timeline and the talkers."""
        answer = findings.evidence(lake, finding_id)
        if answer is None:
            raise HTTPException(404, f"no finding {finding_id!r}")
        return _json(answer)

    answers = Answers()

    def cached(request: Request, period: Period, answer: Callable[[], object]) -> Response:
        """An answer from the shared cache, keyed by the request and the lake's version."""
        ledger = lake.reader()
        try:
            version = ledger.version()
        finally:
            ledger.close()
        asked = tuple(sorted((k, v) for k, v in request.query_params.multi_items() if k != "token"))
        key = (request.url.path, asked, period.start, period.end, version)
        body = answers.get(key, lambda: json.dumps(answer(), default=jsonable).encode())
        return Response(body, media_type="application/json")

    def console_query(request: Request, text: str, period: Period, limit: int) -> sandbox.Result:
        """The console's SQL in the sandbox, over the range and the request's filters."""
        con = _open(lake, _filters(request), period.start, period.end, private=True)
        sandbox.lock(con, lake.root)
        try:
            with console:
                return sandbox.run(con, text, limit=limit, timeout=SQL_SECONDS)
        except sandbox.SqlRefused as exc:
            raise HTTPException(400, {"error": str(exc), "position": exc.location}) from None

    @app.post("/api/sql")
    def sql(request: Request, body: Annotated[dict, Body(examples=[{"sql": "select count(*) from flows"}])],
            since: str | None = None, from_: Annotated[str | None, Query(alias="from")] = None,
            to: str | None = None) -> Response:
        """Read-only SQL over `flows` (limited to the range and filters), `traffic`, `vpc_flow_logs`,
        `web_logs` and the reference tables; at most `limit` rows, at most 30 s."""
        text, limit = _sql_body(body)
        result = console_query(request, text, _period(since, from_, to), limit)
        return _json({"columns": [{"name": n, "type": t} for n, t in result.columns],
                      "rows": result.table.to_pylist(), "truncated": result.truncated,
                      "elapsed_ms": round(result.elapsed * 1000, 1)})

    @app.post("/api/sql.csv")
    def sql_csv(request: Request, body: Annotated[dict, Body()], since: str | None = None,
                from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None) -> Response:
        """The same as /api/sql, as CSV, up to a million rows."""
        text, _ = _sql_body(body)
        result = console_query(request, text, _period(since, from_, to), DOWNLOAD_ROWS)
        return _download(result.table.to_reader(), "csv", "query")

    @app.get("/api/queries")
    def queries() -> Response:
        """Saved queries: the lake's own reports (LAKE/_flowlake/reports)."""
        return _json(saved.listing(lake))

    @app.put("/api/queries/{name}")
    def save_query(name: str, body: Annotated[dict, Body(examples=[{"sql": "select 1", "title": "One"}])]
                   ) -> Response:
        """Save a query; it becomes a report (`flowlake report NAME`)."""
        text, _ = _sql_body(body)
        try:
            return _json(saved.save(lake, name, text, str(body.get("title") or name)))
        except (saved.SaveError, sandbox.SqlRefused) as exc:
            raise HTTPException(400, str(exc)) from None

    @app.delete("/api/queries/{name}")
    def delete_query(name: str) -> Response:
        if not saved.delete(lake, name):
            raise HTTPException(404, f"no saved query {name!r}")
        return Response(status_code=204)

    return app


def _now() -> dt.datetime:
    """Now, to the last multiple of NOW_STEP seconds: requests for `since=24h` a moment apart ask the
    same question, so the cache can answer them."""
    stamp = int(time.time())
    return dt.datetime.fromtimestamp(stamp - stamp % NOW_STEP, dt.UTC)


def _roll_up(lake: Lake, stop: threading.Event) -> None:
    """Build missing rollups now and then; the answers are right without them, only slower."""
    while not stop.is_set():
        try:
            rollup.build_all(lake, stop)
        except Exception:  # the dashboard keeps answering from the records
            log.exception("building rollups failed; trying again in %s s", ROLLUP_EVERY)
        stop.wait(ROLLUP_EVERY)


def _period(since: str | None, from_: str | None, to: str | None) -> Period:
    """The asked range, closed: open ends default to the last 24 hours up to now."""
    now = _now()
    try:
        when = TimeRange.from_options(since if since or from_ else "24h", from_, to, now=now)
    except ValueError as exc:
        raise HTTPException(400, str(exc).replace("--", "")) from None
    end = when.end or now
    return Period(when.start or end - dt.timedelta(hours=24), end)


def _filters(request: Request) -> Filters:
    items = [(k, v) for k, v in request.query_params.multi_items() if k not in API_KEYS and k not in UI_KEYS]
    try:
        return Filters.parse(items)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None


def _open(lake: Lake, filters: Filters, start: dt.datetime, end: dt.datetime,
          rollups: bool = False, private: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection over [start, end) and the filters; with `rollups`, their views too (records, downloads and
    the SQL console never read them, and making them costs a sixth of a small answer); `private` for the
    console's, which the sandbox locks."""
    con, _ = connect(lake, TimeRange(start, end), filters.sql, filters.bind, rollups=rollups, private=private)
    return con


def _totals_hold(filters: Filters) -> bool:
    return filters.columns <= set(rollup.dimensions("totals"))


def _seconds(name: str, text: str) -> int:
    try:
        return int(parse_duration(text).total_seconds())
    except ValueError as exc:
        raise HTTPException(400, f"{name}: {exc}") from None


def _sql_body(body: dict) -> tuple[str, int]:
    text = body.get("sql")
    if not isinstance(text, str) or not text.strip():
        raise HTTPException(400, {"error": "no SQL given", "position": None})
    limit = body.get("limit", 1000)
    if not isinstance(limit, int) or not 1 <= limit <= SQL_ROWS:
        raise HTTPException(400, {"error": f"limit is a whole number from 1 to {SQL_ROWS:,}", "position": None})
    return text, limit


def _reader(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pa.RecordBatchReader:
    try:
        return con.sql(sql, params=params).to_arrow_reader(65_536)
    except duckdb.Error as exc:
        raise HTTPException(400, str(exc)) from None


def _download(reader: pa.RecordBatchReader, fmt: str, name: str) -> Response:
    """Stream CSV batch by batch; Parquet (which needs its footer) goes through a temporary file."""
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return StreamingResponse(_csv_chunks(reader), media_type="text/csv", headers=headers)
    spool = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)  # noqa: SIM115 - removed after sending
    with pq.ParquetWriter(spool, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    spool.close()
    return FileResponse(spool.name, media_type="application/vnd.apache.parquet", headers=headers,
                        background=BackgroundTask(Path(spool.name).unlink, missing_ok=True))


def _csv_chunks(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    first = True
    for batch in reader:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(batch, sink, pacsv.WriteOptions(include_header=first))
        first = False
        yield sink.getvalue().to_pybytes()
    if first:  # no rows: still the header line
        sink = pa.BufferOutputStream()
        pacsv.write_csv(reader.schema.empty_table(), sink)
        yield sink.getvalue().to_pybytes()


def _json(data: object) -> Response:
    return Response(json.dumps(data, default=jsonable), media_type="application/json")


def _epoch_iso(seconds: float | None) -> str | None:
    return dashboard.iso(dt.datetime.fromtimestamp(seconds, dt.UTC)) if seconds is not None else None
