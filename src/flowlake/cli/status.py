"""`flowlake status` and `flowlake quarantine`: what is in the lake, and what was set aside."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import click
import pyarrow as pa

from flowlake.cli import cli, lake_option, open_lake, output_options, time_options
from flowlake.cli.query import emit
from flowlake.engine.duckdb import connect
from flowlake.lake.store import Lake
from flowlake.output import human_bytes
from flowlake.timerange import TimeRange
from flowlake.weblogs import WEB_LOGS_DIR


def lake_status(lake: Lake, when: TimeRange | None = None) -> dict:
    """Everything `status` reports, as one JSON-ready dict; `when` limits what is said of the records."""
    ledger = lake.reader()
    try:
        flows = f"location not like '{WEB_LOGS_DIR}:%'"  # web-log files are ledger objects too
        objects = dict(ledger.query(f"select result, count(*) from objects where {flows} group by result"))
        records, rejected = ledger.query(
            f"select coalesce(sum(records), 0), coalesce(sum(rejected), 0) from objects where {flows}")[0]
        web = ledger.query(f"select count(*), coalesce(sum(records), 0) from objects where not ({flows})")[0]
        files = ledger.live_files()
        formats: Counter[str] = Counter()
        unknown: set[str] = set()
        for fmt_json, unknown_json in ledger.query(f"select formats, unknown_fields from objects where {flows}"):
            formats.update(json.loads(fmt_json or "{}"))
            unknown.update(json.loads(unknown_json or "[]"))
        reasons = Counter()
        for (reason,) in ledger.query("select reason from quarantine"):
            reasons[re.sub(r"'[^']*'|\b\d[\d,.]*\b", "…", reason)] += 1
        failed = [loc for (loc,) in ledger.query("select location from objects where result = 'failed' limit 20")]
        version = ledger.version()
        watch = json.loads(ledger.meta("watch") or "null")
    finally:
        ledger.close()
    con, _ = connect(lake, when)
    row = con.execute("""
        select min(start_time), max(start_time), count(*) filter (where log_status = 'NODATA'),
               count(*) filter (where log_status = 'SKIPDATA'),
               list(distinct account_id order by account_id) filter (where account_id is not null),
               list(distinct region order by region) filter (where region is not null), count(*)
        from flows""").fetchone()
    return {
        "lake": str(lake.root),
        "version": version,
        "objects": sum(objects.values()),
        "objects_by_result": objects,
        "records": records,
        "rows_in_lake": sum(f.rows for f in files),
        "rows_in_range": row[6],
        "partitions": len({f.date for f in files}),
        "files": len(files),
        "bytes_on_disk": sum(f.bytes for f in files),
        "time_range": [row[0].isoformat() if row[0] else None, row[1].isoformat() if row[1] else None],
        "accounts": row[4] or [],
        "regions": row[5] or [],
        "formats": dict(formats.most_common()),
        "unknown_fields": sorted(unknown),
        "web_logs": {"files": web[0], "records": web[1]},
        "watch": watch,
        "nodata": row[2],
        "skipdata": row[3],
        "quarantine": {"lines": rejected, "kept": sum(reasons.values()),
                       "reasons": dict(reasons.most_common(10)), "failed_objects": failed},
    }


@cli.command("status")
@lake_option
@time_options
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def status_command(lake: Path, when: TimeRange, fmt: str) -> None:
    """Objects, records, partitions, size, time range, accounts, regions, formats, gaps, quarantine.

    A time range limits what is said of the records (their time range, accounts, regions, gaps).
    """
    status = lake_status(open_lake(lake), when)
    if fmt == "json":
        click.echo(json.dumps(status, indent=2))
        return
    q = status["quarantine"]
    lines = [
        ("lake", status["lake"]),
        ("objects", f"{status['objects']:,} " + _counts(status["objects_by_result"])),
        ("records", f"{status['rows_in_lake']:,}" + (f" ({status['rows_in_range']:,} in the range)" if when else "")),
        ("partitions", f"{status['partitions']:,} ({status['files']:,} files, "
                       f"{human_bytes(status['bytes_on_disk'])} on disk)"),
        ("time range", " to ".join(t or "-" for t in status["time_range"])),
        ("accounts", ", ".join(status["accounts"]) or "-"),
        ("regions", ", ".join(status["regions"]) or "-"),
        ("formats", _counts(status["formats"]) or "-"),
        ("NODATA / SKIPDATA", f"{status['nodata']:,} / {status['skipdata']:,}"),
        ("quarantine", f"{q['lines']:,} lines rejected" + (f"; {len(q['failed_objects'])} objects failed"
                                                            if q["failed_objects"] else "")),
    ]
    if status["watch"]:
        w = status["watch"]
        lag = f", newest record {w['lag_seconds']:,}s old" if w["lag_seconds"] is not None else ""
        lines.append(("watch", f"last batch {w['last_success']} ({w['records']:,} records{lag})"))
    web = status["web_logs"]
    if web["files"]:
        lines.append(("web logs", f"{web['records']:,} requests from {web['files']:,} files"))
    if status["unknown_fields"]:
        lines.append(("unknown fields", ", ".join(status["unknown_fields"])))
    lines += [("  " + reason, f"{n:,}") for reason, n in q["reasons"].items()]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key:<{width}}  {value}")


def _counts(counts: dict) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in counts.items())


@cli.command("quarantine")
@lake_option
@output_options()
def quarantine_command(lake: Path, fmt: str, output: Path | None) -> None:
    """The rejected lines: object, line number, reason and text."""
    ledger = open_lake(lake).reader()
    try:
        rows = ledger.query("select o.location, q.line, q.reason, q.text from quarantine q"
                            " join objects o on o.id = q.object_id order by o.location, q.line")
    finally:
        ledger.close()
    names = ["object", "line", "reason", "text"]
    table = pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)},
                     schema=pa.schema([(n, pa.int64() if n == "line" else pa.string()) for n in names]))
    emit(pa.RecordBatchReader.from_batches(table.schema, table.to_batches()), fmt, output)
