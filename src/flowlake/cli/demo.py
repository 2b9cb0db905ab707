"""`flowlake demo`: realistic data, generated and ingested, served live, in one command."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
from pathlib import Path

import click

from flowlake import cases, findings, output
from flowlake.cli import cli
from flowlake.cli.serve import serve
from flowlake.engine.duckdb import connect
from flowlake.generate import generate, generate_live
from flowlake.incidents import RULE_INPUTS, inject
from flowlake.ingest import ingest
from flowlake.lake.store import Lake
from flowlake.sources.local import local_objects
from flowlake.timerange import TimeRange

log = logging.getLogger(__name__)
SEED = 1
DAYS = 35
"""Five weeks: enough history for forecasts and their backtests (docs/forecast.md)."""
EXAMPLES = (
    ("Top talkers, last 24 hours",
     "select srcaddr, sum(bytes) as bytes, sum(packets) as packets from flows "
     "where log_status = 'OK' group by 1 order by 2 desc limit 5"),
    ("Rejected traffic by destination port",
     "select dstport, count(*) as flows from flows where action = 'REJECT' group by 1 order by 2 desc limit 5"),
)


@cli.command("demo")
@click.option("--records", type=click.IntRange(1000), default=3_000_000, show_default=True,
              help="Records of history (five weeks, ending now).")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Where the generated objects and the lake go.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--live-every", type=click.FloatRange(0.5), default=5.0, show_default=True, metavar="SECONDS",
              help="How often fresh live traffic is delivered and ingested.")
@click.option("--serve/--no-serve", "serving", default=True, show_default=True,
              help="Serve the dashboard with live traffic, or only build the lake and show example answers.")
def demo_command(records: int, folder: Path, port: int, live_every: float, serving: bool) -> None:
    """Generate five weeks of realistic flow logs (with scans, rejects and security incidents in them), ingest
    them, store the last day's findings, and serve the dashboard on http://127.0.0.1:PORT while fresh traffic
    keeps arriving."""
    data, lake = folder / "data", Lake(folder / "lake")
    shutil.rmtree(folder, ignore_errors=True)
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    made = generate(data / "history", records=records, seed=SEED, days=DAYS, end=end)
    inject(data / "history", SEED, end)
    click.echo(f"generated {made.records:,} records in {made.objects:,} objects under {data}/history, "
               "and security incidents in the last day", err=True)
    click.echo(f"and {cases.write(data / 'cases', end):,} records of traffic for `flowlake explain` to diagnose "
               f"(docs/explain.md) under {data}/cases", err=True)
    click.echo(ingest(lake, local_objects([str(data / "history"), str(data / "cases")])).summary(), err=True)
    click.echo(f"stored {_find(lake, data / 'history' / RULE_INPUTS):,} findings of the last 24 hours"
               f" (flowlake findings --lake {lake.root})", err=True)
    if not serving:
        con, _ = connect(lake, TimeRange.from_options(since="24h"))
        for title, sql in EXAMPLES:
            click.echo(f"\n{title}:\n  flowlake query --lake {lake.root} --since 24h \"{sql}\"")
            output.write(con.sql(sql).to_arrow_reader(), "table")
        click.echo(f"\nTry: flowlake serve --lake {lake.root}")
        return
    per_tick = max(1, round(records / (DAYS * 86_400) * live_every))  # the history's own rate
    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(lake, data / "live", per_tick, live_every, stop),
                              name="live-feed", daemon=True)
    feeder.start()
    try:
        serve(lake.root, "127.0.0.1", port, None)
    finally:
        stop.set()
        feeder.join(timeout=30)


def _find(lake: Lake, inputs: Path) -> int:
    """Every rule over the last day, with the threat lists and intents the incidents came with; stored."""
    given = findings.Inputs.read([inputs / "c2.txt", inputs / "tor-exits.csv"], inputs / "intents.yaml")
    con = findings.find(lake, TimeRange.from_options(since="24h"), dt.timedelta(days=7),
                        list(findings.load_rules(lake, []).values()), given)
    return con.execute(f"select count(*) from {findings.FOUND}").fetchall()[0][0]


def _feed(lake: Lake, folder: Path, per_tick: int, every: float, stop: threading.Event) -> None:
    """Deliver a small object of fresh traffic and ingest it, through the normal path, until stopped."""
    while not stop.wait(every):
        try:
            generate_live(folder, records=per_tick, seed=SEED, at=dt.datetime.now(dt.UTC))
            ingest(lake, local_objects([str(folder)]))
        except Exception:  # the demo goes on serving what it has
            log.exception("live feed failed")
