"""`flowlake aws setup` and `flowlake aws status`: VPC flow logs to S3, set up and checked."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pyarrow as pa

from flowlake.aws_setup import (
    DELIVERY,
    RESOURCE_TYPES,
    STATUS_COLUMNS,
    FlowLogPlan,
    SetupReport,
    aws_cli_commands,
    format_summary,
    setup,
    status,
)
from flowlake.cli import EXIT_PARTIAL, UsageProblem, cli, output_options
from flowlake.cli.ingest import SourceProblem, aws_access_options
from flowlake.cli.query import emit
from flowlake.sources.aws import AwsOptions, SourceError


def aws_options(f: Callable) -> Callable:
    """`--region` (the flow logs' own: one, unlike ingest's repeatable S3 filter), and how to reach AWS."""
    f = click.option("--region", metavar="REGION",
                     help="Region of the flow logs and resources (default: the profile's region or AWS_REGION).")(f)
    return aws_access_options(f)


@cli.group("aws")
def aws_group() -> None:
    """Set VPC flow logs up to deliver to S3, and see which flow logs exist (the AWS side of the lake)."""


@aws_group.command("setup")
@click.option("--bucket", required=True, metavar="NAME[/PREFIX]",
              help="The S3 bucket to deliver to, and optionally a folder in it (not AWSLogs).")
@click.option("--resource-id", "resource_ids", required=True, multiple=True, metavar="ID",
              help="The VPC, subnet, network interface or transit gateway (attachment) to log (repeatable).")
@click.option("--resource-type", type=click.Choice(list(RESOURCE_TYPES)),
              help="Its type  [default: from the id's prefix: vpc-, subnet-, eni-, tgw-, tgw-attach-]")
@click.option("--traffic-type", type=click.Choice(["ALL", "ACCEPT", "REJECT"]),
              help="Traffic to record  [default: ALL; Transit Gateway flow logs take none]")
@click.option("--fields", default="all", show_default=True, metavar="all|default|LIST",
              help="all: every field the resource type has, in catalog order; default: AWS's default format; "
                   "or field names separated by spaces or commas, or a ${...} format string.")
@click.option("--file-format", type=click.Choice(["text", "parquet"]), default="text", show_default=True,
              help="Objects as gzip text or as Parquet.")
@click.option("--hive-prefixes", is_flag=True, help="Hive-compatible S3 prefixes (aws-account-id=.../year=...).")
@click.option("--per-hour", is_flag=True, help="One S3 folder per hour instead of per day.")
@click.option("--aggregation", type=click.Choice(["60", "600"]),
              help="Maximum aggregation interval in seconds  [default: 600; 60 for Transit Gateway]")
@click.option("--create-bucket", is_flag=True, help="Create the bucket (in the region) when it does not exist.")
@click.option("--dry-run", is_flag=True,
              help="Change nothing: print the merged bucket policy and the equivalent AWS CLI commands.")
@aws_options
def setup_command(bucket: str, resource_ids: tuple[str, ...], resource_type: str | None, traffic_type: str | None,
                  fields: str, file_format: str, hive_prefixes: bool, per_hour: bool, aggregation: str | None,
                  create_bucket: bool, dry_run: bool, region: str | None, profile: str | None,
                  role_arn: str | None, endpoint_url: str | None) -> None:
    """Deliver flow logs of a VPC (subnet, interface, transit gateway) to S3 with every field.

    Adds the statements that let the log delivery service write to the bucket's policy (keeping
    everything else in it), then creates the flow log. A flow log of the same resource to the same
    destination is reported, not created again.
    """
    try:
        plan = FlowLogPlan.from_options(bucket, resource_ids, resource_type, traffic_type, fields, file_format,
                                        hive_prefixes, per_hour, int(aggregation) if aggregation else None)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    options = AwsOptions(profile, region, endpoint_url, role_arn)
    try:
        report = setup(plan, options, create_bucket=create_bucket, dry_run=dry_run)
    except SourceError as exc:
        raise SourceProblem(str(exc)) from None
    if dry_run:
        _print_dry_run(report, options)
        return
    _print_setup(report, options)
    if report.failed:
        sys.exit(EXIT_PARTIAL)


def _print_dry_run(report: SetupReport, options: AwsOptions) -> None:
    bucket = report.plan.bucket
    if report.added:
        click.echo(f"# The policy of bucket {bucket}: {_kept(report.kept)}, {' and '.join(report.added)} added")
    else:
        click.echo(f"# The policy of bucket {bucket} already lets {DELIVERY} write; unchanged")
    click.echo(json.dumps(report.policy, indent=2))
    for resource_id, flow_log in report.existing.items():
        click.echo(f"# {resource_id} already has flow log {flow_log.get('FlowLogId')} to this destination")
    commands = aws_cli_commands(report, options)
    click.echo("\n# The equivalent AWS CLI commands (nothing was changed):" if commands else "\n# Nothing to do.")
    for command in commands:
        click.echo(command)


def _print_setup(report: SetupReport, options: AwsOptions) -> None:
    plan, account = report.plan, report.account
    if report.bucket_missing:
        click.echo(f"created bucket {plan.bucket} in {account.region}")
    if report.added:
        click.echo(f"bucket policy of {plan.bucket}: added {' and '.join(report.added)} for {DELIVERY} "
                   f"({_kept(report.kept)})")
    else:
        click.echo(f"bucket policy of {plan.bucket}: already lets {DELIVERY} write; unchanged")
    what = (f"{plan.traffic_type + ' traffic, ' if plan.traffic_type else ''}"
            f"{format_summary(plan.request(account).get('LogFormat')) if plan.fields else 'AWS default format'}, "
            f"{plan.file_format}, {plan.aggregation}s aggregation")
    for resource_id, flow_log_id in report.created.items():
        click.echo(f"created flow log {flow_log_id} for {resource_id}: {what}, to {plan.location}")
    for resource_id, flow_log in report.existing.items():
        fl = flow_log.get("FlowLogId")
        click.echo(f"{resource_id} already has flow log {fl} to {plan.location}; not created again (to change its "
                   f"format or options: aws ec2 delete-flow-logs --flow-log-ids {fl}, then run setup again)")
    for resource_id, reason in report.failed.items():
        click.echo(f"no flow log for {resource_id}: {reason}", err=True)
    if not report.created and not report.existing:
        return
    url = f"s3://{plan.bucket}/{plan.key_prefix(account)}"
    flags = _aws_flags(options)
    click.echo(f"\nAWS delivers objects every 5 minutes (the first about 10 minutes after traffic starts) under\n"
               f"  {url}\nRead them with:\n"
               f"  flowlake ingest {url} --lake LAKE{flags}\n"
               f"  flowlake watch {url} --lake LAKE --interval 5m{flags}\n"
               f"Query them with Athena where they are:\n"
               f"  flowlake athena ddl --location {plan.location} --regions {account.region} --accounts {account.id}"
               f"{' --format parquet' if plan.file_format == 'parquet' else ''}"
               f"{' --hive' if plan.hive else ''}{' --hourly' if plan.per_hour else ''}"
               f" --fields {shlex.quote(' '.join(plan.fields)) if plan.fields else 'default'}")


def _aws_flags(options: AwsOptions) -> str:
    flags = [("--profile", options.profile), ("--role-arn", options.role_arn),
             ("--endpoint-url", options.endpoint_url)]
    return "".join(f" {flag} {shlex.quote(value)}" for flag, value in flags if value)


def _kept(n: int) -> str:
    return f"kept {n} other statement{'s' if n != 1 else ''}"


@aws_group.command("status")
@output_options()
@aws_options
def status_command(fmt: str, output: Path | None, region: str | None, profile: str | None, role_arn: str | None,
                   endpoint_url: str | None) -> None:
    """The region's flow logs (resource, traffic type, destination, format, options, status), then each
    VPC and transit gateway without one, flagged NO FLOW LOG."""
    try:
        report = status(AwsOptions(profile, region, endpoint_url, role_arn))
    except SourceError as exc:
        raise SourceProblem(str(exc)) from None
    rows = report.rows
    if fmt == "table":
        rows = [{**row, "format": format_summary(row["format"]) if row["flow_log_id"] else None} for row in rows]
    table = pa.Table.from_pylist(rows, schema=pa.schema([(name, pa.string()) for name in STATUS_COLUMNS]))
    emit(pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), fmt, output)
    for warning in report.warnings:
        click.echo(warning, err=True)
    logs = len(rows) - len(report.uncovered)
    missing = ", ".join(row["resource_id"] for row in report.uncovered)
    click.echo(f"{report.region}: {logs} flow log{'s' if logs != 1 else ''}"
               + (f"; without one: {missing}" if missing else "; every VPC and transit gateway has one"), err=True)
