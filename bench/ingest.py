"""Ingest benchmark: flowlake beside DuckDB, Polars and zcat on the same files, in one run.

Generates default-format `.log.gz` objects (big: 50,000 records each; small: about 3,000, as
AWS delivers every five minutes), then times each tool turning them into date-partitioned
Parquet, in its own process, and reports records/s, the ratio to the fastest converter, peak
memory (max RSS of the process) and output size against the gzip text.

    .venv/bin/python bench/ingest.py [--records 10000000] [--out bench/out] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
END = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)

DUCKDB = """
import duckdb, sys
con = duckdb.connect(config={"threads": 2})
con.execute(f'''copy (select *, cast(to_timestamp(start) as date) as date
    from read_csv('{sys.argv[1]}/**/*.log.gz', delim=' ', header=true, nullstr='-'))
    to '{sys.argv[2]}' (format parquet, partition_by (date), compression zstd)''')
"""

POLARS = """
import polars as pl, sys
lf = pl.scan_csv(f'{sys.argv[1]}/**/*.log.gz', separator=' ', null_values='-')
lf.with_columns(pl.from_epoch('start').dt.date().alias('date')).sink_parquet(
    pl.PartitionBy(sys.argv[2], key='date'), mkdir=True)
"""


@dataclass
class Run:
    tool: str
    seconds: float
    peak_mib: float
    out_bytes: int | None


def run(tool: str, argv: list[str], out: Path | None) -> Run:
    """One tool in its own process: wall time and its peak RSS."""
    if out is not None and out.exists():
        shutil.rmtree(out)
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "FLOWLAKE_GRACE_SECONDS": "0"})
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} failed: {proc.stderr.read().decode()[-2000:]}")
    size = sum(p.stat().st_size for p in out.rglob("*.parquet")) if out is not None else None
    return Run(tool, seconds, usage.ru_maxrss / 1024, size)


def tools(data: Path, work: Path) -> list[tuple[str, list[str], Path | None]]:
    return [
        ("zcat (decompression only)",
         ["sh", "-c", f"find '{data}' -name '*.log.gz' -print0 | sort -z | xargs -0 cat | zcat > /dev/null"], None),
        ("DuckDB read_csv → COPY", [PY, "-c", DUCKDB, str(data), str(work / "duckdb")], work / "duckdb"),
        ("Polars scan_csv → sink_parquet", [PY, "-c", POLARS, str(data), str(work / "polars")], work / "polars"),
        ("flowlake ingest", [PY, "-m", "flowlake", "ingest", str(data), "--lake", str(work / "lake")],
         work / "lake"),
    ]


def bench(records: int, per_object: int, out: Path) -> tuple[list[Run], int]:
    sys.path.insert(0, str(ROOT / "src"))
    from flowlake.generate import generate

    data = out / f"data-{per_object}"
    if not data.exists():
        generate(data, records=records, seed=1, days=7, end=END, records_per_object=per_object,
                 formats=("v2-text",))
    gz_bytes = sum(p.stat().st_size for p in data.rglob("*.log.gz"))
    work = (out / f"work-{per_object}").resolve()
    work.mkdir(parents=True, exist_ok=True)
    runs = [run(name, argv, target) for name, argv, target in tools(data.resolve(), work)]
    return runs, gz_bytes


def table(records: int, per_object: int, runs: list[Run], gz_bytes: int) -> str:
    converters = [r for r in runs if r.out_bytes is not None and not r.tool.startswith("flowlake")]
    fastest = min(r.seconds for r in converters)
    lines = [f"**{records:,} records in objects of {per_object:,} records** "
             f"({gz_bytes / 1e6:,.0f} MB of gzip text)", "",
             "| tool | seconds | records/s | × fastest converter | peak memory | output ÷ gzip text |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        ratio = f"{fastest / r.seconds:.2f}" if r.out_bytes is not None else "-"
        size = f"{r.out_bytes / gz_bytes:.2f}" if r.out_bytes is not None else "-"
        lines.append(f"| {r.tool} | {r.seconds:.2f} | {records / r.seconds:,.0f} | {ratio} | "
                     f"{r.peak_mib:,.0f} MiB | {size} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--sizes", default="50000,3000", help="records per object, comma-separated")
    args = parser.parse_args()
    report = []
    for per_object in (int(s) for s in args.sizes.split(",")):
        runs, gz_bytes = bench(args.records, per_object, args.out)
        report.append(table(args.records, per_object, runs, gz_bytes))
        print(report[-1] + "\n", flush=True)


if __name__ == "__main__":
    main()
