"""`flowlake demo`: realistic data, generated and ingested, in one command."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import click

from flowlake import output
from flowlake.cli import cli
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.ingest import ingest
from flowlake.lake.store import Lake
from flowlake.sources.local import local_objects
from flowlake.timerange import TimeRange

EXAMPLES = (
    ("Top talkers, last 24 hours",
     "select srcaddr, sum(bytes) as bytes, sum(packets) as packets from flows "
     "where log_status = 'OK' group by 1 order by 2 desc limit 5"),
    ("Rejected traffic by destination port",
     "select dstport, count(*) as flows from flows where action = 'REJECT' group by 1 order by 2 desc limit 5"),
)


@cli.command("demo")
@click.option("--records", type=click.IntRange(1000), default=500_000, show_default=True)
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="Where the generated objects and the lake go.")
def demo_command(records: int, folder: Path) -> None:
    """Generate a week of realistic flow logs, ingest them, and show what the lake answers."""
    data, lake = folder / "data", folder / "lake"
    shutil.rmtree(folder, ignore_errors=True)
    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    made = generate(data, records=records, seed=1, days=7, end=end)
    click.echo(f"generated {made.records:,} records in {made.objects:,} objects under {data}/AWSLogs")
    stats = ingest(Lake(lake), local_objects([str(data)]))
    click.echo(stats.summary())
    con, _ = connect(Lake(lake), TimeRange.from_options(since="24h"))
    for title, sql in EXAMPLES:
        click.echo(f"\n{title}:\n  flowlake query --lake {lake} --since 24h \"{sql}\"")
        output.write(con.sql(sql).to_arrow_reader(), "table")
    click.echo(f"\nTry: flowlake status --lake {lake}")
