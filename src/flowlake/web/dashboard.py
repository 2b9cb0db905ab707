"""The questions behind the dashboard's pages, as plain functions of a connection.

Each function takes a connection from `flowlake.engine.duckdb.connect` (limited to the time range
and the filters, with the rollup views) and returns JSON-ready data. A question a rollup can answer
(its columns hold the question's dimensions and every filtered column) reads the rollup; the others
read the records. Column names come from the lake schema, checked here; every value reaches DuckDB
as a bound parameter.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from flowlake.lake import rollup
from flowlake.reports import BUCKETS, MAX_POINTS, top_pairs
from flowlake.web.filters import COLUMNS, DIMENSIONS, ENRICHED, PORT_NAMES, PROTOCOL_NAMES, Filters

METRICS = {"bytes": "sum(bytes)", "packets": "sum(packets)", "flows": "count(*)"}
ROLLED_METRICS = {"bytes": "sum(bytes)", "packets": "sum(packets)", "flows": "sum(flows)"}
"""The same measures over a rollup's rows, which hold sums and counts already."""
ROLLUP_ORDER = ("totals", "ports", "destinations", "sources", "pairs")
"""Smallest first: the first that holds a question's columns answers it."""
OK = "coalesce(log_status, 'OK') = 'OK'"
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


def _reads(dims: list[str]) -> set[str]:
    """The columns the dimensions read: an enriched one reads its addresses."""
    return {c for d in dims for c in (ENRICHED[d][1] if d in ENRICHED else (d,))}


def _source(table: str, dims: list[str]) -> str:
    """`table`, with the enriched dimensions among `dims` added as columns of that name."""
    added = [f'{ENRICHED[d][0]} as "{d}"' for d in dims if d in ENRICHED]
    return f"(select *, {', '.join(added)} from {table})" if added else table


def metric(name: str) -> str:
    if name not in METRICS:
        raise QuestionError(f"unknown metric {name!r}: use one of {', '.join(METRICS)}")
    return METRICS[name]


def _rolled(needed: set[str], filters: Filters, traffic: bool = True) -> tuple[str, str] | None:
    """The smallest rollup view holding `needed` and the filtered columns, with its condition."""
    for name in ROLLUP_ORDER:
        columns = set(rollup.dimensions(name))
        if needed | filters.columns <= columns:
            conditions = [filters.sql] if filters.sql else []
            if traffic and "log_status" in columns:
                conditions.append(OK)
            return f"rollup_{name}", " and ".join(conditions) or "true"
    return None


def _interfaces_rolled(filters: Filters) -> bool:
    return filters.columns <= set(rollup.dimensions("interfaces"))


def _epoch(value: dt.datetime) -> int:
    return int(value.timestamp())


def summary(current: duckdb.DuckDBPyConnection, before: duckdb.DuckDBPyConnection, period: Period,
            filters: Filters) -> dict:
    """Totals for the period (`current`'s range) and the one before (`before`'s)."""
    return {"range": period.json(), "previous": period.before.json(),
            "current": totals(current, filters), "before": totals(before, filters)}


def totals(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict:
    """Bytes, packets and flows that carry traffic; accepted, rejected, NODATA and SKIPDATA records;
    active interfaces."""
    rolled = _rolled({"log_status", "action"}, filters, traffic=False)
    table, where, count = (*rolled, "sum(flows)") if rolled else ("flows", "true", "count(*)")
    row = con.execute(f"""
        select coalesce(sum(bytes) filter (where {OK}), 0), coalesce(sum(packets) filter (where {OK}), 0),
               coalesce({count} filter (where {OK}), 0), coalesce({count} filter (where action = 'ACCEPT'), 0),
               coalesce({count} filter (where action = 'REJECT'), 0),
               coalesce({count} filter (where log_status = 'NODATA'), 0),
               coalesce({count} filter (where log_status = 'SKIPDATA'), 0)
        from {table} where {where}""").fetchall()[0]
    interfaces_from = f"rollup_interfaces where {filters.sql or 'true'}" if _interfaces_rolled(filters) else "flows"
    [(interfaces,)] = con.execute(f"select count(distinct interface_id) from {interfaces_from}").fetchall()
    keys = ("bytes", "packets", "flows", "accepted", "rejected", "nodata", "skipdata")
    return {**dict(zip(keys, (int(v) for v in row), strict=True)), "interfaces": int(interfaces)}


def timeseries(con: duckdb.DuckDBPyConnection, period: Period, metric_name: str, by: list[str], limit: int,
               rate: bool, previous: bool, filters: Filters) -> dict:
    """The metric per time bucket, one series per top-`limit` combination of `by` (the rest: Other).

    Top series are chosen on the current period; with `previous`, the period before is answered with the
    same series, its times moved onto the current period so the two overlay."""
    value = metric(metric_name)
    dims = dimensions(by)
    seconds = bucket_seconds(period)
    cols = ", ".join(f'"{d}"' for d in dims)
    rolled = _rolled({*_reads(dims), "t"}, filters) if seconds % 300 == 0 else None
    if rolled:  # the rollup's `t` is a five-minute bucket: coarser buckets are whole multiples of it
        table, where = rolled
        buckets = (f"select t - t % $seconds as t, {cols + ',' if dims else ''} {ROLLED_METRICS[metric_name]} as v"
                   f" from {_source(table, dims)} where {where} group by all")
    else:
        buckets = (f'select "start" - "start" % $seconds as t, {cols + "," if dims else ""} {value} as v'
                   f' from {_source("traffic", dims)} where "start" >= $lo and "start" < $hi group by all')
    join = " and ".join(f'b."{d}" is not distinct from top."{d}"' for d in dims) or "true"
    keys = ", ".join(f'top."{d}"' for d in dims)
    sql = f"""
        with b as ({buckets}), top as (
            select {cols if dims else '1 as one'}, sum(v) as total from b where t >= $mid
            group by all order by total desc limit $limit
        )
        select b.t >= $mid as current, b.t + (case when b.t < $mid then $shift else 0 end) as t,
               {keys + ',' if dims else ''} top.total is not null as is_top, sum(b.v) as v
        from b left join top on {join}
        group by all order by 2"""
    lo = period.before.start if previous else period.start
    params = {"seconds": seconds, "mid": _epoch(period.start), "shift": int(period.length.total_seconds()),
              "limit": limit}
    if not rolled:
        params |= {"lo": _epoch(lo), "hi": _epoch(period.end)}
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
    return {"metric": metric_name, "unit": "rate" if rate else "total", "by": dims, "range": period.json(),
            "bucket": _bucket_name(seconds), "seconds": seconds,
            "series": [s for (current, _), s in ordered if current],
            "previous": [s for (current, _), s in ordered if not current]}


def _label(dims: list[str], values: list) -> str:
    """A series name: the values joined, protocols by name (TCP rather than 6), known ports named."""
    if not dims:
        return "total"
    return " → ".join(_value_name(d, v) for d, v in zip(dims, values, strict=True))


def _value_name(dim: str, value: object) -> str:
    if value is None:
        return "(none)"
    if dim == "protocol":
        return PROTOCOL_NAMES.get(value, str(value))
    if dim in ("srcport", "dstport") and value in PORT_NAMES:
        return f"{value} {PORT_NAMES[value]}"
    return str(value)


def _total(series: dict) -> float:
    return sum(p[1] for p in series["points"])


def _bucket_name(seconds: int) -> str:
    return next(name for size, name in BUCKETS if size.total_seconds() == seconds)


def top(con: duckdb.DuckDBPyConnection, metric_name: str, by: list[str], limit: int, filters: Filters) -> dict:
    """The biggest `limit` combinations of `by` by the metric, with all three metrics and the total."""
    metric(metric_name)
    dims = dimensions(by)
    if not dims:
        raise QuestionError("top needs at least one dimension (by=srcaddr)")
    cols = ", ".join(f'"{d}"' for d in dims)
    names = "".join(f', {NAMED[d]}("{d}") as "{d}_name"' for d in dims if d in NAMED)
    rolled = _rolled(_reads(dims), filters)
    table, where, count = (*rolled, "sum(flows)") if rolled else ("traffic", "true", "count(*)")
    if table == "rollup_pairs" and set(dims) == {"srcaddr", "dstaddr"}:
        ranked = top_pairs(con, f"""
            select {cols}, sum(bytes) as bytes, sum(packets) as packets, sum(flows) as flows from rollup_pairs
            where {where} group by 1, 2 order by "{metric_name}" desc nulls last, 1, 2 limit {limit}""", {})
        if ranked is not None:
            [totals] = con.sql(f"select sum(bytes) as all_bytes, sum(packets) as all_packets, sum(flows) as all_flows"
                               f" from rollup_pairs where {where}").to_arrow_table().to_pylist()
            return _top_answer(dims, metric_name, [{**row, **totals} for row in ranked.read_all().to_pylist()])
    sql = f"""
        with g as (
            select {cols}, sum(bytes) as bytes, sum(packets) as packets, {count} as flows from {_source(table, dims)}
            where {where} group by all
        ), ranked as (
            select *, sum(bytes) over () as all_bytes, sum(packets) over () as all_packets,
                   sum(flows) over () as all_flows
            from g order by "{metric_name}" desc nulls last, {cols} limit $limit
        )
        select *{names} from ranked order by "{metric_name}" desc nulls last, {cols}"""
    return _top_answer(dims, metric_name, con.sql(sql, params={"limit": limit}).to_arrow_table().to_pylist())


def _top_answer(dims: list[str], metric_name: str, rows: list[dict]) -> dict:
    total = {"bytes": 0, "packets": 0, "flows": 0}
    for row in rows:
        total = {k: int(row.pop(f"all_{k}") or 0) for k in total}
        for k in ("bytes", "packets", "flows"):
            row[k] = int(row[k] or 0)
    return {"by": dims, "metric": metric_name, "rows": rows, "total": total}


def health(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict:
    """Capture health: NODATA/SKIPDATA per hour, how far every flow log reaches, and silent interfaces."""
    rolled = _rolled({"t", "log_status"}, filters, traffic=False)
    if rolled:
        table, where = rolled
        hour, count = "t - t % 3600", "sum(flows)"
    else:
        table, where, hour, count = "flows", '"start" is not null', '"start" - "start" % 3600', "count(*)"
    hours = con.execute(f"""
        select {hour} as hour, coalesce({count} filter (where {OK}), 0),
               coalesce({count} filter (where log_status = 'NODATA'), 0),
               coalesce({count} filter (where log_status = 'SKIPDATA'), 0)
        from {table} where {where} group by 1 order by 1""").fetchall()
    reach = (f"(select flow_log_id, interface_id, last_end from rollup_interfaces where {filters.sql or 'true'})"
             if _interfaces_rolled(filters) else "(select flow_log_id, interface_id, end_time as last_end from flows)")
    last, complete, silent = con.execute(f"""
        with per_log as (select max(last_end) as last from {reach} group by flow_log_id),
             per_interface as (select max(last_end) as last from {reach} where interface_id is not null
                               group by interface_id)
        select (select max(last) from per_log), (select min(last) from per_log),
               (select count(*) from per_interface
                where last < (select max(last) from per_log) - interval 1 hour)""").fetchall()[0]
    return {"complete_up_to": iso(complete), "last_record": iso(last), "silent_interfaces": int(silent or 0),
            "hours": [{"time": iso(dt.datetime.fromtimestamp(t, dt.UTC)), "ok": int(ok), "nodata": int(nd),
                       "skipdata": int(sd)} for t, ok, nd, sd in hours]}


def flows_sql(sort: str, order: str) -> str:
    """The records, sorted, with protocol names and the enriched address columns: for the Flows page and its
    downloads."""
    if sort not in COLUMNS:
        raise QuestionError(f"cannot sort by {sort!r}: not a column")
    if order not in ("asc", "desc"):
        raise QuestionError("order is asc or desc")
    ordered = f'order by "{sort}" {order} nulls last, object_id, start_time'
    enriched = ", ".join(f'{expression} as "{name}"' for name, (expression, _, _) in ENRICHED.items())
    # The enrichment is worked out for the page's rows only, after the sort and the limit.
    return (f'with page as (select * exclude ("date"), protocol_name(protocol) as protocol_name from flows'
            f' {ordered} limit $limit offset $offset) select *, {enriched} from page {ordered}')


def flows_page(con: duckdb.DuckDBPyConnection, page: int, size: int, sort: str, order: str) -> dict:
    table = con.sql(flows_sql(sort, order), params={"limit": size, "offset": (page - 1) * size}).to_arrow_table()
    [(total,)] = con.execute("select count(*) from flows").fetchall()
    return {"columns": [{"name": f.name, "type": str(f.type)} for f in table.schema], "rows": table.to_pylist(),
            "page": page, "size": size, "total": int(total)}
