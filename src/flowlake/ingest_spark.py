"""`flowlake ingest --engine spark`: the same ingest, its decoding and file writing spread over Spark tasks.

For backfills too large for one machine's cores. The driver lists the objects and asks the ledger which
are new or changed, exactly as single-machine ingest does (the same groups, the same object ids); each
Spark task reads, decodes and conforms one group with flowlake's own decoders and writes its Parquet
files into the lake's partitions; the driver commits each task's files, objects and quarantined lines
in one ledger transaction as the results arrive, then compacts. So the lake and the ledger are the
ones single-machine ingest would have made: a later `flowlake ingest` of the same objects finds them
all unchanged, and a crash before a commit (or a failed Spark job: EngineSQLError) leaves only files the
next writer deletes. The lake folder
must be at the same path for every executor (local mode, or a shared file system).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from flowlake.engine.spark import call, session
from flowlake.ingest import Done, IngestStats, Job, commit, groups, process
from flowlake.lake.compact import compact
from flowlake.lake.ledger import Commit, Ledger
from flowlake.lake.store import Lake, write_files
from flowlake.sources.local import SourceObject, local_objects


def ingest_spark(lake: Lake, objects: Iterable[SourceObject], fields: tuple[str, ...] | None, master: str,
                 do_compact: bool = True) -> IngestStats:
    """Ingest new and changed local objects with Spark tasks; see `IngestStats.exit_code` for the outcome."""
    stats = IngestStats()
    began = time.perf_counter()
    spark = session(master)
    with lake.writer() as writer:
        known = Ledger(lake.ledger_path, readonly=True)
        try:
            tasks = [[(job.obj.location, job.object_id, job.replaces) for job in group]
                     for group in groups(objects, known, writer.ledger.next_object_id(), stats)]
        finally:
            known.close()
        if tasks:
            root = str(lake.root.resolve())
            results = spark.sparkContext.parallelize(tasks, len(tasks)).map(
                lambda task: decode_and_write(root, task, fields)).toLocalIterator()
            while (result := call(lambda: next(results, None))) is not None:
                done, change = result
                commit(writer, done, stats, change)
        stats.seconds = time.perf_counter() - began
        if do_compact:
            stats.compaction = compact(writer)
    stats.seconds = time.perf_counter() - began
    return stats


def decode_and_write(root: str, task: list[tuple[str, int, bool]], fields: tuple[str, ...] | None
                     ) -> tuple[Done, Commit]:
    """One Spark task: a group's objects decoded and their rows written as uncommitted files; back to the
    driver go the objects' outcomes and the files (not the rows)."""
    jobs = [Job(next(local_objects([url2pathname(urlparse(location).path)])), object_id, replaces)
            for location, object_id, replaces in task]
    done = process(jobs, fields)
    change = Commit()
    if done.tables:
        write_files(Lake(Path(root)), done.tables, change)
    done.tables = []
    return done, change
