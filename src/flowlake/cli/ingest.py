"""`flowlake ingest` and `flowlake compact`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from flowlake.cli import UsageProblem, cli, lake_option
from flowlake.ingest import IngestStats, ingest
from flowlake.lake.compact import compact
from flowlake.lake.store import Lake
from flowlake.schema import parse_format_string
from flowlake.sources.local import local_objects


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True)
@lake_option
@click.option("--format-string", metavar="FORMAT",
              help="Field order of header-less lines, in AWS syntax: '${version} ${account-id} ...'.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Objects decoded in parallel.")
@click.option("--no-compact", is_flag=True, help="Skip the compaction that follows ingest.")
@click.option("--json", "as_json", is_flag=True, help="Print the final statistics as JSON.")
def ingest_command(paths: tuple[str, ...], lake: Path, format_string: str | None, workers: int,
                   no_compact: bool, as_json: bool) -> None:
    """Ingest flow logs from files, folders (recursively) or - (standard input).

    Only new or changed objects are read; a changed object replaces its earlier rows.
    Rejected lines go to the quarantine (see `flowlake status` and `flowlake quarantine`).
    """
    try:
        fields = parse_format_string(format_string) if format_string else None
    except ValueError as exc:
        raise UsageProblem(f"--format-string: {exc}") from None
    for given in paths:
        if given != "-" and not Path(given).exists():
            raise UsageProblem(f"no such file or folder: {given}")
    with _progress() as show:
        stats = ingest(Lake(lake), local_objects(list(paths)), fields=fields, workers=workers,
                       do_compact=not no_compact, progress=show)
    _report(stats, as_json)
    sys.exit(stats.exit_code)


def _report(stats: IngestStats, as_json: bool) -> None:
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
