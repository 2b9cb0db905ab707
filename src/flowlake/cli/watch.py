"""`flowlake watch`: keep the lake current, one ingest per interval, until stopped."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
import time

import click

from flowlake.cli import UsageProblem, cli
from flowlake.cli.ingest import Sources, source_options
from flowlake.lake import rollup
from flowlake.lake.ledger import Ledger
from flowlake.timerange import TimeRange, parse_duration

RECENT = dt.timedelta(days=2)
"""Without a time option, S3 listing is bounded to the last two days: AWS delivers within minutes,
so older prefixes hold nothing new, and listing a whole bucket every interval would be wasteful."""
STATE = "watch"
"""Ledger meta key of the last successful batch (time, records, lag), shown by `flowlake status`."""


@cli.command("watch")
@click.argument("paths", nargs=-1, required=True)
@source_options
@click.option("--interval", default="60s", show_default=True, metavar="DURATION",
              help="Time between the starts of two ingests (10s, 1m).")
def watch_command(paths: tuple[str, ...], interval: str, **options) -> None:
    """Keep ingesting new objects and events from the sources until stopped.

    One line per batch on standard error. SIGINT or SIGTERM stops after the batch under way has
    committed; a second signal abandons it (nothing half-committed stays: the next writer cleans up).
    """
    try:
        every = parse_duration(interval).total_seconds()
    except ValueError as exc:
        raise UsageProblem(f"--interval: {exc}") from None
    sources = Sources.from_options(paths, **options)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo(f"{_now():%Y-%m-%dT%H:%M:%SZ} stopping after this batch", err=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    remote = any(p.startswith("s3://") for p in paths)
    while not stop.is_set():
        began = time.monotonic()
        window = sources.when or (TimeRange(start=_now() - RECENT) if remote else TimeRange())
        try:
            stats = sources.ingest(window)
        except KeyboardInterrupt:
            click.echo("abandoned the batch under way; the next run starts where the last commit ended", err=True)
            sys.exit(1)
        lag = _record(sources, stats.records)
        rollup.build_all(sources.lake)  # a day that just closed gets its rollups
        click.echo(f"{_now():%Y-%m-%dT%H:%M:%SZ} {stats.summary()}"
                   + (f"; newest record {lag:,.0f}s old" if lag is not None else ""), err=True)
        stop.wait(max(0.0, every - (time.monotonic() - began)))


def _record(sources: Sources, records: int) -> float | None:
    """Note the batch's success in the ledger for `status`; returns the lag of the newest record."""
    ledger = Ledger(sources.lake.ledger_path)
    try:
        [(newest,)] = ledger.query("select max(max_start) from files where removed_version is null")
        now = _now()
        lag = now.timestamp() - newest if newest is not None else None
        ledger.set_meta(STATE, json.dumps({"last_success": now.isoformat(timespec="seconds"), "records": records,
                                           "lag_seconds": None if lag is None else round(lag)}))
    finally:
        ledger.close()
    return lag


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
