"""The `flowlake` command: one click group; each subcommand parses flags and hands off.

Shared options (`--lake`, the time range, `--format`/`--output`) are declared once here.
Exit codes: 0 success, 1 partial failure (lines rejected, objects failed), 2 usage or SQL error.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import duckdb
import pyarrow as pa

from flowlake import __version__, enrich
from flowlake.lake.store import Lake, LakeNotFound
from flowlake.output import FORMATS
from flowlake.timerange import TimeRange

EXIT_PARTIAL = 1
EXIT_USAGE = 2


class UsageProblem(click.UsageError):
    """A wrong flag value or an unusable lake: exit 2 with one line."""


def lake_option(f: Callable) -> Callable:
    """`--lake DIR` (env FLOWLAKE_LAKE)."""
    return click.option(
        "--lake", "lake", envvar="FLOWLAKE_LAKE", required=True, metavar="DIR",
        type=click.Path(file_okay=False, path_type=Path), help="Lake folder (env FLOWLAKE_LAKE).",
    )(f)


def time_options(f: Callable) -> Callable:
    """`--since`, `--from`, `--to`, turned into one `when: TimeRange` argument."""

    @click.option("--since", metavar="DURATION", help="Only the last DURATION (15m, 24h, 7d).")
    @click.option("--from", "from_", metavar="TIME", help="From this UTC date or timestamp.")
    @click.option("--to", metavar="TIME", help="Up to this UTC date (inclusive) or timestamp.")
    @functools.wraps(f)
    def wrapper(*args, since: str | None, from_: str | None, to: str | None, **kwargs):
        try:
            when = TimeRange.from_options(since, from_, to)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from None
        return f(*args, when=when, **kwargs)

    return wrapper


def ip_ranges_option(f: Callable) -> Callable:
    """`--ip-ranges FILE`: an AWS ip-ranges.json that classifies AWS addresses instead of the lake's own
    (LAKE/_flowlake/ip-ranges.json), handed on as `prepare`, the argument `connect` runs it with."""

    @click.option("--ip-ranges", "ip_ranges", metavar="FILE",
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="AWS's ip-ranges.json, for aws_service() and addr_class() (default: the lake's own).")
    @functools.wraps(f)
    def wrapper(*args, ip_ranges: Path | None, **kwargs):
        def prepare(con: duckdb.DuckDBPyConnection) -> None:
            try:
                enrich.aws_ranges(con, ip_ranges)
            except enrich.EnrichError as exc:
                raise UsageProblem(str(exc)) from None

        return f(*args, prepare=prepare if ip_ranges else None, **kwargs)

    return wrapper


def output_options(default: str = "table") -> Callable:
    def decorate(f: Callable) -> Callable:
        f = click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                         help="Write to FILE instead of standard output.")(f)
        return click.option("--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True,
                            help="Output format (json: one array of row objects).")(f)

    return decorate


@dataclass(frozen=True)
class Engine:
    """The engine a reading command runs its SQL on: DuckDB in this process, or Spark (`--engine spark`)."""

    name: str
    master: str

    def connect(self, lake: Lake, when: TimeRange, where: str | None = None, prepare: Callable | None = None,
                rollups: bool = False) -> tuple[Any, Any]:
        """The connection with the lake's views (engine/duckdb.py's `connect`, or engine/spark.py's) and its Scan.
        `prepare` (DuckDB functions a filter uses) and `rollups` are DuckDB's alone."""
        if self.name == "duckdb":
            from flowlake.engine.duckdb import connect

            return connect(lake, when, where, prepare, rollups=rollups)
        from flowlake.engine import spark

        try:
            return spark.connect(lake, when, where, master=self.master)
        except spark.SparkUnavailable as exc:
            raise UsageProblem(str(exc)) from None


def engine_options(f: Callable) -> Callable:
    """`--engine duckdb|spark` and `--spark-master`, turned into one `engine: Engine` argument."""

    @click.option("--engine", "engine_name", type=click.Choice(["duckdb", "spark"]), default="duckdb",
                  show_default=True, help="Run the SQL on DuckDB here, or on Spark (pip install flowlake[spark]).")
    @click.option("--spark-master", envvar="FLOWLAKE_SPARK_MASTER", default="local[*]", show_default=True,
                  metavar="URL", help="With --engine spark: local[N], spark://HOST:PORT or yarn "
                                      "(env FLOWLAKE_SPARK_MASTER).")
    @functools.wraps(f)
    def wrapper(*args, engine_name: str, spark_master: str, **kwargs):
        return f(*args, engine=Engine(engine_name, spark_master), **kwargs)

    return wrapper


def open_lake(path: Path) -> Lake:
    """A lake that must already exist (for readers)."""
    lake = Lake(path)
    if not lake.exists():
        raise UsageProblem(str(LakeNotFound(f"no flowlake lake at {path} (run `flowlake ingest PATH --lake {path}`)")))
    return lake


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowlake")
@click.option("-v", "--verbose", count=True, help="More logging on standard error (-vv for debug).")
def cli(verbose: int) -> None:
    """Amazon VPC Flow Logs in a columnar lake: ingest, query, report."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def commands() -> click.Group:
    """The `flowlake` group with every command registered (each module adds its own)."""
    from flowlake.cli import (  # noqa: F401
        athena,
        aws,
        demo,
        explain,
        findings,
        forecast,
        generate,
        ingest,
        query,
        report,
        serve,
        status,
        watch,
        weblogs,
    )

    return cli


def main() -> None:
    _fast_allocator()
    commands()(prog_name="flowlake")


def _fast_allocator() -> None:
    """jemalloc keeps freed Arrow buffers for reuse; with the default allocator a third of ingest's
    time went to the kernel mapping and zeroing fresh pages (measured: docs/benchmarks.md).
    ARROW_DEFAULT_MEMORY_POOL still wins when set."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())
