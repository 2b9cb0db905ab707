"""The dashboard's JSON API: answers checked against the generated records read independently,
filters, hostile parameters, tokens, saved queries, downloads, and `flowlake demo` serving live data."""

from __future__ import annotations

import io
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from conftest import run_cli
from flowlake.generate import generate
from flowlake.lake import rollup
from flowlake.lake.store import Lake
from flowlake.web.app import create_app
from flowlake.web.cache import Answers
from rawdata import Row, geoip2fast_lookups, read_raw

END = datetime(2026, 11, 27, tzinfo=UTC)
RANGE = {"from": "2026-11-26T00:00Z", "to": "2026-11-27T00:00Z"}
"""The last of the two generated days; the day before it is the previous period."""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Row]]:
    root = tmp_path_factory.mktemp("web")
    generate(root / "raw", records=40_000, seed=3, days=2, end=END)
    assert run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake")).returncode == 0
    return root / "lake", read_raw(root / "raw")


@pytest.fixture(scope="module")
def plain(lake: tuple[Path, list[Row]]) -> TestClient:
    """The server over the records alone (no rollups built)."""
    return TestClient(create_app(Lake(lake[0]), build_rollups=False))


@pytest.fixture(scope="module", params=["records", "rollups"])
def client(request: pytest.FixtureRequest, lake: tuple[Path, list[Row]], tmp_path_factory) -> TestClient:
    """Every answer is checked twice: read from the records, and from rollups where they can answer."""
    if request.param == "records":
        return TestClient(create_app(Lake(lake[0]), build_rollups=False))
    copy = tmp_path_factory.mktemp("rolled") / "lake"
    shutil.copytree(lake[0], copy)
    assert rollup.build_all(Lake(copy)) > 0
    assert not rollup.pending(Lake(copy))
    return TestClient(create_app(Lake(copy), build_rollups=False))


def in_range(records: list[Row], start: str = RANGE["from"], end: str = RANGE["to"]) -> list[Row]:
    lo, hi = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start, end))
    return [r for r in records if r["start_time"] is not None and lo <= r["start_time"] < hi]


def carries_traffic(r: Row) -> bool:
    return (r["log_status"] or "OK") == "OK"


def get(client: TestClient, path: str, **params: object) -> dict:
    response = client.get(path, params={**RANGE, **params})
    assert response.status_code == 200, response.text
    return response.json()


def totals(records: list[Row]) -> dict:
    ok = [r for r in records if carries_traffic(r)]
    return {"bytes": sum(r["bytes"] or 0 for r in ok), "packets": sum(r["packets"] or 0 for r in ok),
            "flows": len(ok), "accepted": sum(r["action"] == "ACCEPT" for r in records),
            "rejected": sum(r["action"] == "REJECT" for r in records),
            "interfaces": len({r["interface_id"] for r in records if r["interface_id"]}),
            "nodata": sum(r["log_status"] == "NODATA" for r in records),
            "skipdata": sum(r["log_status"] == "SKIPDATA" for r in records)}


def test_summary_matches_the_records_and_the_day_before(client: TestClient, lake) -> None:
    records = lake[1]
    got = get(client, "/api/summary")
    assert got["current"] == totals(in_range(records))
    assert got["before"] == totals(in_range(records, "2026-11-25T00:00Z", RANGE["from"]))
    assert got["previous"] == {"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
    assert got["current"]["flows"] > 1000 and got["current"]["rejected"] > 0


def test_top_sources_pairs_and_ports_match_the_records(client: TestClient, lake) -> None:
    ok = [r for r in in_range(lake[1]) if carries_traffic(r)]
    for by, metric in (["srcaddr"], "bytes"), (["srcaddr", "dstaddr"], "bytes"), (["srcaddr", "dstaddr"], "flows"), \
            (["dstport"], "bytes"):
        sums: dict[tuple, int] = defaultdict(int)
        for r in ok:
            sums[tuple(r[d] for d in by)] += 1 if metric == "flows" else r["bytes"] or 0
        # Ties (common when counting flows) are broken by the values, as the API orders them.
        expected = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        got = get(client, "/api/top", by=by, limit=5, metric=metric)
        assert [(tuple(row[d] for d in by), row[metric]) for row in got["rows"]] == expected
        assert got["total"][metric] == sum(sums.values())
    ports = get(client, "/api/top", by="dstport", metric="flows", limit=50)["rows"]
    assert {"dstport": 443, "dstport_name": "https"}.items() <= next(r for r in ports if r["dstport"] == 443).items()
    protocols = get(client, "/api/top", by="protocol", metric="flows")["rows"]
    assert {r["protocol_name"] for r in protocols} >= {"TCP", "UDP"}
    assert sum(r["flows"] for r in protocols) == len(ok)


def test_timeseries_adds_up_and_overlays_the_previous_period(client: TestClient, lake) -> None:
    got = get(client, "/api/timeseries", by="action", limit=1, previous="true")
    assert got["bucket"] == "5 minutes" and got["seconds"] == 300
    ok = [r for r in in_range(lake[1]) if carries_traffic(r)]
    by_action = Counter()
    for r in ok:
        by_action[r["action"]] += r["bytes"] or 0
    top_action = by_action.most_common(1)[0][0]
    names = [s["name"] for s in got["series"]]
    assert names == [top_action, "Other"]
    assert sum(p[1] for s in got["series"] for p in s["points"]) == sum(by_action.values())
    first = got["series"][0]["points"][0]
    start = datetime.fromisoformat(first[0].replace("Z", "+00:00"))
    assert first[1] == sum(r["bytes"] or 0 for r in ok if r["action"] == top_action
                           and start <= r["start_time"] < start + timedelta(minutes=5))
    before = [r for r in in_range(lake[1], "2026-11-25T00:00Z", RANGE["from"]) if carries_traffic(r)]
    assert sum(p[1] for s in got["previous"] for p in s["points"]) == sum(r["bytes"] or 0 for r in before)
    assert all(RANGE["from"][:10] <= p[0][:10] for s in got["previous"] for p in s["points"])
    rate = get(client, "/api/timeseries", metric="packets", unit="rate")
    packets = get(client, "/api/timeseries", metric="packets")
    assert rate["series"][0]["points"][3][1] == pytest.approx(packets["series"][0]["points"][3][1] / 300)


FILTERS = [
    ({"action": "REJECT"}, lambda r: r["action"] == "REJECT"),
    ({"protocol": "udp"}, lambda r: r["protocol"] == 17),
    ({"protocol": "6"}, lambda r: r["protocol"] == 6),
    ({"dstport": ["22", "3389"]}, lambda r: r["dstport"] in (22, 3389)),
    ({"port": "443"}, lambda r: 443 in (r["srcport"], r["dstport"])),
    ({"src": "10.0.0.0/9"}, lambda r: in_net(r["srcaddr"], "10.0.0.0/9")),
    ({"dst": "2600::/12"}, lambda r: in_net(r["dstaddr"], "2600::/12")),
    ({"dst": "::/1"}, lambda r: in_net(r["dstaddr"], "::/1")),  # IPv6 only, though IPv4 addresses are small numbers
    ({"region": "eu-west-1", "action": "ACCEPT"}, lambda r: r["region"] == "eu-west-1" and r["action"] == "ACCEPT"),
    ({"log_status": "NODATA"}, lambda r: r["log_status"] == "NODATA"),
]


def in_net(address: str | None, network: str) -> bool:
    if address is None:
        return False
    return ipaddress.ip_address(address) in ipaddress.ip_network(network)


@pytest.mark.parametrize(("params", "keep"), FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_filters_keep_exactly_the_matching_records(client: TestClient, lake, params: dict, keep) -> None:
    expected = totals([r for r in in_range(lake[1]) if keep(r)])
    assert expected["flows"] + expected["nodata"] > 0, "the filter matches nothing: the test would prove nothing"
    assert get(client, "/api/summary", **params)["current"] == expected
    page = get(client, "/api/flows", size=1000, **params)
    assert page["total"] == sum(1 for r in in_range(lake[1]) if keep(r))


def test_the_first_page_of_flows_is_the_newest_and_downloads_hold_the_same_records(client: TestClient, lake) -> None:
    page = get(client, "/api/flows", size=20, sort="bytes", order="desc", action="REJECT")
    expected = sorted((r["bytes"] for r in in_range(lake[1]) if r["action"] == "REJECT" and r["bytes"] is not None),
                      reverse=True)[:20]
    assert [r["bytes"] for r in page["rows"]] == expected
    assert {c["name"] for c in page["columns"]} >= {"srcaddr", "start_time", "protocol_name"}
    second = get(client, "/api/flows", size=20, page=2, sort="bytes", order="desc", action="REJECT")
    assert second["rows"][0]["bytes"] <= expected[-1]
    csv_text = client.get("/api/flows.csv", params={**RANGE, "action": "REJECT", "sort": "bytes"}).text
    assert csv_text.count("\n") == page["total"] + 1
    parquet = client.get("/api/flows.parquet", params={**RANGE, "action": "REJECT"})
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == page["total"]


def test_health_says_how_far_the_data_is_complete(client: TestClient, lake) -> None:
    got = get(client, "/api/health")
    records = in_range(lake[1])
    assert len(got["hours"]) == 24
    assert sum(h["nodata"] for h in got["hours"]) == sum(r["log_status"] == "NODATA" for r in records)
    assert sum(h["skipdata"] for h in got["hours"]) == sum(r["log_status"] == "SKIPDATA" for r in records)
    last = max(r["end_time"] for r in records)
    assert got["last_record"] == last.isoformat().replace("+00:00", "Z")
    assert got["complete_up_to"] <= got["last_record"]


def test_meta_and_status_describe_the_lake(client: TestClient, lake) -> None:
    meta = client.get("/api/meta").json()
    assert meta["data"]["records"] == len(lake[1])
    assert {"srcaddr", "dstport", "action", "pkt_srcaddr", "flow_direction"} <= set(meta["dimensions"])
    assert "bytes" not in meta["dimensions"]
    assert next(c for c in meta["columns"] if c["name"] == "srcaddr")["description"]
    status = client.get("/api/status").json()
    assert status["records"] == len(lake[1]) and status["last_ingest"]


HOSTILE = ["' or '1'='1", "1; drop table flows; --", "x') or true --", "getvariable('flowlake_f0')", "$1",
           "\x00", "é" * 5000, "../../etc/passwd", "1e999", "-1"]
PARAMS = ["since", "from", "to", "metric", "unit", "by", "limit", "previous", "page", "size", "sort", "order",
          "account", "region", "vpc", "subnet", "interface", "instance", "action", "protocol", "srcport", "dstport",
          "port", "src", "dst", "direction", "srcaddr", "pkt_dstaddr", "traffic_path", "no_such_filter"]


@pytest.mark.parametrize("param", PARAMS)
def test_hostile_values_in_any_parameter_are_refused_or_match_nothing(plain: TestClient, lake, param: str) -> None:
    files = sorted(p.name for p in lake[0].rglob("*"))
    for value in HOSTILE:
        for path in ("/api/summary", "/api/top", "/api/timeseries", "/api/flows", "/api/health"):
            params = {**RANGE, "by": "srcaddr"} if path == "/api/top" else dict(RANGE)
            if param in ("from", "to", "since"):
                params.pop("from")
            params[param] = value
            response = plain.get(path, params=params)
            assert response.status_code in (200, 400, 422), (path, param, value, response.text)
            if response.status_code == 200 and path == "/api/summary":
                # A value taken as data matches nothing here: never "everything", as an injection would.
                assert response.json()["current"]["flows"] == 0 or param in ("limit", "by", "metric", "page",
                                                                              "size", "sort", "order", "unit",
                                                                              "previous"), (param, value)
    assert sorted(p.name for p in lake[0].rglob("*")) == files


def test_a_token_guards_every_page_and_call(lake) -> None:
    guarded = TestClient(create_app(Lake(lake[0]), token="s3cret"), follow_redirects=False)
    for path in ("/", "/sql", "/api/meta", "/api/summary", "/docs", "/openapi.json", "/static/plotly.min.js"):
        assert guarded.get(path).status_code == 401, path
        assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path
        assert guarded.get(path, headers={"Authorization": "Bearer s3cret"}).status_code == 200, path
    assert guarded.post("/api/sql", json={"sql": "select 1"}).status_code == 401
    opened = guarded.get("/explore?token=s3cret&since=1h")
    assert opened.status_code == 303 and opened.headers["location"].endswith("/explore?since=1h")
    assert guarded.get("/api/meta", cookies={"flowlake_token": "s3cret"}).status_code == 200
    assert guarded.get("/api/meta", cookies={"flowlake_token": "s3cret!"}).status_code == 401


def test_serve_refuses_other_addresses_without_a_token(lake) -> None:
    result = run_cli("serve", "--lake", str(lake[0]), "--host", "0.0.0.0", env={"FLOWLAKE_TOKEN": ""})
    assert result.returncode == 2
    assert b"--token" in result.stderr


def test_sql_answers_and_bad_sql_says_where(plain: TestClient, lake) -> None:
    response = plain.post("/api/sql", params=RANGE, json={
        "sql": "select action, count(*) as n from flows group by 1 order by 1"})
    assert response.status_code == 200, response.text
    expected = Counter(r["action"] for r in in_range(lake[1]))
    assert {r["action"]: r["n"] for r in response.json()["rows"]} == dict(expected)
    bad = plain.post("/api/sql", json={"sql": "select srcaddr,\n       nosuch from flows"})
    assert bad.status_code == 400
    detail = bad.json()["detail"]
    assert "nosuch" in detail["error"] and detail["position"]["line"] == 2
    refused = plain.post("/api/sql", json={"sql": "select * from read_csv('/etc/passwd')"})
    assert refused.status_code == 400 and "root:" not in refused.text
    csv_text = plain.post("/api/sql.csv", params=RANGE, json={"sql": "select 1 as one union all select 2"}).text
    assert csv_text.splitlines() == ['"one"', "1", "2"]


def test_saved_queries_become_reports(plain: TestClient, lake) -> None:
    sql = "select dstport, count(*) as flows from flows where action = 'REJECT' group by 1 order by 2 desc, 1"
    saved = plain.put("/api/queries/rejected-by-port", json={"sql": sql, "title": "Rejected\n-- param: x"})
    assert saved.status_code == 200, saved.text
    assert plain.get("/api/queries").json() == [
        {"name": "rejected-by-port", "title": "Rejected -- param: x", "sql": sql}]
    listed = run_cli("report", "--list", "--lake", str(lake[0]))
    assert "rejected-by-port" in listed.stdout.decode()
    ran = run_cli("report", "rejected-by-port", "--lake", str(lake[0]), "--format", "json", "--from", RANGE["from"],
                  "--to", RANGE["to"])
    expected = Counter(r["dstport"] for r in in_range(lake[1]) if r["action"] == "REJECT")
    assert {r["dstport"]: r["flows"] for r in json.loads(ran.stdout)} == dict(expected)
    assert plain.put("/api/queries/x", json={"sql": "copy flows to 'out.csv'"}).status_code == 400
    assert plain.put("/api/queries/..%2Fescape", json={"sql": "select 1"}).status_code in (400, 404)
    assert plain.delete("/api/queries/rejected-by-port").status_code == 204
    assert plain.get("/api/queries").json() == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_serves_the_dashboard_and_live_data_keeps_arriving(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "flowlake", "demo", "--records", "20000", "--dir",
                             str(tmp_path / "demo"), "--port", str(port), "--live-every", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    try:
        base = f"http://127.0.0.1:{port}"
        first = _wait_for(lambda: httpx.get(f"{base}/api/status", timeout=5).json(), 120)
        assert first["records"] >= 20_000
        later = _wait_for(lambda: (s := httpx.get(f"{base}/api/status", timeout=5).json())["records"]
                          > first["records"] and s, 60)
        assert later["lag_seconds"] < 600
        assert "<html" in httpx.get(base + "/", timeout=5).text.lower()
        recent = httpx.get(f"{base}/api/summary", params={"since": "15m"}, timeout=10).json()
        assert recent["current"]["flows"] > 0
        backtest = run_cli("forecast", "--lake", str(tmp_path / "demo" / "lake"), "--backtest", "--format", "json")
        assert backtest.returncode == 0, backtest.stderr.decode()
        assert {r["model"] for r in json.loads(backtest.stdout)} == {"harmonic", "seasonal-naive"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_for(probe, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = probe()
            if value:
                return value
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"not ready within {seconds} s")
        time.sleep(0.5)


def test_answers_follow_the_data_at_once(tmp_path: Path) -> None:
    """The answer cache is keyed by the lake's version: an ingest shows in the very next request."""
    generate(tmp_path / "a", records=3_000, seed=1, days=1, end=END)
    assert run_cli("ingest", str(tmp_path / "a"), "--lake", str(tmp_path / "lake")).returncode == 0
    app = TestClient(create_app(Lake(tmp_path / "lake"), build_rollups=False))
    asked = {"from": "2026-11-26T00:00Z", "to": "2026-11-27T00:00Z"}
    first = app.get("/api/summary", params=asked).json()["current"]
    assert app.get("/api/summary", params=asked).json()["current"] == first
    generate(tmp_path / "b", records=2_000, seed=2, days=1, end=END)
    assert run_cli("ingest", str(tmp_path / "b"), "--lake", str(tmp_path / "lake")).returncode == 0
    after = app.get("/api/summary", params=asked).json()["current"]
    assert after == totals(in_range(read_raw(tmp_path / "a") + read_raw(tmp_path / "b"), asked["from"], asked["to"]))
    assert after["flows"] > first["flows"]


def test_one_computation_serves_every_request_waiting_for_it() -> None:
    answers = Answers()
    calls = []

    def slow() -> bytes:
        calls.append(1)
        time.sleep(0.3)
        return b"answer"

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: answers.get("k", slow), range(8)))
    assert got == [b"answer"] * 8 and len(calls) == 1

    def broken() -> bytes:
        calls.append(1)
        raise ValueError("bad question")

    for _ in range(2):  # a failure is not kept: the next request asks again
        with pytest.raises(ValueError, match="bad question"):
            answers.get("bad", broken)
    assert len(calls) == 3


def test_explain_answers_as_the_command_does(plain: TestClient, lake) -> None:
    """The busiest rejected request of the day: /api/explain (filters and range applied) and `flowlake explain`."""
    path, records = lake
    day = [r for r in records if r["action"] == "REJECT" and r["start_time"] >= datetime(2026, 11, 26, tzinfo=UTC)]
    (src, dst, port), _ = Counter((r["srcaddr"], r["dstaddr"], r["dstport"]) for r in day).most_common(1)[0]
    answer = plain.get("/api/explain", params={**RANGE, "client": src, "server": dst, "server_port": port}).json()
    command = run_cli("explain", "--lake", str(path), "--src", src, "--dst", dst, "--port", str(port), "--from",
                      RANGE["from"], "--to", RANGE["to"], "--format", "json")
    assert command.returncode == 0, command.stderr.decode()
    assert answer == json.loads(command.stdout)
    pair = [r for r in day if (r["srcaddr"], r["dstaddr"], r["dstport"]) == (src, dst, port)]
    bpa = any(r["reject_reason"] == "BPA" for r in pair)
    assert answer["evidence"] and (answer["verdict"] == "bpa") == bpa
    accepted = plain.get("/api/explain", params={**RANGE, "client": src, "server": dst, "server_port": port,
                                                 "action": "ACCEPT"}).json()  # a filter, as on every call
    assert {e["action"] for e in accepted["evidence"]} <= {"ACCEPT"}


@pytest.mark.parametrize(("params", "message"), [
    ({"client": "10.0.0.1"}, "server"),
    ({"client": "10.0.0.999", "server": "10.0.0.1"}, "client: not an IP address or CIDR"),
    ({"client": "10.0.0.1", "server": "10.0.0.2", "proto": "tcpx"}, "proto: not a protocol name"),
    ({"client": "10.0.0.1", "server": "10.0.0.2", "server_port": 70000}, "less than or equal to 65535"),
    ({"client": "10.0.0.1", "server": "10.0.0.2", "server_port": 22, "proto": "icmp"}, "leave out server_port"),
])
def test_explain_refuses_bad_parameters(plain: TestClient, params: dict, message: str) -> None:
    response = plain.get("/api/explain", params={**RANGE, **params})
    assert response.status_code in (400, 422) and message in response.text


def test_enriched_dimensions_filters_and_flow_columns(client: TestClient, lake) -> None:
    """src_country, dst_as_name and src_class against geoip2fast's own lookups of the records' addresses."""
    ok = [r for r in in_range(lake[1]) if carries_traffic(r)]
    geo = geoip2fast_lookups({a for r in ok for a in (r["srcaddr"], r["dstaddr"])})
    for by, pick in (("src_country", lambda r: geo[r["srcaddr"]][0]), ("dst_as_name", lambda r: geo[r["dstaddr"]][2]),
                     ("src_class", lambda r: "private" if is_private(r["srcaddr"])
                      else "aws-service" if r["pkt_src_aws_service"] else "public")):
        sums: Counter = Counter()
        for r in ok:
            sums[pick(r)] += r["bytes"] or 0
        expected = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))[:5]
        got = get(client, "/api/top", by=by, limit=5)
        assert [(row[by], row["bytes"]) for row in got["rows"]] == expected, by
    country = next(c for c, _ in Counter(geo[r["srcaddr"]][0] for r in ok).most_common() if c)
    keep = [r for r in in_range(lake[1]) if r["srcaddr"] and geo.get(r["srcaddr"], (None,))[0] == country]
    assert get(client, "/api/summary", src_country=country)["current"]["flows"] == len(keep)
    series = get(client, "/api/timeseries", by="src_country", limit=3)["series"]
    assert sum(p[1] for s in series for p in s["points"]) == sum(r["bytes"] or 0 for r in ok)
    page = get(client, "/api/flows", size=50, sort="bytes", src_country=country)
    assert page["rows"] and all(row["src_country"] == country for row in page["rows"])
    for row in page["rows"]:
        assert (row["dst_country"], row["dst_as_name"]) == geo[row["dstaddr"]][::2]


PRIVATE_NETS = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                  "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")]


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in PRIVATE_NETS if net.version == ip.version)
