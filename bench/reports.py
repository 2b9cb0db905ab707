"""Report benchmark: every built-in report through flowlake, beside DuckDB on the raw text and chDB on the lake.

Generates default-format (v2) flow logs in AWS's S3 layout (objects of about 3,000 records over `--days`
days ending at a fixed instant) and ingests them once; both are cached in `--out` and reused while the
parameters stay the same. Then each report runs over the last day and over all the days:

- flowlake: in-process, as `flowlake report` runs it (connect, bind, run, fetch every row);
- raw text: the same SQL and parameters through DuckDB on a `flows` view over `read_csv` of the `.log.gz`
  objects, with the same macros, reference tables and time filter (querying what AWS delivers, with no lake:
  roughly Athena over raw text). The one-day case reads only that day's key prefixes, as a date-partitioned
  Athena table would;
- chDB (embedded ClickHouse): the same SQL, parameters bound as literals and translated by sqlglot, over
  `file()` of the lake's Parquet files (only the range's partition folders), with the macros inlined.

Answers are compared before anything is timed (chDB and raw text against flowlake: same rows, in any order).
flowlake and chDB run once to warm up, then 3 times each, alternating; the table shows the medians. Raw text
takes tens of seconds a query over 30 days, so it runs once each (for `--raw-reports`, by default every
report), after every object has been read once into the OS cache.

    .venv/bin/python bench/reports.py [--records 50000000] [--days 30] [--out bench/out] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import chdb
import duckdb
import pyarrow as pa
import pyarrow.csv as pcsv
import sqlglot
from sqlglot import exp

from flowlake import enrich
from flowlake.engine import catalog
from flowlake.engine.duckdb import TRAFFIC_VIEW, connect
from flowlake.engine.duckdb import setup as duckdb_setup
from flowlake.generate import generate
from flowlake.lake import rollup
from flowlake.lake.store import FLOWS_DIR, Lake
from flowlake.reports import bind, plan, run
from flowlake.schema import FIELDS, PARTITION_COLUMN, lake_schema
from flowlake.timerange import TimeRange

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DOC = ROOT / "docs" / "benchmarks.md"
END = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
"""Fixed, so cached data stay valid and `days` whole UTC days end at midnight."""
SEED = 1
PER_OBJECT = 3000
RUNS = 3
LOOKUPS = {"country", "country_name", "as_name", "aws_service", "addr_class"}
"""flowlake's enrichment macros (sql/enrich.sql): reports calling them are not run on chDB."""
RAW_REPORTS = "all"
BEGIN_MARK = "<!-- bench/reports.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/reports.py: end -->"

# ---------------------------------------------------------------------------------------------
# Data: generated once, ingested once.


def prepare(records: int, days: int, out: Path) -> tuple[Path, Path]:
    """The generated objects and the lake built from them, reused when the parameters match."""
    params = {"records": records, "days": days, "seed": SEED, "end": END.isoformat(),
              "records_per_object": PER_OBJECT, "formats": ["v2-text"]}
    tag = f"reports-{records}-{days}d"
    data, lake = out / f"{tag}-data", out / f"{tag}-lake"
    if _stamp(data) != params:
        shutil.rmtree(data, ignore_errors=True)
        _stamp(lake, None)
        began = time.perf_counter()
        generate(data, records=records, seed=SEED, days=days, end=END, records_per_object=PER_OBJECT,
                 formats=("v2-text",))
        log(f"generated {records:,} records in {time.perf_counter() - began:.0f} s")
        _stamp(data, params)
    if _stamp(lake) != params:
        shutil.rmtree(lake, ignore_errors=True)
        began = time.perf_counter()
        # No grace period: files replaced by compaction go at once, so the folders hold only live files.
        subprocess.run([PY, "-m", "flowlake", "ingest", str(data), "--lake", str(lake)], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "FLOWLAKE_GRACE_SECONDS": "0"})
        log(f"ingested in {time.perf_counter() - began:.0f} s")
        _stamp(lake, params)
    return data, lake


def prepare_rollups(lake: Path) -> float:
    """Build the lake's rollups as `flowlake rollup` does (reports read them); the seconds the build took,
    remembered while the lake and the rollups' definitions stay the same."""
    wanted = {"lake": _stamp(lake), "version": rollup.version()}
    marker = lake.with_name(lake.name + "-rollups")
    done = _stamp(marker)
    if done and {k: done[k] for k in wanted} == wanted:
        return done["seconds"]
    shutil.rmtree(rollup.root(Lake(lake)), ignore_errors=True)  # time a whole build, not what was left to do
    began = time.perf_counter()
    subprocess.run([PY, "-m", "flowlake", "rollup", "--lake", str(lake)], check=True, stderr=subprocess.DEVNULL)
    seconds = round(time.perf_counter() - began, 1)
    log(f"rolled up in {seconds:.0f} s")
    _stamp(marker, {**wanted, "seconds": seconds})
    return seconds


def _stamp(folder: Path, params: dict | bool | None = False) -> dict | None:
    """Read (no `params`), write, or clear (`None`) the parameters a cached folder was made with."""
    path = folder.with_name(folder.name + ".json")
    if params is False:
        return json.loads(path.read_text()) if path.exists() else None
    if params is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(json.dumps(params))
    return None


@dataclass
class Sizes:
    records: int
    objects: int
    gzip_bytes: int
    files: int
    lake_bytes: int
    row_groups: int
    rollup_bytes: int
    rollup_seconds: float


def sizes(data: Path, lake: Path, rollup_seconds: float) -> Sizes:
    import pyarrow.parquet as pq

    objects = list(data.rglob("*.log.gz"))
    files = live_files(lake)
    row_groups = sum(pq.ParquetFile(lake / f.path).metadata.num_row_groups for f in files)
    rolled = sum(p.stat().st_size for p in rollup.root(Lake(lake)).rglob("*.parquet"))
    return Sizes(sum(f.rows for f in files), len(objects), sum(p.stat().st_size for p in objects), len(files),
                 sum(f.bytes for f in files), row_groups, rolled, rollup_seconds)


def live_files(lake: Path, when: TimeRange | None = None) -> list:
    ledger = Lake(lake).reader()
    try:
        return ledger.live_files(*(when or TimeRange()).dates)
    finally:
        ledger.close()


def check_lake(lake: Path) -> None:
    """chDB reads partition folders by glob: they must hold exactly the ledger's live files."""
    on_disk = {p.relative_to(lake).as_posix() for p in (lake / FLOWS_DIR).rglob("*.parquet")}
    live = {f.path for f in live_files(lake)}
    if on_disk != live:
        raise SystemExit(f"{lake}: {len(on_disk - live)} Parquet files the ledger does not list; "
                         "delete the lake folder and its .json to ingest again")


# ---------------------------------------------------------------------------------------------
# The three engines.


def run_flowlake(lake: Path, asset: catalog.SqlAsset, values: dict, when: TimeRange) -> pa.Table:
    """What `flowlake report NAME --from ... --to ...` does, minus printing: reading the rollups where they
    answer the report exactly."""
    con, _ = connect(Lake(lake), when, rollups=True)
    try:
        return run(con, asset, bind(asset, values, con, when), rolled=when).read_all()
    finally:
        con.close()


def source(lake: Path, asset: catalog.SqlAsset, values: dict, when: TimeRange) -> str:
    """What `run_flowlake` reads for the report: a rollup's name, or `records`."""
    con, _ = connect(Lake(lake), when, rollups=True)
    try:
        return plan(con, asset, bind(asset, values, con, when), when)[1]
    finally:
        con.close()


def bound_params(lake: Path, asset: catalog.SqlAsset, values: dict, when: TimeRange) -> dict:
    con, _ = connect(Lake(lake), when)
    try:
        return bind(asset, values, con, when)
    finally:
        con.close()


V2 = FIELDS[:14]
DUCK_TYPES = {pa.int32(): "integer", pa.int64(): "bigint", pa.string(): "varchar"}


def raw_connect(data: Path, when: TimeRange, day: dt.date | None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose `flows` is the raw objects, shaped and filtered like flowlake's view.

    `day`: read only that day's key prefixes (AWS files an object under the date of its records' end;
    the day benchmarked is the last one, so no record starting on it sits under the next day's prefix).
    """
    glob = data / "AWSLogs/*/vpcflowlogs/*" / f"{day:%Y/%m/%d}" / "*.log.gz" if day else data / "**" / "*.log.gz"
    columns = ", ".join(f"'{f.column}': '{DUCK_TYPES[f.type]}'" for f in V2)
    computed = {
        # What flowlake takes from the object's key.
        "account_id": r"coalesce(account_id, regexp_extract(filename, 'AWSLogs/(\d{12})/', 1))",
        "region": r"regexp_extract(filename, '_vpcflowlogs_([a-z0-9-]+)_fl-', 1)",
        "flow_log_id": r"regexp_extract(filename, '_(fl-[0-9a-z]+)_', 1)",
        "start_time": "to_timestamp(start)",
        "end_time": 'to_timestamp("end")',
    }
    v2 = {f.column for f in V2}
    select = []
    for f in lake_schema():
        if f.name in computed:
            select.append(f'{computed[f.name]} as "{f.name}"')
        elif f.name in v2:
            select.append(f'"{f.name}"')
        else:
            duck = "timestamptz" if pa.types.is_timestamp(f.type) else DUCK_TYPES[f.type]
            select.append(f'cast(null as {duck}) as "{f.name}"')
    select.append(f"cast(to_timestamp(start) as date) as {PARTITION_COLUMN}")
    con = duckdb.connect()
    con.execute(f"create temp view flows_all as select {', '.join(select)} from read_csv('{glob}', delim = ' ',"
                f" header = true, nullstr = '-', columns = {{{columns}}}, filename = true)")
    con.execute("create temp view flows as select * from flows_all where " + " and ".join(_conditions(when)))
    duckdb_setup(con)  # the same macros, reference tables, enrichment and `traffic` view as flowlake's connections
    enrich.define(con)
    con.execute(TRAFFIC_VIEW)
    return con


def _conditions(when: TimeRange) -> list[str]:
    return [f"start_time >= timestamptz '{when.start.isoformat()}'",
            f"start_time < timestamptz '{when.end.isoformat()}'"]


def run_raw(data: Path, asset: catalog.SqlAsset, params: dict, when: TimeRange, day: dt.date | None) -> pa.Table:
    con = raw_connect(data, when, day)
    try:
        return run(con, asset, params).read_all()
    finally:
        con.close()


def run_chdb(sql: str) -> pa.Table:
    return chdb.query(sql, "ArrowTable")


# ---------------------------------------------------------------------------------------------
# DuckDB report SQL to ClickHouse.

CH_SETTINGS = "SETTINGS prefer_column_name_to_alias = 1"
"""DuckDB resolves a name in WHERE, GROUP BY and inside expressions to the input column before a select
alias (`sum(bytes) as bytes`, `protocol_name(protocol) as protocol ... group by protocol`); ClickHouse
prefers the alias unless told otherwise. ORDER BY, where DuckDB prefers the alias, is made positional."""

OVERRIDES: dict[str, str] = {}
"""Hand translations to ClickHouse (over tables `flows` and `traffic`) of reports sqlglot gets wrong."""


def macros() -> dict[str, Callable[[exp.Expression], exp.Expression]]:
    """ClickHouse equivalents of setup.sql's macros, as functions from the argument to an expression.

    Pure expressions (is_private, is_ipv6) are setup.sql's own bodies, translated by sqlglot; lookups in
    the reference tables (protocol_name, port_name) become `transform()` over the tables' rows."""
    text = (resources.files("flowlake") / "sql" / "setup.sql").read_text()
    found = re.findall(r"^create or replace macro (\w+)\((\w+)\) as\s+(.*?);\s*$", text, re.M | re.S)
    tables = {name: pcsv.read_csv(resources.files("flowlake") / "reference" / f"{name}.csv").to_pylist()
              for name in ("protocols", "ports")}

    def lookup(table: str, key: str, default: str) -> str:
        rows = tables[table]
        keys = ", ".join(str(r[key]) for r in rows)
        names = ", ".join("'" + r["name"].replace("'", "\\'") + "'" for r in rows)
        return f"transform(_arg_, [{keys}], [{names}], {default})"

    clickhouse = {
        "protocol_name": lookup("protocols", "number", "toString(_arg_)"),
        "port_name": lookup("ports", "port", "NULL"),
    }
    result = {}
    for name, arg, body in found:
        if name in clickhouse:
            template = sqlglot.parse_one(clickhouse[name], read="clickhouse")
            placeholder = "_arg_"
        else:
            if re.search(r"\b(from|select)\b", body, re.I):
                raise SystemExit(f"setup.sql macro {name} reads a table: give it a ClickHouse equivalent")
            template = sqlglot.parse_one(body, read="duckdb")
            placeholder = arg
        result[name] = _substituter(template, placeholder)
    missing = {"is_private", "is_ipv6", "protocol_name", "port_name"} - set(result)
    if missing:
        raise SystemExit(f"setup.sql has no macro {', '.join(sorted(missing))}")
    return result


def _substituter(template: exp.Expression, placeholder: str) -> Callable[[exp.Expression], exp.Expression]:
    def apply(arg: exp.Expression) -> exp.Expression:
        body = template.copy().transform(
            lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == placeholder and not n.table else n)
        return exp.Paren(this=body)

    return apply


UNITS = {"minute": "MINUTE", "minutes": "MINUTE", "hour": "HOUR", "hours": "HOUR", "day": "DAY", "days": "DAY",
         "second": "SECOND", "seconds": "SECOND", "week": "WEEK", "weeks": "WEEK"}


def _interval(node: exp.Expression) -> exp.Expression:
    """`cast('5 minutes' as interval)` as `INTERVAL 5 MINUTE`."""
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.INTERVAL) and node.this.is_string:
        number, unit = node.this.name.split()
        return exp.Interval(this=exp.Literal.number(int(number)), unit=exp.Var(this=UNITS[unit.lower()]))
    return node


def to_clickhouse(sql: str, params: dict, inline: dict) -> str:
    """A report's DuckDB SQL as ClickHouse SQL over tables `flows` and `traffic`."""
    tree = sqlglot.parse_one(with_literals(sql, params), read="duckdb")

    def rewrite(node: exp.Expression) -> exp.Expression:
        node = _interval(node)
        if isinstance(node, exp.Anonymous) and node.name.lower() in inline:
            [arg] = node.expressions
            return inline[node.name.lower()](arg)
        if isinstance(node, exp.DateBin):  # DuckDB's time_bucket
            if node.args.get("origin") or node.args.get("zone"):
                raise ValueError("time_bucket with an origin")
            return exp.Anonymous(this="toStartOfInterval", expressions=[node.expression, _interval(node.this)])
        if isinstance(node, exp.Dayname):
            return exp.Anonymous(this="dateName", expressions=[exp.Literal.string("weekday"), node.this])
        if isinstance(node, exp.TimeToUnix):  # DuckDB's epoch()
            return exp.Anonymous(this="toUnixTimestamp", expressions=[node.this])
        return node

    tree = tree.transform(rewrite)
    for select in tree.find_all(exp.Select):
        aliases = {e.alias: i for i, e in enumerate(select.expressions, 1) if isinstance(e, exp.Alias)}
        order = select.args.get("order")
        for item in order.expressions if order else []:
            if isinstance(item.this, exp.Column) and not item.this.table and item.this.name in aliases:
                item.set("this", exp.Literal.number(aliases[item.this.name]))
    return tree.sql(dialect="clickhouse", comments=False)


def with_literals(sql: str, params: dict) -> str:
    """`sql` with its `$params` written as SQL literals."""

    def literal(value: object) -> str:
        return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"

    return re.sub(r"\$([a-z_][a-z0-9_]*)", lambda m: literal(params[m[1]]), sql)


def chdb_query(body: str, lake: Path, when: TimeRange) -> str:
    """The ClickHouse query with `flows` and `traffic` over the Parquet files of the range's partitions."""
    first, last = (dt.date.fromisoformat(d) for d in when.dates)
    dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    folders = dates[0].isoformat() if len(dates) == 1 else "{" + ",".join(d.isoformat() for d in dates) + "}"
    glob = f"{lake}/{FLOWS_DIR}/{PARTITION_COLUMN}={folders}/*.parquet"
    bounds = " AND ".join(f"start_time {op} toDateTime64('{t:%Y-%m-%d %H:%M:%S}', 3, 'UTC')"
                          for op, t in ((">=", when.start), ("<", when.end)))
    views = (f"flows AS (SELECT * FROM file('{glob}', Parquet) WHERE {bounds}), "
             "traffic AS (SELECT * FROM flows WHERE coalesce(log_status, 'OK') = 'OK')")
    query = f"WITH {views}, {body[5:]}" if body.startswith("WITH ") else f"WITH {views} {body}"
    return f"{query} {CH_SETTINGS}"


# ---------------------------------------------------------------------------------------------
# Comparing answers.


def _norm(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return round(value, 6)
    return value


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(_norm(v) for v in row.values()) for row in table.to_pylist()]


def compare(expected: pa.Table, got: pa.Table) -> str | None:
    """None when both hold the same rows (order aside: ties may be cut differently only if rows are equal)."""
    if expected.num_columns != got.num_columns:
        return f"{got.num_columns} columns, not {expected.num_columns}"
    if expected.num_rows != got.num_rows:
        return f"{got.num_rows} rows, not {expected.num_rows}"
    want, have = rows(expected), rows(got)
    if Counter(want) != Counter(have):
        diff = [r for r in want if r not in have][:2]
        extra = [r for r in have if r not in want][:2]
        return f"different rows: missing {diff}, unexpected {extra}"
    return None


# ---------------------------------------------------------------------------------------------
# The benchmark.


@dataclass
class Result:
    report: str
    flowlake: dict[str, float] = field(default_factory=dict)
    chdb: dict[str, float] = field(default_factory=dict)
    raw: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    reads: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


VIEWS = frozenset({"flows", "traffic", "vpc_flow_logs", "protocols", "ports"})


def other_tables(sql: str) -> set[str]:
    """Tables a report reads besides the flow-log views (this benchmark's data has only flow logs)."""
    tree = sqlglot.parse_one(re.sub(r"\$([a-z_][a-z0-9_]*)", "1", sql), read="duckdb")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table)} - ctes - VIEWS


def bench(args: argparse.Namespace, data: Path, lake: Path) -> tuple[list[Result], list[str]]:
    """Every report's timings, and the reports skipped (with why)."""
    assets = catalog.load("reports")
    names = list(assets) if args.reports == "all" else args.reports.split(",")
    raw_names = list(assets) if args.raw_reports == "all" else [n for n in args.raw_reports.split(",") if n]
    unknown = (set(names) | set(raw_names)) - set(assets)
    if unknown:
        raise SystemExit(f"no report named {', '.join(sorted(unknown))}")
    skipped = []
    for name in list(names):
        tables = other_tables(assets[name].sql)
        if tables:
            skipped.append(f"{name} (reads {', '.join(sorted(tables))}, which flow logs alone do not fill)")
            names.remove(name)
    raw_names = [n for n in raw_names if n in names]
    geo_only = [n for n in names if LOOKUPS.intersection(re.findall(r"(\w+)\s*\(", assets[n].sql))]
    if geo_only:
        skipped.append(f"{', '.join(geo_only)} on chDB (they call flowlake's GeoLite2 lookups, which ClickHouse does"
                       " not have)")
    ranges = {
        "1 day": (TimeRange(END - dt.timedelta(days=1), END), (END - dt.timedelta(days=1)).date()),
        f"{args.days} days": (TimeRange(END - dt.timedelta(days=args.days), END), None),
    }
    # Reports that need an address get the last day's top talker and top destination.
    day = ranges["1 day"][0]
    given = {"traffic-from-source": {"src": run_flowlake(lake, assets["top-talkers"], {}, day)["srcaddr"][0].as_py()},
             "traffic-to-destination":
                 {"dst": run_flowlake(lake, assets["top-destinations"], {}, day)["dstaddr"][0].as_py()}}
    inline = macros()

    results, expected = [], {}
    for name in names:
        asset, values, result = assets[name], given.get(name, {}), Result(name)
        results.append(result)
        for label, (when, _) in ranges.items():
            params = bound_params(lake, asset, values, when)
            if name in OVERRIDES:
                body = with_literals(OVERRIDES[name], params)
            else:
                body = to_clickhouse(asset.sql, params, inline)
            sql = chdb_query(body, lake, when)

            def flowlake_once(asset=asset, values=values, when=when) -> pa.Table:
                return run_flowlake(lake, asset, values, when)

            # The warm-up runs give the answers to check.
            reference = expected[name, label] = flowlake_once()
            result.rows[label] = reference.num_rows
            result.reads[label] = source(lake, asset, values, when)
            if name in geo_only:
                problem = None
            else:
                try:
                    problem = compare(reference, run_chdb(sql))
                except Exception as exc:  # chDB raises RuntimeError with ClickHouse's message
                    problem = f"error: {str(exc).strip().splitlines()[0][:300]}"
            if problem:
                result.problems.append(f"chDB {label}: {problem}")
                log(f"  {name} {label}: chDB's answer differs from flowlake's: {problem}\n    {sql}")
            flowlake_times, chdb_times = [], []
            for _ in range(RUNS):
                flowlake_times.append(timed(flowlake_once))
                if not problem and name not in geo_only:
                    chdb_times.append(timed(lambda sql=sql: run_chdb(sql)))
            result.flowlake[label] = statistics.median(flowlake_times)
            if chdb_times:
                result.chdb[label] = statistics.median(chdb_times)
            log(f"{name:<26} {label:>8}: flowlake {result.flowlake[label]:.3f} s, "
                f"chDB {result.chdb.get(label, float('nan')):.3f} s, {reference.num_rows} rows")

    empty = [n for n in raw_names if not any(expected[n, label].num_rows for label in ranges)]
    if empty:
        skipped.append(f"{', '.join(empty)} on the raw text (no rows in this data, so no answer to compare; those "
                       "that filter on columns v2 records lack, constant nulls in the raw view, are answered there "
                       "without reading the text)")
        raw_names = [n for n in raw_names if n not in empty]
    if raw_names:
        began = time.perf_counter()
        for path in data.rglob("*.log.gz"):  # into the OS cache, as the lake's files are by the warm-ups
            with open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
        log(f"read the raw objects once in {time.perf_counter() - began:.1f} s")
    for name in raw_names:
        asset, result = assets[name], next(r for r in results if r.report == name)
        for label, (when, day) in ranges.items():
            params = bound_params(lake, asset, given.get(name, {}), when)
            began = time.perf_counter()
            answer = run_raw(data, asset, params, when, day)
            result.raw[label] = time.perf_counter() - began
            problem = compare(expected[name, label], answer)
            if problem:
                result.problems.append(f"raw text {label}: {problem}")
                log(f"  {name} {label}: the raw text's answer differs from flowlake's: {problem}")
            log(f"{name:<26} {label:>8}: raw text {result.raw[label]:.1f} s")
    return results, skipped


# ---------------------------------------------------------------------------------------------
# Output.


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 10 else f"{value:.3f}"


def _x(num: float | None, den: float | None) -> str:
    if num is None or den is None:
        return "-"
    ratio = num / den
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def table(results: list[Result], days: int) -> str:
    d1, dn = "1 day", f"{days} days"
    head = ["report", f"rows ({d1} / {dn})", f"reads ({d1} / {dn})", f"flowlake {d1}", f"flowlake {dn}",
            f"raw text {d1}", f"raw text {dn}", f"chDB {d1}", f"chDB {dn}", f"× faster than raw text ({d1} / {dn})",
            f"chDB ÷ flowlake ({d1} / {dn})"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in results:
        raw = f"{_x(r.raw.get(d1), r.flowlake[d1])} / {_x(r.raw.get(dn), r.flowlake[dn])}" if r.raw else "-"
        reads = r.reads[d1] if r.reads[d1] == r.reads[dn] else f"{r.reads[d1]} / {r.reads[dn]}"
        cells = [r.report + (" ≠" if r.problems else ""), f"{r.rows[d1]:,} / {r.rows[dn]:,}", reads,
                 _s(r.flowlake[d1]), _s(r.flowlake[dn]), _s(r.raw.get(d1)), _s(r.raw.get(dn)),
                 _s(r.chdb.get(d1)), _s(r.chdb.get(dn)), raw,
                 f"{_x(r.chdb.get(d1), r.flowlake[d1])} / {_x(r.chdb.get(dn), r.flowlake[dn])}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def goals(results: list[Result], days: int) -> list[str]:
    d1, dn = "1 day", f"{days} days"

    def worst(values: dict[str, float], over: float) -> str:
        slow = sorted(((v, k) for k, v in values.items() if v >= over), reverse=True)
        return "met" if not slow else "not met: " + ", ".join(f"{k} {v:.2f} s" for v, k in slow)

    lines = []
    for label, limit in ((d1, 0.5), (dn, 3.0)):
        times = {r.report: r.flowlake[label] for r in results}
        lines.append(f"- every report over {label} under {limit} s (slowest {max(times.values()):.2f} s): "
                     f"{worst(times, limit)}")
    speedups = {f"{r.report} {label}": r.raw[label] / r.flowlake[label] for r in results for label in r.raw}
    if speedups:
        low = min(speedups, key=speedups.get)
        lines.append(f"- at least 20× (10× at the very least) faster than DuckDB on the raw text: lowest "
                     f"{speedups[low]:.0f}× ({low}), median {statistics.median(speedups.values()):.0f}×; "
                     + ("met" if speedups[low] >= 20 else "10× met" if speedups[low] >= 10 else "not met"))
    ratios = {f"{r.report} {label}": r.chdb[label] / r.flowlake[label] for r in results for label in r.chdb}
    slower = sorted((v, k) for k, v in ratios.items() if v < 1)
    lines.append(f"- no slower than chDB on the same files: flowlake faster in {len(ratios) - len(slower)} of "
                 f"{len(ratios)} report runs; " + ("met" if not slower else "slower in " + ", ".join(
                     f"{k} ({v:.2f}×)" for v, k in slower)))
    problems = [f"{r.report}: {p}" for r in results for p in r.problems]
    if problems:
        lines.append("- answers that differ from flowlake's (marked ≠, not timed on chDB): " + "; ".join(problems))
    return lines


def command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python bench/reports.py", f"--records {args.records}", f"--days {args.days}"]
    if args.reports != "all":
        parts.append(f"--reports {args.reports}")
    if args.raw_reports != RAW_REPORTS:
        parts.append(f"--raw-reports '{args.raw_reports}'")
    return command_line(parts, args.out)


def command_line(parts: list[str], out: Path) -> str:
    """The command a section was written by: the script and its flags, `--out` unless the default, `--write-doc`."""
    if out.resolve() != (ROOT / "bench" / "out").resolve():
        parts = [*parts, f"--out {os.path.relpath(out.resolve(), ROOT)}"]
    return " ".join([*parts, "--write-doc"])


def section_head(begin: str, command: str) -> list[str]:
    """A generated section's first lines: its begin mark and the command that wrote it."""
    return [begin, "", "```", command, "```", ""]


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    model = ""
    if Path("/proc/cpuinfo").exists():
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        model = f" ({found[1].strip()})" if found else ""
    return (f"{os.cpu_count()} cores{model}, {memory:.0f} GiB, {platform.system()}; Python "
            f"{platform.python_version()}, DuckDB {duckdb.__version__}, chDB {chdb.__version__}, "
            f"sqlglot {sqlglot.__version__}")


def section(args: argparse.Namespace, results: list[Result], size: Sizes, skipped: list[str]) -> str:
    raw = ", ".join(r.report for r in results if r.raw)
    translated = ("sqlglot translated every report; none needed a hand translation" if not OVERRIDES else
                  "hand-translated (sqlglot got them wrong): " + ", ".join(sorted(OVERRIDES)))
    notes = [f"ClickHouse SQL: {translated}. Macros: setup.sql's `is_private` and `is_ipv6` translated by sqlglot, "
             "`protocol_name` and `port_name` as `transform()` over the reference tables' rows; "
             "`prefer_column_name_to_alias = 1` and positional ORDER BY keep DuckDB's name resolution."]
    if skipped:
        notes.append("Not run: " + "; ".join(skipped) + ".")
    return "\n".join([
        *section_head(BEGIN_MARK, command(args)),
        f"Machine: {machine()}. Measured on {dt.date.today().isoformat()}.",
        "",
        f"Data: {size.records:,} records of `flowlake generate` v2 text over {args.days} days (seed {SEED}), "
        f"{size.objects:,} objects of about {PER_OBJECT:,} records in AWS's S3 layout: "
        f"{size.gzip_bytes / 1e6:,.0f} MB of gzip text; the lake: {size.files} Parquet files, {size.row_groups} "
        f"row groups, {size.lake_bytes / 1e6:,.0f} MB ({size.lake_bytes / size.gzip_bytes:.2f}× the gzip text); "
        f"its rollups (`flowlake rollup`, {size.rollup_seconds:.0f} s): {size.rollup_bytes / 1e6:,.0f} MB.",
        "",
        f"Each report over the last day and over all {args.days} days (`--from`/`--to`), seconds. flowlake is "
        "in-process, as `flowlake report` runs it (connect, bind, run, fetch every row), reading the rollup "
        "named under reads where one answers the report exactly, else the records; chDB runs the same "
        "SQL translated by sqlglot over `file()` of the same Parquet files (the range's partition folders). "
        f"Both run once to warm up (which also fills the OS cache), then {RUNS} times, alternating; medians. "
        f"Raw text is DuckDB running the same SQL on a view over `read_csv` of the `.log.gz` objects (the "
        "day's key prefixes only for one day), after one pass reading every object into the OS cache; it runs "
        f"once per range, for {raw}. Ratios above 1× mean flowlake is faster. Before timing, chDB's "
        "and the raw text's answers were checked against flowlake's (same rows).",
        "",
        table(results, args.days),
        "",
        "\n\n".join(notes),
        "",
        "Goals:",
        "",
        *goals(results, args.days),
        "",
        END_MARK,
    ])


def write_section(heading: str, begin: str, end: str, text: str, before: str | None = None, doc_path: Path = DOC
                  ) -> None:
    """Put `text` between the marks `begin` and `end` of docs/benchmarks.md (or `doc_path`; text outside them is
    kept), or add the section `heading` holding it: before the section `before` if there is one, else at the end.
    Every benchmark script writes its own section this way."""
    doc = doc_path.read_text() if doc_path.exists() else "# Benchmarks\n"
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        doc = head + text + rest.split(end, 1)[1]
    elif before and f"\n{before}\n" in doc:
        head, tail = doc.split(f"\n{before}\n", 1)
        doc = head.rstrip("\n") + f"\n\n{heading}\n\n{text}\n\n{before}\n" + tail
    else:
        doc = doc.rstrip("\n") + f"\n\n{heading}\n\n{text}\n"
    doc_path.write_text(doc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--reports", default="all", help="comma-separated report names, or all")
    parser.add_argument("--raw-reports", default=RAW_REPORTS,
                        help="comma-separated reports also run on the raw text (slow), all, or empty for none")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data, lake = prepare(args.records, args.days, args.out.resolve())
    check_lake(lake)
    size = sizes(data, lake, prepare_rollups(lake))
    results, skipped = bench(args, data, lake)
    text = section(args, results, size, skipped)
    print(text, flush=True)
    if args.write_doc:
        write_section("## Reports", BEGIN_MARK, END_MARK, text)


if __name__ == "__main__":
    main()
