"""Bytes of one delivery object in, typed records and rejected lines out.

The object's content decides the decoder, not its name: gzip is recognised by its magic
bytes, Parquet by its footer, JSON wrappers by their first character, and anything else
is read as space-separated text.
"""

from __future__ import annotations

import zlib

from isal import igzip

from flowlake.decode.jsonlogs import decode_json, looks_like_json
from flowlake.decode.parquet import decode_parquet, is_parquet
from flowlake.decode.records import Decoded, Reject
from flowlake.decode.text import decode_text, decode_text_group

__all__ = ["Decoded", "Reject", "decode_object", "decode_objects", "decompress"]

GZIP_MAGIC = b"\x1f\x8b"


def decode_object(data: bytes, fields: tuple[str, ...] | None = None) -> Decoded:
    """Decode one object; `fields` is the format of header-less lines (default: by field count)."""
    return _decode_plain(*decompress(data), fields)


def decode_objects(datas: list[bytes], fields: tuple[str, ...] | None = None) -> list[Decoded]:
    """Decode several objects; clean text objects sharing a header line are parsed together."""
    plain = [decompress(data) for data in datas]
    runs: dict[bytes, list[int]] = {}
    for i, (data, error) in enumerate(plain):
        if error is None and data.strip() and not is_parquet(data) and not looks_like_json(data):
            runs.setdefault(data[: data.find(b"\n") + 1], []).append(i)
    results: list[Decoded | None] = [None] * len(datas)
    for indices in runs.values():
        if len(indices) > 1:
            group = decode_text_group([plain[i][0] for i in indices], fields)
            for i, decoded in zip(indices, group or [], strict=False):
                results[i] = decoded
    return [r if r is not None else _decode_plain(*plain[i], fields) for i, r in enumerate(results)]


def _decode_plain(data: bytes, error: str | None, fields: tuple[str, ...] | None) -> Decoded:
    if not data.strip():
        out = Decoded()
    elif is_parquet(data):
        out = decode_parquet(data)
    elif looks_like_json(data):
        out = decode_json(data, fields, unwrap=lambda payload: decompress(payload)[0])
    else:
        out = decode_text(data, fields)
    if error:
        out.error = error
        out.rejects.append(Reject(0, error, ""))
    return out


def decompress(data: bytes) -> tuple[bytes, str | None]:
    """Gunzip if gzip (all members); on damage keep every whole line before it and say what broke."""
    if data[:2] != GZIP_MAGIC:
        return data, None
    try:
        return igzip.decompress(data), None
    except Exception:
        pass
    out, rest, error = bytearray(), data, None
    while rest:
        stream = zlib.decompressobj(wbits=47)
        try:
            out += stream.decompress(rest)
        except zlib.error as exc:
            error = f"corrupt gzip data after {len(out):,} bytes ({exc})"
            break
        if not stream.eof:
            error = f"truncated gzip: the object ends mid-stream after {len(out):,} bytes"
            break
        rest = stream.unused_data.lstrip(b"\x00")
    if error:
        cut = out.rfind(b"\n")
        lost = bytes(out[cut + 1 :])
        del out[cut + 1 :]
        if lost:
            error += f"; the partial last line ({len(lost)} bytes) is dropped"
    return bytes(out), error
