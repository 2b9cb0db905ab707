"""Spark benchmark: every built-in report on DuckDB and on Spark in local mode, over the same lake.

The lake is bench/reports.py's (generated v2 text in AWS's layout, ingested once, cached in `--out`).
Spark's start (the JVM, the session, and the first `connect`, which lists the files and reads their
schema) is measured apart, once. Then each report runs over the last day and over all the days:

- DuckDB: in-process, as `flowlake report` runs it (connect, bind, run, fetch every row);
- Spark: the same, with `--engine spark`'s connection (the session already up): the views over the same
  ledger files, the SQL translated by engine/dialects.py, the answer collected to the driver as Arrow.

Answers are compared before anything is timed (same columns and rows; in order where the SQL orders
them). Each engine runs once to warm up, then 3 times, alternating; the table shows the medians.

    .venv/bin/python bench/spark.py [--records 10000000] [--days 7] [--master 'local[*]'] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyspark
import sqlglot

import reports  # bench/reports.py: the cached lake, log(), the machine, the section writer
from flowlake.engine import catalog, spark
from flowlake.lake.store import Lake
from flowlake.reports import bind, run
from flowlake.timerange import TimeRange

ROOT = reports.ROOT
END = reports.END
RUNS = 3
BEGIN_MARK = "<!-- bench/spark.py: begin (generated; text outside the marks is kept) -->"
END_MARK = "<!-- bench/spark.py: end -->"


@dataclass
class Result:
    report: str
    duckdb: dict[str, float] = field(default_factory=dict)
    spark: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class Startup:
    session: float
    """The JVM and the SparkSession, from nothing."""
    connect: float
    """The first `connect`: the lake's views, Spark listing the files and reading their footers."""
    again: float
    """A later `connect` with the session up (what each timed Spark run includes)."""


def run_spark(lake: Path, asset: catalog.SqlAsset, values: dict, when: TimeRange, master: str) -> pa.Table:
    """What `flowlake report NAME --engine spark` does once the session is up, minus printing."""
    con, _ = spark.connect(Lake(lake), when, master=master)
    return run(con, asset, bind(asset, values, con, when)).read_all()


def same(asset: catalog.SqlAsset, duck: pa.Table, other: pa.Table) -> str | None:
    """Why two answers differ (None when they do not): names, then rows, in order where the SQL orders them."""
    if duck.column_names != other.column_names:
        return f"columns {other.column_names} for {duck.column_names}"
    mine = [tuple(r.values()) for r in duck.to_pylist()]
    theirs = [tuple(r.values()) for r in other.to_pylist()]
    ordered = sqlglot.parse_one(asset.sql, read="duckdb").args.get("order") is not None
    if (mine != theirs) if ordered else (Counter(mine) != Counter(theirs)):
        return f"{len(theirs)} rows for {len(mine)}, or different values"
    return None


def startup(lake: Path, master: str) -> Startup:
    began = time.perf_counter()
    spark.session(master)
    session = time.perf_counter() - began
    connect = reports.timed(lambda: spark.connect(Lake(lake), master=master))
    return Startup(session, connect, reports.timed(lambda: spark.connect(Lake(lake), master=master)))


def bench(args: argparse.Namespace, lake: Path) -> list[Result]:
    assets = catalog.load("reports")
    names = [n for n in (list(assets) if args.reports == "all" else args.reports.split(","))
             if not reports.other_tables(assets[n].sql)]
    ranges = {"1 day": TimeRange(END - dt.timedelta(days=1), END),
              f"{args.days} days": TimeRange(END - dt.timedelta(days=args.days), END)}
    day = ranges["1 day"]
    given = {"traffic-from-source": {"src": reports.run_flowlake(lake, assets["top-talkers"], {}, day)["srcaddr"][0]
                                     .as_py()},
             "traffic-to-destination": {"dst": reports.run_flowlake(lake, assets["top-destinations"], {}, day)
                                        ["dstaddr"][0].as_py()}}
    results = []
    for name in names:
        asset, values, result = assets[name], given.get(name, {}), Result(name)
        results.append(result)
        for label, when in ranges.items():
            def duck_once(asset=asset, values=values, when=when) -> pa.Table:
                return reports.run_flowlake(lake, asset, values, when)

            def spark_once(asset=asset, values=values, when=when) -> pa.Table:
                return run_spark(lake, asset, values, when, args.master)

            reference = duck_once()
            result.rows[label] = reference.num_rows
            problem = same(asset, reference, spark_once())
            if problem:
                result.problems.append(f"{label}: {problem}")
                reports.log(f"  {name} {label}: Spark's answer differs from DuckDB's: {problem}")
            duck_times, spark_times = [], []
            for _ in range(RUNS):
                duck_times.append(reports.timed(duck_once))
                spark_times.append(reports.timed(spark_once))
            result.duckdb[label] = statistics.median(duck_times)
            result.spark[label] = statistics.median(spark_times)
            reports.log(f"{name:<26} {label:>8}: DuckDB {result.duckdb[label]:.3f} s, "
                        f"Spark {result.spark[label]:.3f} s, {reference.num_rows} rows")
    return results


def table(results: list[Result], days: int) -> str:
    d1, dn = "1 day", f"{days} days"
    head = ["report", f"rows ({d1} / {dn})", f"DuckDB {d1}", f"DuckDB {dn}", f"Spark {d1}", f"Spark {dn}",
            f"Spark ÷ DuckDB ({d1} / {dn})"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for r in results:
        lines.append("| " + " | ".join([
            r.report + (" ≠" if r.problems else ""), f"{r.rows[d1]:,} / {r.rows[dn]:,}",
            reports._s(r.duckdb[d1]), reports._s(r.duckdb[dn]), reports._s(r.spark[d1]), reports._s(r.spark[dn]),
            f"{reports._x(r.spark[d1], r.duckdb[d1])} / {reports._x(r.spark[dn], r.duckdb[dn])}"]) + " |")
    return "\n".join(lines)


def summary(results: list[Result], days: int, start: Startup) -> list[str]:
    """The figures a reader decides by: totals, the median ratio, and how many reports each engine won."""
    lines = []
    for label in ("1 day", f"{days} days"):
        ratios = [r.spark[label] / r.duckdb[label] for r in results]
        faster = sum(1 for x in ratios if x < 1)
        lines.append(f"- {label}: all {len(results)} reports take {sum(r.duckdb[label] for r in results):.1f} s on "
                     f"DuckDB and {sum(r.spark[label] for r in results):.1f} s on Spark; median Spark ÷ DuckDB "
                     f"{statistics.median(ratios):.1f}×; Spark faster on {faster} of {len(results)}.")
    differ = [r.report for r in results if r.problems]
    lines.append("- Answers: " + ("identical on both engines for every report." if not differ else
                                  "differ for " + ", ".join(differ) + " (marked ≠)."))
    lines.append(f"- Spark's start, paid once per command: {start.session:.1f} s for the JVM and the session, "
                 f"{start.connect:.2f} s for the first `connect` (listing and reading the files' footers), "
                 f"{start.again:.2f} s for each later one.")
    return lines


def section(args: argparse.Namespace, results: list[Result], size: reports.Sizes, start: Startup) -> str:
    parts = [".venv/bin/python bench/spark.py", f"--records {args.records}", f"--days {args.days}",
             f"--master '{args.master}'"]
    if args.reports != "all":
        parts.append(f"--reports {args.reports}")
    return "\n".join([
        *reports.section_head(BEGIN_MARK, reports.command_line(parts, args.out)),
        f"Machine: {reports.machine()}, PySpark {pyspark.__version__}. Measured on {dt.date.today().isoformat()}.",
        "",
        f"Data: {size.records:,} records of `flowlake generate` v2 text over {args.days} days (seed {reports.SEED}); "
        f"the lake: {size.files} Parquet files, {size.lake_bytes / 1e6:,.0f} MB. Spark in local mode "
        f"(`{args.master}`), one session for the whole run; each timed Spark run is `connect` (the session up), "
        "bind, run and collect every row as Arrow, as `flowlake report --engine spark` does after its start. "
        f"DuckDB as `flowlake report` runs it. Once each to warm up (and to check the answers), then {RUNS} times, "
        "alternating; medians, seconds. Ratios above 1× mean DuckDB is faster.",
        "",
        table(results, args.days),
        "",
        *summary(results, args.days, start),
        "",
        END_MARK,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--master", default="local[*]", help="Spark master (default local[*]: every core)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--reports", default="all", help="comma-separated report names, or all")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/benchmarks.md")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    data, lake = reports.prepare(args.records, args.days, args.out.resolve())
    reports.check_lake(lake)
    start = startup(lake, args.master)
    reports.log(f"Spark: session {start.session:.1f} s, first connect {start.connect:.2f} s")
    results = bench(args, lake)
    text = section(args, results, reports.sizes(data, lake), start)
    print(text, flush=True)
    if args.write_doc:
        reports.write_section("## Spark", BEGIN_MARK, END_MARK, text, before="## S3 and freshness")


if __name__ == "__main__":
    main()
