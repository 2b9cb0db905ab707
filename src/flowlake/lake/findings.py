"""The lake's `findings` table: one Parquet file, LAKE/findings/findings.parquet, replaced whole.

Findings are few (thousands, not billions), so each run merges its findings into the file and
publishes a new one atomically: a finding with the same identity (rule, source, destination,
ports, window) replaces the stored one, so repeated runs never duplicate it.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from flowlake.lake.store import Lake, publish

FINDINGS_DIR = "findings"
COLUMNS = (
    ("id", "varchar"), ("rule", "varchar"), ("title", "varchar"), ("severity", "varchar"),
    ("src", "varchar"), ("dst", "varchar"), ("ports", "varchar"),
    ("first_seen", "timestamptz"), ("last_seen", "timestamptz"), ("flows", "bigint"), ("bytes", "bigint"),
    ("detail", "varchar"), ("mitre", "varchar"), ("tactic", "varchar"), ("query", "varchar"),
    ("detected_at", "timestamptz"),
    ("src_country", "varchar"), ("src_as", "varchar"), ("dst_country", "varchar"), ("dst_as", "varchar"),
)
"""Every finding's shape, whatever rule made it: the rule's columns, then the enrichment of both ends
(country code and AS name of a public address, added after the rules ran; null for private ones)."""


def path(lake: Lake) -> Path:
    return lake.root / FINDINGS_DIR / "findings.parquet"


def empty_sql() -> str:
    """A SELECT with the findings' columns and no rows (before the first run)."""
    return "select " + ", ".join(f"cast(null as {t}) as {c}" for c, t in COLUMNS) + " where false"


def stored_sql(lake: Lake) -> str:
    """A SELECT of the stored findings with every column of COLUMNS: a file written before a column
    existed reads it as null."""
    final = path(lake)
    if not final.exists():
        return empty_sql()
    quoted = str(final).replace("'", "''")
    return f"select * from ({empty_sql()}) union all by name select * from read_parquet('{quoted}')"


def save(lake: Lake, con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Merge `table` (rows of COLUMNS) into the stored findings, new rows replacing old ones by `id`."""
    final = path(lake)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".findings-{uuid.uuid4().hex}.parquet.tmp"
    columns = ", ".join(c for c, _ in COLUMNS)
    with lake.writer():
        con.execute(f"create or replace temp view stored_findings as {stored_sql(lake)}")
        merged = con.sql(f"select {columns} from stored_findings where id not in (select id from {table})"
                         f" union all select {columns} from {table} order by first_seen, id").to_arrow_table()
        con.execute("drop view stored_findings")
        pq.write_table(merged, tmp, compression="zstd")
        publish(tmp, final)
