"""AWS Parquet delivery objects (and other Parquet exports of flow logs).

AWS writes underscored column names with INT32/INT64/STRING types; other writers use
strings for everything. Both go through the same typing and checks as text, one row
group at a time so a large object never sits in memory whole.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowlake.decode.records import Decoded, Reject
from flowlake.decode.validate import validate
from flowlake.schema import column_name

PARQUET_MAGIC = b"PAR1"
NULL_TOKENS = ("-", "None")
"""`-` is AWS's NULL; `None` is what pandas writes for a missing value in a string column."""


def is_parquet(data: bytes) -> bool:
    return data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC


def decode_parquet(data: bytes) -> Decoded:
    out = Decoded()
    try:
        reader = pq.ParquetFile(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        out.error = f"unreadable Parquet: {exc}"
        out.rejects.append(Reject(0, out.error, ""))
        return out
    row0 = 0
    for group in range(reader.num_row_groups):
        try:
            table = reader.read_row_group(group)
        except (pa.ArrowException, OSError) as exc:
            rows = reader.metadata.row_group(group).num_rows
            out.error = f"unreadable Parquet row group {group}: {exc}"
            out.rejects.append(Reject(row0 + 1, f"{out.error} ({rows} rows lost)", ""))
            row0 += rows
            continue
        _add_group(table, row0, out)
        row0 += table.num_rows
    return out


def _add_group(table: pa.Table, row0: int, out: Decoded) -> None:
    """Type one row group like text: every column through strings, so INT32, INT64 and
    string-typed exports all land on the catalog's types with the same checks."""
    names = [column_name(n) for n in table.column_names]
    columns = []
    for col in table.columns:
        col = pc.cast(col, pa.string())
        columns.append(pc.if_else(pc.is_in(col, pa.array(NULL_TOKENS)), pa.scalar(None, pa.string()), col))
    strings = pa.table(columns, names=names)
    typed, bad = validate(strings)
    for row, reason in sorted(bad.items()):
        out.rejects.append(Reject(row0 + row + 1, reason, str(strings.slice(row, 1).to_pylist()[0])[:500]))
    out.add(typed, tuple(n.replace("_", "-") for n in names), "parquet")
