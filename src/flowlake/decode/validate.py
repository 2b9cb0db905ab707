"""Typing and validation rules for decoded records, written once and run vectorised.

Both decode paths end here: the fast path (Arrow's typed CSV reader) calls `check`
on its typed table, the line-by-line path calls `to_typed` and then `check`. A rule
costs one Arrow kernel over a column; reasons are only formatted for the rare bad rows.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowlake.schema import BY_COLUMN

INT_MAX: dict[str, int] = {
    "version": 255,
    "srcport": 65535,
    "dstport": 65535,
    "protocol": 255,
    "tcp_flags": 255,
    "traffic_path": 255,
    "encryption_status": 255,
}
"""Upper bounds of the small integer fields; every other integer is a non-negative int64."""

LATEST_TIME = 4_102_444_800
"""2100-01-01 in Unix seconds: a `start` or `end` beyond it is not a time in seconds (often milliseconds)."""

ENUMS: dict[str, frozenset[str]] = {
    "action": frozenset({"ACCEPT", "REJECT"}),
    "log_status": frozenset({"OK", "NODATA", "SKIPDATA"}),
}

ADDRESS_COLUMNS = ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr")

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"^{_OCTET}(\.{_OCTET}){{3}}$"
IPV6 = r"^[0-9A-Fa-f]{0,4}(:[0-9A-Fa-f]{0,4}){2,7}$|^[0-9A-Fa-f:]*:(\d{1,3}\.){3}\d{1,3}$"
INTEGER = r"^-?[0-9]{1,18}$"


def to_typed(table: pa.Table) -> tuple[pa.Table, dict[int, str]]:
    """Cast a table of strings to the catalog's types; returns the table and bad rows with reasons.

    Values that are not integers become NULL in the typed table and are reported,
    so the caller can drop those rows and quarantine them.
    """
    bad: dict[int, str] = {}
    columns = []
    for name in table.column_names:
        col = table[name]
        field = BY_COLUMN.get(name)
        if field is None or not pa.types.is_integer(field.type):
            columns.append(col)
            continue
        ok = pc.or_kleene(pc.is_null(col), pc.match_substring_regex(col, INTEGER))
        if not pc.all(ok).as_py():
            _note(bad, table, name, pc.invert(ok), "is not a number")
            col = pc.if_else(ok, col, pa.scalar(None, pa.string()))
        columns.append(pc.cast(col, pa.int64()))
    return pa.table(columns, names=table.column_names), bad


def check(table: pa.Table) -> dict[int, str]:
    """Rows that break a rule, with the first reason for each; empty when all rows are good.

    Each rule first asks one cheap question of the whole column (its min and max, its distinct
    values, whether all match); only a column that fails it is searched row by row.
    """
    bad: dict[int, str] = {}
    names = set(table.column_names)
    for name in sorted(n for n in names if _is_int(n) and pa.types.is_integer(table[n].type)):
        col = table[name]
        bounds = pc.min_max(col).as_py()
        if bounds["min"] is None:
            continue
        if bounds["min"] < 0:
            _note(bad, table, name, pc.less(col, 0), "is negative")
        limit = INT_MAX.get(name)
        if limit is not None and bounds["max"] > limit:
            _note(bad, table, name, pc.greater(col, limit), f"is above {limit}")
        if name in ("start", "end") and bounds["max"] > LATEST_TIME:
            _note(bad, table, name, pc.greater(col, LATEST_TIME), "is not a Unix time in seconds (after 2100)")
    for name in sorted(names & ENUMS.keys()):
        col = table[name]
        allowed = ENUMS[name]
        if not set(pc.unique(col).to_pylist()) <= allowed | {None}:
            wrong = pc.and_kleene(pc.is_valid(col), pc.invert(pc.is_in(col, pa.array(sorted(allowed)))))
            _note(bad, table, name, wrong, "is not one of " + "/".join(sorted(allowed)))
    for name in sorted(names.intersection(ADDRESS_COLUMNS)):
        col = table[name]
        distinct = pc.unique(col)  # addresses repeat: check each one once
        v4 = pc.match_substring_regex(distinct, IPV4)
        others = distinct.filter(pc.invert(v4))
        if len(others) == 0 or pc.all(pc.match_substring_regex(others, IPV6)).as_py():
            continue
        ok = pc.or_kleene(pc.match_substring_regex(col, IPV4), pc.match_substring_regex(col, IPV6))
        _note(bad, table, name, pc.invert(ok), "is not an IP address")
    if {"start", "end"} <= names:
        reversed_ = pc.greater(table["start"], table["end"])
        if pc.any(reversed_).as_py():
            _note(bad, table, "start", reversed_, "is after end")
    return bad


def _is_int(name: str) -> bool:
    field = BY_COLUMN.get(name)
    return field is not None and pa.types.is_integer(field.type)


def _note(bad: dict[int, str], table: pa.Table, name: str, mask: pa.ChunkedArray, what: str) -> None:
    """Record a reason for each row in `mask` that has none yet (formatting only the bad rows)."""
    indices = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    values = table[name].take(indices).to_pylist()
    for row, value in zip(indices, values, strict=True):
        bad.setdefault(row, f"{name.replace('_', '-')} {_show(value)} {what}")


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def validate(strings: pa.Table) -> tuple[pa.Table, dict[int, str]]:
    """Type a table of strings and check it: the good rows, and each bad row's reason by index."""
    typed, bad = to_typed(strings)
    for row, reason in check(typed).items():
        bad.setdefault(row, reason)
    if bad:
        typed = typed.filter(pa.array([i not in bad for i in range(typed.num_rows)]))
    return typed, bad
