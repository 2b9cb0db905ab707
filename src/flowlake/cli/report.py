"""`flowlake report`: the named reports."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
import duckdb

from flowlake.cli import (
    EXIT_USAGE,
    Engine,
    UsageProblem,
    cli,
    engine_options,
    ip_ranges_option,
    open_lake,
    output_options,
    time_options,
)
from flowlake.cli.query import emit
from flowlake.engine import EngineSQLError, catalog
from flowlake.lake.store import META_DIR
from flowlake.reports import ReportError, bind, run
from flowlake.timerange import TimeRange


def load_reports(lake: Path | None, extra: tuple[Path, ...]) -> dict[str, catalog.SqlAsset]:
    """Built-in reports, then the lake's own (LAKE/_flowlake/reports), then --reports folders."""
    folders = [lake / META_DIR / "reports"] if lake is not None else []
    try:
        return catalog.load("reports", [f for f in [*folders, *extra] if f.is_dir()])
    except catalog.AssetError as exc:
        raise UsageProblem(str(exc)) from None


@cli.command("report")
@click.argument("name", required=False)
@click.option("--list", "list_", is_flag=True, help="List the reports, one per line.")
@click.option("--lake", "lake", envvar="FLOWLAKE_LAKE", metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path), help="Lake folder (env FLOWLAKE_LAKE).")
@time_options
@ip_ranges_option
@output_options()
@engine_options
@click.option("--where", metavar="SQL", help="Only flows matching this condition, e.g. \"dstport = 22\".")
@click.option("--limit", type=click.IntRange(1), help="Rows to show (reports that rank).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="A report parameter (repeatable).")
@click.option("--reports", "report_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="A folder of your own report .sql files (repeatable).")
def report_command(name: str | None, list_: bool, lake: Path | None, when: TimeRange, prepare: Callable | None,
                   fmt: str, output: Path | None, engine: Engine, where: str | None, limit: int | None,
                   params: tuple[str, ...],
                   report_dirs: tuple[Path, ...]) -> None:
    """Run a named report over the lake (`flowlake report --list` shows them)."""
    reports = load_reports(lake, report_dirs)
    if list_ or name is None:
        width = max(len(n) for n in reports)
        for report in sorted(reports.values(), key=lambda r: r.name):
            click.echo(f"{report.name:<{width}}  {report.title}")
        return
    if name not in reports:
        raise UsageProblem(f"no report named {name!r}; `flowlake report --list` shows them")
    if lake is None:
        raise UsageProblem("Missing option '--lake' (or FLOWLAKE_LAKE).")
    asset = reports[name]
    values = dict(pair(p) for p in params)
    if limit is not None:
        values["limit"] = str(limit)
    try:
        # The rollups hold no per-record columns for `--where` to filter: with it, the records answer.
        rolled = where is None and engine.name == "duckdb"
        con, _ = engine.connect(open_lake(lake), when, where, prepare, rollups=rolled)
        reader = run(con, asset, bind(asset, values, con, when), rolled=when if rolled else None)
    except ReportError as exc:
        raise UsageProblem(str(exc)) from None
    except (duckdb.Error, EngineSQLError) as exc:
        click.echo(f"SQL error in report {name}{' or --where' if where else ''}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    emit(reader, fmt, output)


def pair(text: str) -> tuple[str, str]:
    """One `--param NAME=VALUE`."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageProblem(f"--param takes NAME=VALUE, not {text!r}")
    return key.strip(), value
