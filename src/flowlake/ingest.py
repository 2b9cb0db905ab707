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
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from flowlake.decode import Reject, decode_objects
from flowlake.decode.text import is_header
from flowlake.lake.compact import CompactStats, compact
from flowlake.lake.conform import Provenance, by_date, conform
from flowlake.lake.ledger import Commit, Ledger, ObjectEntry
from flowlake.lake.store import Lake, LakeWriter
from flowlake.sources.local import SourceObject

log = logging.getLogger(__name__)

BATCH_ROWS = int(os.environ.get("FLOWLAKE_BATCH_ROWS", "3000000"))
"""Records gathered before a commit (env FLOWLAKE_BATCH_ROWS; smaller batches commit more often).
Large enough that a day of a busy flow log lands in one or two files and needs no compaction."""
BATCH_BYTES = 128 * 1024 * 1024
"""...and at most this much Arrow memory, so wide records (ECS fields) keep memory bounded."""
BATCH_OBJECTS = 2_000
"""Objects gathered before a commit, so empty or tiny objects still commit regularly."""
GROUP_OBJECTS = 256
GROUP_BYTES = 2 * 1024 * 1024
"""Small objects are decoded in groups of up to this many objects or bytes (read in one parse)."""
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

    def count(self, entry: ObjectEntry, rejects: list[Reject]) -> None:
        """Add one committed object's outcome."""
        self.bytes_read += entry.size or 0
        self.records += entry.records
        self.rejected += entry.rejected
        if entry.result == "failed":
            self.failed += 1
        else:
            self.ingested += 1
        if entry.error or entry.rejected:
            reason = entry.error or rejects[0].reason
            self.problems.append(f"{entry.location}: {entry.rejected} rejected; {reason}")

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


@dataclass(frozen=True)
class Job:
    obj: SourceObject
    object_id: int
    replaces: bool
    """The ledger already holds rows of this object (it changed): they are dropped in the same commit."""


@dataclass
class Done:
    """A group of objects read and decoded by a worker, waiting for its batch to commit."""

    entries: list[ObjectEntry] = field(default_factory=list)
    rejects: dict[int, list[Reject]] = field(default_factory=dict)
    replaces: set[int] = field(default_factory=set)
    tables: list[pa.Table] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    formats: Counter[str] = field(default_factory=Counter)
    checkpoints: dict[str, Callable[[], str]] = field(default_factory=dict)
    """The latest checkpoint of each source among these objects (objects are merged in source order)."""

    @property
    def rows(self) -> int:
        return sum(t.num_rows for t in self.tables)

    @property
    def nbytes(self) -> int:
        return sum(t.get_total_buffer_size() for t in self.tables)

    def merge(self, other: Done) -> None:
        self.entries += other.entries
        self.rejects.update(other.rejects)
        self.replaces |= other.replaces
        self.tables += other.tables
        self.unknown |= other.unknown
        self.formats.update(other.formats)
        self.checkpoints.update(other.checkpoints)


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
    with lake.writer() as writer, ThreadPoolExecutor(max(1, workers)) as pool, _Committer(writer, stats) as committer:
        known = Ledger(lake.ledger_path, readonly=True)  # lookups go on while the committer writes
        in_flight: deque[Future[Done]] = deque()
        batch = Done()

        def settle(done: Done) -> None:
            nonlocal batch
            batch.merge(done)
            if batch.rows >= BATCH_ROWS or batch.nbytes >= BATCH_BYTES or len(batch.entries) >= BATCH_OBJECTS:
                committer.submit(batch)
                batch = Done()
            if progress:
                progress(stats)

        def submit(group: list[Job]) -> None:
            in_flight.append(pool.submit(process, group, fields))
            while len(in_flight) > 2 * workers:
                settle(in_flight.popleft().result())

        for group in groups(objects, known, writer.ledger.next_object_id(), stats):
            submit(group)
        while in_flight:
            settle(in_flight.popleft().result())
        if batch.entries:
            committer.submit(batch)
        committer.wait()
        known.close()
        stats.seconds = time.perf_counter() - began
        if do_compact:
            stats.compaction = compact(writer)
    stats.seconds = time.perf_counter() - began
    return stats


class _Committer:
    """Commits batches in order, one at a time, on its own thread: decoding goes on while a batch
    is encoded and written, instead of the two taking turns."""

    def __init__(self, writer: LakeWriter, stats: IngestStats) -> None:
        self.writer, self.stats = writer, stats
        self.thread = ThreadPoolExecutor(1)
        self.pending: Future[None] | None = None

    def submit(self, batch: Done) -> None:
        self.wait()
        self.pending = self.thread.submit(commit, self.writer, batch, self.stats)

    def wait(self) -> None:
        """Block until the batch being committed is committed (re-raising its error, if any)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def __enter__(self) -> _Committer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.shutdown(wait=True)


def groups(objects: Iterable[SourceObject], known: Ledger, next_id: int, stats: IngestStats) -> Iterator[list[Job]]:
    """The new and changed objects (counting the unchanged ones in `stats`), with their ledger ids, in groups
    decoded together."""
    group: list[Job] = []
    for obj in objects:
        stats.objects += 1
        previous = known.lookup(obj.location)
        if previous and obj.replayable and previous.result != "failed" and _same(previous, obj):
            stats.unchanged += 1
            continue
        group.append(Job(obj, previous.id if previous else next_id, bool(previous and previous.records)))
        next_id += previous is None
        if len(group) >= GROUP_OBJECTS or sum(j.obj.size or 0 for j in group) >= GROUP_BYTES:
            yield group
            group = []
    if group:
        yield group


def _same(previous: ObjectEntry, obj: SourceObject) -> bool:
    if obj.etag is not None or previous.etag is not None:
        return obj.etag == previous.etag
    return previous.size == obj.size and previous.mtime == obj.mtime


def process(group: list[Job], fields: tuple[str, ...] | None) -> Done:
    """Read, decode and conform a group of objects (in a worker thread, or a Spark task). A failure fails only
    its object: if decoding the group together breaks, each object is decoded alone."""
    try:
        return _decode(group, fields)
    except Exception:
        if len(group) == 1:
            return _failed(group[0], "internal error while decoding")
        done = Done()
        for job in group:
            done.merge(process([job], fields))
        return done


def _failed(job: Job, error: str) -> Done:
    log.exception("%s: %s", job.obj.location, error)
    obj = job.obj
    return Done([ObjectEntry(job.object_id, obj.location, obj.size, obj.mtime, obj.etag, 0, 0, "failed", error)])


def _decode(group: list[Job], fields: tuple[str, ...] | None) -> Done:
    done, readable, datas = Done(), [], []
    for job in group:
        try:
            data = job.obj.read()
        except OSError as exc:
            done.merge(_failed(job, f"cannot read: {exc}"))
            continue
        preamble = job.obj.preamble.decode("utf-8", "replace").split()
        readable.append(job)
        datas.append(job.obj.preamble + data if preamble and is_header(preamble) else data)
    same_columns: dict[tuple[str, ...], tuple[list[pa.Table], list[Provenance]]] = {}
    for job, decoded in zip(readable, decode_objects(datas, fields), strict=True):
        obj = job.obj
        fallback = obj.key.date or dt.datetime.fromtimestamp(obj.mtime or time.time(), dt.UTC).date()
        origin = Provenance(job.object_id, fallback, obj.key.account_id, obj.key.region, obj.key.flow_log_id)
        for table in decoded.tables:
            tables, origins = same_columns.setdefault(tuple(table.column_names), ([], []))
            tables.append(table)
            origins.append(origin)
        rejected = len(decoded.rejects)
        result = "partial" if rejected or decoded.error else "ok"
        if decoded.records == 0 and decoded.error:
            result = "failed" if obj.replayable else "partial"
        done.entries.append(ObjectEntry(
            job.object_id, obj.location, obj.size, obj.mtime, obj.etag, decoded.records, rejected, result,
            decoded.error, dict(decoded.formats), tuple(sorted(decoded.unknown_fields))))
        done.rejects[job.object_id] = decoded.rejects
        if job.replaces:
            done.replaces.add(job.object_id)
        if obj.checkpoint:
            done.checkpoints[obj.checkpoint[0]] = obj.checkpoint[1]
        done.unknown |= decoded.unknown_fields
        done.formats.update(decoded.formats)
    done.tables = [part for tables, origins in same_columns.values() for part in by_date(conform(tables, origins))]
    return done


def commit(writer: LakeWriter, batch: Done, stats: IngestStats, change: Commit | None = None) -> None:
    """One transaction: the batch's files (written here, or already in `change` when written elsewhere),
    objects and quarantine, replacing changed objects' rows."""
    change = change or Commit()
    if batch.replaces:
        writer.drop_objects(batch.replaces, change)
    if batch.tables:
        writer.write(batch.tables, change)
    change.objects = batch.entries
    change.cursors = {key: value() for key, value in batch.checkpoints.items()}
    for entry in batch.entries:
        change.quarantine += [(entry.id, r.line, r.reason, r.text)
                              for r in batch.rejects.get(entry.id, [])[:QUARANTINE_PER_OBJECT]]
    writer.ledger.commit(change)
    stats.formats.update(batch.formats)
    stats.unknown_fields |= batch.unknown
    for entry in batch.entries:
        stats.count(entry, batch.rejects.get(entry.id, []))
