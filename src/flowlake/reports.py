"""Named reports: SQL assets run over the `flows` view with bound parameters."""

from __future__ import annotations

import datetime as dt
import logging

import duckdb
import pyarrow as pa

from flowlake.engine import rewrite
from flowlake.engine.catalog import SqlAsset
from flowlake.timerange import TimeRange

log = logging.getLogger(__name__)

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


def plan(con: duckdb.DuckDBPyConnection, asset: SqlAsset, params: dict, rolled: TimeRange | None) -> tuple[str, str]:
    """The SQL that answers the report and what it reads: a rollup's name, or `records`.

    `rolled` is the range of a connection made with `rollups=True` and no `where` (None otherwise): there,
    a report the rollups answer exactly (engine/rewrite.py) reads them instead of the records."""
    if rolled is not None:
        found = rewrite.over_rollup(asset.sql, params, rewrite.interval_seconds(con),
                                    ranged=rolled.start is not None or rolled.end is not None)
        if found:
            name, sql = found
            return sql, name
    return asset.sql, "records"


def run(con: duckdb.DuckDBPyConnection, asset: SqlAsset, params: dict,
        rolled: TimeRange | None = None) -> pa.RecordBatchReader:
    sql, source = plan(con, asset, params, rolled)
    if source == "records" and isinstance(con, duckdb.DuckDBPyConnection):
        newest = _newest(con, asset, params)
        if newest is not None:
            return newest
    log.info("report %s reads %s", asset.name, source if source == "records" else f"the {source} rollup")
    if source == "pairs":
        top = top_pairs(con, sql, params)
        if top is not None:
            return top
    return con.sql(sql, params=params).to_arrow_reader(65_536)


def top_pairs(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pa.RecordBatchReader | None:
    """A top-N of pairs from the rows of a few pair hashes (engine/rewrite.py), when they settle it; else None.

    Ranked by bytes, the rows with the most `pair_bytes` give a likely cut and only the hashes that can reach it
    are read; when that does not settle it, or for other rankings, every row is grouped by hash first."""
    steps = rewrite.top_by_hash(sql, params)
    if steps is None:
        return None
    [(parts,)] = con.execute("select getvariable('rollup_parts')").fetchall()
    if steps.by_bytes and parts and steps.limit:
        guessed = con.execute(steps.guess(parts)).fetchall()
        if guessed and guessed[0][0] is not None:
            [(cut,)] = guessed
            con.execute(steps.bound(cut, parts))
            table = _settled(con, steps, params, cut)
            if table is not None:
                log.info("the top pairs read only the pair hashes that can reach %s bytes", cut)
                return table.to_reader()
    con.execute(steps.groups(), {name: params[name] for name in steps.where_params})
    [(cut,)] = con.execute(f"select any_value(cut) from {rewrite.KEYS}").fetchall()
    table = _settled(con, steps, params, cut)
    if table is None:
        log.info("the pair hash's candidates do not settle the top rows (pairs share a hash): every pair is grouped")
        return None
    return table.to_reader()


def _settled(con: duckdb.DuckDBPyConnection, steps: rewrite.TopByHash, params: dict, cut: object) -> pa.Table | None:
    """The query over the rows of the hashes in KEYS, if its rows are the answer (`TopByHash.exact`)."""
    table = con.sql(steps.query(), params=params).to_arrow_table()
    return table if steps.exact(table.column(steps.metric).to_pylist(), cut) else None


def _newest(con: duckdb.DuckDBPyConnection, asset: SqlAsset, params: dict) -> pa.RecordBatchReader | None:
    """A newest-first listing (engine/rewrite.py) read from the N-th newest matching start on, which a probe
    finds over the last hour, day or week before the latest record (engine/duckdb.py's `latest_start`), else
    over the whole range. None to read the whole range as it is: when no file knows its start span, or when
    the range holds fewer than N matching records with a start (the listing then ends with those without)."""
    steps = rewrite.newest_first(asset.sql, params)
    if steps is None:
        return None
    [(first, latest)] = con.execute("select getvariable('first_start'), getvariable('latest_start')").fetchall()
    if latest is None:
        return None
    probed = {name: value for name, value in params.items() if name in steps.probe_params}
    for window in (*rewrite.NEWEST_WINDOWS, None):
        since = first if window is None or latest - window <= first else latest - window
        [(found, cutoff)] = con.execute(steps.probe, {**probed, "newest_from": since}).fetchall()
        if found >= steps.limit:
            log.info("report %s reads the records %s", asset.name,
                     f"of the last {window}" if since > first else f"from its {steps.limit} newest matches' start")
            return con.sql(steps.query, params={**params, "newest_from": cutoff}).to_arrow_reader(65_536)
        if since == first:
            return None
    return None
