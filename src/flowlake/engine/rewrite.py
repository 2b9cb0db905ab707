"""Answer a report from a rollup when that provably gives the same rows as reading the records.

A report's SQL is written once, over `traffic` or `flows`, and runs as it is on every engine. On DuckDB, a
report that only groups and filters by columns a rollup keeps, and only adds up `bytes`, `packets` and records,
is rewritten (with sqlglot, from the one source text) to read that rollup instead: `sum(bytes)` stays a
sum of the rollup's sums, `count(*)` becomes the sum of its `flows`, `count(distinct c)`, `min(c)` and
`max(c)` of a kept column stay as they are. `start_time` is answered by the rollups that keep `t` (the
five-minute bucket of `start`) when it is only bucketed by a whole number of five minutes or tested for
null. A rollup that keeps only some records (`rejects`: `action = 'REJECT'`; most keep only the records that
carry traffic) answers only a query whose WHERE clause has the same condition among its conjuncts (a query
over `traffic` has the traffic condition by itself). Anything else (joins, subqueries, windows, other
aggregates, a per-record column) keeps the records.

A report that lists records newest first (`order by start_time desc ... limit N`, no grouping) is answered in
two steps (`newest_first`): a probe that reads only `start_time` and the WHERE clause's columns finds the N-th
newest matching start, looking back over the last hour, day or week before the whole range; the listing then
reads the records from that start on, which the time filter keeps to the newest row groups. Every record left
out started earlier than the N rows kept, so they are the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import duckdb
import sqlglot
from sqlglot import exp

from flowlake.lake import rollup
from flowlake.schema import PARTITION_COLUMN, lake_schema

PREFERENCE = ("interfaces", "admin", "totals", "captures", "rejects", "destinations", "sources", "ports", "pairs")
"""Rollups to try, smallest first (rows per file on generated data: interfaces ≈ 0.01 %, admin 0.5 %, totals 1 %,
captures 2 %, rejects 5 %, destinations 8 %, sources 11 %, ports 13 %, pairs 41 % of the records)."""
SOURCES = ("traffic", "flows")
"""The views a rewritten query may read: `traffic` is `flows` less NODATA and SKIPDATA."""

ADDITIVE = ("bytes", "packets")
METRICS = ("bytes", "packets", "flows")
BUCKET_SECONDS = 300
"""The `t` column's bucket: `"start" - "start" % 300` in the totals rollup."""


class _Records(Exception):
    """The query needs the records themselves."""


@cache
def _dimensions() -> dict[str, frozenset[str]]:
    """What each rollup with measures keeps: the columns it groups by, and `max(end_time)` or `min(start_time)`
    when it keeps that extreme."""
    return {name: frozenset(rollup.dimensions(name)) | {
        f"{kind}({column})" for (kind, column), kept in rollup.EXTREMES.items() if kept in rollup.columns(name)}
        for name in PREFERENCE}


TRAFFIC_ONLY = "COALESCE(log_status, 'OK') = 'OK'"
"""A rollup condition every `traffic` row meets."""
STARTS = 'NOT "start" IS NULL'
"""A rollup condition (the totals rollup's: its `t`) that a time range meets, or the query's own
`start_time is not null`: without either, `traffic` also holds the records that have no `start`."""


@cache
def _required() -> dict[str, frozenset[str]]:
    """The conditions of each rollup's WHERE clause that a query must meet itself."""
    return {name: _conjuncts(sqlglot.parse_one(rollup.definitions()[name].sql, read="duckdb")) for name in PREFERENCE}


def _conjuncts(tree: exp.Expression) -> frozenset[str]:
    """The conditions a SELECT's WHERE clause ANDs together, as DuckDB SQL."""
    where = tree.args.get("where")
    if where is None:
        return frozenset()
    parts = where.this.flatten() if isinstance(where.this, exp.And) else [where.this]
    return frozenset(part.unnest().sql(dialect="duckdb") for part in parts)


def over_rollup(sql: str, params: dict, seconds: Callable[[str], float], ranged: bool) -> tuple[str, str] | None:
    """The rollups' names and the query over `rollup_NAME`, or None when it must read the records.

    Each SELECT that reads `traffic` or `flows` (the whole query, or one in a CTE or a UNION) is answered by the
    smallest rollup that can answer it exactly; when one of them cannot, the query reads the records.
    `params` are the bound parameters (a bucket parameter decides whether `start_time` can be answered);
    `seconds` turns an interval's text into seconds (the engine's own reading of it); `ranged` says the
    views are limited to a time range (so they hold no record without a `start`)."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    selects = [s for s in tree.find_all(exp.Select) if _source(s) in SOURCES]
    tables = [t for t in tree.find_all(exp.Table) if t.name in SOURCES]
    if not selects or len(tables) != len(selects):  # the views read elsewhere too (a join, a subquery's IN)
        return None
    if any(cte.alias in SOURCES for cte in tree.find_all(exp.CTE)):
        return None  # a CTE of that name hides the view
    names = []
    for select in selects:
        found = _answer(select, params, seconds, ranged)
        if found is None:
            return None
        name, rewritten = found
        names.append(name)
        if select is tree:
            tree = rewritten
        else:
            select.replace(rewritten)
    return "+".join(dict.fromkeys(names)), tree.sql(dialect="duckdb")


def _source(select: exp.Select) -> str | None:
    source = select.args.get("from_") or select.args.get("from")
    return source.this.name if source is not None and isinstance(source.this, exp.Table) else None


def _answer(select: exp.Select, params: dict, seconds: Callable[[str], float], ranged: bool,
            ) -> tuple[str, exp.Expression] | None:
    """The smallest rollup answering one SELECT over `traffic` or `flows`, and the SELECT over it."""
    try:
        needed = _check(select, params, seconds)
    except _Records:
        return None
    source = _source(select)
    conditions = _conjuncts(select)
    if ranged or "NOT start_time IS NULL" in conditions:
        conditions |= {STARTS}
    if source == "traffic":
        conditions |= {TRAFFIC_ONLY}
    for name in PREFERENCE:
        dims = _dimensions()[name]
        if all(_kept(column, dims) for column in needed) and _required()[name] <= conditions:
            return name, _rewrite(select, source, name, dims)
    return None


HASHED = {frozenset({"srcaddr", "dstaddr"}): "pair",
          frozenset({"COALESCE(pkt_srcaddr, srcaddr)", "COALESCE(pkt_dstaddr, dstaddr)"}): "pkt_pair"}
"""The pairs rollup's hash columns, by the two grouping expressions each one hashes."""
KEYS = "flowlake_top_keys"
"""The temp table of the hashes whose rows `TopByHash.query` reads."""


@dataclass(frozen=True)
class TopByHash:
    """A top-N of address pairs over the pairs rollup, in steps that group by the pairs' 64-bit hash or read the
    rows of a few hashes only (`top_by_hash`). A step fills KEYS with hashes, `query` ranks their pairs, and
    `exact` says whether that is the answer."""

    tree: exp.Select = field(compare=False)
    key: str
    """The hash column: `pair` (of srcaddr and dstaddr) or `pkt_pair`."""
    metric: str
    """The output column the query ranks by first."""
    total: str
    """That column's expression: a sum of a non-negative measure (bytes, packets or flows)."""
    limit: int
    by_bytes: bool
    """Ranked by the pairs' bytes: the rollup's `pair_bytes` (or `pkt_pair_bytes`) bounds the hashes' totals
    (`guess`, `bound`)."""
    where: str
    """The query's WHERE condition (`true` without one)."""
    where_params: frozenset[str]
    """The parameters it takes."""

    def guess(self, parts: int) -> str:
        """At most one row: a likely N-th largest total, read from the rows with the most `pair_bytes` only
        (each hash's bytes over those rows, at most its total). `exact` checks it."""
        return f"""
            select sum(bytes) as m from (
                select {self.key}, bytes from rollup_pairs order by {self.key}_bytes desc nulls last
                limit {4 * self.limit * parts})
            group by {self.key} order by m desc nulls last limit 1 offset {self.limit - 1}"""

    def bound(self, cut: int, parts: int) -> str:
        """KEYS: every hash whose total can reach `cut`. The rollup's rows come from `parts` parts (a file's
        rollup, or the rows of the files the range cuts), and `pair_bytes` is a hash's bytes within its row's
        part; a total (of any rows of the hash) of at least `cut` needs a part holding cut / parts of it."""
        return (f"create or replace temp table {KEYS} as select distinct {self.key} as key from rollup_pairs"
                f" where {self.key}_bytes >= {-(-cut // parts)}")

    def groups(self) -> str:
        """KEYS: the hash groups whose total over the rows the query keeps reaches the N-th largest one, which is
        the cut: a pair's total is at most its hash group's. It takes the query's parameters `where_params`."""
        return f"""
            create or replace temp table {KEYS} as
            with by_hash as (select {self.key} as key, {self.total} as m from rollup_pairs where {self.where}
                             group by 1),
            cut as (select m from by_hash order by m desc nulls last limit 1 offset {max(self.limit - 1, 0)})
            select key, (select m from cut) as cut from by_hash
            where m >= (select m from cut) or (select m from cut) is null"""

    def query(self) -> str:
        """The query over the rows of KEYS's hashes only."""
        return self.tree.copy().where(f"{self.key} in (select key from {KEYS})").sql(dialect="duckdb")

    def exact(self, rows: list, cut: object) -> bool:
        """Whether the query's rows are the answer: a pair left out has a total below `cut` (`bound`) or at
        most its hash group's (`groups`); so N rows at or above it (or no cut: every group was a candidate)
        are the top N."""
        return cut is None or self.limit == 0 or (
            len(rows) >= self.limit and rows[self.limit - 1] is not None and rows[self.limit - 1] >= cut)


def top_by_hash(sql: str, params: dict) -> TopByHash | None:
    """For a top-N of address pairs over the pairs rollup ranked first by a sum of bytes, packets or flows: the
    steps that find the few pair hashes that can hold the top N before touching the strings (a hash's total
    bounds each of its pairs' totals); None for any other query."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Select) or _source(tree) != "rollup_pairs" or tree.args.get("with_") or any(
            tree.args.get(k) for k in ("joins", "having", "distinct", "qualify", "offset")) or tree.find(exp.Window):
        return None
    if any(node is not tree for node in tree.find_all(exp.Select)):
        return None
    by_alias = {e.alias: e.unalias() for e in tree.expressions if e.alias}

    def resolve(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Literal) and node.is_int and 0 < int(node.name) <= len(tree.expressions):
            return tree.expressions[int(node.name) - 1].unalias()
        if isinstance(node, exp.Column) and not node.table and node.name in by_alias:
            return by_alias[node.name]
        return node

    group = tree.args.get("group")
    keys = [resolve(g) for g in group.expressions] if group else []
    key = HASHED.get(frozenset(k.sql(dialect="duckdb") for k in keys)) if len(keys) == 2 else None
    order, count = tree.args.get("order"), _limit(tree, params)
    if key is None or order is None or count is None:
        return None
    first = order.expressions[0]
    if not (isinstance(first, exp.Ordered) and first.args.get("desc") and isinstance(first.this, exp.Column)
            and first.this.name in by_alias):
        return None
    metric = by_alias[first.this.name]
    total = metric
    while isinstance(total, (exp.Cast, exp.Paren)) or (  # what the rewrite wraps a count of flows in
            isinstance(total, exp.Coalesce) and [e.sql() for e in total.expressions] == ["0"]):
        total = total.this
    if not (isinstance(total, exp.Sum) and isinstance(total.this, exp.Column) and total.this.name in METRICS):
        return None  # the ranking must be a plain sum of a non-negative measure
    where = tree.args.get("where")
    aliases = {e.alias for e in tree.expressions if e.alias} - set(rollup.columns("pairs"))
    if where is not None and any(c.name in aliases for c in where.find_all(exp.Column)):
        where = None  # it names a SELECT alias: the hash groups are taken over every row, a bound under any filter
    return TopByHash(tree, key, first.this.name, metric.sql(dialect="duckdb"), count,
                     by_bytes=total.this.name == "bytes", where=where.this.sql(dialect="duckdb") if where else "true",
                     where_params=frozenset(p.name for p in where.find_all(exp.Placeholder)) if where else frozenset())


def _limit(tree: exp.Select, params: dict) -> int | None:
    """The number of rows a query's LIMIT asks for (a literal or a bound parameter), None without one."""
    limit = tree.args.get("limit")
    count = limit.expression if limit is not None else None
    if isinstance(count, exp.Placeholder):
        count = params.get(count.name)
    elif isinstance(count, exp.Literal) and count.is_int:
        count = int(count.name)
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


FLAGS = {"srcaddr": "src_private", "dstaddr": "dst_private"}
"""Rollup columns holding `is_private` of an address: read instead of matching the address (a regex) again, or
instead of the address itself in a rollup that does not keep it (the destinations rollup's `src_private`)."""


def _kept(column: str, dims: frozenset[str]) -> bool:
    """Whether a rollup keeps what the query needs: a column, or `is_private(column)` as a flag."""
    if column.startswith("is_private(") and column.endswith(")"):
        address = column.removeprefix("is_private(").removesuffix(")")
        return address in dims or FLAGS.get(address) in dims
    return column in dims


def _check(tree: exp.Expression, params: dict, seconds: Callable[[str], float]) -> set[str]:
    """The columns the query needs a rollup to keep; raises _Records when no rollup can answer it."""
    if not isinstance(tree, exp.Select) or tree.args.get("with_") or tree.args.get("joins"):
        raise _Records
    if _source(tree) not in SOURCES:
        raise _Records
    if any(node is not tree for node in tree.find_all(exp.Select)) or tree.find(exp.Window, exp.Unnest):
        raise _Records
    if any(not isinstance(star.parent, exp.Count) for star in tree.find_all(exp.Star)):
        raise _Records  # `select *`: every column of every record
    aliases = {e.alias for e in tree.expressions if e.alias}
    needed: set[str] = set()
    for column in tree.find_all(exp.Column):
        name = column.name
        if name in aliases and column.find_ancestor(exp.Order, exp.Group, exp.Having):
            continue
        extreme = _extreme(column)
        if extreme:
            needed.add(f"{extreme[0]}({name})")
            continue
        aggregate = column.find_ancestor(exp.AggFunc)
        if name in ADDITIVE:
            if not (isinstance(aggregate, exp.Sum) and aggregate.this is column):
                raise _Records
            continue
        if name == "start_time":
            _bucketed(column, params, seconds)
            needed.add("t")
            continue
        call = column.parent
        if isinstance(call, exp.Anonymous) and call.name == "is_private" and call.expressions == [column]:
            needed.add(f"is_private({name})")
            continue
        needed.add(name)
    for aggregate in tree.find_all(exp.AggFunc):
        if isinstance(aggregate, exp.Count):
            if not isinstance(aggregate.this, (exp.Star, exp.Distinct)):
                raise _Records
        elif not isinstance(aggregate, (exp.Sum, exp.Min, exp.Max)):
            raise _Records
    return needed


def _extreme(column: exp.Column) -> tuple[str, str] | None:
    """For `max(end_time)` or `min(start_time)`: the extreme and the rollup column that keeps it."""
    call = column.parent
    kind = "max" if isinstance(call, exp.Max) else "min" if isinstance(call, exp.Min) else None
    kept = rollup.EXTREMES.get((kind, column.name)) if kind and call.this is column and not call.expressions else None
    return (kind, kept) if kept else None


def _bucketed(column: exp.Column, params: dict, seconds: Callable[[str], float]) -> None:
    """`start_time` may only be tested for null or bucketed by whole five-minute steps."""
    parent = column.parent
    if isinstance(parent, exp.Is) and isinstance(parent.expression, exp.Null):
        return
    if not isinstance(parent, exp.DateBin) or parent.expression is not column:
        raise _Records
    width = parent.this
    while isinstance(width, exp.Cast):
        width = width.this
    if isinstance(width, exp.Placeholder):
        text = params.get(width.name)
    elif isinstance(width, exp.Interval):
        text = f"{width.this.name} {width.text('unit')}".strip()  # `interval '1 hour'` is parsed as '1' HOUR
    elif isinstance(width, exp.Literal) and width.is_string:
        text = width.name
    else:
        raise _Records
    if not isinstance(text, str):
        raise _Records
    step = seconds(text)
    if step <= 0 or step % BUCKET_SECONDS:
        raise _Records


def _rewrite(tree: exp.Expression, source: str, name: str, dims: frozenset[str]) -> exp.Expression:
    """The same query over `rollup_NAME` (as `source`): records counted by `flows`, `start_time` from `t`."""
    tree = tree.copy()
    for count in list(tree.find_all(exp.Count)):
        if not isinstance(count.this, exp.Star):
            continue
        count.replace(exp.Sum(this=exp.column("flows")))
    for total in list(tree.find_all(exp.Sum)):
        if total.this.name != "flows":
            continue
        # A count is never null, a sum of counts is over no rows: keep count's zero and its type.
        counted = total.parent if isinstance(total.parent, exp.Filter) else total
        counted.replace(exp.cast(exp.func("coalesce", counted.copy(), exp.Literal.number(0)), "bigint"))
    for column in list(tree.find_all(exp.Column)):
        extreme = _extreme(column)
        if extreme:
            column.replace(exp.column(extreme[1]))
        elif column.name == "start_time":
            column.replace(exp.func("to_timestamp", exp.column("t")))
    for call in list(tree.find_all(exp.Anonymous)):
        address = call.expressions[0].name if call.name == "is_private" and len(call.expressions) == 1 else None
        if address and FLAGS.get(address) in dims:
            call.replace(exp.column(FLAGS[address]))
    table: exp.Expression = exp.to_table(f"rollup_{name}")
    if source == "traffic" and "log_status" in dims:
        table = exp.select("*").from_(table).where(TRAFFIC_ONLY).subquery()
    tree.set("from_" if "from_" in tree.args else "from", exp.From(this=exp.alias_(table, source, table=True)))
    return tree


NEWEST_WINDOWS = (dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(days=7))
"""How far back `newest_first` probes look, in turn, before probing the whole range."""


@cache
def _columns() -> frozenset[str]:
    """The columns of `flows` and `traffic`."""
    return frozenset([*lake_schema().names, PARTITION_COLUMN])


@dataclass(frozen=True)
class Newest:
    """A listing newest first in two steps (`newest_first`); both read the records from `$newest_from` on."""

    probe: str
    """One row: how many of the N newest matching records start at or after `$newest_from` (`n`), and the
    earliest start among them (`cutoff`); it reads only `start_time` and the WHERE clause's columns."""
    probe_params: frozenset[str]
    """The parameters the probe takes (besides `newest_from`)."""
    query: str
    """The listing itself."""
    limit: int


def newest_first(sql: str, params: dict) -> Newest | None:
    """For a query listing records newest first, its probe and the listing over the records from `$newest_from`
    on; None for any other query."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(tree, exp.Select) or any(tree.args.get(k) for k in ("with_", "joins", "group", "having",
                                                                           "distinct", "qualify")):
        return None
    name = _source(tree)
    if name not in ("traffic", "flows"):
        return None
    if any(node is not tree for node in tree.find_all(exp.Select)) or tree.find(exp.AggFunc, exp.Window):
        return None
    order = tree.args.get("order")
    first = order.expressions[0] if order else None
    if not (isinstance(first, exp.Ordered) and first.args.get("desc") and isinstance(first.this, exp.Column)
            and first.this.name == "start_time"):
        return None
    count = _limit(tree, params)
    if count is None or tree.args.get("offset"):
        return None
    # DuckDB reads a name in WHERE as the view's column first, as a SELECT alias only when there is no such column.
    renamed = {e.alias for e in tree.expressions
               if e.alias and not (isinstance(e.this, exp.Column) and e.this.name == e.alias)} - _columns()
    where = tree.args.get("where")
    if where is not None and any(c.name in renamed for c in where.find_all(exp.Column)):
        return None  # the WHERE clause reads a SELECT alias, which the probe does not keep
    # The partition (the UTC date of `start`) too: DuckDB then leaves the older days' files unopened.
    narrowed = exp.select("*").from_(name).where(
        f"start_time >= $newest_from and {PARTITION_COLUMN} >= cast($newest_from as date)").subquery(name)
    tree = tree.copy()
    tree.set("from_" if "from_" in tree.args else "from", exp.From(this=narrowed))
    starts = tree.copy()
    starts.set("expressions", [exp.column("start_time")])
    starts.set("order", exp.Order(expressions=[exp.Ordered(this=exp.column("start_time"), desc=True)]))
    probe = exp.select("count(*) as n", "min(start_time) as cutoff").from_(starts.subquery("newest"))
    taken = frozenset(p.name for p in probe.find_all(exp.Placeholder)) - {"newest_from"}
    return Newest(probe.sql(dialect="duckdb"), taken, tree.sql(dialect="duckdb"), count)


def interval_seconds(con: duckdb.DuckDBPyConnection) -> Callable[[str], float]:
    """Seconds of an interval's text, as DuckDB reads it (a month as 30 days)."""

    def seconds(text: str) -> float:
        try:
            [(value,)] = con.execute("select cast(? as interval)", [text]).fetchall()
        except duckdb.Error:
            return 0
        return value.total_seconds() if isinstance(value, dt.timedelta) else 0

    return seconds
