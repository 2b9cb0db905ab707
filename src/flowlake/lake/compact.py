"""Compaction: many small files in a partition become a few large ones.

AWS delivers an object every five minutes per flow log, and a live `watch` commits small
batches, so partitions fill up with small files that slow every scan. Compaction streams
the small files of a partition into files of about TARGET_ROWS rows and swaps them in one
ledger commit per partition; the replaced files are deleted after the grace period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from flowlake.lake.ledger import Commit, FileEntry
from flowlake.lake.store import LakeWriter

log = logging.getLogger(__name__)

TARGET_ROWS = 4_000_000
"""About 60-100 MB of Parquet: large enough for fast scans, small enough to rewrite quickly."""

SMALL_FRACTION = 0.0625
"""A file under this share of TARGET_ROWS (250,000 rows) is small and worth merging: what a live
trickle of five-minute objects leaves. Bigger files are left alone; rewriting them costs more
than the scans they would save."""


@dataclass
class CompactStats:
    partitions: int = 0
    files_in: int = 0
    files_out: int = 0
    rows: int = 0


def compact(writer: LakeWriter, target_rows: int = TARGET_ROWS) -> CompactStats:
    """Merge the small files of every partition that has two or more."""
    stats = CompactStats()
    by_date: dict[str, list[FileEntry]] = defaultdict(list)
    for entry in writer.ledger.live_files():
        if entry.rows < target_rows * SMALL_FRACTION:
            by_date[entry.date].append(entry)
    for date, small in sorted(by_date.items()):
        if len(small) < 2:
            continue
        change = Commit()
        extra = tuple(sorted({name for f in small for name in f.extra}))
        writer.write_stream(dt.date.fromisoformat(date), _batches(writer, small), change, extra, target_rows)
        change.removed += [f.path for f in small]
        writer.ledger.commit(change)
        stats.partitions += 1
        stats.files_in += len(small)
        stats.files_out += len(change.added)
        stats.rows += sum(f.rows for f in small)
        log.info("compacted %s: %d files into %d", date, len(small), len(change.added))
    writer.purge()
    return stats


def _batches(writer: LakeWriter, files: list[FileEntry]) -> Iterator[pa.RecordBatch]:
    for entry in files:
        yield from writer.read_file(entry.path)
