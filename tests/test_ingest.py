"""Ingest through the CLI: layouts, incremental runs, changed objects, standard input, status."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from conftest import HEADER, aws_key, count, rows, run_cli, text_object, v2_line, write_object
from flowlake import cases
from flowlake.sources.keys import parse_key


def test_key_layouts_give_account_region_date_and_flow_log_id() -> None:
    name = "111122223333_vpcflowlogs_eu-west-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz"
    plain = parse_key(f"bucket/prefix/AWSLogs/111122223333/vpcflowlogs/eu-west-1/2018/06/20/{name}")
    hive = parse_key("AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=eu-west-1/"
                     f"year=2018/month=06/day=20/hour=16/{name}")
    org = parse_key(f"AWSLogs/o-aa111bb222/111122223333/vpcflowlogs/eu-west-1/2018/06/20/16/{name}")
    for info in (plain, hive, org):
        assert (info.account_id, info.region, info.flow_log_id) == ("111122223333", "eu-west-1", "fl-1234abcd")
        assert info.date.isoformat() == "2018-06-20" and info.hour == 16
    assert hive.hive and not plain.hive
    assert parse_key("/tmp/somewhere/else.log").account_id is None


def test_fields_missing_from_records_come_from_the_key(inbox: Path, lake: Path) -> None:
    header = "interface-id srcaddr dstaddr start end"
    write_object(inbox, aws_key(account="444455556666", region="ap-southeast-2"),
                 f"{header}\neni-1 10.0.0.1 10.0.0.2 1795780800 1795780860\n")
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    [(account, region, flow_log, date)] = rows(lake, "select account_id, region, flow_log_id, date from flows")
    assert (account, region, flow_log) == ("444455556666", "ap-southeast-2", "fl-0123456789abcdef0")
    assert date.isoformat() == "2026-11-27"


def test_second_run_adds_nothing_and_a_changed_object_replaces_its_rows(inbox: Path, lake: Path) -> None:
    first = write_object(inbox, aws_key(suffix="00000001"), text_object([v2_line(i) for i in range(300)]))
    write_object(inbox, aws_key(suffix="00000002"), text_object([v2_line(i) for i in range(300, 400)]))
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    again = json.loads(run_cli("ingest", str(inbox), "--lake", str(lake), "--json").stdout)
    assert (again["records"], again["unchanged"]) == (0, 2)
    assert count(lake) == 400
    write_object(inbox, aws_key(suffix="00000001"), text_object([v2_line(i) for i in range(1000, 1050)]))
    os.utime(first, (1, 1))
    changed = json.loads(run_cli("ingest", str(inbox), "--lake", str(lake), "--json").stdout)
    assert (changed["records"], changed["ingested"]) == (50, 1)
    assert count(lake) == 150
    assert count(lake, "srcport >= 41000") == 50


def test_standard_input_with_and_without_header(lake: Path) -> None:
    body = text_object([v2_line(i) for i in range(10)]).encode()
    assert run_cli("ingest", "-", "--lake", str(lake), stdin=body).returncode == 0
    headerless = "\n".join(v2_line(i) for i in range(10, 15)).encode()
    assert run_cli("ingest", "-", "--lake", str(lake), stdin=headerless).returncode == 0
    assert count(lake) == 15


def test_custom_header_with_pkt_fields_and_unknown_field_is_kept(inbox: Path, lake: Path) -> None:
    body = ("version srcaddr dstaddr pkt-srcaddr pkt-dstaddr start end log-status next-hop-az-id\n"
            "11 10.0.0.5 10.0.0.220 10.0.0.5 203.0.113.5 1795780800 1795780830 OK use1-az6\n")
    write_object(inbox, aws_key(), body)
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert result.returncode == 0
    assert "next-hop-az-id" in result.stderr.decode()
    assert rows(lake, "select pkt_dstaddr, next_hop_az_id from flows") == [("203.0.113.5", "use1-az6")]
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert status["unknown_fields"] == ["next-hop-az-id"]


def test_status_summarises_the_lake(inbox: Path, lake: Path) -> None:
    nodata = f"2 123456789012 eni-{0:017x} - - - - - - - 1795780800 1795780860 - NODATA"
    write_object(inbox, aws_key(), text_object([v2_line(i) for i in range(20)] + [nodata, "junk line"]))
    run_cli("ingest", str(inbox), "--lake", str(lake))
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert status["objects"] == 1 and status["rows_in_lake"] == 21
    assert status["nodata"] == 1 and status["skipdata"] == 0
    assert status["accounts"] == ["123456789012"] and status["regions"] == ["us-east-1"]
    assert status["formats"] == {"text v2": 21}
    assert status["partitions"] == 1 and status["bytes_on_disk"] > 0
    assert status["time_range"][0].startswith("2026-11-27")
    assert status["quarantine"]["lines"] == 1
    later = json.loads(run_cli("status", "--lake", str(lake), "--from", "2026-11-28", "--format", "json").stdout)
    assert later["rows_in_range"] == 0 and later["rows_in_lake"] == 21 and later["accounts"] == []
    table = run_cli("status", "--lake", str(lake)).stdout.decode()
    assert re.search(r"NODATA / SKIPDATA +1 / 0", table)


def test_missing_input_and_missing_lake_are_usage_errors(tmp_path: Path) -> None:
    missing = run_cli("ingest", str(tmp_path / "nope"), "--lake", str(tmp_path / "lake"))
    assert missing.returncode == 2 and "no such file" in missing.stderr.decode()
    no_lake = run_cli("query", "select 1", "--lake", str(tmp_path / "nolake"))
    assert no_lake.returncode == 2 and "no flowlake lake" in no_lake.stderr.decode()


def test_lake_from_environment(inbox: Path, lake: Path) -> None:
    write_object(inbox, aws_key(), f"{HEADER}\n{v2_line(1)}\n")
    assert run_cli("ingest", str(inbox), env={"FLOWLAKE_LAKE": str(lake)}).returncode == 0
    out = run_cli("query", "select count(*) n from flows", "--format", "csv", env={"FLOWLAKE_LAKE": str(lake)})
    assert out.stdout.decode().splitlines() == ['"n"', "1"]


@pytest.mark.slow
def test_generated_million_ingests_exactly_and_only_once(tmp_path: Path) -> None:
    """The issue's own check: generate, ingest, count; a second ingest adds nothing."""
    data, lake = tmp_path / "g", tmp_path / "l"
    made = json.loads(run_cli("generate", str(data), "--records", "1000000", "--end", "2026-11-27").stdout)
    assert made["records"] == 1_000_000
    first = run_cli("ingest", str(data), "--lake", str(lake))
    assert first.returncode == 0, first.stderr.decode()
    out = run_cli("query", "--lake", str(lake), "--format", "json", "select count(*) n from flows")
    assert json.loads(out.stdout) == [{"n": 1_000_000}]
    again = json.loads(run_cli("ingest", str(data), "--lake", str(lake), "--json").stdout)
    assert again["records"] == 0 and again["unchanged"] == made["objects"]


def test_demo_generates_and_ingests(tmp_path: Path) -> None:
    result = run_cli("demo", "--records", "5000", "--dir", str(tmp_path / "demo"), "--no-serve")
    assert result.returncode == 0, result.stderr.decode()
    assert "Top talkers" in result.stdout.decode()
    lake = tmp_path / "demo" / "lake"
    incidents = sum(len(gzip.decompress(p.read_bytes()).splitlines()) - 1
                    for p in (tmp_path / "demo" / "data" / "history").rglob("*_incidents.log.gz"))
    assert incidents and count(lake, f"account_id <> '{cases.ACCOUNT}'") == 5000 + incidents
    stored = rows(lake, "select count(*), count(distinct rule) from findings")
    assert stored[0][0] > 0 and stored[0][1] > 5
    raw = [line for path in (tmp_path / "demo" / "data" / "cases").rglob("*.log.gz")
           for line in gzip.decompress(path.read_bytes()).decode().splitlines()[1:]]
    assert count(lake, f"account_id = '{cases.ACCOUNT}'") == len(raw) > 0
    explained = run_cli("explain", "--lake", str(lake), "--src", cases.CLIENTS[0], "--dst", cases.WEB[2], "--port",
                        "443", "--format", "json")
    assert json.loads(explained.stdout)["verdict"] == "return-path-reject"


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(inbox: Path, lake: Path) -> None:
    import pty
    import subprocess
    import sys

    for n in range(30):
        write_object(inbox, aws_key(suffix=f"{n:08x}"), text_object([v2_line(n * 100 + i) for i in range(100)]))
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "flowlake", "ingest", str(inbox), "--lake", str(lake)],
                          stderr=follower, stdout=subprocess.DEVNULL, timeout=120, env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert re.search(rb"\d+ objects, [\d,]+ records, [\d,]+ records/s", seen), seen[-500:]
    piped = run_cli("ingest", str(inbox), "--lake", str(lake.parent / "other"))
    assert piped.stderr.decode().count("\n") == 1, "in a pipe only the one-line summary is printed"
