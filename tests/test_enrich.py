"""Address enrichment: the SQL macros against geoip2fast's own lookups, AWS ip-ranges.json, address classes."""

from __future__ import annotations

import ipaddress
import json
import random
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import aws_key, run_cli, text_object, write_object
from flowlake import enrich
from flowlake.cli import commands
from flowlake.engine.duckdb import connect
from flowlake.lake.store import META_DIR, Lake
from rawdata import geoip2fast_lookups

V5 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
      "log-status pkt-src-aws-service pkt-dst-aws-service")
IP_RANGES = {
    "syncToken": "1700000000", "createDate": "2026-11-27-00-00-00",
    "prefixes": [
        {"ip_prefix": "52.94.0.0/16", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {"ip_prefix": "52.94.8.0/22", "region": "us-east-1", "service": "DYNAMODB",
         "network_border_group": "us-east-1"},
        {"ip_prefix": "3.5.0.0/19", "region": "eu-west-1", "service": "S3", "network_border_group": "eu-west-1"},
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f14::/35", "region": "eu-west-1", "service": "EC2", "network_border_group": "eu-west-1"},
    ],
}
LINES = [
    "5 123456789012 eni-0a 10.0.0.5 52.94.9.10 40000 443 6 5 500 1795780800 1795780860 ACCEPT OK - -",
    "5 123456789012 eni-0a 10.0.0.5 52.94.200.1 40001 443 6 5 500 1795780800 1795780860 ACCEPT OK - -",
    "5 123456789012 eni-0a 10.0.0.5 3.5.1.2 40002 443 6 5 500 1795780800 1795780860 ACCEPT OK - -",
    "5 123456789012 eni-0a 52.95.128.179 10.0.0.5 80 34210 6 5 500 1795780800 1795780860 ACCEPT OK S3 -",
    "5 123456789012 eni-0a 10.0.0.5 8.8.8.8 40003 53 17 1 80 1795780800 1795780860 ACCEPT OK - -",
    "5 123456789012 eni-0a 10.0.0.5 10.0.0.6 40004 5432 6 1 80 1795780800 1795780860 ACCEPT OK - -",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("enrich")
    write_object(root / "inbox", aws_key(), text_object(LINES, V5))
    result = CliRunner().invoke(commands(), ["ingest", str(root / "inbox"), "--lake", str(root / "lake")])
    assert result.exit_code == 0, result.output
    return root / "lake"


@pytest.fixture(scope="module")
def con(lake: Path) -> duckdb.DuckDBPyConnection:
    return connect(Lake(lake))[0]


def test_country_and_as_name_match_geoip2fast(con: duckdb.DuckDBPyConnection) -> None:
    """3,000 random IPv4 and 300 random IPv6 addresses (in 2000::/4, where the data is) looked up both ways."""
    rng = random.Random(7)
    v4 = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(3000)]
    v6 = [str(ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))) for _ in range(300)]
    v6 += ["2001:4860:4860::8888", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e"]
    got = {a: (c, n, s) for a, c, n, s in con.execute(
        "select a, country(a), country_name(a), as_name(a) from unnest(?) t(a)", [v4 + v6]).fetchall()}
    expected = geoip2fast_lookups(v4 + v6)
    assert got == expected
    assert sum(c is not None for c, _, _ in expected.values()) > 1500  # not a comparison of NULLs


def test_private_and_odd_addresses_have_no_country(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("select country(a), as_name(a), addr_class(a) from unnest(?) t(a)",
                       [["10.1.2.3", "192.168.0.1", "fd00::1", "not-an-ip", None]]).fetchall()
    assert rows == [(None, None, "private"), (None, None, "private"), (None, None, "private"),
                    (None, None, None), (None, None, None)]


def test_without_ip_ranges_only_the_record_names_aws_services(con: duckdb.DuckDBPyConnection) -> None:
    rows = dict(con.execute("""
        select if(is_private(srcaddr), dstaddr, srcaddr),
               addr_class(if(is_private(srcaddr), dstaddr, srcaddr), coalesce(pkt_src_aws_service, pkt_dst_aws_service))
        from flows where not (is_private(srcaddr) and is_private(dstaddr))""").fetchall())
    assert rows == {"52.94.9.10": "public", "52.94.200.1": "public", "3.5.1.2": "public",
                    "52.95.128.179": "aws-service", "8.8.8.8": "public"}


def test_ip_ranges_json_in_the_lake_classifies_aws_addresses(lake: Path, tmp_path: Path) -> None:
    (lake / META_DIR / "ip-ranges.json").write_text(json.dumps(IP_RANGES))
    try:
        con, _ = connect(Lake(lake))
        rows = con.execute("select a, aws_service(a), addr_class(a) from unnest(?) t(a) order by a", [[
            "52.94.9.10", "52.94.200.1", "3.5.1.2", "3.5.32.1", "2600:1f14::1", "2600:1f18::1", "10.0.0.5"]]).fetchall()
    finally:
        (lake / META_DIR / "ip-ranges.json").unlink()
    assert rows == [("10.0.0.5", None, "private"), ("2600:1f14::1", "EC2", "aws-service"),
                    ("2600:1f18::1", None, "public"), ("3.5.1.2", "S3", "aws-service"),
                    ("3.5.32.1", None, "public"), ("52.94.200.1", "AMAZON", "aws-service"),
                    ("52.94.9.10", "DYNAMODB", "aws-service")]


def test_ip_ranges_option(lake: Path, tmp_path: Path) -> None:
    path = tmp_path / "ranges.json"
    path.write_text(json.dumps(IP_RANGES))
    result = CliRunner().invoke(commands(), [
        "query", "--lake", str(lake), "--ip-ranges", str(path), "--format", "json",
        "select dstaddr, aws_service(dstaddr) as service from flows where dstport = 443 order by dstaddr"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"dstaddr": "3.5.1.2", "service": "S3"},
                                         {"dstaddr": "52.94.200.1", "service": "AMAZON"},
                                         {"dstaddr": "52.94.9.10", "service": "DYNAMODB"}]


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not an AWS ip-ranges.json"),
    ('{"prefixes": [{"ip_prefix": "1.2.3.0/24"}]}', "not an AWS ip-ranges.json (KeyError"),
    ('{"prefixes": [{"ip_prefix": "1.2.3.0/x", "service": "S3"}]}', "a prefix is not an address/length"),
])
def test_malformed_ip_ranges(lake: Path, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ranges.json"
    path.write_text(text)
    result = run_cli("report", "top-countries", "--lake", str(lake), "--ip-ranges", str(path))
    assert result.returncode == 2 and message in result.stderr.decode()
    (lake / META_DIR / "ip-ranges.json").write_text(text)
    try:
        result = run_cli("query", "--lake", str(lake), "--format", "csv", "select count(*) n from flows")
    finally:
        (lake / META_DIR / "ip-ranges.json").unlink()
    assert result.returncode == 0 and result.stdout.decode().splitlines()[1] == str(len(LINES))
    assert message in result.stderr.decode()  # a warning: the lake's broken file stops no command


def test_missing_ip_ranges_file_exits_2(lake: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(commands(), ["query", "--lake", str(lake), "--ip-ranges", str(tmp_path / "no.json"),
                                             "select 1"])
    assert result.exit_code == 2 and "does not exist" in result.stderr


@pytest.mark.slow
def test_cache_is_built_once_into_flowlake_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWLAKE_CACHE", str(tmp_path))
    path = enrich.geo_file()
    assert path.parent == tmp_path and path.exists()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no partial file left behind
    stamp = path.stat().st_mtime_ns
    assert enrich.geo_file().stat().st_mtime_ns == stamp
    assert enrich.source().startswith("MAXMIND:GeoLite2-CountryASN-IPv4IPv6")


def test_many_connections_attach_the_ranges_without_hanging() -> None:
    """The dashboard opens a connection per question. DuckDB 2.0.1 hangs in `attach if not exists` once a
    process has attached the same file in some dozens of connections, some still open: install() must not."""
    script = """
import duckdb
from flowlake import enrich
from flowlake.engine.duckdb import setup
kept = []
for i in range(300):
    con = duckdb.connect()
    setup(con)
    enrich.install(con)
    assert con.execute("select country('8.8.8.8')").fetchall() == [("US",)]
    if i % 3 == 0:
        kept.append(con)
print("ok")
"""
    try:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("300 connections did not attach the ranges within 5 minutes: a hang")
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b"ok"
