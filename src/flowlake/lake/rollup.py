"""Rollups: small aggregates of each data file that answer long-range dashboard questions quickly.

A rollup is a SQL asset (`sql/rollups/NAME.sql`) over the rows of one data file (`rollup_input`).
Data files never change once written, so a file's rollups never go stale: a reader takes the rollups
of the files it would read whole and the rows themselves for the rest (files the time range cuts, or
not rolled up yet), and the answer is the same either way. A file's rollups are written into a
temporary folder that is renamed into place, so they exist entirely or not at all; a crash leaves
at most a `.tmp` folder, removed by the next build.

Only closed days are rolled up: today's files are still being merged by compaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from functools import cache
from pathlib import Path

import duckdb

from flowlake.engine.catalog import SqlAsset, load
from flowlake.lake.ledger import FileEntry
from flowlake.lake.store import FLOWS_DIR, META_DIR, Lake
from flowlake.schema import lake_schema, sql_type

log = logging.getLogger(__name__)

METRICS = ("bytes", "packets", "flows")
EXTREMES = {("max", "end_time"): "last_end", ("min", "start_time"): "first_start"}
"""Columns of a rollup holding the latest `end_time` and the earliest `start_time` of its rows, by the aggregate
of a record's column they answer (a max of maxes: engine/rewrite.py)."""
DERIVED = ("pair", "pkt_pair", "pair_bytes", "pkt_pair_bytes")
"""Columns of the pairs rollup computed from its others, for the top-pairs steps (engine/rewrite.py)."""


@cache
def definitions() -> dict[str, SqlAsset]:
    return load("rollups")


@cache
def version() -> str:
    """Changes with the rollups' SQL and DuckDB's version (whose `hash` the pairs rollup keeps), so
    rollups of other definitions are rebuilt, never mixed with these."""
    text = "\n".join([duckdb.__version__, *(a.sql for _, a in sorted(definitions().items()))])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@cache
def columns(name: str) -> tuple[str, ...]:
    """Every column of a rollup."""
    con = _connect()
    nulls = ", ".join(f'cast(null as {sql_type(f.type, "duckdb")}) as "{f.name}"' for f in lake_schema())
    con.execute(f"create view rollup_input as select {nulls} where false")
    return tuple(row[0] for row in con.sql(f"describe {definitions()[name].sql}").fetchall())


def dimensions(name: str) -> tuple[str, ...]:
    """The columns a rollup groups by (all but the measures)."""
    return tuple(c for c in columns(name) if c not in (*METRICS, *EXTREMES.values(), *DERIVED))


def _connect() -> duckdb.DuckDBPyConnection:
    """A connection with the macros rollups may call (`is_private`)."""
    from flowlake.engine.duckdb import setup  # engine.duckdb reads the rollups: imported when used

    con = duckdb.connect()
    setup(con)
    return con


def root(lake: Lake) -> Path:
    return lake.root / META_DIR / "rollups" / version()


def folder(lake: Lake, entry: FileEntry) -> Path:
    return root(lake) / entry.path.removesuffix(".parquet")


UNSTARTED = "records-without-start"
"""Marks a file holding records with no `start` (custom formats without it): a time range leaves those
records out, a rollup could not, so such a file is always read as records."""


def files(lake: Lake, entry: FileEntry) -> dict[str, Path]:
    """A file's rollups by name, if they are built."""
    where = folder(lake, entry)
    if not where.is_dir() or (where / UNSTARTED).exists():
        return {}
    return {name: where / f"{name}.parquet" for name in definitions()}


def pending(lake: Lake, today: dt.date | None = None) -> list[FileEntry]:
    """Live flow files of closed days that have no rollups yet."""
    today = today or dt.datetime.now(dt.UTC).date()
    ledger = lake.reader()
    try:
        entries = ledger.live_files(date_to=(today - dt.timedelta(days=1)).isoformat())
    finally:
        ledger.close()
    return [e for e in entries if not folder(lake, e).is_dir()]


def build(lake: Lake, entry: FileEntry) -> bool:
    """Write every rollup of one data file; False when the file went away meanwhile (compacted)."""
    final = folder(lake, entry)
    partial = final.with_name(final.name + ".tmp")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    con = _connect()
    try:
        source = str(lake.root / entry.path).replace("'", "''")
        con.execute(f"create view rollup_input as select * from read_parquet('{source}')")
        [(unstarted,)] = con.execute('select count(*) from rollup_input where "start" is null').fetchall()
        if unstarted:
            (partial / UNSTARTED).touch()
        else:
            for name, asset in definitions().items():
                target = str(partial / f"{name}.parquet").replace("'", "''")
                con.execute(f"copy ({asset.sql}) to '{target}' (format parquet, compression zstd)")
    except duckdb.IOException:
        shutil.rmtree(partial, ignore_errors=True)
        return False
    finally:
        con.close()
    os.rename(partial, final)
    return True


def build_all(lake: Lake, stop=None) -> int:
    """Roll up every closed day's file that lacks rollups; returns how many were built."""
    built = 0
    for entry in pending(lake):
        if stop is not None and stop.is_set():
            break
        built += build(lake, entry)
    tidy(lake)
    return built


def tidy(lake: Lake) -> None:
    """Remove rollups of files no longer live, and those of older definitions (not `.tmp` folders:
    a builder may be writing one; it clears its own leftovers)."""
    base = lake.root / META_DIR / "rollups"
    if not base.is_dir():
        return
    for other in base.iterdir():
        if other.name != version():
            shutil.rmtree(other, ignore_errors=True)
    ledger = lake.reader()
    try:
        live = {e.path.removesuffix(".parquet") for e in ledger.live_files()}
    finally:
        ledger.close()
    tables = root(lake) / FLOWS_DIR
    if not tables.is_dir():
        return
    for day in tables.iterdir():
        for made in day.iterdir():
            if not made.name.endswith(".tmp") and f"{FLOWS_DIR}/{day.name}/{made.name}" not in live:
                shutil.rmtree(made, ignore_errors=True)
