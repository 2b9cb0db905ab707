"""Generated flow logs read back independently of flowlake: the truth tests compare answers with."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

INTEGERS = {"version", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "tcp_flags",
            "traffic_path"}


class Row(dict):
    """One raw record, keyed by lake column name; a field the record lacks reads as None (NULL)."""

    def __missing__(self, key: str) -> None:
        return None


def read_raw(root: Path) -> list[Row]:
    """Every record of every generated object, with the key's account, region and flow-log id."""
    records = []
    for path in sorted(root.rglob("*.log.*")):
        account, _, region, flow_log_id = path.name.split("_")[:4]
        rows = pq.read_table(path).to_pylist() if path.name.endswith(".parquet") else _text_rows(path)
        for fields in rows:
            row = Row()
            for name, value in fields.items():
                column = name.replace("-", "_")
                row[column] = None if value in (None, "-") else int(value) if column in INTEGERS else value
            row["account_id"] = row["account_id"] or account
            row["region"] = row["region"] or region
            row["flow_log_id"] = flow_log_id
            row["start_time"], row["end_time"] = utc(row["start"]), utc(row["end"])
            records.append(row)
    return records


def _text_rows(path: Path) -> Iterator[dict[str, str]]:
    """Space-separated records mapped by the header line."""
    header: list[str] = []
    with gzip.open(path, "rt") as lines:
        for line in lines:
            tokens = line.split()
            if tokens and not tokens[0].isdigit():
                header = tokens
            elif tokens:
                yield dict(zip(header, tokens, strict=True))


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def geoip2fast_lookups(addresses: Iterable[str]) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Country code, country name and AS name of each address by geoip2fast's own lookups (None where it
    places none; the data's AS name of private and reserved ranges, IANA.ORG, is none). Two slips of those
    lookups are stepped around: with its IPv4 file it calls Andorra private (its reserved ids end one
    earlier there), and with its combined file it stretches IPv4 AS networks by IPv6 prefix lengths; so
    countries come from the combined file and IPv4 AS names from the IPv4 file. Its data lives in module
    globals, so one instance at a time."""
    from geoip2fast import GeoIP2Fast

    unique = sorted(set(addresses))
    combined = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn-ipv6.dat.gz")
    found = {a: combined.lookup(a) for a in unique}
    ipv4 = GeoIP2Fast(geoip2fast_data_file="geoip2fast-asn.dat.gz")
    as_names = {a: ipv4.lookup(a).asn_name if ":" not in a else found[a].asn_name for a in unique}
    answers = {}
    for address, r in found.items():
        known = not r.is_private and r.country_code not in ("--", "")
        answers[address] = (r.country_code if known else None, r.country_name if known else None,
                            None if as_names[address] == "IANA.ORG" else as_names[address] or None)
    return answers
