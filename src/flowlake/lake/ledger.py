"""The ledger: which delivery objects are in the lake, and which data files hold them.

One SQLite database (WAL mode, so readers never wait for the writer). A batch of objects
and the data files holding their records are committed in one transaction, which is what
makes ingest exactly-once under crashes: before the commit the batch does not exist, after
it the batch is whole. Readers open exactly the files the ledger names as live.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = """
create table if not exists meta (key text primary key, value text);
create table if not exists objects (
    id integer primary key,
    location text not null unique,
    size integer,
    mtime real,
    etag text,
    records integer not null default 0,
    rejected integer not null default 0,
    result text not null,
    error text,
    formats text,
    unknown_fields text,
    ingested_at real not null,
    version integer not null
);
create table if not exists files (
    path text primary key,
    date text not null,
    rows integer not null,
    bytes integer not null,
    min_start integer,
    max_start integer,
    extra text not null default '',
    added_version integer not null,
    removed_version integer,
    removed_at real
);
create index if not exists files_live on files (removed_version, date);
create table if not exists file_objects (
    path text not null,
    object_id integer not null,
    rows integer not null,
    primary key (path, object_id)
);
create index if not exists file_objects_object on file_objects (object_id);
create table if not exists quarantine (
    object_id integer not null,
    line integer not null,
    reason text not null,
    text text not null
);
create index if not exists quarantine_object on quarantine (object_id);
create table if not exists cursors (source text primary key, value text not null);
"""


@dataclass(frozen=True)
class ObjectEntry:
    """One delivery object's outcome, as the ledger keeps it."""

    id: int
    location: str
    size: int | None
    mtime: float | None
    etag: str | None
    records: int
    rejected: int
    result: str
    """`ok`, `partial` (some lines rejected) or `failed` (nothing could be read; retried next run)."""
    error: str | None = None
    formats: dict[str, int] = field(default_factory=dict)
    unknown_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileEntry:
    """One live Parquet data file, path relative to the lake root."""

    path: str
    date: str
    rows: int
    bytes: int
    min_start: int | None
    max_start: int | None
    extra: tuple[str, ...] = ()


@dataclass
class Commit:
    """Everything one writer step changes, applied atomically by `Ledger.commit`."""

    objects: list[ObjectEntry] = field(default_factory=list)
    added: list[FileEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    file_objects: list[tuple[str, int, int]] = field(default_factory=list)
    quarantine: list[tuple[int, int, str, str]] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)
    """Resume points of sources without object identity (CloudWatch), committed with their records."""


class Ledger:
    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            if not path.exists():
                raise FileNotFoundError(path)
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, timeout=30, check_same_thread=False)
            self.db.execute("pragma journal_mode=wal")
            self.db.execute("pragma synchronous=full")
            self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    def version(self) -> int:
        row = self.db.execute("select value from meta where key = 'version'").fetchone()
        return int(row[0]) if row else 0

    def meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("insert or replace into meta values (?, ?)", (key, value))

    def next_object_id(self) -> int:
        row = self.db.execute("select coalesce(max(id), 0) from objects").fetchone()
        return int(row[0]) + 1

    def lookup(self, location: str) -> ObjectEntry | None:
        row = self.db.execute(
            "select id, location, size, mtime, etag, records, rejected, result, error from objects"
            " where location = ?",
            (location,),
        ).fetchone()
        return ObjectEntry(*row) if row else None

    def commit(self, change: Commit) -> int:
        """Apply one change atomically; returns the new lake version."""
        now = time.time()
        with self._tx() as db:
            version = self.version() + 1
            db.execute("insert or replace into meta values ('version', ?)", (str(version),))
            for o in change.objects:
                db.execute("delete from quarantine where object_id = ?", (o.id,))
                db.execute(
                    "insert or replace into objects values (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (o.id, o.location, o.size, o.mtime, o.etag, o.records, o.rejected, o.result, o.error,
                     json.dumps(o.formats), json.dumps(list(o.unknown_fields)), now, version),
                )
            db.executemany(
                "update files set removed_version = ?, removed_at = ? where path = ?",
                [(version, now, p) for p in change.removed],
            )
            db.executemany("delete from file_objects where path = ?", [(p,) for p in change.removed])
            db.executemany(
                "insert into files values (?,?,?,?,?,?,?,?,null,null)",
                [(f.path, f.date, f.rows, f.bytes, f.min_start, f.max_start, ",".join(f.extra), version)
                 for f in change.added],
            )
            db.executemany("insert into file_objects values (?,?,?)", change.file_objects)
            db.executemany("insert into quarantine values (?,?,?,?)", change.quarantine)
            db.executemany("insert or replace into cursors values (?,?)", change.cursors.items())
        return version

    def cursor(self, source: str) -> str | None:
        """A source's resume point as its last commit left it."""
        row = self.db.execute("select value from cursors where source = ?", (source,)).fetchone()
        return row[0] if row else None

    def live_files(self, date_from: str | None = None, date_to: str | None = None,
                   table: str = "flows") -> list[FileEntry]:
        """The files a reader opens: live ones of `table` (its folder in the lake; tables share the
        ledger), optionally only partitions within [date_from, date_to]."""
        sql = ("select path, date, rows, bytes, min_start, max_start, extra from files"
               " where removed_version is null and path glob ?")
        args: list[str] = [f"{table}/*"]
        if date_from:
            sql += " and date >= ?"
            args.append(date_from)
        if date_to:
            sql += " and date <= ?"
            args.append(date_to)
        rows = self.db.execute(sql + " order by path", args).fetchall()
        return [FileEntry(*r[:6], extra=tuple(x for x in r[6].split(",") if x)) for r in rows]

    def files_holding(self, object_ids: Iterable[int]) -> list[str]:
        ids = list(object_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"select distinct fo.path from file_objects fo join files f using (path)"
            f" where f.removed_version is null and fo.object_id in ({marks})",
            ids,
        ).fetchall()
        return [r[0] for r in rows]

    def objects_in(self, path: str) -> dict[int, int]:
        rows = self.db.execute("select object_id, rows from file_objects where path = ?", (path,)).fetchall()
        return dict(rows)

    def known_paths(self) -> set[str]:
        """Every data file the ledger knows, live or awaiting deletion."""
        return {r[0] for r in self.db.execute("select path from files")}

    def expired(self, grace_seconds: float) -> list[str]:
        """Removed files whose grace period is over: no reader can still be reading them."""
        cutoff = time.time() - grace_seconds
        rows = self.db.execute(
            "select path from files where removed_version is not null and removed_at <= ?", (cutoff,)
        ).fetchall()
        return [r[0] for r in rows]

    def forget(self, paths: Iterable[str]) -> None:
        with self._tx() as db:
            db.executemany("delete from files where path = ?", [(p,) for p in paths])

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """Read-only questions for `status` and the quarantine report."""
        return self.db.execute(sql, args).fetchall()
