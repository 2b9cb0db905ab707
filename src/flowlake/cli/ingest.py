"""`flowlake ingest`, `flowlake compact` and `flowlake rollup`."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import click

from flowlake.cli import Engine, UsageProblem, cli, engine_options, lake_option, open_lake, time_options
from flowlake.ingest import IngestStats, ingest
from flowlake.lake import rollup
from flowlake.lake.compact import compact
from flowlake.lake.store import Lake
from flowlake.schema import parse_format_string
from flowlake.sources.aws import AwsOptions, SourceError
from flowlake.sources.cloudwatch import cloudwatch_objects
from flowlake.sources.local import SourceObject, local_objects
from flowlake.sources.s3 import s3_objects
from flowlake.timerange import TimeRange

REMOTE = ("s3://", "cloudwatch://")


class SourceProblem(click.ClickException):
    """A source that cannot be read at all (no such bucket or log group, access denied): one line, exit 2."""

    exit_code = 2


def source_options(f: Callable) -> Callable:
    """The options `ingest` and `watch` share: how to read the sources."""
    for option in reversed((
        lake_option,
        click.option("--format-string", metavar="FORMAT",
                     help="Field order of header-less lines, in AWS syntax: '${version} ${account-id} ...'."),
        click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
                     help="Objects downloaded and decoded in parallel."),
        click.option("--no-compact", is_flag=True, help="Skip the compaction that follows each ingest."),
        time_options,
        click.option("--account", "accounts", multiple=True, metavar="ID", help="S3: only this account (repeatable)."),
        click.option("--region", "regions", multiple=True, metavar="REGION",
                     help="S3: only this region (repeatable). The first is also the region AWS is called in."),
        click.option("--stream-prefix", metavar="PREFIX", help="CloudWatch: only log streams named PREFIX... (eni-)."),
        aws_access_options,
    )):
        f = option(f)
    return f


def aws_access_options(f: Callable) -> Callable:
    """How to reach AWS (every command that calls it): `--profile`, `--role-arn`, `--endpoint-url`."""
    for option in reversed((
        click.option("--profile", metavar="NAME", help="AWS profile (default: the standard credential chain)."),
        click.option("--role-arn", metavar="ARN", help="Assume this IAM role first, to work in another account."),
        click.option("--endpoint-url", metavar="URL", help="AWS endpoint: an S3-compatible store, an emulator "
                     "(default: AWS_ENDPOINT_URL)."),
    )):
        f = option(f)
    return f


@dataclass(frozen=True)
class Sources:
    """What to read, as the shared options say; `objects()` lists them afresh on every call."""

    paths: tuple[str, ...]
    lake: Lake
    fields: tuple[str, ...] | None
    workers: int
    compact: bool
    when: TimeRange
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    stream_prefix: str | None
    aws: AwsOptions

    @classmethod
    def from_options(cls, paths: tuple[str, ...], lake: Path, format_string: str | None, workers: int,
                     no_compact: bool, when: TimeRange, accounts: tuple[str, ...], regions: tuple[str, ...],
                     stream_prefix: str | None, profile: str | None, role_arn: str | None,
                     endpoint_url: str | None) -> Sources:
        try:
            fields = parse_format_string(format_string) if format_string else None
        except ValueError as exc:
            raise UsageProblem(f"--format-string: {exc}") from None
        for given in paths:
            if given != "-" and not given.startswith(REMOTE) and not Path(given).exists():
                raise UsageProblem(f"no such file or folder: {given}")
        aws_flags = when or accounts or regions or stream_prefix or profile or role_arn or endpoint_url
        if aws_flags and not any(given.startswith(REMOTE) for given in paths):
            raise UsageProblem("the time, account, region, stream and AWS options are for s3:// and cloudwatch:// "
                               "paths")
        aws = AwsOptions(profile, regions[0] if regions else None, endpoint_url, role_arn)
        return cls(paths, Lake(lake), fields, workers, not no_compact, when, accounts, regions, stream_prefix, aws)

    def objects(self, when: TimeRange | None = None) -> Iterator[SourceObject]:
        """Each path's objects in turn, from S3, CloudWatch Logs, or files and standard input."""
        when = when or self.when
        for given in self.paths:
            if given.startswith("s3://"):
                yield from s3_objects(given, self.aws, when, self.accounts, self.regions,
                                      connections=self.workers + 2)
            elif given.startswith("cloudwatch://"):
                yield from cloudwatch_objects(given, self.lake, self.aws, when, self.stream_prefix)
            else:
                yield from local_objects([given])

    def ingest_spark(self, master: str) -> IngestStats:
        """The files and folders ingested by Spark tasks (ingest_spark.py)."""
        from flowlake.engine import EngineSQLError
        from flowlake.engine.spark import SparkUnavailable
        from flowlake.ingest_spark import ingest_spark

        remote = [given for given in self.paths if given == "-" or given.startswith(REMOTE)]
        if remote:
            raise UsageProblem(f"--engine spark reads files and folders (on a file system every executor "
                               f"mounts), not {remote[0]}")
        try:
            return ingest_spark(self.lake, local_objects(list(self.paths)), self.fields, master, self.compact)
        except SparkUnavailable as exc:
            raise UsageProblem(str(exc)) from None
        except EngineSQLError as exc:
            raise SourceProblem(f"the Spark job failed: {exc}") from None

    def ingest(self, when: TimeRange | None = None, progress: Callable | None = None) -> IngestStats:
        try:
            return ingest(self.lake, self.objects(when), fields=self.fields, workers=self.workers,
                          do_compact=self.compact, progress=progress)
        except SourceError as exc:
            raise SourceProblem(str(exc)) from None


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@source_options
@engine_options
@click.option("--json", "as_json", is_flag=True, help="Print the final statistics as JSON.")
def ingest_command(paths: tuple[str, ...], engine: Engine, as_json: bool, **options) -> None:
    """Ingest flow logs from files, folders (recursively), - (standard input), S3 or CloudWatch Logs.

    s3://BUCKET/PREFIX reads the objects under PREFIX; with --since/--from/--to, --account or --region
    only those days, accounts and regions are listed. cloudwatch://LOG_GROUP reads the group's events
    from where the last run into this lake stopped.

    Only new or changed objects are read; a changed object replaces its earlier rows. With --engine spark,
    Spark tasks decode the files and folders and write the lake's files (a backfill beyond one machine).
    Rejected lines go to the quarantine (see `flowlake status` and `flowlake quarantine`).
    """
    sources = Sources.from_options(paths, **options)
    if engine.name == "spark":
        stats = sources.ingest_spark(engine.master)
    else:
        with _progress() as show:
            stats = sources.ingest(progress=show)
    report_stats(stats, as_json)
    sys.exit(stats.exit_code)


def report_stats(stats: IngestStats, as_json: bool) -> None:
    """The end of an ingest: problems and the one-line summary on standard error, --json on standard output."""
    if as_json:
        click.echo(json.dumps(stats.as_dict(), indent=2))
    for problem in stats.problems[:20]:
        click.echo(f"  {problem}", err=True)
    if len(stats.problems) > 20:
        click.echo(f"  ... and {len(stats.problems) - 20} more objects with problems", err=True)
    click.echo(stats.summary(), err=True)


class _progress:
    """A rich progress line on a terminal (objects, records, records/s); nothing in a pipe."""

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                            transient=True, console=Console(stderr=True))
        self.bar.start()
        self.task = self.bar.add_task("ingesting")
        return self.update

    def update(self, stats: IngestStats) -> None:
        elapsed = self.bar.tasks[0].elapsed or 0
        rate = stats.records / elapsed if elapsed else 0
        self.bar.update(self.task, refresh=True, description=(
            f"{stats.objects:,} objects, {stats.records:,} records, {rate:,.0f} records/s"))

    def __exit__(self, *exc) -> None:
        if hasattr(self, "bar"):
            self.bar.stop()


@cli.command("compact")
@lake_option
def compact_command(lake: Path) -> None:
    """Merge small files within each partition (ingest also does this by itself)."""
    target = Lake(lake)
    if not target.exists():
        raise UsageProblem(f"no flowlake lake at {lake}")
    with target.writer() as writer:
        stats = compact(writer)
    click.echo(f"compacted {stats.partitions} partitions: {stats.files_in} files into {stats.files_out} "
               f"({stats.rows:,} rows)", err=True)


@cli.command("rollup")
@lake_option
def rollup_command(lake: Path) -> None:
    """Build the rollups of closed days that lack them (`serve` and `watch` also do this by themselves)."""
    target = open_lake(lake)
    began = time.perf_counter()
    built = rollup.build_all(target)
    click.echo(f"rolled up {built} files in {time.perf_counter() - began:.1f}s", err=True)

