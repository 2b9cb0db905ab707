"""Every named report checked against an independent computation.

The generated raw files are read here with gzip, `str.split` and pyarrow (never flowlake's decoders
or its SQL), each report's answer is worked out in plain Python, and the result is compared with
`flowlake report NAME --format json`. The rules mirrored: `traffic` leaves out NODATA and SKIPDATA
records (a record without log-status counts as traffic), `-` is NULL, NULLs sort last, ties are broken
as each SQL file orders them, and `is_private` covers the ranges setup.sql lists.
"""

from __future__ import annotations

import csv
import ipaddress
import itertools
import json
import math
import random
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from conftest import run_cli
from flowlake.cli import cli
from flowlake.cli import report as _registers_report  # noqa: F401
from flowlake.engine import catalog
from flowlake.generate import generate
from rawdata import Row, geoip2fast_lookups, read_raw, utc

END = datetime(2026, 11, 27, tzinfo=UTC)
BUILTIN = catalog.load("reports")
def _reference(name: str, key: str) -> dict[int, str]:
    with resources.as_file(resources.files("flowlake") / "reference" / name) as path, open(path) as f:
        return {int(row[key]): row["name"] for row in csv.DictReader(f)}


PORTS = _reference("ports.csv", "port")
PROTOCOLS = _reference("protocols.csv", "number")
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                              "127.0.0.0/8", "169.254.0.0/16", "fc00::/7", "fe80::/10", "::1/128")]


@cache
def is_private(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    return any(ip in net for net in PRIVATE if net.version == ip.version)


def private(addr: str | None) -> bool:
    return addr is not None and is_private(addr)


def public(addr: str | None) -> bool:
    return addr is not None and not is_private(addr)


def protocol_name(number: int | None) -> str | None:
    return None if number is None else PROTOCOLS.get(number, str(number))


# ---------------------------------------------------------------------------------------------
# Building blocks of the expected answers.


def traffic(records: list[Row]) -> list[Row]:
    return [r for r in records if (r["log_status"] or "OK") == "OK"]


def order(rows: list[dict], *keys: str) -> list[dict]:
    """Sorted like SQL `order by`: `-name` descending, NULLs last either way."""
    for key in reversed(keys):
        name, desc = key.lstrip("-"), key.startswith("-")
        rows = sorted(rows, key=lambda r: ((r[name] is not None, r[name]) if desc else
                                           (r[name] is None, r[name] if r[name] is not None else 0)), reverse=desc)
    return rows


def total(rows: list[Row], field: str) -> int | None:
    values = [r[field] for r in rows if r[field] is not None]
    return sum(values) if values else None


def count(rows: list[Row], **equal: object) -> int:
    return sum(all(r[k] == v for k, v in equal.items()) for r in rows)


def distinct(rows: list[Row], field: str) -> int:
    return len({r[field] for r in rows} - {None})


def sums(rows: list[Row]) -> dict:
    return {"bytes": total(rows, "bytes"), "packets": total(rows, "packets"), "flows": len(rows)}


def rollup(rows: list[Row], keys: tuple[str, ...], measures: Callable[[list[Row]], dict] = sums,
           nulls: bool = False) -> list[dict]:
    """One row per distinct value of `keys` with its measures; NULL keys left out unless `nulls`."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[k] for k in keys)].append(r)
    return [{**dict(zip(keys, k, strict=True)), **measures(g)} for k, g in groups.items() if nulls or None not in k]


def coalesced(records: list[Row]) -> list[Row]:
    """Packet-level addresses, falling back to the interface-level ones."""
    return [Row(r, pkt_srcaddr=r["pkt_srcaddr"] or r["srcaddr"], pkt_dstaddr=r["pkt_dstaddr"] or r["dstaddr"])
            for r in records]


def seconds(interval: str) -> int:
    """`1 hour`, `15 minutes` as seconds."""
    count, unit = interval.split()
    return int(count) * {"second": 1, "minute": 60, "hour": 3600, "day": 86_400}[unit.rstrip("s")]


Expect = Callable[[list[Row], dict[str, str]], list[dict]]


def top(*keys: str, by: str = "bytes", view: Callable[[list[Row]], list[Row]] = lambda rows: rows) -> Expect:
    """The top-* reports: traffic rolled up by `keys` (NULL keys left out), largest first, then by key."""
    return lambda records, p: order(rollup(view(traffic(records)), keys), f"-{by}", *keys)


def listing(where: Callable[[Row, dict], bool], columns: str, *keys: str) -> Expect:
    """The row-listing reports: matching traffic in `keys` order; `protocol` is shown by name, `day` is
    the weekday of start_time."""
    shown = {"protocol": lambda r: protocol_name(r["protocol"]), "day": lambda r: r["start_time"].strftime("%A")}

    def expect(records: list[Row], p: dict) -> list[dict]:
        rows = order([r for r in traffic(records) if where(r, p)], *keys)
        return [{c: shown[c](r) if c in shown else r[c] for c in columns.split()} for r in rows]

    return expect


def over_time(measures: Callable[[list[Row]], dict], where: Callable[[Row], bool] = lambda r: True) -> Expect:
    """The *-over-time reports: traffic with a start_time, by `--param bucket`."""

    def expect(records: list[Row], p: dict) -> list[dict]:
        size = seconds(p["bucket"])
        buckets: dict[datetime, list[Row]] = defaultdict(list)
        for r in traffic(records):
            if r["start_time"] is not None and where(r):
                buckets[utc(r["start"] // size * size)].append(r)
        return [{"time": t, **measures(rows)} for t, rows in sorted(buckets.items())]

    return expect


def admin_ports(records: list[Row], p: dict) -> list[dict]:
    ports = {22, 23, 3389, 5900, 5985, 5986, 2375, 6443, 8080, 8443, 8888, 9000, 9090, 10000}
    rows = rollup([r for r in traffic(records) if r["dstport"] in ports], ("dstport", "action"), lambda g: {
        "flows": len(g), "bytes": total(g, "bytes"), "sources": distinct(g, "srcaddr"),
        "public_sources": distinct([r for r in g if public(r["srcaddr"])], "srcaddr")}, nulls=True)
    return [{"dstport": r["dstport"], "service": PORTS.get(r["dstport"]), **r}
            for r in order(rows, "-flows", "dstport", "action")]


def accounts_regions(records: list[Row], p: dict) -> list[dict]:
    rows = rollup(traffic(records), ("account_id", "region"),
                  lambda g: {**sums(g), "interfaces": distinct(g, "interface_id")}, nulls=True)
    return order(rows, "-bytes", "account_id", "region")


def capture_health(records: list[Row], p: dict) -> list[dict]:
    hourly = [Row(r, hour=utc(r["start"] // 3600 * 3600)) for r in records if r["start"] is not None]
    rows = rollup(hourly, ("interface_id", "tgw_attachment_id", "hour"), lambda g: {
        "nodata": count(g, log_status="NODATA"), "skipdata": count(g, log_status="SKIPDATA"),
        "records": len(traffic(g))}, nulls=True)
    return order([r for r in rows if r["nodata"] + r["skipdata"]], "-skipdata", "-nodata", "-hour", "interface_id",
                 "tgw_attachment_id")


def coverage(records: list[Row], p: dict) -> list[dict]:
    """One row per flow log (the '(all)' row first: the earliest of their last records)."""
    logs: dict[str, list[Row]] = defaultdict(list)
    for r in records:
        logs[r["flow_log_id"]].append(r)
    rows = order([{
        "flow_log_id": log, "account_id": min(r["account_id"] for r in g), "region": g[0]["region"],
        "first_record": min(r["start_time"] for r in g), "last_record": max(r["end_time"] for r in g),
        "interfaces": distinct(g, "interface_id"), "skipdata": count(g, log_status="SKIPDATA"),
    } for log, g in logs.items()], "last_record", "flow_log_id")
    everything = {"flow_log_id": "(all)", "account_id": None, "region": None,
                  "first_record": min(r["first_record"] for r in rows), "last_record": rows[0]["last_record"],
                  "interfaces": sum(r["interfaces"] for r in rows), "skipdata": sum(r["skipdata"] for r in rows)}
    return [everything, *rows]


def least(group: list[Row], key: str) -> str | None:
    """SQL `min`: the smallest value that is not NULL."""
    return min((r[key] for r in group if r[key] is not None), default=None)


def silent_interfaces(records: list[Row], p: dict) -> list[dict]:
    latest = max(r["end_time"] for r in records if r["end_time"] is not None)
    silence = timedelta(seconds=seconds(p.get("silence", "1 hour")))
    enis = rollup(records, ("interface_id",), lambda g: {
        "account_id": least(g, "account_id"), "region": least(g, "region"), "last_seen": max(r["end_time"] for r in g)})
    return order([{**r, "silent_hours": math.floor((latest - r["last_seen"]).total_seconds() / 360 + 0.5) / 10}
                  for r in enis if r["last_seen"] < latest - silence], "-last_seen", "interface_id")


def path_name(path: int) -> str | None:
    return {1: "same VPC", 2: "internet or gateway endpoint", 3: "virtual private gateway", 4: "intra-region peering",
            5: "inter-region peering", 6: "local gateway", 7: "gateway endpoint (Nitro)",
            8: "internet gateway (Nitro)"}.get(path)


def internet(side: str, other: str, extra: Callable[[list[Row]], dict]) -> Expect:
    """internet-egress (by public dstaddr) and internet-ingress (by public srcaddr)."""

    def expect(records: list[Row], p: dict) -> list[dict]:
        rows = [r for r in traffic(records) if private(r[other]) and public(r[side])]
        out = rollup(rows, (side,), lambda g: {"type": "IPv6" if ":" in g[0][side] else "IPv4", **sums(g), **extra(g)})
        return order(out, "-bytes", side)

    return expect


def web_requests(records: list[Row]) -> list[dict]:
    """The demo's access log, a function of its flows: 300 requests over the three days from the five
    busiest internet sources, two inside addresses and one address with no flows."""
    sources = Counter(r["srcaddr"] for r in traffic(records) if public(r["srcaddr"]) and private(r["dstaddr"]))
    inside = sorted({r["srcaddr"] for r in traffic(records) if private(r["srcaddr"])})
    clients = [a for a, _ in sources.most_common(5)] + inside[:2] + ["198.51.100.7"]
    rng = random.Random(7)
    return [{"client": rng.choice(clients), "time": END - timedelta(seconds=rng.randrange(3 * 86_400)),
             "path": rng.choice(("/", "/login", "/api/items", "/wp-admin")), "status": rng.choice((200, 302, 404, 500))}
            for _ in range(300)]


def access_line(request: dict) -> str:
    return (f'{request["client"]} - - [{request["time"]:%d/%b/%Y:%H:%M:%S +0000}] "GET {request["path"]} HTTP/1.1" '
            f'{request["status"]} 512 "-" "curl/8.4.0"')


def web_clients(records: list[Row], p: dict) -> list[dict]:
    """Requests per client, beside the flows naming the client in any address column."""
    by_client: dict[str, list[dict]] = defaultdict(list)
    for request in web_requests(records):
        by_client[request["client"]].append(request)
    rows = []
    for client, requests in by_client.items():
        flows = [r for r in traffic(records) if client in (r["srcaddr"], r["dstaddr"], r["pkt_srcaddr"],
                                                           r["pkt_dstaddr"])]
        rows.append({
            "client": client, "requests": len(requests), "paths": len({q["path"] for q in requests}),
            **{f"status_{n}xx": sum(q["status"] // 100 == n for q in requests) for n in (2, 3, 4, 5)},
            "first_request": min(q["time"] for q in requests), "last_request": max(q["time"] for q in requests),
            "flows": len(flows), "flow_bytes": total(flows, "bytes") or 0,
            "rejected_from": sum(r["action"] == "REJECT" and client in (r["srcaddr"], r["pkt_srcaddr"])
                                 for r in flows)})
    return order(rows, "-requests", "client")


def public_ends(records: list[Row]) -> list[Row]:
    """Each flow with a public end, keyed by it: the source when it is public, else the destination."""
    return [Row(r, addr=r["dstaddr"] if private(r["srcaddr"]) else r["srcaddr"]) for r in traffic(records)
            if public(r["srcaddr"]) or public(r["dstaddr"])]


def top_countries(records: list[Row], p: dict) -> list[dict]:
    rows = public_ends(records)
    geo = geoip2fast_lookups(r["addr"] for r in rows)
    rows = [Row(r, country=geo[r["addr"]][0], country_name=geo[r["addr"]][1]) for r in rows]
    return order(rollup(rows, ("country", "country_name"), lambda g: {**sums(g), "addresses": distinct(g, "addr")}),
                 "-bytes", "country")


def top_asns(records: list[Row], p: dict) -> list[dict]:
    rows = public_ends(records)
    geo = geoip2fast_lookups(r["addr"] for r in rows)
    rows = [Row(r, as_name=geo[r["addr"]][2], country=geo[r["addr"]][0]) for r in rows]
    return order(rollup(rows, ("as_name",), lambda g: {**sums(g), "addresses": distinct(g, "addr"),
                                                       "countries": distinct(g, "country")}), "-bytes", "as_name")


def named_ports(rows: list[dict]) -> list[dict]:
    return [{"dstport": r["dstport"], "protocol": protocol_name(r["protocol"]), "service": PORTS.get(r["dstport"]),
             **{k: v for k, v in r.items() if k not in ("dstport", "protocol")}} for r in rows]


FLOW_COLUMNS = "start_time interface_id srcaddr dstaddr srcport dstport protocol action packets bytes"
EXPECTED: dict[str, Expect] = {
    "accepted-tcp": listing(lambda r, p: r["action"] == "ACCEPT" and r["protocol"] == 6,
                            "start_time interface_id srcaddr dstaddr srcport dstport packets bytes",
                            "-start_time", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport"),
    "accounts-regions": accounts_regions,
    "actions-over-time": over_time(lambda g: {
        "accepted_flows": count(g, action="ACCEPT"), "rejected_flows": count(g, action="REJECT"),
        "accepted_bytes": sum(r["bytes"] for r in g if r["action"] == "ACCEPT"),
        "rejected_bytes": sum(r["bytes"] for r in g if r["action"] == "REJECT")}),
    "admin-ports": admin_ports,
    "availability-zones": top("region", "az_id"),
    "capture-health": capture_health,
    "coverage": coverage,
    "directions": top("flow_direction"),
    "internet-egress": internet("dstaddr", "srcaddr", lambda g: {"sources": distinct(g, "srcaddr")}),
    "internet-ingress": internet("srcaddr", "dstaddr", lambda g: {
        "rejected_flows": count(g, action="REJECT")}),
    "ip-versions": lambda records, p: order(rollup(
        [Row(r, type="IPv6" if ":" in r["srcaddr"] else "IPv4") for r in traffic(records) if r["srcaddr"]],
        ("type",)), "type"),
    "protocols": lambda records, p: [{"protocol": r["protocol"], "name": protocol_name(r["protocol"]), **r}
                                     for r in top("protocol")(records, p)],
    "rejected-over-time": over_time(lambda g: {"flows": len(g), "packets": total(g, "packets"),
                                               "sources": distinct(g, "srcaddr")}, lambda r: r["action"] == "REJECT"),
    "rejected-ports": lambda records, p: order(named_ports(rollup(
        [r for r in traffic(records) if r["action"] == "REJECT"], ("dstport", "protocol"),
        lambda g: {"flows": len(g), "packets": total(g, "packets"), "sources": distinct(g, "srcaddr")}, nulls=True)),
        "-flows", "dstport", "protocol"),
    "rejected-sources": lambda records, p: order(rollup(
        [r for r in traffic(records) if r["action"] == "REJECT"], ("srcaddr",), lambda g: {
            "flows": len(g), "packets": total(g, "packets"), "bytes": total(g, "bytes"),
            "destinations": distinct(g, "dstaddr"), "ports": distinct(g, "dstport")}, nulls=True), "-flows", "srcaddr"),
    "rejected-tcp": listing(lambda r, p: r["action"] == "REJECT" and r["protocol"] == 6,
                            "start_time day interface_id srcaddr dstaddr dstport packets",
                            "-start_time", "interface_id", "srcaddr", "dstaddr", "dstport"),
    "rejected-traffic": listing(lambda r, p: r["action"] == "REJECT",
                                "start_time interface_id srcaddr dstaddr srcport dstport protocol packets bytes",
                                "-start_time", "interface_id", "srcaddr", "dstaddr", "srcport", "dstport"),
    "silent-interfaces": silent_interfaces,
    "ssh-rdp": listing(lambda r, p: r["dstport"] in (22, 3389),
                       "start_time interface_id srcaddr dstaddr dstport action packets bytes",
                       "-start_time", "interface_id", "srcaddr", "dstaddr"),
    "top-asns": top_asns,
    "top-countries": top_countries,
    "top-destinations": top("dstaddr"),
    "top-instances": top("instance_id"),
    "top-interfaces": top("interface_id"),
    "top-pairs": top("srcaddr", "dstaddr"),
    "top-pairs-packet-level": top("pkt_srcaddr", "pkt_dstaddr", view=coalesced),
    "top-ports": lambda records, p: order(named_ports(rollup(
        [r for r in traffic(records) if r["dstport"] is not None], ("dstport", "protocol"), nulls=True)),
        "-bytes", "dstport", "protocol"),
    "top-subnets": top("subnet_id"),
    "top-talkers": top("srcaddr"),
    "top-talkers-packet-level": top("pkt_srcaddr", view=coalesced),
    "top-talkers-packets": top("srcaddr", by="packets"),
    "top-vpcs": top("vpc_id"),
    "traffic-from-source": listing(lambda r, p: p["src"] in (r["srcaddr"], r["pkt_srcaddr"]),
                                   FLOW_COLUMNS,
                                   "-start_time", "interface_id", "dstaddr", "srcport", "dstport"),
    "traffic-over-time": over_time(sums),
    "traffic-paths": lambda records, p: [{"traffic_path": r["traffic_path"], "path": path_name(r["traffic_path"]), **r}
                                         for r in top("traffic_path")(records, p)],
    "traffic-to-destination": listing(lambda r, p: p["dst"] in (r["dstaddr"], r["pkt_dstaddr"]),
                                      FLOW_COLUMNS,
                                      "-start_time", "interface_id", "srcaddr", "srcport", "dstport"),
    "web-clients": web_clients,
}


def busiest(records: list[Row], column: str, interface_column: str) -> str:
    """The packet-level address seen most often where it differs from the interface-level one."""
    seen = Counter(r[column] for r in traffic(records) if r[column] not in (None, r[interface_column]))
    return seen.most_common(1)[0][0]


PARAMS: dict[str, Callable[[list[Row]], dict[str, str]]] = {
    "actions-over-time": lambda records: {"bucket": "1 hour"},
    "rejected-over-time": lambda records: {"bucket": "1 hour"},
    "traffic-over-time": lambda records: {"bucket": "1 hour"},
    "traffic-from-source": lambda records: {"src": busiest(records, "pkt_srcaddr", "srcaddr")},
    "traffic-to-destination": lambda records: {"dst": busiest(records, "pkt_dstaddr", "dstaddr")},
}


def params(name: str, records: list[Row]) -> dict[str, str]:
    return PARAMS[name](records) if name in PARAMS else {}


# ---------------------------------------------------------------------------------------------
# The lakes and the command.


@dataclass(frozen=True)
class Lake:
    path: Path
    records: list[Row]


def build(root: Path, *runs: dict) -> Lake:
    raw = root / "raw"
    for run in runs:
        generate(raw, seed=7, **run)
    assert run_cli("ingest", str(raw), "--lake", str(root / "lake")).returncode == 0
    return Lake(root / "lake", read_raw(raw))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """30,000 records over the three days before END, every format, and an access log."""
    root = tmp_path_factory.mktemp("demo")
    lake = build(root, {"records": 30_000, "days": 3, "end": END})
    log = root / "access.log"
    log.write_text("".join(access_line(request) + "\n" for request in web_requests(lake.records)))
    assert run_cli("ingest-weblogs", str(log), "--lake", str(lake.path)).returncode == 0
    return lake


@pytest.fixture(scope="module")
def recent(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Records up to now: six days ending two days ago, then the last day (so `--since 36h` cuts in a gap)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return build(tmp_path_factory.mktemp("recent"), {"records": 4_000, "days": 6, "end": now - timedelta(days=2)},
                 {"records": 6_000, "days": 1, "end": now})


def flowlake(*args: str) -> Result:
    """`flowlake ARGS` in this process: the same command, without half a second of imports per run
    (test_in_process_runs_answer_as_the_command_does holds the two together)."""
    return CliRunner().invoke(cli, list(args), prog_name="flowlake")


def report(lake: Path, name: str, *args: str, params: dict[str, str] | None = None) -> list[dict]:
    pairs = [a for k, v in (params or {}).items() for a in ("--param", f"{k}={v}")]
    result = flowlake("report", name, "--lake", str(lake), "--format", "json", *pairs, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def fails(*args: str) -> str:
    """Standard error of a `flowlake report` that must exit 2."""
    result = flowlake("report", *args)
    assert result.exit_code == 2, (result.output, result.exception)
    return result.stderr


def jsonable(rows: list[dict]) -> list[dict]:
    return [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()} for row in rows]


def default_limit(name: str) -> int | None:
    param = BUILTIN[name].param("limit")
    return int(param.default) if param else None


def expect(name: str, records: list[Row], limit: int | None = None, **params: str) -> list[dict]:
    """The independent answer of report `name`, as JSON, cut to `limit` (default: the report's)."""
    return jsonable(EXPECTED[name](records, params))[:limit or default_limit(name)]


def since(records: list[Row], start: datetime, end: datetime | None = None) -> list[Row]:
    """Records a time range keeps: start_time in [start, end)."""
    return [r for r in records if r["start_time"] is not None and start <= r["start_time"] and
            (end is None or r["start_time"] < end)]


# ---------------------------------------------------------------------------------------------
# The tests.


def test_every_report_has_a_check() -> None:
    listed = flowlake("report", "--list").stdout.splitlines()
    assert sorted(line.split()[0] for line in listed) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_report_matches_independent_computation(name: str, demo: Lake) -> None:
    given = params(name, demo.records)
    expected = expect(name, demo.records, **given)
    assert expected, f"{name} is empty on the demo data: the comparison would prove nothing"
    assert report(demo.path, name, params=given) == expected


def test_in_process_runs_answer_as_the_command_does(demo: Lake) -> None:
    real = run_cli("report", "top-ports", "--lake", str(demo.path), "--format", "json", "--limit", "3")
    assert real.returncode == 0 and json.loads(real.stdout) == report(demo.path, "top-ports", "--limit", "3")
    real = run_cli("report", "top-ports", "--lake", str(demo.path), "--param", "nope=1")
    assert real.returncode == 2 and real.stderr.decode() == fails("top-ports", "--lake", str(demo.path),
                                                                  "--param", "nope=1")


def test_auto_bucket_fits_the_data_without_a_range(demo: Lake) -> None:
    # Three days: 15-minute buckets (288) are the finest under 400 points.
    assert report(demo.path, "traffic-over-time") == expect("traffic-over-time", demo.records, bucket="15 minutes")


@pytest.mark.parametrize(("duration", "bucket"), [("1h", 60), ("1d", 300), ("7d", 3600)])
def test_auto_bucket_fits_since(recent: Lake, duration: str, bucket: int) -> None:
    times = [datetime.fromisoformat(r["time"]).timestamp() for r in
             report(recent.path, "traffic-over-time", "--since", duration)]
    assert len(times) > 2 and all(t % bucket == 0 for t in times)
    assert math.gcd(*(int(b - a) for a, b in itertools.pairwise(times))) == bucket


def test_since_narrows(recent: Lake) -> None:
    # No record starts within hours of the cut, so the moment the command runs does not matter.
    kept = since(recent.records, datetime.now(UTC) - timedelta(hours=36))
    answer = report(recent.path, "ip-versions", "--since", "36h")
    assert answer == expect("ip-versions", kept)
    assert 0 < sum(r["flows"] for r in answer) < len(traffic(recent.records))


def test_from_and_to_narrow(demo: Lake) -> None:
    day = datetime(2026, 11, 25, tzinfo=UTC)
    hourly = report(demo.path, "traffic-over-time", "--from", "2026-11-25", "--to", "2026-11-25",
                    params={"bucket": "1 hour"})
    assert len(hourly) == 24 and hourly == expect("traffic-over-time", since(demo.records, day, day + timedelta(1)),
                                                  bucket="1 hour")
    daytime = since(demo.records, day + timedelta(hours=6), day + timedelta(hours=18))
    assert report(demo.path, "rejected-ports", "--from", "2026-11-25T06:00Z", "--to", "2026-11-25T18:00") == \
        expect("rejected-ports", daytime)


def test_where_narrows(demo: Lake) -> None:
    ssh = [r for r in demo.records if r["dstport"] == 22]
    answer = report(demo.path, "top-talkers", "--where", "dstport = 22")
    assert answer == expect("top-talkers", ssh) and answer != expect("top-talkers", demo.records)


def test_limit(demo: Lake) -> None:
    assert report(demo.path, "top-talkers", "--limit", "3") == expect("top-talkers", demo.records, 3)
    assert report(demo.path, "top-talkers", "--limit", "50") == expect("top-talkers", demo.records, 50)
    assert report(demo.path, "rejected-traffic", "--limit", "5") == expect("rejected-traffic", demo.records, 5)


def test_parameter_errors(demo: Lake) -> None:
    lake = ["--lake", str(demo.path)]
    assert "report top-talkers has no parameter nope (it takes: limit)" in \
        fails("top-talkers", *lake, "--param", "nope=1")
    assert "report traffic-from-source needs --param src=..." in fails("traffic-from-source", *lake)
    assert "--param limit must be an integer" in fails("top-talkers", *lake, "--param", "limit=ten")
    assert "--param takes NAME=VALUE, not 'limit'" in fails("top-talkers", *lake, "--param", "limit")


def test_unknown_report(demo: Lake) -> None:
    assert "no report named 'top-talker'; `flowlake report --list` shows them" in \
        fails("top-talker", "--lake", str(demo.path))


def test_sql_error_in_where(demo: Lake) -> None:
    error = fails("top-talkers", "--lake", str(demo.path), "--where", "dstport = 'ssh'")
    assert "SQL error in report top-talkers or --where" in error and "'ssh'" in error


def test_unknown_column_in_where(demo: Lake) -> None:
    result = run_cli("report", "top-talkers", "--lake", str(demo.path), "--where", "dst_port = 22")
    error = result.stderr.decode()
    assert result.returncode == 2 and "SQL error" in error and "dst_port" in error and "Traceback" not in error


def test_where_cannot_widen_the_time_range(demo: Lake) -> None:
    """A filter that closes the parenthesis early must not escape the --from/--to range."""
    result = run_cli("report", "top-talkers", "--lake", str(demo.path), "--from", "2030-01-01",
                     "--where", "1=1) or (1=1", "--format", "json")
    assert result.returncode == 2 or json.loads(result.stdout) == []


USER_REPORT = """-- name: {name}
-- title: {title}
-- description: Sources of SSH flows.
-- param: limit integer = 3
select srcaddr, count(*) as flows from traffic where dstport = 22 group by 1 order by flows desc, srcaddr limit $limit
"""


def test_user_reports_are_listed_and_run(demo: Lake, tmp_path: Path) -> None:
    lake, folder = tmp_path / "lake", tmp_path / "mine"
    shutil.copytree(demo.path, lake)
    (lake / "_flowlake" / "reports").mkdir()
    (lake / "_flowlake" / "reports" / "lake-ssh.sql").write_text(USER_REPORT.format(name="lake-ssh", title="Lake's"))
    folder.mkdir()
    (folder / "my-ssh.sql").write_text(USER_REPORT.format(name="my-ssh", title="Mine"))
    listed = flowlake("report", "--list", "--lake", str(lake), "--reports", str(folder)).stdout.splitlines()
    assert [line.split(None, 1) for line in listed if "-ssh" in line] == [["lake-ssh", "Lake's"], ["my-ssh", "Mine"]]
    ssh = rollup([r for r in traffic(demo.records) if r["dstport"] == 22], ("srcaddr",), lambda g: {"flows": len(g)})
    expected = order(ssh, "-flows", "srcaddr")
    assert report(lake, "lake-ssh") == expected[:3]
    assert report(lake, "my-ssh", "--reports", str(folder), "--limit", "5") == expected[:5]


@pytest.mark.parametrize(("text", "message"), [
    ("-- name: bad\n-- param: limit number = 5\nselect 1 limit $limit\n",
     "bad.sql: bad param line 'limit number = 5' (want: name integer|text|interval = default)"),
    ("-- name: bad\nselect * from traffic where srcaddr = $src\n", "bad.sql: undeclared parameters ['src']"),
    ("-- name: Bad Report\nselect 1\n", "bad.sql: asset name 'Bad Report' must be lowercase words joined by hyphens"),
    ("-- name: bad\n-- title: Nothing\n", "bad.sql: no SQL after the header"),
])
def test_malformed_user_report(demo: Lake, tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "bad.sql").write_text(text)
    assert message in fails("--list", "--reports", str(tmp_path))
    assert message in fails("top-talkers", "--lake", str(demo.path), "--reports", str(tmp_path))
