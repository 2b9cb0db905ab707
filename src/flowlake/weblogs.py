"""Web server access logs (Apache and Nginx, common or combined format) as the lake's `web_logs` table.

They sit beside `flows` so one query can put what a client asked a web server next to what its
network traffic did. Each log file is a ledger object (its location prefixed `web_logs:`, so a file
mistakenly ingested as flow logs is never taken for an ingested web log); its rows land in
LAKE/web_logs/date=YYYY-MM-DD/part-*.parquet, one file per log file and day, written as flows are
(hidden temp name, fsync, rename) and made live by one ledger commit per log file. A changed file
(new size or mtime, like the live access.log) replaces its earlier rows; an unchanged one is skipped.

Lines are parsed a chunk at a time by Arrow's RE2 kernels; only rejected lines are looked at in Python.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from flowlake.decode import Decoded, Reject, decompress
from flowlake.ingest import QUARANTINE_PER_OBJECT, IngestStats
from flowlake.lake.conform import by_date
from flowlake.lake.ledger import Commit, FileEntry, ObjectEntry
from flowlake.lake.store import ROW_GROUP_ROWS, Lake, new_part, publish
from flowlake.schema import PARTITION_COLUMN
from flowlake.sources.local import SourceObject

WEB_LOGS_DIR = "web_logs"

WEB_LOGS_SCHEMA = pa.schema([
    ("client", pa.string()),
    ("ident", pa.string()),
    ("user", pa.string()),
    ("time", pa.timestamp("s", tz="UTC")),
    ("method", pa.string()),
    ("path", pa.string()),
    ("protocol", pa.string()),
    ("status", pa.int32()),
    ("bytes", pa.int64()),
    ("referer", pa.string()),
    ("user_agent", pa.string()),
    ("source", pa.int64()),
])
"""Columns of a web_logs data file; `date` (UTC day of `time`) comes from the partition folder."""

_QUOTED = r'"(?:[^"\\]|\\.)*"'
"""A quoted field as Apache and Nginx write it: inner quotes and backslashes escaped."""
LINE = (rf'^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]*)\] (?P<request>{_QUOTED})'
        rf" (?P<status>\d{{3}}) (?P<bytes>\d{{1,18}}|-)(?: (?P<referer>{_QUOTED}) (?P<user_agent>{_QUOTED})(?: .*)?)?$")
"""Common format, optionally followed by referer and user agent (combined, Nginx's default) and any
further fields (Nginx's `main` adds X-Forwarded-For), which are ignored."""
REQUEST = r"^(?P<method>\S+) (?P<path>.+?)(?: (?P<protocol>HTTP/\S+))?$"
"""The request line; anything else (`-` for a timeout, TLS bytes on a plain port) leaves all three NULL."""
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

CHUNK_BYTES = 16 << 20
"""Lines are parsed this much at a time, so Arrow's intermediate columns stay small..."""
PARSE_THREADS = 2
"""...on this many threads (Arrow's regex kernels release the GIL)."""
PARQUET_OPTIONS = dict(compression="zstd", compression_level=1, write_statistics=["time", "client", "status"])
"""Statistics on what queries filter by: time (within a day's partition), client and status."""


def decode_weblog(data: bytes, source: int) -> Decoded:
    """Every line of one access log (gzip or plain, by magic bytes): good lines as rows, bad ones as
    rejects with their line numbers. Bytes that are not UTF-8 become U+FFFD rather than costing the line."""
    text, error = decompress(data)
    out = Decoded(error=error)
    if error:
        out.rejects.append(Reject(0, error, ""))
    with ThreadPoolExecutor(PARSE_THREADS) as pool:
        for part in pool.map(lambda piece: _parse(*piece, source), _pieces(text)):
            out.merge(part)
    return out


def _pieces(text: bytes) -> Iterator[tuple[memoryview, int]]:
    """Pieces of about CHUNK_BYTES, each ending after a newline, with the number of their first line."""
    view, start, line = memoryview(text), 0, 1
    while start < len(text):
        cut = text.find(b"\n", start + CHUNK_BYTES)
        end = len(text) if cut < 0 else cut + 1
        yield view[start:end], line
        line += text.count(b"\n", start, end)
        start = end


def _parse(piece: memoryview, first_line: int, source: int) -> Decoded:
    """Lines numbered from `first_line` as typed rows (with `date`); blank lines are skipped."""
    text = str(piece, "utf-8", "replace")
    lines = pc.utf8_rtrim(pc.split_pattern(pa.array([text]), "\n").values, characters="\r")
    numbers = pa.array(np.arange(first_line, first_line + len(lines)))
    present = pc.invert(pc.equal(pc.utf8_trim_whitespace(lines), ""))
    lines, numbers = lines.filter(present), numbers.filter(present)
    fields = pc.extract_regex(lines, LINE)
    logged_time = pc.struct_field(fields, "time")
    stamps = pc.strptime(logged_time, format=TIME_FORMAT, unit="s", error_is_null=True)
    good, bad = pc.is_valid(stamps), pc.is_null(stamps)
    out = Decoded()
    for number, line, matched, logged in zip(
            *(a.filter(bad).to_pylist() for a in (numbers, lines, pc.is_valid(fields), logged_time)), strict=True):
        reason = (f"time {logged!r} is not day/Mon/year:hh:mm:ss ±hhmm" if matched
                  else "not a common or combined format access log line")
        out.rejects.append(Reject(number, reason, line))
    fields, stamps = fields.filter(good), stamps.filter(good)
    if len(fields):
        combined = pc.sum(pc.not_equal(pc.struct_field(fields, "referer"), "")).as_py()
        out.tables.append(_rows(fields, stamps, source))
        out.formats.update({k: n for k, n in (("combined log", combined), ("common log", len(fields) - combined)) if n})
    return out


def _rows(fields: pa.StructArray, stamps: pa.TimestampArray, source: int) -> pa.Table:
    """Matched lines as typed columns; `-` (the formats' "no value") is NULL."""
    request = pc.extract_regex(_inside_quotes(pc.struct_field(fields, "request")), REQUEST)
    columns = {
        "client": _flow_spelling(pc.struct_field(fields, "client")),
        "ident": _null_if(pc.struct_field(fields, "ident"), "-"),
        "user": _null_if(pc.struct_field(fields, "user"), "-"),
        "time": stamps,
        "method": pc.struct_field(request, "method"),
        "path": pc.struct_field(request, "path"),
        "protocol": _null_if(pc.struct_field(request, "protocol"), ""),
        "status": pc.cast(pc.struct_field(fields, "status"), pa.int32()),
        "bytes": pc.cast(_null_if(pc.struct_field(fields, "bytes"), "-"), pa.int64()),
        "referer": _unquote(pc.struct_field(fields, "referer")),
        "user_agent": _unquote(pc.struct_field(fields, "user_agent")),
        "source": pa.array(np.full(len(fields), source, dtype=np.int64)),
    }
    table = pa.Table.from_pydict(columns, schema=WEB_LOGS_SCHEMA)
    return table.append_column(PARTITION_COLUMN, pc.cast(stamps, pa.date32()))


def _null_if(values: pa.Array, text: str) -> pa.Array:
    return pc.if_else(pc.equal(values, text), pa.scalar(None, pa.string()), values)


def _inside_quotes(values: pa.Array) -> pa.Array:
    """A quoted field's text as logged (escapes kept)."""
    return pc.utf8_slice_codeunits(values, 1, -1)


def _unquote(values: pa.Array) -> pa.Array:
    """An optional quoted field's text; NULL when absent (common format), empty or `"-"`."""
    return _null_if(_null_if(_inside_quotes(values), ""), "-")


def _flow_spelling(clients: pa.Array) -> pa.Array:
    """Addresses spelled as flow logs spell them (IPv6 compressed and lower case, IPv4-mapped IPv6 as
    IPv4), so the join with `flows` matches; IPv4 and host names stay as logged. Only IPv6 spellings go
    through Python, once per distinct value."""
    v6 = pc.unique(clients.filter(pc.match_substring(clients, ":")))
    if not len(v6):
        return clients
    spelled = pa.array([_address(text) for text in v6.to_pylist()], pa.string())
    return pc.coalesce(pc.take(spelled, pc.index_in(clients, value_set=v6)), clients)


def _address(text: str) -> str:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text
    return str(getattr(address, "ipv4_mapped", None) or address)


def ingest_weblogs(lake: Lake, objects: Iterable[SourceObject]) -> IngestStats:
    """Ingest new and changed access logs, one ledger commit each; see `IngestStats.exit_code`."""
    stats = IngestStats()
    began = time.perf_counter()
    with lake.writer() as writer:
        for obj in objects:
            stats.objects += 1
            location = f"{WEB_LOGS_DIR}:{obj.location}"
            previous = writer.ledger.lookup(location)
            if (previous and obj.replayable and previous.result != "failed"
                    and (previous.size, previous.mtime) == (obj.size, obj.mtime)):
                stats.unchanged += 1
                continue
            change = Commit()
            source = previous.id if previous else writer.ledger.next_object_id()
            change.removed += writer.ledger.files_holding([source])
            entry, decoded = _store(lake.root, obj, location, source, change)
            change.objects.append(entry)
            change.quarantine += [(source, r.line, r.reason, r.text) for r in decoded.rejects[:QUARANTINE_PER_OBJECT]]
            writer.ledger.commit(change)
            stats.count(entry, decoded.rejects)
            stats.formats.update(decoded.formats)
    stats.seconds = time.perf_counter() - began
    return stats


def _store(root: Path, obj: SourceObject, location: str, source: int, change: Commit,
           ) -> tuple[ObjectEntry, Decoded]:
    """Read and decode one log file and write its rows (not yet live: `change` names them)."""
    try:
        decoded = decode_weblog(obj.read(), source)
    except OSError as exc:
        entry = ObjectEntry(source, location, obj.size, obj.mtime, obj.etag, 0, 0, "failed", f"cannot read: {exc}")
        return entry, Decoded()
    if decoded.tables:
        for day in by_date(pa.concat_tables(decoded.tables)):
            _write_day(root, day, source, change)
    result = "partial" if decoded.rejects else "ok"
    if decoded.error and not decoded.records and obj.replayable:
        result = "failed"
    entry = ObjectEntry(source, location, obj.size, obj.mtime, obj.etag, decoded.records, len(decoded.rejects),
                        result, decoded.error, dict(decoded.formats))
    return entry, decoded


def _write_day(root: Path, day: pa.Table, source: int, change: Commit) -> None:
    """One day of a log file's rows as one Parquet file: written under a hidden temp name, made durable,
    renamed into its partition, and left for the ledger commit to make live."""
    date = day[PARTITION_COLUMN][0].as_py()
    tmp, final = new_part(root, WEB_LOGS_DIR, date)
    pq.write_table(day.drop_columns([PARTITION_COLUMN]), tmp, row_group_size=ROW_GROUP_ROWS, **PARQUET_OPTIONS)
    publish(tmp, final)
    rel = final.relative_to(root).as_posix()
    bounds = pc.min_max(pc.cast(day["time"], pa.int64())).as_py()
    change.added.append(FileEntry(rel, date.isoformat(), day.num_rows, final.stat().st_size,
                                  bounds["min"], bounds["max"]))
    change.file_objects.append((rel, source, day.num_rows))
