"""Athena compatibility: Athena SQL run by DuckDB, Athena tables over flow logs on S3, and the reports there.

`flowlake query --dialect athena` translates Athena (Trino) SQL with sqlglot, so the queries
people keep for Athena, AWS's documented samples among them, run unchanged on the
`vpc_flow_logs` view. `flowlake athena ddl` prints the other direction: a `CREATE EXTERNAL
TABLE` with partition projection over AWS's own S3 delivery layout, or over a flowlake lake
copied to S3, so Athena finds every partition by itself (no `MSCK REPAIR`, no `ADD PARTITION`).
`flowlake athena sql` prints any report or detection rule as Athena SQL over that lake table,
and with `--run` submits it and reads the results.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import ClassVar

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot.dialects.trino import Trino
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError

from flowlake.engine.catalog import SqlAsset
from flowlake.engine.dialects import translate
from flowlake.engine.duckdb import TRAFFIC
from flowlake.findings import Inputs
from flowlake.lake.store import FLOWS_DIR
from flowlake.schema import (
    BY_AWS,
    DEFAULT_FORMAT,
    FIELDS,
    PARTITION_COLUMN,
    lake_schema,
    parse_format_string,
    sql_type,
)
from flowlake.sources.aws import Aws, AwsOptions, SourceError, checked
from flowlake.timerange import TimeRange
from flowlake.weblogs import WEB_LOGS_DIR

# --- Athena SQL on DuckDB ---------------------------------------------------------------


class AthenaSQLError(ValueError):
    """Athena SQL that sqlglot cannot read, or cannot translate to DuckDB without changing its meaning."""


class AthenaQueries(Trino):
    """Athena's query dialect: Athena runs SELECTs on Trino, and sqlglot's own Athena dialect hands them to
    its Trino tokenizer and parser. One addition: backtick-quoted names. Athena takes backticks only in DDL,
    but AWS's DDL and docs backtick `end` and `date`, so they turn up in the queries people paste."""

    class Tokenizer(Trino.Tokenizer):
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = [*Trino.Tokenizer.IDENTIFIERS, "`"]


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Give a connection the Trino functions translated Athena SQL may call (sql/athena.sql)."""
    con.execute((resources.files("flowlake") / "sql" / "athena.sql").read_text())


def to_duckdb(sql: str) -> str:
    """DuckDB SQL for Athena SQL (one statement or several). A construct sqlglot knows it cannot translate
    faithfully is an error, not a silently different answer."""
    try:
        statements = [s for s in sqlglot.transpile(sql, read=AthenaQueries, write="duckdb",
                                                   unsupported_level=ErrorLevel.RAISE) if s]
    except ParseError as exc:
        raise AthenaSQLError(_describe(exc)) from None
    except SqlglotError as exc:
        raise AthenaSQLError(str(exc)) from None
    if not statements:
        raise AthenaSQLError("no SQL statement")
    return ";\n".join(statements)


def _describe(exc: ParseError) -> str:
    """One plain line per parse error: sqlglot's message underlines with terminal escapes and prints tokens
    as `<Token token_type: ..., text: where, ...>`."""
    lines = []
    for error in exc.errors:
        what = _TOKEN.sub(r"'\1'", error["description"])
        lines.append(f"{what} (line {error['line']}, column {error['col']}, at '{error['highlight']}')")
    return "; ".join(lines) or str(exc)


_TOKEN = re.compile(r"<Token token_type: [\w.]+, text: (.*?), line: .*?>")


# --- Athena DDL -------------------------------------------------------------------------

ALL_FIELDS: tuple[str, ...] = tuple(f.aws for f in FIELDS if f.version <= 8 and f.version != 6)
"""`--fields all`: every VPC flow log field of versions 2 to 8 (version 6 is Transit Gateway's), in catalog order."""

AWS_DECLARED = {"protocol": "bigint"}
"""Where AWS's documented DDL differs from the Parquet type: `protocol` is INT_32 in files, bigint in the table."""

PARQUET_STORAGE = (
    "ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n"
    "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'\n"
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'"
)
TEXT_STORAGE = "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY ' '"
"""LazySimpleSerDe split on spaces, as AWS's text DDL: columns are read by position."""

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


@dataclass(frozen=True)
class Partition:
    """One projected partition column: its Athena type and its `projection.<name>.*` properties."""

    name: str
    type: str
    projection: dict[str, str]


def field_list(spec: str) -> tuple[str, ...]:
    """AWS field names for `--fields`: `default` (the 14 of version 2), `all`, or a list of names separated by
    spaces or commas, or an AWS `${...}` format string. Unknown or repeated names are errors: a text table
    reads by position, so one wrong name shifts every column after it."""
    if spec.strip() == "default":
        return DEFAULT_FORMAT
    if spec.strip() == "all":
        return ALL_FIELDS
    names = parse_format_string(spec.replace(",", " "))
    unknown = [n for n in names if n not in BY_AWS]
    if unknown:
        raise ValueError(f"unknown flow log field(s): {', '.join(unknown)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"field(s) named twice: {', '.join(repeated)}")
    return names


def raw_ddl(location: str, regions: Sequence[str], *, fmt: str = "text", hive: bool = False, hourly: bool = False,
            fields: Sequence[str] = DEFAULT_FORMAT, accounts: Sequence[str] = (), table: str = "vpc_flow_logs",
            start: dt.date) -> str:
    """A table over flow logs as AWS delivers them to `location` (the destination bucket and optional prefix).

    Partitions: `aws_account_id` and `aws_region` (named after the Hive key segments, and distinct from the
    `account_id` and `region` data columns, which Athena would not allow twice), then the date as the key
    lays it out: `day` (`yyyy/MM/dd`) for plain prefixes, `year`/`month`/`day` for Hive prefixes (a projected
    date can fill one `${...}` only, and AWS writes `year=YYYY/month=MM/day=DD`), then `hour` when hourly.
    Without `accounts`, the account is `injected`: each query names its account(s), and no list goes stale.
    """
    base = _s3_root(location)
    if "AWSLogs" in base.split("/")[3:]:
        raise ValueError("--location is the flow log's destination (bucket and optional prefix), before AWSLogs/")
    if fmt not in ("text", "parquet"):
        raise ValueError(f"flow log files are text or parquet, not {fmt!r}")
    if not regions:
        raise ValueError("name the regions that deliver flow logs (--regions us-east-1,...)")
    for region in regions:
        if not _REGION.fullmatch(region):
            raise ValueError(f"not an AWS region: {region!r}")
    for account in accounts:
        if not _ACCOUNT.fullmatch(account):
            raise ValueError(f"not a 12-digit account id: {account!r}")
    root = f"{base}/AWSLogs/"
    columns = [(BY_AWS[name].column, AWS_DECLARED.get(name) or sql_type(BY_AWS[name].type, "athena"))
               for name in fields]
    account = (Partition("aws_account_id", "string", {"type": "enum", "values": ",".join(accounts)}) if accounts
               else Partition("aws_account_id", "string", {"type": "injected"}))
    partitions = [account, Partition("aws_region", "string", {"type": "enum", "values": ",".join(regions)})]
    if hive:
        partitions += [
            Partition("year", "string", _dates(start, "yyyy", "YEARS")),
            Partition("month", "string", _integers(1, 12)),
            Partition("day", "string", _integers(1, 31)),
        ]
        template = (f"{root}aws-account-id=${{aws_account_id}}/aws-service=vpcflowlogs/aws-region=${{aws_region}}/"
                    "year=${year}/month=${month}/day=${day}/")
    else:
        partitions.append(Partition("day", "string", _dates(start, "yyyy/MM/dd", "DAYS")))
        template = f"{root}${{aws_account_id}}/vpcflowlogs/${{aws_region}}/${{day}}/"
    if hourly:
        partitions.append(Partition("hour", "string", _integers(0, 23)))
        template += "hour=${hour}/" if hive else "${hour}/"
    text = fmt == "text"
    return _render(table, columns, partitions, TEXT_STORAGE if text else PARQUET_STORAGE, root, template,
                   {"skip.header.line.count": "1"} if text else {})


def lake_ddl(location: str, *, table: str = "flows", start: dt.date) -> str:
    """A table over a flowlake lake copied to `location`: the `flows` table, every column of the lake's
    schema, and the `date` partition as a DATE (as in AWS's own `vpc_flow_logs` table), so Athena SQL written
    for that table (`date = DATE('2020-05-04')`, `date > current_date - interval '7' day`) runs on it unchanged."""
    root = f"{_s3_root(location)}/{FLOWS_DIR}/"
    columns = [(f.name, sql_type(f.type, "athena")) for f in lake_schema()]
    partition = Partition(PARTITION_COLUMN, "date", _dates(start, "yyyy-MM-dd", "DAYS"))
    return _render(table, columns, [partition], PARQUET_STORAGE, root,
                   f"{root}{PARTITION_COLUMN}=${{{PARTITION_COLUMN}}}/", {})


def _s3_root(location: str) -> str:
    root = location.rstrip("/")
    if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^'\\${}]*)?", root):
        raise ValueError(f"not an s3://bucket[/prefix] location: {location!r}")
    return root


def _dates(start: dt.date, java_format: str, unit: str) -> dict[str, str]:
    """A `date` projection from `start` to now; the range is written in the projection's own format."""
    python_format = java_format.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d")
    return {"type": "date", "format": java_format, "range": f"{start.strftime(python_format)},NOW",
            "interval": "1", "interval.unit": unit}


def _integers(low: int, high: int) -> dict[str, str]:
    """Zero-padded two-digit numbers, as AWS writes months, days and hours in keys."""
    return {"type": "integer", "range": f"{low:02d},{high:02d}", "digits": "2"}


def _render(table: str, columns: Sequence[tuple[str, str]], partitions: Sequence[Partition], storage: str,
            location: str, template: str, properties: dict[str, str]) -> str:
    """The statement, every name backticked as in AWS's DDL (which spares a list of reserved words)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError(f"Athena table names are lowercase letters, digits and _: {table!r}")
    properties = {**properties, "projection.enabled": "true"}
    for p in partitions:
        properties.update({f"projection.{p.name}.{key}": value for key, value in p.projection.items()})
    properties["storage.location.template"] = template

    def block(pairs: Sequence[tuple[str, str]]) -> str:
        return ",\n".join(f"  `{name}` {kind}" for name, kind in pairs)

    props = ",\n".join(f"  '{key}' = '{value}'" for key, value in properties.items())
    return (f"CREATE EXTERNAL TABLE `{table}` (\n{block(columns)}\n)\n"
            f"PARTITIONED BY (\n{block([(p.name, p.type) for p in partitions])}\n)\n"
            f"{storage}\nLOCATION '{location}'\nTBLPROPERTIES (\n{props}\n)\n")


# --- Reports and rules as Athena SQL, and running them there ----------------------------

POLL_MAX = 5.0
"""Seconds between polls of a running query at most (the wait doubles from a fifth of a second)."""

_NUMBERS = {"tinyint": pa.int64(), "smallint": pa.int64(), "integer": pa.int64(), "int": pa.int64(),
            "bigint": pa.int64(), "double": pa.float64(), "float": pa.float64(), "real": pa.float64(),
            "boolean": pa.bool_()}
"""Athena's result types that become Arrow numbers (or booleans); the others stay Athena's text."""


def asset_sql(asset: SqlAsset, values: dict[str, object], when: TimeRange, *, table: str = "flows",
              database: str = "default", inputs: Inputs | None = None) -> str:
    """A report or rule as one Athena statement over the `flowlake athena ddl --lake` table: `flows` and
    `traffic` become CTEs over `database.table` limited to the range (and `web_logs`, for the reports that
    read it, over a `database.web_logs` table of the lake's web_logs folder; a rule's `inputs`, its threat
    lists and intents, with their rows written out), and the parameters are written in as literals."""
    for kind, name in (("table", table), ("database", database)):
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise ValueError(f"Athena {kind} names are lowercase letters, digits and _: {name!r}")
    ctes = {"flows": _in_range(f'"{database}"."{table}"', "start_time", when), "traffic": TRAFFIC}
    if re.search(rf"\b{WEB_LOGS_DIR}\b", asset.sql):
        ctes[WEB_LOGS_DIR] = _in_range(f'"{database}"."{WEB_LOGS_DIR}"', "time", when)
    if inputs is not None:
        ctes.update(inputs.selects())
    return translate(asset.sql, "athena", literals=values, ctes=ctes) + "\n"


def _in_range(table: str, column: str, when: TimeRange) -> str:
    """The rows of `table` in the range, by its `date` partition too (Athena then reads only those days)."""
    conditions = []
    first, last = when.dates
    if when.start:
        conditions += [f"\"{PARTITION_COLUMN}\" >= date '{first}'", f"{column} >= timestamp '{when.start:%F %T}'"]
    if when.end:
        conditions += [f"\"{PARTITION_COLUMN}\" <= date '{last}'", f"{column} < timestamp '{when.end:%F %T}'"]
    return f"select * from {table}" + (" where " + " and ".join(conditions) if conditions else "")


def run_query(sql: str, options: AwsOptions, *, database: str, workgroup: str,
              output: str | None) -> pa.RecordBatchReader:
    """Submit `sql` to Athena, wait for it, and read its results page by page. Raises SourceError, with
    Athena's own reason when the query fails."""
    if output is not None and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?", output):
        raise ValueError(f"--output is an s3://bucket/prefix for the results, not {output!r}")
    athena = Aws("athena", options)
    request = {"QueryString": sql, "QueryExecutionContext": {"Database": database}, "WorkGroup": workgroup}
    if output:
        request["ResultConfiguration"] = {"OutputLocation": output}
    started = checked(athena, lambda c: c.start_query_execution(**request), "athena:StartQueryExecution",
                      f"workgroup {workgroup}")
    query_id = started["QueryExecutionId"]
    wait = 0.2
    while True:
        execution = checked(athena, lambda c: c.get_query_execution(QueryExecutionId=query_id),
                            "athena:GetQueryExecution", f"workgroup {workgroup}")["QueryExecution"]
        status = execution["Status"]
        if status["State"] == "SUCCEEDED":
            break
        if status["State"] in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage", "")
            raise SourceError(f"Athena query {query_id} {status['State'].lower()}: {reason}".rstrip(": "))
        time.sleep(wait)
        wait = min(POLL_MAX, wait * 2)
    pages = checked(athena, lambda c: c.get_paginator("get_query_results").paginate(QueryExecutionId=query_id),
                    "athena:GetQueryResults", f"workgroup {workgroup}")
    return _results(iter(pages))


def _results(pages: Iterator[dict]) -> pa.RecordBatchReader:
    """Athena's result pages as Arrow batches, one a page: numbers as numbers, the header row dropped."""
    first = next(pages)
    columns = first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    schema = pa.schema([(c["Name"], _NUMBERS.get(c["Type"].lower(), pa.string())) for c in columns])

    def batch(rows: list[dict]) -> pa.RecordBatch:
        values = [[cell.get("VarCharValue") for cell in row["Data"]] for row in rows]
        return pa.RecordBatch.from_arrays([pa.array([row[i] for row in values], pa.string()).cast(field.type)
                                           for i, field in enumerate(schema)], schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        rows = first["ResultSet"]["Rows"]
        if rows and [cell.get("VarCharValue") for cell in rows[0]["Data"]] == schema.names:
            rows = rows[1:]
        yield batch(rows)
        for page in pages:
            yield batch(page["ResultSet"]["Rows"])

    return pa.RecordBatchReader.from_batches(schema, batches())
