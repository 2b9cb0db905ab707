"""The questions behind the dashboard's pages, as plain functions of a connection.

Each function takes a connection from `flowlake.engine.duckdb.connect` (already limited to the time
range and the filters) and returns JSON-ready data. Column names come from the lake schema, checked
here; every value reaches DuckDB as a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from flowlake.reports import BUCKETS, MAX_POINTS
from flowlake.web.filters import COLUMNS, DIMENSIONS, PROTOCOL_NAMES

METRICS = {"bytes": "sum(bytes)", "packets": "sum(packets)", "flows": "count(*)"}
NAMED = {"protocol": "protocol_name", "srcport": "port_name", "dstport": "port_name"}
"""Dimensions whose values have names (6 is TCP, 22 is ssh), added beside them as `<column>_name`."""
OTHER = "Other"


class QuestionError(ValueError):
    """A bad metric, dimension or sort column: the API answers 400."""


@dataclass(frozen=True)
class Period:
    """The range asked about, closed at both ends, and the one just before it, as long."""

    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    @property
    def before(self) -> Period:
        return Period(self.start - self.length, self.start)

    def json(self) -> dict:
        return {"start": iso(self.start), "end": iso(self.end)}


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


def bucket_seconds(period: Period) -> int:
    """The finest bucket that keeps a series under MAX_POINTS points, as for reports' `bucket = auto`."""
    for size, _ in BUCKETS:
        if period.length / size <= MAX_POINTS:
            return int(size.total_seconds())
    return int(BUCKETS[-1][0].total_seconds())


def dimensions(by: list[str]) -> list[str]:
    for name in by:
        if name not in DIMENSIONS:
            raise QuestionError(f"unknown dimension {name!r}: use one of {', '.join(DIMENSIONS)}")
    if len(set(by)) != len(by):
        raise QuestionError("each dimension once")
    return by


def metric(name: str) -> str:
    if name not in METRICS:
        raise QuestionError(f"unknown metric {name!r}: use one of {', '.join(METRICS)}")
    return METRICS[name]


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def summary(con: duckdb.DuckDBPyConnection, period: Period) -> dict:
    """Totals for the period and the one before (the connection covers both)."""
    rows = con.execute("""
        select start_time >= $mid as current,
               coalesce(sum(bytes) filter (where coalesce(log_status, 'OK') = 'OK'), 0) as bytes,
               coalesce(sum(packets) filter (where coalesce(log_status, 'OK') = 'OK'), 0) as packets,
               count(*) filter (where coalesce(log_status, 'OK') = 'OK') as flows,
               count(*) filter (where action = 'ACCEPT') as accepted,
               count(*) filter (where action = 'REJECT') as rejected,
               count(distinct interface_id) as interfaces,
               count(*) filter (where log_status = 'NODATA') as nodata,
               count(*) filter (where log_status = 'SKIPDATA') as skipdata
        from flows group by 1""", {"mid": period.start}).fetchall()
    keys = ("bytes", "packets", "flows", "accepted", "rejected", "interfaces", "nodata", "skipdata")
    empty = dict.fromkeys(keys, 0)
    totals = {bool(r[0]): dict(zip(keys, (int(v) for v in r[1:]), strict=True)) for r in rows}
    return {"range": period.json(), "previous": period.before.json(),
            "current": totals.get(True, empty), "before": totals.get(False, empty)}


def timeseries(con: duckdb.DuckDBPyConnection, period: Period, metric_name: str, by: list[str], limit: int,
               rate: bool, previous: bool) -> dict:
    """The metric per time bucket, one series per top-`limit` combination of `by` (the rest: Other).

    Top series are chosen on the current period; with `previous`, the period before is answered with the
    same series, its times moved onto the current period so the two overlay."""
    value = metric(metric_name)
    dims = dimensions(by)
    seconds = bucket_seconds(period)
    cols = ", ".join(f'"{d}"' for d in dims)
    join = " and ".join(f'b."{d}" is not distinct from top."{d}"' for d in dims) or "true"
    keys = ", ".join(f'top."{d}"' for d in dims)
    sql = f"""
        with b as (
            select "start" - "start" % $seconds as t, {cols + ',' if dims else ''} {value} as v
            from traffic where "start" >= $lo and "start" < $hi group by all
        ), top as (
            select {cols if dims else '1 as one'}, sum(v) as total from b where t >= $mid
            group by all order by total desc limit $limit
        )
        select b.t >= $mid as current, b.t + (case when b.t < $mid then $shift else 0 end) as t,
               {keys + ',' if dims else ''} top.total is not null as is_top, sum(b.v) as v
        from b left join top on {join}
        group by all order by 2"""
    lo = period.before.start if previous else period.start
    params = {"seconds": seconds, "lo": _epoch(lo), "hi": _epoch(period.end), "mid": _epoch(period.start),
              "shift": int(period.length.total_seconds()), "limit": limit}
    series: dict[tuple, dict] = {}
    for current, t, *rest in con.execute(sql, params).fetchall():
        *key_values, is_top, v = rest
        key = tuple(key_values) if is_top or not dims else (OTHER,)
        entry = series.setdefault((current, key), {
            "name": _label(dims, key_values) if is_top or not dims else OTHER,
            "key": dict(zip(dims, key_values, strict=True)) if is_top else {},
            "points": []})
        amount = float(v) / seconds if rate else int(v)
        entry["points"].append([iso(dt.datetime.fromtimestamp(t, dt.UTC)), amount])
    ordered = sorted(series.items(), key=lambda item: (item[1]["name"] == OTHER, -_total(item[1])))
    return {"metric": metric_name, "unit": "rate" if rate else "total", "by": dims,
            "bucket": _bucket_name(seconds), "seconds": seconds,
            "series": [s for (current, _), s in ordered if current],
            "previous": [s for (current, _), s in ordered if not current]}


def _label(dims: list[str], values: list) -> str:
    """A series name: the values joined, protocols by name (TCP rather than 6)."""
    if not dims:
        return "total"
    names = [PROTOCOL_NAMES.get(v, str(v)) if d == "protocol" else "(none)" if v is None else str(v)
             for d, v in zip(dims, values, strict=True)]
    return " → ".join(names)


def _total(series: dict) -> float:
    return sum(p[1] for p in series["points"])


def _bucket_name(seconds: int) -> str:
    return next(name for size, name in BUCKETS if size.total_seconds() == seconds)


def top(con: duckdb.DuckDBPyConnection, metric_name: str, by: list[str], limit: int) -> dict:
    """The biggest `limit` combinations of `by` by the metric, with all three metrics and the total."""
    metric(metric_name)
    dims = dimensions(by)
    if not dims:
        raise QuestionError("top needs at least one dimension (by=srcaddr)")
    cols = ", ".join(f'"{d}"' for d in dims)
    names = "".join(f', {NAMED[d]}("{d}") as "{d}_name"' for d in dims if d in NAMED)
    sql = f"""
        with g as (
            select {cols}, sum(bytes) as bytes, sum(packets) as packets, count(*) as flows from traffic group by all
        ), ranked as (
            select *, sum(bytes) over () as all_bytes, sum(packets) over () as all_packets,
                   sum(flows) over () as all_flows
            from g order by "{metric_name}" desc nulls last, {cols} limit $limit
        )
        select *{names} from ranked order by "{metric_name}" desc nulls last, {cols}"""
    table = con.sql(sql, params={"limit": limit}).to_arrow_table()
    rows = table.to_pylist()
    total = {"bytes": 0, "packets": 0, "flows": 0}
    for row in rows:
        total = {k: int(row.pop(f"all_{k}") or 0) for k in total}
        for k in ("bytes", "packets", "flows"):
            row[k] = int(row[k] or 0)
    return {"by": dims, "metric": metric_name, "rows": rows, "total": total}


def health(con: duckdb.DuckDBPyConnection) -> dict:
    """Capture health: NODATA/SKIPDATA per hour, how far every flow log reaches, and silent interfaces."""
    hours = con.execute("""
        select "start" - "start" % 3600 as t, count(*) filter (where coalesce(log_status, 'OK') = 'OK') as ok,
               count(*) filter (where log_status = 'NODATA') as nodata,
               count(*) filter (where log_status = 'SKIPDATA') as skipdata
        from flows where "start" is not null group by 1 order by 1""").fetchall()
    last, complete, silent = con.execute("""
        with per_log as (select max(end_time) as last from flows group by flow_log_id),
             per_interface as (select max(end_time) as last from flows where interface_id is not null
                               group by interface_id)
        select (select max(last) from per_log), (select min(last) from per_log),
               (select count(*) from per_interface
                where last < (select max(last) from per_log) - interval 1 hour)""").fetchone()
    return {"complete_up_to": iso(complete), "last_record": iso(last), "silent_interfaces": int(silent or 0),
            "hours": [{"time": iso(dt.datetime.fromtimestamp(t, dt.UTC)), "ok": ok, "nodata": nd, "skipdata": sd}
                      for t, ok, nd, sd in hours]}


def flows_sql(sort: str, order: str) -> str:
    """The records, sorted, with protocol names: for the Flows page and its downloads."""
    if sort not in COLUMNS:
        raise QuestionError(f"cannot sort by {sort!r}: not a column")
    if order not in ("asc", "desc"):
        raise QuestionError("order is asc or desc")
    return (f'select * exclude ("date"), protocol_name(protocol) as protocol_name from flows'
            f' order by "{sort}" {order} nulls last, object_id, start_time limit $limit offset $offset')


def flows_page(con: duckdb.DuckDBPyConnection, page: int, size: int, sort: str, order: str) -> dict:
    table = con.sql(flows_sql(sort, order), params={"limit": size, "offset": (page - 1) * size}).to_arrow_table()
    [(total,)] = con.execute("select count(*) from flows").fetchall()
    return {"columns": [{"name": f.name, "type": str(f.type)} for f in table.schema], "rows": table.to_pylist(),
            "page": page, "size": size, "total": int(total)}
