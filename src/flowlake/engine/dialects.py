"""One SQL text, several engines: flowlake's DuckDB SQL (reports, rules, users' queries) as Spark SQL or
Athena (Trino) SQL.

sqlglot does the translation. Two things it cannot know are done here first: the macros of
sql/setup.sql are inlined (Athena has no SQL functions, and Spark's cannot hold the lookups), and a
lookup in a reference table (`(select name from protocols where number = p)`) becomes a CASE over the
table's rows (Spark refuses a correlated scalar subquery in an aggregate, and Athena has no such
table). Where sqlglot writes a function the target lacks, the dialect classes below say what to
write instead; everything else is sqlglot's own dialect.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from importlib import resources

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel

from flowlake.schema import PARTITION_COLUMN, lake_schema

ORIGIN = 946_857_600
"""DuckDB's `time_bucket` counts buckets from Monday 2000-01-03 00:00 UTC: so do the translations."""

REFERENCE_TABLES = {"protocols": "number", "ports": "port"}
"""The reference tables (src/flowlake/reference/*.csv) and their keys."""

ATHENA_MACROS = {"ip_int": (["a"], "if(contains(a, ':'), null, try_cast(split_part(a, '.', 1) as bigint) * 16777216"
                                   " + try_cast(split_part(a, '.', 2) as bigint) * 65536"
                                   " + try_cast(split_part(a, '.', 3) as bigint) * 256"
                                   " + try_cast(split_part(a, '.', 4) as bigint))")}
"""Macros written otherwise for Athena: Trino has no unsigned 128-bit integer (nor DuckDB's list lambdas), so there
`ip_int` is a bigint of IPv4 addresses and NULL for IPv6 ones (the rules use it on IPv4 addresses only)."""

_MACRO = re.compile(r"create or replace macro (\w+)\(([^)]*)\) as\s+(.*?);\s*$", re.S | re.M)


class SQLTranslationError(ValueError):
    """SQL that sqlglot cannot read or cannot translate faithfully."""


def _bucket(self: sqlglot.Generator, expression: exp.DateBin, to_seconds: str, from_seconds: str,
            epoch: str) -> str:
    """`time_bucket(size, t)` as arithmetic on Unix seconds, from DuckDB's origin."""
    size = f"{to_seconds}({epoch} + {self.sql(expression, 'this')})"
    since = f"({to_seconds}({self.sql(expression, 'expression')}) - {ORIGIN})"
    return f"{from_seconds}({ORIGIN} + FLOOR({since} / {size}) * {size})"


class SparkSQL(Spark):
    """Spark SQL, with DuckDB's `time_bucket` and `dayname` (Spark's `dayname` says `Mon`, DuckDB's `Monday`)."""

    class Generator(Spark.Generator):
        TRANSFORMS = {  # noqa: RUF012 (sqlglot's own dialects declare them so)
            **Spark.Generator.TRANSFORMS,
            exp.DateBin: lambda self, e: _bucket(self, e, "UNIX_SECONDS", "TIMESTAMP_SECONDS",
                                                 "TIMESTAMP '1970-01-01 00:00:00 UTC'"),
            exp.Dayname: lambda self, e: self.func("DATE_FORMAT", e.this, exp.Literal.string("EEEE")),
        }


class AthenaSQL(Trino):
    """Athena's query SQL (Athena runs queries on Trino, and sqlglot's Athena dialect writes them as Trino), with
    `time_bucket`, `dayname`, string `contains` and `any_value` (Trino's `arbitrary` already skips NULLs and takes
    no IGNORE NULLS)."""

    class Generator(Trino.Generator):
        TRANSFORMS = {  # noqa: RUF012
            **Trino.Generator.TRANSFORMS,
            exp.DateBin: lambda self, e: _bucket(self, e, "TO_UNIXTIME", "FROM_UNIXTIME", "FROM_UNIXTIME(0)"),
            exp.Dayname: lambda self, e: self.func("DATE_FORMAT", e.this, exp.Literal.string("%W")),
            exp.Contains: lambda self, e: f"(STRPOS({self.sql(e, 'this')}, {self.sql(e, 'expression')}) > 0)",
            exp.IgnoreNulls: lambda self, e: self.sql(e, "this"),
        }


DIALECTS = {"spark": SparkSQL, "athena": AthenaSQL}


def translate(sql: str, dialect: str, literals: dict[str, object] | None = None,
              ctes: dict[str, str] | None = None, functions: frozenset[str] = frozenset()) -> str:
    """DuckDB SQL (one statement) as `dialect` SQL, macros inlined except `functions` (the engine has its own).
    Parameters stay markers (`:name`, bound by the engine) unless `literals` gives their values, written into
    the text (SQL printed for people to run elsewhere, so laid out on lines); an interval value is text such as
    `5 minutes`. `ctes` (name: DuckDB SELECT) come first in the statement's WITH: the views an engine without
    them needs."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        views = [(name, sqlglot.parse_one(select, read="duckdb")) for name, select in (ctes or {}).items()]
    except sqlglot.errors.ParseError as exc:
        raise SQLTranslationError(str(exc).splitlines()[0]) from None
    if views:
        own = tree.args.get("with_")
        tree.set("with_", None)
        for name, select in views:
            tree = tree.with_(name, as_=select, copy=False)
        if own:
            tree.args["with_"].set("expressions", [*tree.args["with_"].expressions, *own.expressions])
    tree = inline(tree, functions, ATHENA_MACROS if dialect == "athena" else {})
    if literals is not None:
        tree = tree.transform(functools.partial(_literal, literals))
    if dialect == "athena":
        tree = tree.transform(_having_aliases)
    try:
        return tree.sql(DIALECTS[dialect], unsupported_level=ErrorLevel.RAISE, pretty=literals is not None)
    except sqlglot.errors.SqlglotError as exc:
        raise SQLTranslationError(str(exc)) from None


def inline(tree: exp.Expression, functions: frozenset[str] = frozenset(),
           overrides: dict[str, tuple[list[str], str]] | None = None) -> exp.Expression:
    """`tree` with every call of a setup.sql macro (but `functions`) replaced by the macro's body, or by the
    body `overrides` gives it (DuckDB SQL)."""
    known = {name: macro for name, macro in macros().items() if name not in functions}
    known.update({name: (params, sqlglot.parse_one(body, read="duckdb")) for name, (params, body) in
                  (overrides or {}).items()})

    def expand(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in known:
            params, body = known[node.name.lower()]
            values = dict(zip(params, node.expressions, strict=True))
            return exp.Paren(this=body.copy().transform(
                lambda n: values[n.name].copy() if isinstance(n, exp.Column) and not n.table and n.name in values
                else n))
        return node

    return tree.transform(expand)


@functools.cache
def macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """The macros of sql/setup.sql: parameter names and body, reference lookups already CASEs."""
    text = (resources.files("flowlake") / "sql" / "setup.sql").read_text()
    found = {}
    for name, params, body in _MACRO.findall(text):
        tree = sqlglot.parse_one(body, read="duckdb").transform(_lookup)
        found[name] = ([p.strip() for p in params.split(",")], tree)
    return found


def _lookup(node: exp.Expression) -> exp.Expression:
    """`(select name from protocols where number = x)` as `CASE x WHEN 0 THEN 'HOPOPT' ... END`."""
    if not isinstance(node, exp.Subquery) or not isinstance(node.this, exp.Select):
        return node
    select = node.this
    table = select.args.get("from_") and select.args["from_"].this
    where = select.args.get("where")
    if not isinstance(table, exp.Table) or table.name not in REFERENCE_TABLES or not where:
        return node
    key = REFERENCE_TABLES[table.name]
    condition = where.this
    if not isinstance(condition, exp.EQ) or len(select.expressions) != 1:
        return node
    left, right = condition.this, condition.expression
    probe = right if isinstance(left, exp.Column) and left.name == key else left
    rows = _reference(table.name)
    column = select.expressions[0].alias_or_name
    return exp.Case(this=probe.copy(), ifs=[
        exp.If(this=exp.Literal.number(row[key]), true=exp.Literal.string(row[column])) for row in rows])


@functools.cache
def _reference(table: str) -> list[dict[str, str]]:
    with resources.as_file(resources.files("flowlake") / "reference" / f"{table}.csv") as path, open(path) as f:
        return list(csv.DictReader(f))


def _literal(values: dict[str, object], node: exp.Expression) -> exp.Expression:
    """A parameter marker as its value; `cast($bucket as interval)` as an interval literal."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Placeholder) and node.to.is_type("interval"):
        return sqlglot.parse_one(f"interval '{_text(values, node.this)}'", read="duckdb")
    if isinstance(node, exp.Placeholder) and node.name in values and isinstance(values[node.name], dt.datetime):
        return exp.cast(exp.Literal.string(f"{values[node.name]:%Y-%m-%d %H:%M:%S}"), "timestamp")
    if isinstance(node, exp.Placeholder) and node.name:
        value = values[node.name]
        return exp.Literal.number(value) if isinstance(value, int) else exp.Literal.string(_text(values, node))
    return node


def _text(values: dict[str, object], node: exp.Placeholder) -> str:
    if node.name not in values:
        raise SQLTranslationError(f"no value for parameter ${node.name}")
    return str(values[node.name]).replace("'", "''")


_COLUMNS = frozenset([*lake_schema().names, PARTITION_COLUMN])


def _having_aliases(node: exp.Expression) -> exp.Expression:
    """Trino reads no select-list alias in HAVING: write the aliased expression there instead (an alias that is
    also a column's name means the column, as it does in DuckDB, and stays)."""
    if not isinstance(node, exp.Select) or not node.args.get("having"):
        return node
    aliases = {e.alias: e.this for e in node.expressions if isinstance(e, exp.Alias) and e.alias not in _COLUMNS}
    having = node.args["having"].transform(
        lambda n: aliases[n.name].copy() if isinstance(n, exp.Column) and not n.table and n.name in aliases else n)
    node.set("having", having)
    return node
