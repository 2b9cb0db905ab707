"""Space-separated flow-log text: S3 objects with a header line, and header-less lines.

Fields are always mapped by the header (or an explicit format string), never by position
alone. A clean object takes the fast path: one vectorised Arrow CSV read. Any surprise
(a bad value, a wrong field count, a repeated header, bytes that are not UTF-8) sends the
object down the line-by-line path, which keeps every good line and names every bad one.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as csv

from flowlake.decode.records import Decoded, Reject
from flowlake.decode.validate import check, validate
from flowlake.schema import BY_AWS, HEADERLESS_LAYOUTS, column_name

MAX_LINE = 16_384
"""Longest line accepted; the longest real record (42 fields of ARNs) is a few KB."""

PARALLEL_BYTES = 16 << 20
"""Objects larger than this are parsed on several threads; smaller ones already run in parallel."""

CHUNK_LINES = 100_000
"""The line-by-line path turns lines into Arrow tables this many at a time, to bound memory."""

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
_TRAILING_COMMENT = re.compile(r"\s+#.*$")


def is_header(tokens: list[str]) -> bool:
    """A line of field names (any known name among them), as opposed to a record."""
    return all(_NAME.match(t) for t in tokens) and any(t.replace("_", "-") in BY_AWS for t in tokens)


def header_layout(tokens: list[str]) -> tuple[str, ...]:
    """AWS field names of a header line (which may use underscores, as CSV exports do)."""
    return tuple(t.replace("_", "-") for t in tokens)


def decode_text(data: bytes, fields: tuple[str, ...] | None = None, kind: str = "text") -> Decoded:
    """Decode a whole text object; `fields` is the format for header-less lines."""
    try:
        fast = _decode_fast(data, fields, kind)
    except (pa.ArrowInvalid, UnicodeDecodeError):
        fast = None
    if fast is not None:
        return fast
    out = Decoded()
    for chunk in decode_lines(_numbered(data), fields, kind):
        out.merge(chunk)
    out.rejects.sort(key=lambda r: r.line)
    return out


def _numbered(data: bytes) -> Iterator[tuple[int, bytes, None]]:
    for number, line in enumerate(io.BytesIO(data), 1):
        yield number, line, None


def _shape(data: bytes, fields: tuple[str, ...] | None) -> tuple[tuple[str, ...], str, bytes] | None:
    """Layout, delimiter and body (the bytes after any header) of a text object; None if unclear."""
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).decode("utf-8").strip()
    delimiter = "," if "," in first and " " not in first else " "
    tokens = first.split(delimiter)
    if is_header(tokens):
        layout, body = header_layout(tokens), (b"" if end < 0 else data[end + 1 :])
    else:
        layout, body = fields or HEADERLESS_LAYOUTS.get(len(tokens)), data
    if layout is None or len(set(layout)) != len(layout):
        return None
    return layout, delimiter, body


def _read(body: bytes, layout: tuple[str, ...], delimiter: str) -> pa.Table:
    names = [column_name(n) for n in layout]
    types = {c: (BY_AWS[n].type if n in BY_AWS else pa.string()) for c, n in zip(names, layout, strict=True)}
    return csv.read_csv(
        pa.py_buffer(body),
        read_options=csv.ReadOptions(column_names=names, block_size=1 << 24, use_threads=len(body) > PARALLEL_BYTES),
        parse_options=csv.ParseOptions(delimiter=delimiter, quote_char=False),
        convert_options=csv.ConvertOptions(
            column_types=types, null_values=["-"], strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )


def _decode_fast(data: bytes, fields: tuple[str, ...] | None, kind: str) -> Decoded | None:
    """One typed Arrow read of the whole object; None when the object needs the careful path."""
    shape = _shape(data, fields)
    if shape is None:
        return None
    layout, delimiter, body = shape
    out = Decoded()
    if not body.strip():
        return out
    table = _read(body, layout, delimiter)
    bad = check(table)
    if bad:
        # Line numbers are exact only if every line became one row (no blank lines skipped).
        if body.count(b"\n") + (not body.endswith(b"\n")) != table.num_rows:
            return None
        offset = 1 if body is not data else 0
        rows = sorted(bad)
        for row, values in zip(rows, table.take(rows).to_pylist(), strict=True):
            text = delimiter.join("-" if v is None else str(v) for v in values.values())
            out.rejects.append(Reject(row + 1 + offset, bad[row], text[:500]))
        table = table.filter(pa.array([i not in bad for i in range(table.num_rows)]))
    out.add(table, layout, kind)
    return out


def decode_text_group(datas: list[bytes], fields: tuple[str, ...] | None = None) -> list[Decoded] | None:
    """Many objects of one format read by one parse, so small objects (AWS writes one every five
    minutes) pay the per-read costs once. None when the objects differ in format or any of them
    needs the careful path; the caller then decodes them one by one."""
    try:
        shapes = [_shape(data, fields) for data in datas]
    except UnicodeDecodeError:
        return None
    if any(s is None for s in shapes) or len({(s[0], s[1]) for s in shapes}) != 1:
        return None
    layout, delimiter, _ = shapes[0]
    bodies = [body if not body or body.endswith(b"\n") else body + b"\n" for _, _, body in shapes]
    counts = [body.count(b"\n") for body in bodies]
    try:
        table = _read(b"".join(bodies), layout, delimiter)
    except pa.ArrowInvalid:
        return None
    if table.num_rows != sum(counts) or check(table):
        return None
    out, offset = [], 0
    for n in counts:
        decoded = Decoded()
        decoded.add(table.slice(offset, n), layout, "text")
        out.append(decoded)
        offset += n
    return out


def decode_lines(
    lines: Iterable[tuple[int, bytes | str, dict | None]],
    fields: tuple[str, ...] | None = None,
    kind: str = "text",
) -> Iterator[Decoded]:
    """The careful path: numbered lines (with optional transport hints) in, good tables and rejects out.

    A header line switches the layout for the lines after it (AWS repeats headers when
    objects are concatenated). Without a header, `fields` is used, or else the line's
    field count picks one of AWS's standard layouts.
    """
    layout = fields
    strict = fields is not None
    groups: dict[tuple[str, ...], list] = {}
    out = Decoded()
    pending = 0
    for number, raw, hints in lines:
        text = _text_of(number, raw, out)
        if text is None:
            continue
        text = _TRAILING_COMMENT.sub("", text).strip()
        if not text or text.startswith("#"):
            continue
        delimiter = "," if "," in text and " " not in text else None
        tokens = text.split(delimiter)
        if is_header(tokens):
            layout, strict = header_layout(tokens), True
            continue
        use = layout if layout is not None else HEADERLESS_LAYOUTS.get(len(tokens))
        if use is None:
            known = ", ".join(str(n) for n in sorted(HEADERLESS_LAYOUTS))
            out.rejects.append(Reject(number, f"{len(tokens)} fields and no header line; without one only "
                                              f"AWS's standard layouts ({known} fields) are recognised: "
                                              "pass --format-string", text[:500]))
            continue
        if len(tokens) != len(use):
            source = "the header names" if strict else "the format has"
            out.rejects.append(Reject(number, f"{len(tokens)} fields where {source} {len(use)}", text[:500]))
            continue
        groups.setdefault(use, []).append((number, tokens, hints or {}))
        pending += 1
        if pending >= CHUNK_LINES:
            _flush(groups, out, kind)
            yield out
            out, groups, pending = Decoded(), {}, 0
    _flush(groups, out, kind)
    yield out


def _text_of(number: int, raw: bytes | str, out: Decoded) -> str | None:
    if isinstance(raw, str):
        return raw
    raw = raw.rstrip(b"\r\n")
    if len(raw) > MAX_LINE:
        out.rejects.append(Reject(number, f"line of {len(raw):,} bytes is longer than {MAX_LINE:,}",
                                  raw[:500].decode("utf-8", "replace")))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.rejects.append(Reject(number, f"not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})",
                                  raw[:500].decode("utf-8", "replace")))
        return None


def _flush(groups: dict[tuple[str, ...], list], out: Decoded, kind: str) -> None:
    for layout, rows in groups.items():
        numbers = [r[0] for r in rows]
        names = [column_name(n) for n in layout]
        columns = [pa.array(col, pa.string()) for col in zip(*(r[1] for r in rows), strict=True)]
        columns = [pc.if_else(pc.equal(c, "-"), pa.scalar(None, pa.string()), c) for c in columns]
        hint_names = sorted({k for r in rows for k in r[2]})
        for hint in hint_names:
            names.append(hint)
            columns.append(pa.array([r[2].get(hint) for r in rows]))
        table = pa.table(columns, names=names)
        typed, bad = validate(table)
        for row, reason in sorted(bad.items()):
            out.rejects.append(Reject(numbers[row], reason, " ".join(rows[row][1])[:500]))
        out.add(typed, layout, kind)
    groups.clear()
