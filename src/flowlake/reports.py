"""Named reports: SQL assets run over the `flows` view with bound parameters."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from flowlake.engine.catalog import SqlAsset
from flowlake.timerange import TimeRange

BUCKETS = (
    (dt.timedelta(minutes=1), "1 minute"),
    (dt.timedelta(minutes=5), "5 minutes"),
    (dt.timedelta(minutes=15), "15 minutes"),
    (dt.timedelta(hours=1), "1 hour"),
    (dt.timedelta(hours=6), "6 hours"),
    (dt.timedelta(days=1), "1 day"),
)
MAX_POINTS = 400
"""`bucket = auto` picks the finest bucket that keeps a series under this many points."""


class ReportError(ValueError):
    """A missing or malformed report parameter."""


def bind(asset: SqlAsset, values: dict[str, str], con: duckdb.DuckDBPyConnection | None, when: TimeRange) -> dict:
    """The asset's parameters as DuckDB values: given ones, defaults, and `auto` buckets worked out (from the
    range, or from the data through `con`; without one, a range open at either end cannot pick)."""
    unknown = set(values) - {p.name for p in asset.params}
    if unknown:
        known = ", ".join(p.name for p in asset.params) or "none"
        raise ReportError(f"report {asset.name} has no parameter {', '.join(sorted(unknown))} (it takes: {known})")
    bound = {}
    for param in asset.params:
        try:
            value = param.convert(values.get(param.name))
        except ValueError:
            raise ReportError(f"--param {param.name} must be an {param.type}") from None
        if value is None:
            raise ReportError(f"report {asset.name} needs --param {param.name}=...")
        if param.type == "interval" and value == "auto":
            value = auto_bucket(con, when)
        bound[param.name] = value
    return bound


def auto_bucket(con: duckdb.DuckDBPyConnection | None, when: TimeRange) -> str:
    """The finest bucket with at most MAX_POINTS buckets over the range (or the data's own span)."""
    start, end = when.start, when.end
    if (start is None or end is None) and con is None:
        raise ReportError("an `auto` bucket needs --from and --to, or give --param bucket=... "
                          "(Athena SQL cannot look at the data first)")
    if start is None or end is None:
        [(first, last)] = con.execute("select min(start_time), max(start_time) from flows").fetchall()
        start, end = start or first, end or last
    if start is None or end is None:
        return BUCKETS[0][1]
    span = end - start
    for size, name in BUCKETS:
        if span / size <= MAX_POINTS:
            return name
    return BUCKETS[-1][1]


def run(con: duckdb.DuckDBPyConnection, asset: SqlAsset, params: dict) -> pa.RecordBatchReader:
    return con.sql(asset.sql, params=params).to_arrow_reader(65_536)
