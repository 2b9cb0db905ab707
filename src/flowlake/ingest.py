"""Ingest: delivery objects from any source into the lake, each exactly once.

Stages: the source lists objects; the ledger skips those already ingested unchanged;
worker threads read, decode and conform objects in parallel (gzip, CSV parsing and Parquet
all release the GIL); the writer gathers them into batches and commits each batch (its
files, its objects, its quarantined lines) in one ledger transaction; compaction follows.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from flowlake.decode import Decoded, Reject, decode_object
from flowlake.decode.text import is_header
from flowlake.lake.compact import CompactStats, compact
from flowlake.lake.conform import Provenance, conform
from flowlake.lake.ledger import Commit, ObjectEntry
from flowlake.lake.store import Lake, LakeWriter
from flowlake.sources.local import SourceObject

log = logging.getLogger(__name__)

BATCH_ROWS = int(os.environ.get("FLOWLAKE_BATCH_ROWS", "1000000"))
"""Records gathered before a commit: big files for big inputs, bounded memory for any input
(env FLOWLAKE_BATCH_ROWS; smaller batches commit more often)."""
BATCH_OBJECTS = 2_000
"""Objects gathered before a commit, so empty or tiny objects still commit regularly."""
QUARANTINE_PER_OBJECT = 10_000
"""Rejected lines kept verbatim per object; beyond that they are only counted."""


@dataclass
class IngestStats:
    objects: int = 0
    ingested: int = 0
    unchanged: int = 0
    failed: int = 0
    records: int = 0
    rejected: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    formats: Counter[str] = field(default_factory=Counter)
    unknown_fields: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    compaction: CompactStats = field(default_factory=CompactStats)

    @property
    def exit_code(self) -> int:
        """0 when everything was read, 1 when any line was rejected or any object failed."""
        return 1 if self.rejected or self.failed else 0

    def summary(self) -> str:
        rate = self.records / self.seconds if self.seconds else 0.0
        text = (f"ingested {self.records:,} records from {self.ingested:,} objects "
                f"({self.unchanged:,} unchanged, {self.failed:,} failed), rejected {self.rejected:,} lines "
                f"in {self.seconds:.1f}s ({rate:,.0f} records/s)")
        if self.unknown_fields:
            text += f"; kept unknown fields as text columns: {', '.join(sorted(self.unknown_fields))}"
        return text

    def as_dict(self) -> dict:
        return {
            "objects": self.objects, "ingested": self.ingested, "unchanged": self.unchanged,
            "failed": self.failed, "records": self.records, "rejected": self.rejected,
            "bytes_read": self.bytes_read, "seconds": round(self.seconds, 3),
            "records_per_second": round(self.records / self.seconds) if self.seconds else None,
            "formats": dict(self.formats), "unknown_fields": sorted(self.unknown_fields),
            "problems": self.problems[:100],
            "compaction": vars(self.compaction),
        }


@dataclass
class _Done:
    """One object read and decoded by a worker, waiting for its batch to commit."""

    entry: ObjectEntry
    tables: list[pa.Table]
    rejects: list[Reject]
    replaces: bool
    unknown: set[str]
    formats: Counter[str]


def ingest(
    lake: Lake,
    objects: Iterable[SourceObject],
    fields: tuple[str, ...] | None = None,
    workers: int = 2,
    do_compact: bool = True,
    progress: Callable[[IngestStats], None] | None = None,
) -> IngestStats:
    """Ingest new and changed objects; see `IngestStats.exit_code` for the outcome."""
    stats = IngestStats()
    began = time.perf_counter()
    with lake.writer() as writer, ThreadPoolExecutor(max(1, workers)) as pool:
        next_id = writer.ledger.next_object_id()
        in_flight: deque[Future[_Done]] = deque()
        batch: list[_Done] = []
        batch_rows = 0

        def settle(done: _Done) -> None:
            nonlocal batch_rows
            batch.append(done)
            batch_rows += sum(t.num_rows for t in done.tables)
            if batch_rows >= BATCH_ROWS or len(batch) >= BATCH_OBJECTS:
                _commit(writer, batch, stats)
                batch.clear()
                batch_rows = 0
            if progress:
                progress(stats)

        for obj in objects:
            stats.objects += 1
            previous = writer.ledger.lookup(obj.location)
            if previous and obj.replayable and previous.result != "failed" and _same(previous, obj):
                stats.unchanged += 1
                continue
            object_id = previous.id if previous else next_id
            next_id += previous is None
            replaces = previous is not None and previous.records > 0
            in_flight.append(pool.submit(_process, obj, object_id, fields, replaces))
            while len(in_flight) > 2 * workers:
                settle(in_flight.popleft().result())
        while in_flight:
            settle(in_flight.popleft().result())
        if batch:
            _commit(writer, batch, stats)
        stats.seconds = time.perf_counter() - began
        if do_compact:
            stats.compaction = compact(writer)
    stats.seconds = time.perf_counter() - began
    return stats


def _same(previous: ObjectEntry, obj: SourceObject) -> bool:
    if obj.etag is not None or previous.etag is not None:
        return obj.etag == previous.etag
    return previous.size == obj.size and previous.mtime == obj.mtime


def _process(obj: SourceObject, object_id: int, fields: tuple[str, ...] | None, replaces: bool) -> _Done:
    """Read, decode and conform one object (runs in a worker thread); a failure fails only this object."""
    try:
        return _decode(obj, object_id, fields, replaces)
    except OSError as exc:
        error = f"cannot read: {exc}"
    except Exception as exc:
        log.exception("decoding %s failed", obj.location)
        error = f"internal error while decoding: {exc!r}"
    entry = ObjectEntry(object_id, obj.location, obj.size, obj.mtime, obj.etag, 0, 0, "failed", error)
    return _Done(entry, [], [], False, set(), Counter())


def _decode(obj: SourceObject, object_id: int, fields: tuple[str, ...] | None, replaces: bool) -> _Done:
    data = obj.read()
    preamble = obj.preamble.decode("utf-8", "replace").split()
    if preamble and is_header(preamble):
        data = obj.preamble + data
    decoded: Decoded = decode_object(data, fields)
    fallback = obj.key.date or dt.datetime.fromtimestamp(obj.mtime or time.time(), dt.UTC).date()
    origin = Provenance(object_id, fallback, obj.key.account_id, obj.key.region, obj.key.flow_log_id)
    tables = [conform(t, origin) for t in decoded.tables]
    rejected = len(decoded.rejects)
    result = "partial" if rejected or decoded.error else "ok"
    if decoded.records == 0 and decoded.error:
        result = "failed" if obj.replayable else "partial"
    entry = ObjectEntry(object_id, obj.location, obj.size, obj.mtime, obj.etag, decoded.records, rejected,
                        result, decoded.error, dict(decoded.formats), tuple(sorted(decoded.unknown_fields)))
    return _Done(entry, tables, decoded.rejects, replaces, decoded.unknown_fields, decoded.formats)


def _commit(writer: LakeWriter, batch: list[_Done], stats: IngestStats) -> None:
    """One transaction: the batch's files, objects and quarantine, replacing changed objects' rows."""
    change = Commit()
    replaced = {d.entry.id for d in batch if d.replaces}
    if replaced:
        writer.drop_objects(replaced, change)
    tables = [t for d in batch for t in d.tables]
    if tables:
        writer.write(tables, change)
    for done in batch:
        change.objects.append(done.entry)
        change.quarantine += [(done.entry.id, r.line, r.reason, r.text)
                              for r in done.rejects[:QUARANTINE_PER_OBJECT]]
    writer.ledger.commit(change)
    for done in batch:
        entry = done.entry
        stats.bytes_read += entry.size or 0
        stats.records += entry.records
        stats.rejected += entry.rejected
        stats.formats.update(done.formats)
        stats.unknown_fields |= done.unknown
        if entry.result == "failed":
            stats.failed += 1
        else:
            stats.ingested += 1
        if entry.error or entry.rejected:
            reason = entry.error or done.rejects[0].reason
            stats.problems.append(f"{entry.location}: {entry.rejected} rejected; {reason}")
