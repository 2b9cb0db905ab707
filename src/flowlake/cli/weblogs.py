"""`flowlake ingest-weblogs`: Apache and Nginx access logs into the lake's `web_logs` table."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from flowlake.cli import UsageProblem, cli, lake_option
from flowlake.cli.ingest import report_stats
from flowlake.lake.store import Lake
from flowlake.sources.local import local_objects
from flowlake.weblogs import ingest_weblogs


@cli.command("ingest-weblogs")
@click.argument("paths", nargs=-1, required=True)
@lake_option
@click.option("--json", "as_json", is_flag=True, help="Print the final statistics as JSON.")
def ingest_weblogs_command(paths: tuple[str, ...], lake: Path, as_json: bool) -> None:
    """Ingest web server access logs (common or combined format, gzip or plain) from files,
    folders (recursively) or - (standard input) into the `web_logs` table.

    Only new or changed files are read; a changed file replaces its earlier rows.
    Rejected lines go to the quarantine (see `flowlake quarantine`).
    """
    missing = [given for given in paths if given != "-" and not Path(given).exists()]
    if missing:
        raise UsageProblem(f"no such file or folder: {missing[0]}")
    stats = ingest_weblogs(Lake(lake), local_objects(list(paths)))
    report_stats(stats, as_json)
    sys.exit(stats.exit_code)
