"""`flowlake athena ddl`: the Athena table for the same flow logs, over S3."""

from __future__ import annotations

import datetime as dt

import click
from click.core import ParameterSource

from flowlake.cli import UsageProblem, cli

RAW_ONLY = {"fmt": "--format", "hive": "--hive", "hourly": "--hourly", "fields": "--fields", "regions": "--regions",
            "accounts": "--accounts"}
"""Options that describe AWS's delivery layout, meaningless for a lake (one layout, every account in each file)."""


@cli.group("athena")
def athena_group() -> None:
    """Athena over S3: tables for AWS's delivered flow logs or for a lake copied to S3."""


@athena_group.command("ddl")
@click.option("--location", required=True, metavar="S3URL",
              help="The flow log's S3 destination (s3://bucket[/prefix], before AWSLogs/), or with --lake, "
                   "where the lake folder was copied.")
@click.option("--lake", "lake", is_flag=True, help="A table over a flowlake lake copied to S3 (its flows/ table).")
@click.option("--format", "fmt", type=click.Choice(["text", "parquet"]), default="text", show_default=True,
              help="The flow log's file format.")
@click.option("--hive", is_flag=True, help="The flow log uses Hive-compatible S3 prefixes.")
@click.option("--hourly", is_flag=True, help="The flow log uses hourly partitions.")
@click.option("--fields", metavar="FIELDS", default="default", show_default=True,
              help="The flow log's fields, in order: default (the 14 of version 2), all (versions 2 to 8), "
                   "or names separated by spaces or commas, or the flow log's ${...} format string.")
@click.option("--regions", metavar="LIST", default="", help="Comma-separated regions that deliver there (required).")
@click.option("--accounts", metavar="LIST", default="",
              help="Comma-separated account ids (default: each query names its account; projection `injected`).")
@click.option("--table", metavar="NAME", help="Table name  [default: vpc_flow_logs; flows with --lake]")
@click.option("--start", metavar="DATE", help="First day to project, YYYY/MM/DD  [default: January 1 of last year]")
def ddl_command(location: str, lake: bool, fmt: str, hive: bool, hourly: bool, fields: str, regions: str,
                accounts: str, table: str | None, start: str | None) -> None:
    """Print an Athena CREATE EXTERNAL TABLE with partition projection.

    Athena then finds every partition itself: no MSCK REPAIR TABLE, no ALTER TABLE ADD PARTITION, ever.
    """
    from flowlake import athena  # imports sqlglot, which commands that never touch Athena need not load

    first = _start(start)
    try:
        if lake:
            context = click.get_current_context()
            given = [flag for name, flag in RAW_ONLY.items()
                     if context.get_parameter_source(name) is ParameterSource.COMMANDLINE]
            if given:
                raise UsageProblem(f"--lake tables take no {', '.join(given)}")
            click.echo(athena.lake_ddl(location, table=table or "flows", start=first), nl=False)
            return
        click.echo(athena.raw_ddl(location, _list(regions), fmt=fmt, hive=hive, hourly=hourly,
                                  fields=athena.field_list(fields), accounts=_list(accounts),
                                  table=table or "vpc_flow_logs", start=first), nl=False)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None


def _list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _start(value: str | None) -> dt.date:
    if value is None:
        return dt.date(dt.datetime.now(dt.UTC).year - 1, 1, 1)
    try:
        return dt.date.fromisoformat(value.replace("/", "-"))
    except ValueError:
        raise UsageProblem(f"--start is a date like 2024/01/01, not {value!r}") from None
