"""`flowlake generate`: realistic synthetic flow logs in AWS's S3 layout."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

import click

from flowlake.cli import UsageProblem, cli
from flowlake.timerange import parse_instant


@cli.command("generate")
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--records", type=click.IntRange(1), default=100_000, show_default=True, help="Exact record count.")
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same files.")
@click.option("--days", type=click.IntRange(1), default=7, show_default=True, help="Days of history.")
@click.option("--end", metavar="TIME", help="End of the history (UTC; default: this hour).")
@click.option("--records-per-object", type=click.IntRange(1), default=3000, show_default=True,
              help="About how many records each delivery object holds.")
@click.option("--formats", default="v2-text,v5-text,v8-text,parquet,tgw", show_default=True,
              help="Comma-separated flow log formats to write.")
@click.option("--incidents", is_flag=True,
              help="Also inject security incidents of every kind `flowlake findings` detects, with their ground "
                   "truth (_incidents.json), threat lists and an intents file.")
def generate_command(outdir: Path, records: int, seed: int, days: int, end: str | None,
                     records_per_object: int, formats: str, incidents: bool) -> None:
    """Write synthetic flow logs exactly as AWS lays them out in S3."""
    from flowlake.generate import generate

    try:
        end_time = parse_instant(end) if end else dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    except ValueError as exc:
        raise UsageProblem(str(exc)) from None
    stats = generate(outdir, records=records, seed=seed, days=days, end=end_time,
                     records_per_object=records_per_object, formats=tuple(formats.split(",")))
    if incidents:
        from flowlake.incidents import inject

        inject(outdir, seed, end_time)
    click.echo(json.dumps(asdict(stats), default=lambda v: v.isoformat() if isinstance(v, dt.datetime) else v))
