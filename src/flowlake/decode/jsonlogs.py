"""Flow-log records wrapped in JSON, as they travel through CloudWatch Logs and Firehose.

Handled forms, possibly several concatenated in one object (Firehose writes subscription
payloads back to back with no separator):
- CloudWatch Logs subscription payloads: `{"messageType": "DATA_MESSAGE", "logStream": ..., "logEvents": [...]}`;
- `aws logs filter-log-events` output: `{"events": [{"logStreamName", "timestamp", "message"}]}`;
- Firehose transformation events: `{"records": [{"data": base64}]}`;
- one JSON object per line with a `message` (or `_raw`) string;
- record objects whose keys are field names (`srcaddr`, `log_status`, ...), as JSON exports write.
The log stream names the interface and the event timestamp is the record's start, so both
travel with each line as hints for records that lack those fields.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from flowlake.decode.records import HINT_INTERFACE, HINT_START, Decoded, Reject
from flowlake.decode.text import decode_lines
from flowlake.decode.validate import validate
from flowlake.schema import BY_AWS, column_name


def looks_like_json(data: bytes) -> bool:
    head = data[:64].lstrip()
    return head[:1] in (b"{", b"[")


def decode_json(data: bytes, fields: tuple[str, ...] | None = None, unwrap=None) -> Decoded:
    """Decode JSON-wrapped records; `unwrap` decodes nested payloads (base64 data that is gzip)."""
    lines: list[tuple[int, str, dict | None]] = []
    objects: list[tuple[int, dict]] = []
    out = Decoded()
    for number, value in _values(data, out):
        _collect(number, value, lines, objects, out, unwrap)
    for chunk in decode_lines(lines, fields, kind="cloudwatch"):
        out.merge(chunk)
    if objects:
        _decode_objects(objects, out)
    return out


def _values(data: bytes, out: Decoded) -> Iterator[tuple[int, Any]]:
    """Every JSON value in the object, numbered by the line it starts on."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        out.rejects.append(Reject(0, f"JSON object is not UTF-8 text (byte {exc.start})", ""))
        return
    decoder = json.JSONDecoder()
    pos, line = 0, 1
    while True:
        start = pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= len(text):
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            bad_end = text.find("\n", pos)
            bad_end = len(text) if bad_end < 0 else bad_end
            out.rejects.append(Reject(line, f"invalid JSON: {exc.msg}", text[pos:bad_end][:500]))
            pos = bad_end
            continue
        yield line, value
        line += text.count("\n", pos, end)
        pos = end


def _collect(number: int, value: Any, lines: list, objects: list, out: Decoded, unwrap) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(number, item, lines, objects, out, unwrap)
        return
    if not isinstance(value, dict):
        out.rejects.append(Reject(number, "JSON value is not an object", json.dumps(value)[:500]))
        return
    if "logEvents" in value:
        if value.get("messageType") == "CONTROL_MESSAGE":
            return
        stream = value.get("logStream")
        for event in value["logEvents"] or []:
            lines.append((number, str(event.get("message", "")), _hints(stream, event.get("timestamp"))))
    elif "events" in value and isinstance(value["events"], list):
        for event in value["events"]:
            hints = _hints(event.get("logStreamName"), event.get("timestamp"))
            lines.append((number, str(event.get("message", "")), hints))
    elif "records" in value and isinstance(value["records"], list):
        for record in value["records"]:
            _collect_firehose(number, record, lines, objects, out, unwrap)
    elif isinstance(value.get("message"), str) or isinstance(value.get("_raw"), str):
        message = value.get("message", value.get("_raw"))
        lines.append((number, message, _hints(value.get("logStream"), value.get("timestamp"))))
    elif any(column_name(k).replace("_", "-") in BY_AWS for k in value):
        objects.append((number, value))
    else:
        out.rejects.append(Reject(number, "JSON object holds no flow-log record", json.dumps(value)[:500]))


def _collect_firehose(number: int, record: dict, lines: list, objects: list, out: Decoded, unwrap) -> None:
    try:
        payload = base64.b64decode(record.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        out.rejects.append(Reject(number, "Firehose record data is not base64", str(record)[:500]))
        return
    if unwrap is not None:
        payload = unwrap(payload)
    if looks_like_json(payload):
        for _, inner in _values(payload, out):
            _collect(number, inner, lines, objects, out, unwrap)
    else:
        for text in payload.decode("utf-8", "replace").splitlines():
            lines.append((number, text, None))


def _hints(stream: object, timestamp: object) -> dict:
    hints: dict = {}
    if isinstance(stream, str) and stream.startswith("eni-"):
        hints[HINT_INTERFACE] = stream.split("-all")[0].split("-accept")[0].split("-reject")[0]
    if isinstance(timestamp, int | float):
        hints[HINT_START] = int(timestamp) // 1000
    return hints


def _decode_objects(objects: list[tuple[int, dict]], out: Decoded) -> None:
    """Record objects keyed by field name: strings and numbers alike, `-` as NULL."""
    names = sorted({column_name(k) for _, obj in objects for k in obj})
    rows = [{column_name(k): v for k, v in obj.items()} for _, obj in objects]
    columns = []
    for name in names:
        values = [r.get(name) for r in rows]
        columns.append(pa.array([None if v in (None, "-") else str(v) for v in values], pa.string()))
    typed, bad = validate(pa.table(columns, names=names))
    for row, reason in sorted(bad.items()):
        out.rejects.append(Reject(objects[row][0], reason, json.dumps(objects[row][1])[:500]))
    out.add(typed, tuple(n.replace("_", "-") for n in names), "json")
