"""Shape decoded records into lake rows: catalog types, derived columns, and what the key knows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowlake.decode.records import HINT_INTERFACE, HINT_START
from flowlake.schema import BY_COLUMN, PARTITION_COLUMN

TIMESTAMP = pa.timestamp("s", tz="UTC")
NULL_BLOCK = 1 << 18


@dataclass(frozen=True)
class Provenance:
    """What the delivery object's key and the ledger say about its records."""

    object_id: int
    fallback_date: dt.date
    """Partition for records with no `start`: the key's date, else the object's modification date."""
    account_id: str | None = None
    region: str | None = None
    flow_log_id: str | None = None


def conform(tables: list[pa.Table], origins: list[Provenance]) -> pa.Table:
    """Records of one or more objects (one table each, all with the same columns) as lake rows:
    the record's own columns in catalog types, the derived ones, and `date` (the partition).

    Columns the records lack are not materialised here: the writer adds them as shared all-null
    blocks, so a v2 record costs no memory for v8 columns.
    """
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    counts = [t.num_rows for t in tables]
    n = table.num_rows
    values: dict[str, pa.ChunkedArray | pa.Array] = {}
    for name in table.column_names:
        if name.startswith("_hint_"):
            continue
        field = BY_COLUMN.get(name)
        column = table[name]
        typ = field.type if field else pa.string()
        values[name] = column if column.type == typ else pc.cast(column, typ)
    if HINT_INTERFACE in table.column_names:
        values["interface_id"] = _coalesce(values.get("interface_id"), table[HINT_INTERFACE])
    if HINT_START in table.column_names:
        values["start"] = _coalesce(values.get("start"), pc.cast(table[HINT_START], pa.int64()))
    for name in ("account_id", "region"):
        known = [getattr(o, name) for o in origins]
        if any(k is not None for k in known):
            values[name] = _coalesce(values.get(name), _per_row(known, counts, pa.string()))
    start, end = values.get("start"), values.get("end")
    values["start_time"] = pc.cast(start, TIMESTAMP) if start is not None else nulls(n, TIMESTAMP)
    values["end_time"] = pc.cast(end, TIMESTAMP) if end is not None else nulls(n, TIMESTAMP)
    values["flow_log_id"] = _per_row([o.flow_log_id for o in origins], counts, pa.string())
    values["object_id"] = _per_row([o.object_id for o in origins], counts, pa.int64())
    fallback = _per_row([o.fallback_date for o in origins], counts, pa.date32())
    values[PARTITION_COLUMN] = pc.coalesce(pc.cast(values["start_time"], pa.date32()), fallback)
    return pa.table(values)


def by_date(table: pa.Table) -> list[pa.Table]:
    """Split conformed rows by partition, so the writer never has to (it runs on one thread)."""
    dates = table[PARTITION_COLUMN]
    unique = pc.unique(dates)
    if len(unique) <= 1:
        return [table]
    return [table.filter(pc.equal(dates, day)) for day in unique]


def _per_row(values: list, counts: list[int], typ: pa.DataType) -> pa.Array:
    """One value per object, repeated for each of its rows."""
    if len(values) == 1:
        return pa.repeat(pa.scalar(values[0], typ), counts[0])
    return pa.array(values, typ).take(pa.array(np.repeat(np.arange(len(values)), counts)))


def to_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns; absent ones are all-null (sharing one buffer)."""
    if table.schema.equals(schema):
        return table
    have = set(table.column_names)
    columns = [table[f.name] if f.name in have else nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def nulls(n: int, typ: pa.DataType) -> pa.ChunkedArray:
    """n nulls of a type, as slices of one cached block: no allocation per column or per batch."""
    block = _null_block(typ)
    chunks = [block] * (n // NULL_BLOCK) + ([block.slice(0, n % NULL_BLOCK)] if n % NULL_BLOCK else [])
    return pa.chunked_array(chunks, typ)


@lru_cache(maxsize=64)
def _null_block(typ: pa.DataType) -> pa.Array:
    return pa.nulls(NULL_BLOCK, typ)


def _coalesce(value: pa.ChunkedArray | pa.Array | None, fallback: pa.ChunkedArray | pa.Array):
    return fallback if value is None else pc.coalesce(value, fallback)
