"""Web server access logs: `flowlake ingest-weblogs` into `web_logs`, and the `web-clients` report."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from conftest import aws_key, run_cli, write_object
from flowlake import weblogs

DAY = 86_400
NOV27 = 1_795_737_600  # 2026-11-27T00:00:00Z

PLAIN = [  # access.log: Apache, combined format
    b'203.0.113.10 - - [27/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 5120 "https://example.com/"'
    b' "Mozilla/5.0 (X11; Linux x86_64)"',
    b'203.0.113.10 - alice [27/Nov/2026:11:01:00 +0100] "POST /login HTTP/1.1" 302 - "https://example.com/index.html"'
    b' "Bot/2.1 (say \\"hi\\")"',
    b"this is not an access log line",
    b'2001:DB8:0:0::7 - - [27/Nov/2026:10:30:00 +0000] "GET /api/items?id=1 HTTP/2.0" 404 153 "-" "curl/8.4.0"\r',
    b"",
    b'203.0.113.10 - - [27/Nov/2026:10:02:00 +0000] "GET /caf\xe9 HTTP/1.1" 500 42 "-" "Mozilla/5.0"',
]
ROTATED = [  # access.log.1.gz: a timeout, Nginx's common and `main` formats, a bad time, the next UTC day
    b'198.51.100.20 - - [27/Nov/2026:10:15:00 -0500] "-" 408 0 "-" "-"',
    b'::ffff:198.51.100.20 - - [27/Nov/2026:15:20:00 +0000] "GET /robots.txt HTTP/1.0" 200 68',
    b'198.51.100.20 - - [27/Nov/2026:25:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "x"',
    b'203.0.113.10 - - [27/Nov/2026:23:30:00 -0200] "GET /index.html HTTP/1.1" 304 0 "-" "Mozilla/5.0" "10.1.2.3"',
]


def row(client: str, time: str, method: str | None, path: str | None, protocol: str | None, status: int,
        size: int | None, referer: str | None, agent: str | None, source: int, user: str | None = None) -> dict:
    return {"client": client, "ident": None, "user": user, "time": time, "method": method, "path": path,
            "protocol": protocol, "status": status, "bytes": size, "referer": referer, "user_agent": agent,
            "source": source, "date": time[:10]}


EXPECTED = [
    row("203.0.113.10", "2026-11-27T10:00:00+00:00", "GET", "/index.html", "HTTP/1.1", 200, 5120,
        "https://example.com/", "Mozilla/5.0 (X11; Linux x86_64)", 1),
    row("203.0.113.10", "2026-11-27T10:01:00+00:00", "POST", "/login", "HTTP/1.1", 302, None,
        "https://example.com/index.html", 'Bot/2.1 (say \\"hi\\")', 1, user="alice"),
    row("203.0.113.10", "2026-11-27T10:02:00+00:00", "GET", "/caf\ufffd", "HTTP/1.1", 500, 42, None, "Mozilla/5.0", 1),
    row("2001:db8::7", "2026-11-27T10:30:00+00:00", "GET", "/api/items?id=1", "HTTP/2.0", 404, 153, None,
        "curl/8.4.0", 1),
    row("198.51.100.20", "2026-11-27T15:15:00+00:00", None, None, None, 408, 0, None, None, 2),
    row("198.51.100.20", "2026-11-27T15:20:00+00:00", "GET", "/robots.txt", "HTTP/1.0", 200, 68, None, None, 2),
    row("203.0.113.10", "2026-11-28T01:30:00+00:00", "GET", "/index.html", "HTTP/1.1", 304, 0, None, "Mozilla/5.0", 2),
]


@pytest.fixture
def logs(tmp_path: Path) -> tuple[Path, Path]:
    """A plain access.log and a gzipped access.log.1.gz."""
    folder = tmp_path / "www"
    folder.mkdir()
    plain, rotated = folder / "access.log", folder / "access.log.1.gz"
    plain.write_bytes(b"\n".join(PLAIN) + b"\n")
    rotated.write_bytes(gzip.compress(b"\n".join(ROTATED) + b"\n"))
    return plain, rotated


def ingest(lake: Path, *paths: Path) -> tuple[int, dict]:
    result = run_cli("ingest-weblogs", *map(str, paths), "--lake", str(lake), "--json")
    return result.returncode, json.loads(result.stdout)


def q(lake: Path, sql: str) -> list[dict]:
    result = run_cli("query", sql, "--lake", str(lake), "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_every_column_of_plain_and_gzip_logs(logs: tuple[Path, Path], lake: Path) -> None:
    code, stats = ingest(lake, *logs)
    assert code == 1, "rejected lines make exit code 1"
    assert (stats["records"], stats["rejected"], stats["ingested"]) == (7, 2, 2)
    assert stats["formats"] == {"combined log": 6, "common log": 1}
    assert q(lake, "select * from web_logs order by time") == EXPECTED
    days = sorted(p.parent.name for p in (lake / "web_logs").glob("date=*/part-*.parquet"))
    assert days == ["date=2026-11-27", "date=2026-11-27", "date=2026-11-28"], "one file per log file and day"
    assert not list(lake.rglob(".*.tmp"))
    assert q(lake, "select count(*) n from flows") == [{"n": 0}], "web logs never show up as flows"
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert (status["rows_in_lake"], status["files"]) == (0, 0)


def test_bad_lines_are_quarantined_and_runs_add_only_what_changed(logs: tuple[Path, Path], lake: Path) -> None:
    plain, rotated = logs
    ingest(lake, plain, rotated)
    quarantine = json.loads(run_cli("quarantine", "--lake", str(lake), "--format", "json").stdout)
    assert quarantine == [
        {"object": f"web_logs:{plain.resolve().as_uri()}", "line": 3,
         "reason": "not a common or combined format access log line", "text": "this is not an access log line"},
        {"object": f"web_logs:{rotated.resolve().as_uri()}", "line": 3,
         "reason": "time '27/Nov/2026:25:00:00 +0000' is not day/Mon/year:hh:mm:ss ±hhmm",
         "text": ROTATED[2].decode()},
    ]
    code, again = ingest(lake, plain, rotated)
    assert (code, again["records"], again["unchanged"]) == (0, 0, 2), "unchanged files are not read again"
    assert q(lake, "select count(*) n from web_logs") == [{"n": 7}]

    with plain.open("ab") as out:  # the live log grows: its rows are replaced, the rotated file is left alone
        out.write(b'192.0.2.1 - - [27/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 10 "-" "x"\n')
    code, grown = ingest(lake, plain.parent)
    assert (code, grown["records"], grown["ingested"], grown["unchanged"]) == (1, 5, 1, 1)
    assert q(lake, "select source, count(*) n from web_logs group by 1 order by 1") == [
        {"source": 1, "n": 5}, {"source": 2, "n": 3}]
    assert len(json.loads(run_cli("quarantine", "--lake", str(lake), "--format", "json").stdout)) == 2


def test_clean_logs_exit_0_and_missing_paths_exit_2(tmp_path: Path, lake: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_bytes(PLAIN[0] + b"\n")
    assert ingest(lake, clean)[0] == 0
    missing = run_cli("ingest-weblogs", str(tmp_path / "nope.log"), "--lake", str(lake))
    assert missing.returncode == 2 and "no such file" in missing.stderr.decode()


def test_truncated_gzip_keeps_the_lines_before_the_damage(tmp_path: Path, lake: Path) -> None:
    lines = [PLAIN[0].replace(b"10:00:00", f"10:{m:02d}:00".encode()) for m in range(60)]
    whole = gzip.compress(b"\n".join(lines) + b"\n")
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    code, stats = ingest(lake, cut)
    kept = q(lake, "select count(*) n, max(time) last from web_logs")[0]
    assert code == 1 and "truncated gzip" in stats["problems"][0]
    assert 0 < kept["n"] < 60 and kept["last"] == f"2026-11-27T10:{kept['n'] - 1:02d}:00+00:00"


def test_line_numbers_hold_across_parse_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"\n".join(PLAIN * 20) + b"\n"
    whole = weblogs.decode_weblog(data, 1)
    monkeypatch.setattr(weblogs, "CHUNK_BYTES", 100)
    pieces = weblogs.decode_weblog(data, 1)
    assert len(pieces.tables) > 10
    assert [r.line for r in pieces.rejects] == [r.line for r in whole.rejects] == [3 + 6 * i for i in range(20)]
    assert pieces.records == whole.records == 80


A, V6, C = "203.0.113.10", "2001:db8::7", "198.51.100.20"
SERVER, LB, T = "10.0.1.5", "10.0.0.9", NOV27 + 10 * 3600
FLOW_HEADER = ("version srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol packets bytes start end action"
               " log-status")


def flow(src: str, dst: str, pkt_src: str, pkt_dst: str, size: int, action: str, start: int = T) -> str:
    return f"5 {src} {dst} {pkt_src} {pkt_dst} 40000 443 6 3 {size} {start} {start + 60} {action} OK"


FLOWS = [
    flow(A, SERVER, "-", "-", 1000, "ACCEPT"),          # A as source
    flow(SERVER, A, "-", "-", 20000, "ACCEPT"),         # A as destination
    flow(LB, SERVER, A, SERVER, 300, "REJECT"),         # A as packet-level source, behind a load balancer
    flow(A, LB, A, SERVER, 50, "REJECT"),               # A twice in one flow: one flow, one reject
    flow(SERVER, A, "-", "-", 70, "REJECT"),            # rejected on its way to A: not a reject from A
    flow(V6, "2001:db8::1", "-", "-", 400, "ACCEPT"),   # the IPv6 client
    flow(SERVER, LB, SERVER, C, 600, "ACCEPT"),         # C as packet-level destination
    flow(A, SERVER, "-", "-", 999, "ACCEPT", start=NOV27 + DAY + 3600),  # A on the next day
    flow("192.0.2.99", SERVER, "-", "-", 5, "REJECT"),  # not a web client
]


def report(lake: Path, *args: str) -> list[dict]:
    result = run_cli("report", "web-clients", "--lake", str(lake), "--format", "json", *args)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_web_clients_joins_requests_with_flows(logs: tuple[Path, Path], lake: Path, inbox: Path) -> None:
    write_object(inbox, aws_key(), FLOW_HEADER + "\n" + "\n".join(FLOWS) + "\n")
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    ingest(lake, *logs)
    # Counted by hand from PLAIN, ROTATED and FLOWS above.
    a = {"client": A, "requests": 4, "paths": 3, "status_2xx": 1, "status_3xx": 2, "status_4xx": 0, "status_5xx": 1,
         "first_request": "2026-11-27T10:00:00+00:00", "last_request": "2026-11-28T01:30:00+00:00",
         "flows": 6, "flow_bytes": 1000 + 20000 + 300 + 50 + 70 + 999, "rejected_from": 2}
    c = {"client": C, "requests": 2, "paths": 1, "status_2xx": 1, "status_3xx": 0, "status_4xx": 1, "status_5xx": 0,
         "first_request": "2026-11-27T15:15:00+00:00", "last_request": "2026-11-27T15:20:00+00:00",
         "flows": 1, "flow_bytes": 600, "rejected_from": 0}
    v6 = {"client": V6, "requests": 1, "paths": 1, "status_2xx": 0, "status_3xx": 0, "status_4xx": 1, "status_5xx": 0,
          "first_request": "2026-11-27T10:30:00+00:00", "last_request": "2026-11-27T10:30:00+00:00",
          "flows": 1, "flow_bytes": 400, "rejected_from": 0}
    assert report(lake) == [a, c, v6]
    a_27 = {**a, "requests": 3, "status_3xx": 1, "last_request": "2026-11-27T10:02:00+00:00",
            "flows": 5, "flow_bytes": a["flow_bytes"] - 999}
    assert report(lake, "--from", "2026-11-27", "--to", "2026-11-27", "--limit", "1") == [a_27]
    assert report(lake, "--from", "2026-11-28") == [{**a, "requests": 1, "paths": 1, "status_2xx": 0, "status_3xx": 1,
                                                     "status_5xx": 0, "first_request": a["last_request"],
                                                     "flows": 1, "flow_bytes": 999, "rejected_from": 0}]


def test_web_logs_view_is_empty_with_its_columns_in_a_flows_only_lake(inbox: Path, lake: Path) -> None:
    write_object(inbox, aws_key(), FLOW_HEADER + "\n" + FLOWS[0] + "\n")
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    columns = [r["column_name"] for r in q(lake, "select column_name from (describe web_logs)")]
    assert columns == [*weblogs.WEB_LOGS_SCHEMA.names, "date"]
    assert report(lake) == []


def test_status_counts_web_logs_apart_from_flows(tmp_path: Path) -> None:
    lake, logs = tmp_path / "lake", tmp_path / "access.log"
    logs.write_text('10.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n')
    assert run_cli("ingest-weblogs", str(logs), "--lake", str(lake)).returncode == 0
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert status["objects"] == 0 and status["records"] == 0
    assert status["web_logs"] == {"files": 1, "records": 1}
