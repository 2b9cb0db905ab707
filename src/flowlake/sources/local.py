"""Delivery objects on the local disk, and standard input.

A source yields `SourceObject`s: a location, a fingerprint the ledger compares (size and
modification time here, the ETag on S3), and a way to read the bytes. Folders are walked
recursively in key order, which is time order for AWS's layouts; names starting with `.`
or `_` are skipped, as Hive tools do.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flowlake.sources.keys import KeyInfo, parse_key

STDIN_CHUNK = 64 * 1024 * 1024
"""Standard input is committed in pieces of about this many bytes, so a long pipe is never held whole."""


@dataclass(frozen=True)
class SourceObject:
    location: str
    size: int | None
    mtime: float | None
    etag: str | None
    key: KeyInfo
    read: Callable[[], bytes]
    preamble: bytes = b""
    """For later pieces of standard input: the stream's first line, which may be the header."""
    replayable: bool = True
    """False for standard input: it has no identity to skip on a second run."""
    checkpoint: tuple[str, Callable[[], str]] | None = None
    """For sources whose objects have no identity to skip on the next run (CloudWatch pages): the
    source's resume point after this object, as (key, value). The value is computed when the
    object's batch commits and stored in the same transaction, so the resume point always sits
    exactly after the committed records, wherever a run stops."""


def local_objects(paths: list[str]) -> Iterator[SourceObject]:
    """Files, folders (recursively) and `-` for standard input."""
    for given in paths:
        if given == "-":
            yield from stdin_objects(sys.stdin.buffer)
            continue
        path = Path(given)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {given}")
        if path.is_dir():
            yield from sorted((_file_object(found) for found in _walk(path)), key=_time_order)
        else:
            yield _file_object(path)


def _time_order(obj: SourceObject) -> tuple:
    """Day and hour first (from the key), so a batch holds one day of every account and region
    and writes one file per partition instead of one per account, region and day."""
    return (obj.key.date or dt.date.min, obj.key.hour or 0, obj.location)


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if not name.startswith((".", "_")):
                yield Path(folder) / name


def _file_object(path: Path) -> SourceObject:
    st = path.stat()
    resolved = path.resolve()
    return SourceObject(
        location=resolved.as_uri(),
        size=st.st_size,
        mtime=st.st_mtime,
        etag=None,
        key=parse_key(resolved.as_posix()),
        read=resolved.read_bytes,
    )


def stdin_objects(stream: BinaryIO, now: float | None = None) -> Iterator[SourceObject]:
    """Standard input, cut at line ends into pieces; each later piece carries the first line along."""
    stamp = now if now is not None else time.time()
    first_line = b""
    rest = b""
    piece = 0
    while True:
        chunk = stream.read(STDIN_CHUNK)
        data = rest + chunk
        if not chunk:
            rest = b""
        else:
            cut = data.rfind(b"\n")
            data, rest = (data[: cut + 1], data[cut + 1 :]) if cut >= 0 else (b"", data)
        if data:
            if piece == 0:
                first_line = data.split(b"\n", 1)[0] + b"\n"
            piece += 1
            yield SourceObject(
                location=f"stdin:{stamp:.6f}#{piece}",
                size=len(data),
                mtime=stamp,
                etag=None,
                key=KeyInfo(),
                read=(lambda d=data: d),
                preamble=first_line if piece > 1 else b"",
                replayable=False,
            )
        if not chunk:
            return

