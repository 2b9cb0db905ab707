"""Results out: `--format table|csv|json|jsonl|parquet`, streamed batch by batch.

json is one array of row objects; jsonl one object per line; parquet needs `--output`
or a pipe. Only the table format holds rows in memory (it has to measure columns), and
it shows byte and packet counts in human units.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("table", "csv", "json", "jsonl", "parquet")
TABLE_MAX_ROWS = 10_000


def write(reader: pa.RecordBatchReader, fmt: str, out: BinaryIO | None = None) -> int:
    """Write every batch of `reader` in `fmt` to `out` (stdout by default); returns the row count."""
    out = out or sys.stdout.buffer
    if fmt == "csv":
        return _csv(reader, out)
    if fmt == "json":
        return _json(reader, out, array=True)
    if fmt == "jsonl":
        return _json(reader, out, array=False)
    if fmt == "parquet":
        return _parquet(reader, out)
    if fmt == "table":
        return _table(reader, out)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def _csv(reader: pa.RecordBatchReader, out: BinaryIO) -> int:
    rows = 0
    with pacsv.CSVWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    out.flush()
    return rows


def _json(reader: pa.RecordBatchReader, out: BinaryIO, array: bool) -> int:
    rows = 0
    if array:
        out.write(b"[")
    for row in _rows(reader):
        if array:
            out.write(b",\n" if rows else b"\n")
        out.write(json.dumps(row, default=jsonable).encode())
        if not array:
            out.write(b"\n")
        rows += 1
    if array:
        out.write(b"\n]\n" if rows else b"]\n")
    out.flush()
    return rows


def _parquet(reader: pa.RecordBatchReader, out: BinaryIO) -> int:
    rows = 0
    with pq.ParquetWriter(out, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    out.flush()
    return rows


def _table(reader: pa.RecordBatchReader, out: BinaryIO) -> int:
    from rich.console import Console
    from rich.table import Table

    names = reader.schema.names
    table = Table(*names, show_lines=False, header_style="bold")
    for field in reader.schema:
        if pa.types.is_integer(field.type) or pa.types.is_floating(field.type) or pa.types.is_decimal(field.type):
            table.columns[names.index(field.name)].justify = "right"
    rows = 0
    for row in _rows(reader):
        rows += 1
        if rows <= TABLE_MAX_ROWS:
            table.add_row(*(human(name, value) for name, value in row.items()))
    console = Console(file=_TextOut(out), width=200 if not sys.stdout.isatty() else None)
    console.print(table)
    if rows > TABLE_MAX_ROWS:
        console.print(f"({rows - TABLE_MAX_ROWS:,} more rows not shown; use --format csv or --limit)")
    console.print(f"{rows:,} row{'s' if rows != 1 else ''}", style="dim")
    return rows


def human(name: str, value: object) -> str:
    """A cell as people read it: byte counts in KB/MB/GB, big counts with separators."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | decimal.Decimal) and "bytes" in name.lower():
        return human_bytes(float(value))
    if isinstance(value, decimal.Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, int):
        plain = name.endswith(("port", "_id", "start", "end", "version"))
        return str(value) if plain or abs(value) < 10_000 else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def human_bytes(value: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _rows(reader: pa.RecordBatchReader) -> Iterator[dict]:
    for batch in reader:
        yield from batch.to_pylist()


def jsonable(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


class _TextOut:
    """Lets rich write text to a binary stream."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text.encode())
        return len(text)

    def flush(self) -> None:
        self.out.flush()
