"""DuckDB over the lake: `flows` and `web_logs` views of exactly the ledger's live files, pruned by time.

Each command gets its own connection: a cursor on the process's one in-memory database, which holds the
reference tables, the macros and the attached enrichment, made once (a DuckDB database takes about 25 ms
to make and fill; a cursor on it, microseconds). The views are the connection's own (temporary). They
list the files the ledger names at that moment, so a query never sees a half-written file or a file
compaction has replaced, and a time range opens only the partitions it touches.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import duckdb
import pyarrow as pa

from flowlake import enrich
from flowlake.lake import findings, rollup
from flowlake.lake.ledger import FileEntry
from flowlake.lake.store import Lake
from flowlake.schema import FIELDS, PARTITION_COLUMN, lake_schema, sql_type
from flowlake.timerange import TimeRange
from flowlake.weblogs import WEB_LOGS_DIR, WEB_LOGS_SCHEMA


@dataclass(frozen=True)
class Scan:
    """What a `flows` view reads: for `--explain` and `--verbose`."""

    files: int
    bytes: int
    rows: int


TRAFFIC = "select * from flows where coalesce(log_status, 'OK') = 'OK'"
"""Records that carry traffic: NODATA and SKIPDATA mark capture gaps, not flows."""
TRAFFIC_VIEW = f"create temp view traffic as {TRAFFIC}"

ATHENA_COLUMNS = tuple(f.column for f in FIELDS[:29])
"""The columns of AWS's documented Athena table `vpc_flow_logs` (versions 2 to 5), in its order."""
VPC_FLOW_LOGS = "select " + ", ".join(f'"{c}"' for c in (*ATHENA_COLUMNS, PARTITION_COLUMN)) + " from flows"
"""`vpc_flow_logs`: `flows` shaped like that table."""


SHARED = "flowlake-shared"
"""The shared database's `custom_user_agent`: sandbox.lock refuses its cursors (its settings are global)."""
_shared: duckdb.DuckDBPyConnection | None = None
_shared_made = threading.Lock()


def connect(lake: Lake, when: TimeRange | None = None, where: str | None = None,
            prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None, rollups: bool = False,
            private: bool = False) -> tuple[duckdb.DuckDBPyConnection, Scan]:
    """A connection with the `flows` view over the lake, limited to `when` and the SQL filter `where`,
    plus `traffic` (flows that carry traffic), `web_logs` (limited to `when`), `vpc_flow_logs` (shaped
    like AWS's Athena table), `findings` (every stored finding), the reference tables, the macros and the
    enrichment (`flowlake.enrich`).
    `prepare` runs first, for functions
    or variables that `where` uses. With `rollups`, also `rollup_NAME` for each rollup: its rows over
    the range, from the rollups of files the range holds whole and from the rows of the others (`where`
    does not apply to them: callers filter on the rollup's columns). `private`: a database of its own,
    for a connection whose settings or tables will change (the SQL console's sandbox locks the settings);
    what other connections make in the shared database (a table, a schema) is every connection's."""
    when = when or TimeRange()
    files, web_files = live_files(lake, when)
    if private:
        con = duckdb.connect()
        _fill(con)
    else:
        con = _database().cursor()
    con.execute("set TimeZone = 'UTC'")  # a connection's own setting: a cursor does not inherit it
    enrich.lake_ranges(con, lake.root)
    if prepare:
        prepare(con)
    _views(con, "flows", lake, files, lake_schema(), time_conditions("start_time", when))
    if where:
        # A filter of the time-limited rows: whatever `where` says, it cannot widen the range.
        con.execute("alter view flows rename to flows_in_range")
        con.execute(f"create temp view flows as select * from flows_in_range where {where}")
    _views(con, WEB_LOGS_DIR, lake, web_files, WEB_LOGS_SCHEMA, time_conditions("time", when))
    con.execute(f"create temp view vpc_flow_logs as {VPC_FLOW_LOGS}")
    con.execute(TRAFFIC_VIEW)
    first, latest = _start_span(files, when)
    con.execute(f"set variable first_start = {first}")
    con.execute(f"set variable latest_start = {latest}")
    con.execute(f"create temp view findings as {findings.stored_sql(lake)}")
    if rollups:
        _rollup_views(con, lake, files, when)
    return con, Scan(len(files), sum(f.bytes for f in files), sum(f.rows for f in files))


def _database() -> duckdb.DuckDBPyConnection:
    """The process's shared database, made on first use."""
    global _shared
    with _shared_made:
        if _shared is None:
            con = duckdb.connect(config={"custom_user_agent": SHARED})
            _fill(con)
            _shared = con
        return _shared


def _fill(con: duckdb.DuckDBPyConnection) -> None:
    setup(con)
    enrich.define(con)


def _start_span(files: list[FileEntry], when: TimeRange) -> tuple[str, str]:
    """The earliest and the latest record start the files can hold within the range (from the ledger), as SQL:
    what newest-first reports count back from, and where they stop (reports.py); NULL when no file knows."""
    known = [f for f in files if f.min_start is not None and f.max_start is not None]
    if not known:
        return "null", "null"
    first = dt.datetime.fromtimestamp(min(f.min_start for f in known), dt.UTC)
    latest = dt.datetime.fromtimestamp(max(f.max_start for f in known) + 1, dt.UTC)
    first, latest = max(first, when.start) if when.start else first, min(latest, when.end) if when.end else latest
    return f"timestamptz '{first}'", f"timestamptz '{latest}'"


def live_files(lake: Lake, when: TimeRange) -> tuple[list[FileEntry], list[FileEntry]]:
    """The ledger's live `flows` files that can hold rows in the range, and its `web_logs` files of the range's
    days: what every engine's views read."""
    ledger = lake.reader()
    try:
        return ([f for f in ledger.live_files(*when.dates) if _overlaps(f, when)],
                ledger.live_files(*when.dates, table=WEB_LOGS_DIR))
    finally:
        ledger.close()


def _views(con: duckdb.DuckDBPyConnection, table: str, lake: Lake, files: list[FileEntry], schema: pa.Schema,
           conditions: list[str]) -> None:
    """`{table}_all` over exactly `files` (with none, empty with the table's columns), and `{table}`:
    its rows meeting `conditions`."""
    if files:
        union = any(f.extra for f in files)
        listed = ", ".join(_literal(str(lake.root / f.path)) for f in files)
        con.execute(f"create temp view {table}_all as select * from read_parquet([{listed}],"
                    f" hive_partitioning = true, union_by_name = {str(union).lower()})")
    else:
        columns = ", ".join(f'cast(null as {sql_type(f.type, "duckdb")}) as "{f.name}"' for f in schema)
        con.execute(f"create temp view {table}_all as select {columns}, cast(null as date) as {PARTITION_COLUMN}"
                    " where false")
    con.execute(f"create temp view {table} as select * from {table}_all"
                + (" where " + " and ".join(conditions) if conditions else ""))


def _rollup_views(con: duckdb.DuckDBPyConnection, lake: Lake, files: list[FileEntry], when: TimeRange) -> None:
    whole: list[dict[str, Path]] = []
    cut: list[FileEntry] = []
    for entry in files:
        made = rollup.files(lake, entry) if _within(entry, when) else {}
        if made:
            whole.append(made)
        else:
            cut.append(entry)
    # The parts each rollup's rows come from: a file's rollup, or the rows of every cut file (engine/rewrite.py).
    con.execute(f"set variable rollup_parts = {len(whole) + bool(cut)}")
    live = bool(cut) or not whole  # with neither, the rollup's SQL over no rows still gives its columns
    if live:
        _views(con, "rollup_input", lake, cut, lake_schema(), time_conditions("start_time", when))
    for name, asset in rollup.definitions().items():
        parts = [f"select * from ({asset.sql})"] if live else []
        if whole:
            listed = ", ".join(_literal(str(made[name])) for made in whole)
            parts.insert(0, f"select * from read_parquet([{listed}])")
        con.execute(f"create temp view rollup_{name} as " + " union all by name ".join(parts))


def _within(file: FileEntry, when: TimeRange) -> bool:
    """Whether every row of the file is in the range (by its `start` span in the ledger)."""
    if file.min_start is None or file.max_start is None:
        return False
    if when.start and file.min_start < when.start.timestamp():
        return False
    return not (when.end and file.max_start >= when.end.timestamp())


def _overlaps(file: FileEntry, when: TimeRange) -> bool:
    """Whether a file's `start` span (from the ledger) can hold rows in the range: a day's file that
    ends before `--since 1h` begins is not opened at all."""
    if file.min_start is None or file.max_start is None:
        return True
    if when.start and file.max_start < when.start.timestamp():
        return False
    return not (when.end and file.min_start >= when.end.timestamp())


def time_conditions(column: str, when: TimeRange) -> list[str]:
    """SQL conditions keeping `column` within the range."""
    conditions = []
    if when.start:
        conditions.append(f"{column} >= timestamptz '{when.start.isoformat()}'")
    if when.end:
        conditions.append(f"{column} < timestamptz '{when.end.isoformat()}'")
    return conditions


def setup(con: duckdb.DuckDBPyConnection) -> None:
    """UTC, the reference tables and the macros of sql/setup.sql: what any flowlake SQL may call."""
    con.execute("set TimeZone = 'UTC'")
    package = resources.files("flowlake")
    for table in ("protocols", "ports"):
        with resources.as_file(package / "reference" / f"{table}.csv") as path:
            con.execute(f"create or replace table {table} as"
                        f" select * from read_csv({_literal(str(path))}, header = true)")
    con.execute((package / "sql" / "setup.sql").read_text())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
