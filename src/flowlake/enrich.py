"""Address enrichment as data: country and AS name from an offline database, AWS services from ip-ranges.json.

The country and AS ranges are MaxMind's GeoLite2 data as the `geoip2fast` package ships it (no download at
run time). They are turned once into a DuckDB file in the user's cache folder (`FLOWLAKE_CACHE`, else
`$XDG_CACHE_HOME/flowlake` or `~/.cache/flowlake`), which every connection attaches read-only as `geo`:
a lookup is a hash join on a bucket (the /16 of an IPv4 address, the /32 of an IPv6 one) and a range
test, so `country(srcaddr)` over a million rows takes a fraction of a second. The macros are in
sql/enrich.sql. The data has AS names but no AS numbers.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import os
import pickle
import tempfile
from importlib import metadata, resources
from pathlib import Path

import duckdb
import pyarrow as pa

from flowlake.lake.store import META_DIR

log = logging.getLogger(__name__)

PACKAGE = "geoip2fast"
GEO_VERSION = 2
"""Bump when the cache's tables change, so an old cache file is not read."""
DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
"""Countries and AS names of IPv4 and IPv6 networks, in one file."""
IP_RANGES = "ip-ranges.json"
"""An AWS ip-ranges.json in the lake's metadata folder classifies AWS addresses for every command."""
AWS_COLUMNS = "bucket bigint, first uhugeint, last uhugeint, service varchar, region varchar"


class EnrichError(ValueError):
    """An ip-ranges.json that is not AWS's format."""


def install(con: duckdb.DuckDBPyConnection, lake_root: Path | None = None) -> None:
    """Attach the geo ranges, define the macros, and load the lake's ip-ranges.json if it has one."""
    define(con)
    lake_ranges(con, lake_root)


def define(con: duckdb.DuckDBPyConnection) -> None:
    """Attach the geo ranges and define the macros: once per database, since every cursor on it has them."""
    # Not `attach if not exists`: with it, DuckDB 2.0.1 deadlocks (a spinning mutex in AttachDatabase) once
    # a process has attached the file in some dozens of connections (tests/test_enrich.py repeats it).
    [(attached,)] = con.execute("select count(*) from duckdb_databases() where database_name = 'geo'").fetchall()
    if not attached:
        con.execute(f"attach {_literal(str(geo_file()))} as geo (read_only)")
    con.execute((resources.files("flowlake") / "sql" / "enrich-build.sql").read_text())
    # What the macros bind to; each connection's own temp `aws_ranges` (lake_ranges) shadows it.
    con.execute(f"create table if not exists aws_ranges ({AWS_COLUMNS})")
    con.execute((resources.files("flowlake") / "sql" / "enrich.sql").read_text())


def lake_ranges(con: duckdb.DuckDBPyConnection, lake_root: Path | None) -> None:
    """The connection's `aws_ranges` from the lake's ip-ranges.json (empty without one, or with a bad one)."""
    ranges = lake_root / META_DIR / IP_RANGES if lake_root is not None else None
    try:
        aws_ranges(con, ranges if ranges is not None and ranges.is_file() else None)
    except EnrichError as exc:
        log.warning("%s; AWS services are not classified", exc)
        aws_ranges(con, None)


def aws_ranges(con: duckdb.DuckDBPyConnection, path: Path | None) -> None:
    """(Re)build the connection's temp table `aws_ranges` from an AWS ip-ranges.json (empty without one), on
    a database `define` has run on."""
    con.execute(f"create or replace temp table aws_ranges ({AWS_COLUMNS})")
    if path is None:
        return
    try:
        doc = json.loads(path.read_text())
        rows = [(p["ip_prefix"], p["service"], p.get("region")) for p in doc["prefixes"]]
        rows += [(p["ipv6_prefix"], p["service"], p.get("region")) for p in doc.get("ipv6_prefixes", [])]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EnrichError(f"{path}: not an AWS ip-ranges.json ({type(exc).__name__}: {exc})") from None
    prefixes = pa.table({"prefix": [r[0] for r in rows], "service": [r[1] for r in rows],
                         "region": [r[2] for r in rows]})
    con.register("aws_prefixes", prefixes)
    try:
        con.execute("""
            insert into aws_ranges
            select unnest(range_buckets(first, last)), first, last, service, region
            from (select ip_int(split_part(prefix, '/', 1)) as first,
                         range_last(ip_int(split_part(prefix, '/', 1)), split_part(prefix, '/', 2)::int) as last,
                         service, region from aws_prefixes)""")
    except duckdb.Error as exc:
        raise EnrichError(f"{path}: a prefix is not an address/length ({exc})") from None
    finally:
        con.unregister("aws_prefixes")


def geo_file() -> Path:
    """The cached DuckDB file of country and AS ranges, built on first use (about two seconds)."""
    version = metadata.version(PACKAGE)
    folder = _cache_folder()
    path = folder / f"geo-{PACKAGE}-{version}-v{GEO_VERSION}.duckdb"
    if not path.exists():
        _build(path)
    return path


def source() -> str:
    """What the data is: `MAXMIND:GeoLite2-CountryASN-IPv4IPv6-en-20240618` (geoip2fast's own label)."""
    con = duckdb.connect(str(geo_file()), read_only=True)
    try:
        return con.execute("select info from source").fetchone()[0]
    finally:
        con.close()


def _cache_folder() -> Path:
    base = os.environ.get("FLOWLAKE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = Path(base) / ("" if os.environ.get("FLOWLAKE_CACHE") else "flowlake")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError:
        fallback = Path(tempfile.gettempdir()) / f"flowlake-cache-{os.getuid()}"
        fallback.mkdir(exist_ok=True)
        return fallback


def _build(path: Path) -> None:
    """Write the ranges to a temporary file beside `path`, then rename it: readers never see half a file."""
    with gzip.open(resources.files(PACKAGE) / DATA_FILE) as data:
        _, info, _, database = pickle.load(data)  # the package's own data file
    (_, _, country_names, as_names, country_first, as_first, country_ids, as_ids, country_len, as_len) = database
    flat = itertools.chain.from_iterable
    tables = {
        "country_networks": pa.table({"first": [str(f) for f in flat(country_first)],
                                      "netlen": pa.array(list(flat(country_len)), pa.int32()),
                                      "id": pa.array(list(flat(country_ids)), pa.int32())}),
        "country_names": pa.table({"id": pa.array(range(len(country_names)), pa.int32()), "name": country_names}),
        "as_networks": pa.table({"first": [str(f) for f in flat(as_first)],
                                 "netlen": pa.array(list(flat(as_len)), pa.int32()),
                                 "id": pa.array(list(flat(as_ids)), pa.int32())}),
        "as_names": pa.table({"id": pa.array(range(len(as_names)), pa.int32()), "name": as_names}),
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect(str(partial))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute((resources.files("flowlake") / "sql" / "enrich-build.sql").read_text())
        for name, table in tables.items():
            con.register(name, table)
        con.execute("create table source as select ? as info", [info["info"]])
        con.execute("""
            create table country_ranges as
            select unnest(range_buckets(first, last)) as bucket, first, last, split_part(n.name, ':', 1) as country,
                   split_part(n.name, ':', 2) as country_name
            from (select first::uhugeint as first, range_last(first::uhugeint, netlen) as last, id
                  from country_networks) join country_names n using (id)
            where not regexp_matches(n.name, '^[0-9]+:')  -- private, reserved and unknown networks
            order by bucket, first""")
        con.execute("""
            create table as_ranges as
            select unnest(range_buckets(first, last)) as bucket, first, last, n.name as as_name
            from (select first::uhugeint as first, range_last(first::uhugeint, netlen) as last, id
                  from as_networks) join as_names n using (id)
            where n.name not in ('<unknown>', 'IANA.ORG')  -- IANA.ORG: private and reserved ranges, not an AS
            order by bucket, first""")
    finally:
        con.close()
    os.replace(partial, path)
    partial.with_name(partial.name + ".wal").unlink(missing_ok=True)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
