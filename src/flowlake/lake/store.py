"""The lake on disk: Hive-partitioned Parquet under one folder, with its ledger beside it.

Layout (plain Hive partitions, so DuckDB, Spark, Athena and Trino read it as it is):

    LAKE/flows/date=2026-11-27/part-<uuid>.parquet
    LAKE/_flowlake/ledger.sqlite      which objects and files are committed
    LAKE/_flowlake/writer.lock        one writer at a time

Writing a file: write `.part-<uuid>.parquet.tmp` (hidden from every engine), fsync, rename
into place, then commit the ledger. A crash before the commit leaves a file the ledger does
not name; the next writer deletes it. Files replaced by compaction stay on disk for a grace
period, so a query that listed them a moment ago still finds them.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowlake.lake.conform import by_date as conform_by_date
from flowlake.lake.conform import nulls
from flowlake.lake.ledger import Commit, FileEntry, Ledger
from flowlake.schema import PARTITION_COLUMN, lake_schema

log = logging.getLogger(__name__)

META_DIR = "_flowlake"
FLOWS_DIR = "flows"
"""The flows table: LAKE/flows/date=.../*.parquet. Other tables (web_logs, findings) sit beside it."""
FILE_ROWS = 1_500_000
"""A large partition of one batch is written as several files of about this many rows, in parallel."""
WRITE_THREADS = 2
SMALL_CHUNK_ROWS = 65_536
ROW_GROUP_ROWS = 256 * 1024
"""Row groups small enough for two cores to share a one-day scan and to prune by time."""

DELTA_COLUMNS = ("start", "end", "start_time", "end_time")
"""Times within a delivery object are close together: these compress best as deltas."""
PLAIN_COLUMNS = ("srcport", "dstport", "packets", "bytes")
"""High-cardinality small integers: plain encoding plus zstd beats a dictionary."""


STATISTICS_COLUMNS = frozenset({
    "start", "end", "start_time", "end_time", "srcaddr", "dstaddr", "srcport", "dstport", "protocol", "action",
    "log_status", "account_id", "region", "vpc_id", "subnet_id", "instance_id", "interface_id", "pkt_srcaddr",
    "pkt_dstaddr", "flow_direction", "object_id",
})
"""Columns whose row-group min/max let engines skip data (times, addresses, ports, ids)."""


def parquet_options(schema: pa.Schema) -> dict:
    """Writer settings, measured on generated flow logs (see docs/benchmarks.md): about 30 % smaller
    than pyarrow's defaults, using only encodings DuckDB, Spark, Athena and Trino all read."""
    no_dictionary = set(DELTA_COLUMNS) | set(PLAIN_COLUMNS)
    return dict(
        compression="zstd",
        compression_level=1,
        use_dictionary=[n for n in schema.names if n not in no_dictionary],
        column_encoding={n: "DELTA_BINARY_PACKED" for n in DELTA_COLUMNS},
        write_statistics=[n for n in schema.names if n in STATISTICS_COLUMNS],
    )


def grace_seconds() -> float:
    """How long replaced files outlive their replacement (env FLOWLAKE_GRACE_SECONDS)."""
    return float(os.environ.get("FLOWLAKE_GRACE_SECONDS", "600"))


class LakeNotFound(FileNotFoundError):
    pass


@dataclass(frozen=True)
class Lake:
    root: Path

    @property
    def ledger_path(self) -> Path:
        return self.root / META_DIR / "ledger.sqlite"

    def exists(self) -> bool:
        return self.ledger_path.exists()

    def reader(self) -> Ledger:
        """A read-only view of the ledger; raises LakeNotFound for a folder that is not a lake."""
        if not self.exists():
            raise LakeNotFound(f"no flowlake lake at {self.root} (run `flowlake ingest ... --lake {self.root}`)")
        return Ledger(self.ledger_path, readonly=True)

    @contextmanager
    def writer(self) -> Iterator[LakeWriter]:
        """The single writer: takes the lock, cleans up after any crashed writer, yields."""
        (self.root / META_DIR).mkdir(parents=True, exist_ok=True)
        with open(self.root / META_DIR / "writer.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.warning("another flowlake writer holds %s; waiting for it", self.root)
                fcntl.flock(lock, fcntl.LOCK_EX)
            ledger = Ledger(self.ledger_path)
            try:
                writer = LakeWriter(self, ledger)
                writer.recover()
                yield writer
            finally:
                ledger.close()


class LakeWriter:
    def __init__(self, lake: Lake, ledger: Ledger) -> None:
        self.lake = lake
        self.ledger = ledger

    def recover(self) -> None:
        """Delete what a crashed writer left: temp files and files the ledger never committed."""
        known = self.ledger.known_paths()
        for path in self.lake.root.glob(f"*/{PARTITION_COLUMN}=*/*"):
            rel = path.relative_to(self.lake.root).as_posix()
            if path.name.endswith(".tmp") or (path.suffix == ".parquet" and rel not in known):
                log.info("removing uncommitted file %s", rel)
                path.unlink(missing_ok=True)
        self.purge()

    def purge(self) -> None:
        """Delete replaced files whose grace period is over."""
        expired = self.ledger.expired(grace_seconds())
        for rel in expired:
            (self.lake.root / rel).unlink(missing_ok=True)
        self.ledger.forget(expired)

    def write(self, tables: list[pa.Table], change: Commit) -> None:
        write_files(self.lake, tables, change)

    def write_stream(self, date: dt.date, tables: Iterable[pa.Table | pa.RecordBatch], change: Commit,
                     extra: tuple[str, ...], target_rows: int | None) -> None:
        """Stream rows of one partition into new files of at most about `target_rows` rows."""
        out: _PartFile | None = None
        for table in _regroup(tables, ROW_GROUP_ROWS):
            if out is None:
                out = _PartFile(self.lake.root, date, extra)
            out.add(table)
            if target_rows is not None and out.rows >= target_rows:
                out.finish()
                out.note(change)
                out = None
        if out is not None:
            out.finish()
            out.note(change)

    def read_file(self, rel: str) -> Iterator[pa.RecordBatch]:
        yield from pq.ParquetFile(self.lake.root / rel).iter_batches(batch_size=ROW_GROUP_ROWS)

    def drop_objects(self, object_ids: set[int], change: Commit) -> None:
        """Rewrite the files holding these objects without their rows (a changed object is re-ingested)."""
        for rel in self.ledger.files_holding(object_ids):
            date = dt.date.fromisoformat(rel.split(f"{PARTITION_COLUMN}=", 1)[1].split("/", 1)[0])
            keep = pa.array(sorted(object_ids), pa.int64())
            batches = (b.filter(pc.invert(pc.is_in(b["object_id"], keep))) for b in self.read_file(rel))
            extra = next(f.extra for f in self.ledger.live_files() if f.path == rel)
            self.write_stream(date, (b for b in batches if b.num_rows), change, extra, target_rows=None)
            change.removed.append(rel)


def write_files(lake: Lake, tables: list[pa.Table], change: Commit) -> None:
    """Write conformed rows (with a `date` column) as new files per partition, noted in `change` (the ledger
    commits them; until then they are not live). Tables that hold one date (as `ingest` hands them over)
    are not split again. The writer does this, and so do Spark tasks, whose files the writer then commits.

    Files are encoded in parallel (the Parquet encoder releases the GIL): one per partition,
    or several of about FILE_ROWS rows for a large partition.
    """
    extra = _extra_columns(tables)
    by_date: dict[dt.date, list[pa.Table]] = {}
    for table in tables:
        for part in conform_by_date(table):
            if part.num_rows == 0:
                continue
            date = part[PARTITION_COLUMN][0].as_py()
            by_date.setdefault(date, []).append(part.drop_columns([PARTITION_COLUMN]))
    jobs = [(date, piece) for date in sorted(by_date) for piece in _pieces(by_date[date], FILE_ROWS)]
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        parts = list(pool.map(lambda job: _write_one(lake.root, job[0], job[1], extra), jobs))
    for part in parts:
        part.note(change)


def _write_one(root: Path, date: dt.date, tables: list[pa.Table], extra: tuple[str, ...]) -> _PartFile:
    out = _PartFile(root, date, extra)
    for group in _regroup(tables, ROW_GROUP_ROWS):
        out.add(group)
    out.finish()
    return out


class _PartFile:
    """One data file being written: hidden while open, renamed into its partition when done."""

    def __init__(self, root: Path, date: dt.date, extra: tuple[str, ...]) -> None:
        self.root, self.date, self.extra = root, date, extra
        self.schema = lake_schema(extra)
        self.tmp, self.final = new_part(root, FLOWS_DIR, date)
        self.writer = pq.ParquetWriter(self.tmp, self.schema, **parquet_options(self.schema))
        self.rows = 0
        self.lo: int | None = None
        self.hi: int | None = None
        self.objects: dict[int, int] = {}

    def add(self, tables: list[pa.Table]) -> None:
        table = _combine(tables, self.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.rows += table.num_rows
        bounds = pc.min_max(table["start"]).as_py()
        if bounds["min"] is not None:
            self.lo = bounds["min"] if self.lo is None else min(self.lo, bounds["min"])
            self.hi = bounds["max"] if self.hi is None else max(self.hi, bounds["max"])
        for row in table.group_by("object_id").aggregate([("object_id", "count")]).to_pylist():
            self.objects[row["object_id"]] = self.objects.get(row["object_id"], 0) + row["object_id_count"]

    def finish(self) -> None:
        """Close, make durable and move into the partition (still uncommitted: the ledger decides)."""
        self.writer.close()
        publish(self.tmp, self.final)

    def note(self, change: Commit) -> None:
        rel = self.final.relative_to(self.root).as_posix()
        size = self.final.stat().st_size
        change.added.append(FileEntry(rel, self.date.isoformat(), self.rows, size, self.lo, self.hi, self.extra))
        change.file_objects += [(rel, obj, n) for obj, n in self.objects.items()]


def new_part(root: Path, table: str, date: dt.date) -> tuple[Path, Path]:
    """A new data file of `table` in `date`'s partition: its hidden temp path and its final path."""
    folder = root / table / f"{PARTITION_COLUMN}={date.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"part-{uuid.uuid4().hex}.parquet"
    return folder / f".{final.name}.tmp", final


def publish(tmp: Path, final: Path) -> None:
    """Make a written file durable and move it into its partition; it is live only once the ledger
    commits it (until then readers do not see it, and a crashed writer's leftovers are deleted)."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)


def _pieces(tables: list[pa.Table], rows: int) -> list[list[pa.Table]]:
    """Split a partition's tables into consecutive runs of about `rows` rows, one file each."""
    pieces: list[list[pa.Table]] = [[]]
    count = 0
    for table in tables:
        if count >= rows:
            pieces.append([])
            count = 0
        pieces[-1].append(table)
        count += table.num_rows
    return pieces


def _regroup(tables: Iterable[pa.Table | pa.RecordBatch], rows: int) -> Iterator[list[pa.Table]]:
    """Gather small tables into groups of at least `rows` rows, so each becomes a full row group."""
    pending: list[pa.Table] = []
    count = 0
    for table in tables:
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        pending.append(table)
        count += table.num_rows
        if count >= rows:
            yield pending
            pending, count = [], 0
    if pending:
        yield pending


def _combine(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """One table in `schema`; many small chunks are copied into one (the Parquet writer pays per
    chunk), and columns no table has stay shared null blocks."""
    rows = sum(t.num_rows for t in tables)
    present = [set(t.column_names) for t in tables]
    columns = []
    for field in schema:
        if not any(field.name in names for names in present):
            columns.append(nulls(rows, field.type))
            continue
        chunks = [chunk if chunk.type == field.type else chunk.cast(field.type)
                  for t, names in zip(tables, present, strict=True)
                  for chunk in (t[field.name] if field.name in names else nulls(t.num_rows, field.type)).chunks]
        small = len(chunks) > 1 and rows < SMALL_CHUNK_ROWS * len(chunks)
        columns.append(pa.concat_arrays(chunks) if small else pa.chunked_array(chunks, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _extra_columns(tables: list[pa.Table]) -> tuple[str, ...]:
    known = set(lake_schema().names) | {PARTITION_COLUMN}
    return tuple(sorted({n for t in tables for n in t.column_names if n not in known}))
