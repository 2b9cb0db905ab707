"""`flowlake athena ddl`: the Athena table for the same flow logs, over S3; `flowlake athena sql`: the reports
(and detection rules) as Athena SQL over it, printed or run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from click.core import ParameterSource

from flowlake.cli import UsageProblem, cli, time_options
from flowlake.cli.findings import rule_input_options
from flowlake.cli.ingest import SourceProblem, aws_access_options
from flowlake.cli.query import emit
from flowlake.cli.report import load_reports, pair
from flowlake.engine import catalog
from flowlake.output import FORMATS
from flowlake.reports import ReportError, bind
from flowlake.sources.aws import AwsOptions, SourceError
from flowlake.timerange import TimeRange, parse_duration

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


RUN_ONLY = {"workgroup": "--workgroup", "s3_output": "--output", "fmt": "--format"}
"""Options that only mean something with --run."""


@athena_group.command("sql")
@click.argument("name")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A parameter (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="Rows to show (reports that rank).")
@time_options
@click.option("--table", default="flows", show_default=True, help="The table `flowlake athena ddl --lake` made.")
@click.option("--database", default="default", show_default=True, help="Its Athena (Glue) database.")
@click.option("--lake", "lake", envvar="FLOWLAKE_LAKE", metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Also the lake's own reports (LAKE/_flowlake/reports).")
@click.option("--reports", "report_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A folder of your own report .sql files (repeatable).")
@rule_input_options
@click.option("--run", is_flag=True, help="Submit it to Athena, wait, and print the results.")
@click.option("--workgroup", default="primary", show_default=True, help="With --run: the Athena workgroup.")
@click.option("--output", "s3_output", metavar="S3URL",
              help="With --run: where Athena writes the results (default: the workgroup's setting).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="With --run: how to print the results.")
@click.option("--region", metavar="REGION", help="With --run: Athena's region (default: the profile's or AWS_REGION).")
@aws_access_options
def sql_command(name: str, params: tuple[str, ...], limit: int | None, when: TimeRange, table: str, database: str,
                lake: Path | None, report_dirs: tuple[Path, ...], threat_lists: tuple[Path, ...],
                intents: Path | None, baseline: str, run: bool, workgroup: str, s3_output: str | None,
                fmt: str, region: str | None, profile: str | None, role_arn: str | None,
                endpoint_url: str | None) -> None:
    """Print a report or a detection rule as Athena SQL over the lake's table on S3 (or --run it there).

    Parameters are written in; `auto` buckets need --from and --to (Athena SQL cannot look at the data first).
    """
    from flowlake import athena  # imports sqlglot, which commands that never touch Athena need not load

    if not run:
        context = click.get_current_context()
        given = [flag for key, flag in RUN_ONLY.items()
                 if context.get_parameter_source(key) is ParameterSource.COMMANDLINE]
        if given:
            raise UsageProblem(f"{', '.join(given)} {'go' if len(given) > 1 else 'goes'} with --run")
    assets = {**catalog.load("rules"), **load_reports(lake, report_dirs)}
    if name not in assets:
        raise UsageProblem(f"no report or rule named {name!r}; `flowlake report --list` shows the reports")
    asset = assets[name]
    values = dict(pair(p) for p in params)
    if limit is not None:
        values["limit"] = str(limit)
    try:
        if asset.param("detect_from") is None:
            text = athena.asset_sql(asset, bind(asset, values, None, when), when, table=table, database=database)
        else:
            text = _rule_sql(asset, values, when, list(threat_lists), intents, baseline, table, database)
    except (ReportError, ValueError) as exc:
        raise UsageProblem(str(exc)) from None
    if not run:
        click.echo(text, nl=False)
        return
    try:
        reader = athena.run_query(text, AwsOptions(profile, region, endpoint_url, role_arn), database=database,
                                  workgroup=workgroup, output=s3_output)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    except SourceError as exc:
        raise SourceProblem(str(exc)) from None
    emit(reader, fmt, None)


def _rule_sql(rule: catalog.SqlAsset, values: dict[str, str], when: TimeRange, threat_lists: list[Path],
              intents: Path | None, baseline: str, table: str, database: str) -> str:
    """A rule as `flowlake findings` runs it: detection from the range's start, over its baseline before, with
    the threat lists and intents written in."""
    from flowlake import athena, findings

    if when.start is None:
        raise UsageProblem(f"rule {rule.name} needs --since or --from: detection starts there, its baseline before")
    if values:
        raise UsageProblem(f"rule {rule.name} takes no --param here: `flowlake findings` runs it with its defaults")
    read = TimeRange(when.start - parse_duration(baseline), when.end)
    return athena.asset_sql(rule, findings.rule_params(rule, when.start), read, table=table, database=database,
                            inputs=findings.Inputs.read(threat_lists, intents))

