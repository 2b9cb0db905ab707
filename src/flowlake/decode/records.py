"""What a decoder returns: typed tables of good records and the rejected lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from flowlake.schema import BY_AWS, TGW_MARKERS

HINT_INTERFACE = "_hint_interface_id"
HINT_START = "_hint_start"
"""Columns carrying what a transport knows about a record (CloudWatch's log stream and
event timestamp); `conform` uses them where the record itself lacks the field."""


@dataclass(frozen=True)
class Reject:
    """One line that could not be read, kept for the quarantine."""

    line: int
    """1-based line (or row) within the object; 0 when the whole object is unreadable."""
    reason: str
    text: str


@dataclass
class Decoded:
    """Good records of one object (as typed tables with lake column names) and its rejects."""

    tables: list[pa.Table] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    unknown_fields: set[str] = field(default_factory=set)
    error: str | None = None
    """An object-level problem (corrupt or truncated compression); what could be read is still kept."""

    @property
    def records(self) -> int:
        return sum(t.num_rows for t in self.tables)

    def add(self, table: pa.Table, layout: tuple[str, ...], kind: str) -> None:
        """Keep a table of good records decoded with `layout` (AWS field names)."""
        if table.num_rows == 0:
            return
        self.tables.append(table)
        self.formats[format_label(layout, kind)] += table.num_rows
        self.unknown_fields.update(name for name in layout if name not in BY_AWS and not name.startswith("_"))

    def merge(self, other: Decoded) -> None:
        self.tables += other.tables
        self.rejects += other.rejects
        self.formats.update(other.formats)
        self.unknown_fields |= other.unknown_fields
        self.error = self.error or other.error


def format_label(layout: tuple[str, ...], kind: str) -> str:
    """A short name for a record format: `text v5`, `tgw v6`, `parquet v3`."""
    known = [BY_AWS[name].version for name in layout if name in BY_AWS]
    version = max(known, default=2)
    if TGW_MARKERS.intersection(layout):
        return f"{kind} tgw v{max(version, 6)}"
    return f"{kind} v{version}"
