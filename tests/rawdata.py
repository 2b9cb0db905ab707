"""Generated flow logs read back independently of flowlake: the truth tests compare answers with."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

INTEGERS = {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp_flags",
            "traffic_path"}


class Row(dict):
    """One raw record, keyed by lake column name; a field the record lacks reads as None (NULL)."""

    def __missing__(self, key: str) -> None:
        return None


def read_raw(root: Path) -> list[Row]:
    """Every record of every generated object, with the key's account, region and flow-log id."""
    records = []
    for path in sorted(root.rglob("*.log.*")):
        account, _, region, flow_log_id = path.name.split("_")[:4]
        rows = pq.read_table(path).to_pylist() if path.name.endswith(".parquet") else _text_rows(path)
        for fields in rows:
            row = Row()
            for name, value in fields.items():
                column = name.replace("-", "_")
                row[column] = None if value in (None, "-") else int(value) if column in INTEGERS else value
            row["account_id"] = row["account_id"] or account
            row["region"] = row["region"] or region
            row["flow_log_id"] = flow_log_id
            row["start_time"], row["end_time"] = utc(row["start"]), utc(row["end"])
            records.append(row)
    return records


def _text_rows(path: Path) -> Iterator[dict[str, str]]:
    """Space-separated records mapped by the header line."""
    header: list[str] = []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            tokens = line.split()
            if tokens and not tokens[0].isdigit():
                header = tokens
            elif tokens:
                yield dict(zip(header, tokens, strict=True))


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
