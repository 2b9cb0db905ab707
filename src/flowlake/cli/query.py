"""`flowlake query`: DuckDB SQL over the `flows` view, run by DuckDB or by Spark (`--engine spark`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
import duckdb

from flowlake import output
from flowlake.cli import (
    EXIT_USAGE,
    Engine,
    UsageProblem,
    cli,
    engine_options,
    ip_ranges_option,
    lake_option,
    open_lake,
    output_options,
    time_options,
)
from flowlake.engine import EngineSQLError
from flowlake.timerange import TimeRange


@cli.command("query")
@click.argument("sql")
@lake_option
@time_options
@ip_ranges_option
@output_options()
@engine_options
@click.option("--explain", is_flag=True, help="Say which files and bytes the query scans, then run it.")
@click.option("--dialect", type=click.Choice(["duckdb", "athena"]), default="duckdb", show_default=True,
              help="athena: Athena (Trino) SQL, such as AWS's sample queries on `vpc_flow_logs`, translated to DuckDB.")
def query_command(sql: str, lake: Path, when: TimeRange, prepare: Callable | None, fmt: str, output: Path | None,
                  engine: Engine, explain: bool, dialect: str) -> None:
    """Run DuckDB SQL (or Athena SQL: --dialect athena) over the view `flows` (the lake, limited to the time range)."""
    if dialect == "athena" and engine.name != "duckdb":
        raise UsageProblem("--dialect athena runs on DuckDB only (Spark takes the DuckDB SQL)")
    con, scan = engine.connect(open_lake(lake), when, prepare=prepare)
    if dialect == "athena":
        sql = _from_athena(con, sql)
    if explain:
        click.echo(f"scanning {scan.files} files, {scan.bytes:,} bytes, {scan.rows:,} rows", err=True)
    try:
        relation = con.sql(sql)
        if relation is None:
            return
        reader = relation.to_arrow_reader(65_536)
    except (duckdb.Error, EngineSQLError) as exc:
        click.echo(f"SQL error: {exc}", err=True)
        if dialect == "athena":
            click.echo(f"(the Athena SQL as DuckDB ran it: {sql})", err=True)
        sys.exit(EXIT_USAGE)
    emit(reader, fmt, output)


def _from_athena(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Athena SQL as DuckDB SQL, with the Trino functions it may call defined on `con`."""
    from flowlake import athena  # imports sqlglot, which DuckDB SQL and other commands need not load

    try:
        duck = athena.to_duckdb(sql)
    except athena.AthenaSQLError as exc:
        click.echo(f"Athena SQL error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    athena.install(con)
    return duck


def emit(reader, fmt: str, path: Path | None) -> None:
    """Write a result to --output or standard output; parquet to a terminal is refused."""
    if fmt == "parquet" and path is None and sys.stdout.isatty():
        click.echo("parquet output is binary: use --output FILE or a pipe", err=True)
        sys.exit(EXIT_USAGE)
    if path is None:
        output.write(reader, fmt)
        return
    with open(path, "wb") as out:
        output.write(reader, fmt, out)
