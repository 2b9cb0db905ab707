"""`flowlake ingest cloudwatch://...` against moto's CloudWatch Logs server, through the fault proxy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from conftest import ACCOUNT, count, rows, run_cli

if TYPE_CHECKING:
    from servers import Exchange, LocalAws

pytest_plugins = ["servers"]

GROUP = "vpc-flow-logs"
ENIS = ("eni-0a1b2c3d4e5f60001", "eni-0a1b2c3d4e5f60002")
FORMAT = ("${version} ${account-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
          "${end} ${action} ${log-status}")
"""No interface id and no start: the log stream and the event timestamp give them."""
PAGE = 100
"""Events per page: the proxy makes the server page this small."""


def custom_line(n: int, timestamp: int) -> str:
    """A record in FORMAT; srcport is 40000 + n, and it ends a minute after the event's timestamp."""
    return f"2 {ACCOUNT} 10.0.0.{n % 250 + 1} 203.0.113.9 {40000 + n} 443 6 3 360 {timestamp // 1000 + 60} ACCEPT OK"


def ipv6_line(n: int, timestamp: int) -> str:
    """A default-format record between IPv6 addresses (a long one), distinct by srcaddr."""
    return (f"2 {ACCOUNT} {ENIS[0]} 2001:db8:1234:5678:90ab:cdef:{n // 65536:x}:{n % 65536:x} "
            f"2001:db8:ffff:eeee:dddd:cccc:bbbb:aaaa 40000 443 6 3 360 {timestamp // 1000} {timestamp // 1000 + 60} "
            "ACCEPT OK")


def put_events(aws: LocalAws, numbers: range, base_ms: int, stream: str = f"{ENIS[0]}-all",
               message: Callable[[int, int], str] = custom_line, step_ms: int = 10) -> None:
    """One event per number, `step_ms` apart from `base_ms`."""
    logs = aws.client("logs")
    if not logs.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]:
        logs.create_log_group(logGroupName=GROUP)
    if not logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    events = [{"timestamp": base_ms + n * step_ms, "message": message(n, base_ms + n * step_ms)} for n in numbers]
    rejected = logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)
    assert "rejectedLogEventsInfo" not in rejected


def small_pages_after_empty_ones(exchange: Exchange) -> bytes | None:
    """Answer each FilterLogEvents call without a page of our own with an empty page and a nextToken;
    send the next call on to the server with a small page size. A reader that stops at an empty page
    loses everything."""
    if exchange.operation != "FilterLogEvents":
        return None
    request = json.loads(exchange.body)
    token = request.pop("nextToken", "")
    if not token.startswith("empty:"):
        return json.dumps({"events": [], "nextToken": f"empty:{token}"}).encode()
    if token.removeprefix("empty:"):
        request["nextToken"] = token.removeprefix("empty:")
    exchange.body = json.dumps({**request, "limit": PAGE}).encode()
    return None


def ingest(aws: LocalAws, lake: Path, *args: str, env: dict | None = None) -> tuple[int, dict, str]:
    result = run_cli("ingest", f"cloudwatch://{GROUP}", "--lake", str(lake), "--format-string", FORMAT, "--json",
                     *args, env={**aws.env, **(env or {})})
    return result.returncode, json.loads(result.stdout) if result.stdout else {}, result.stderr.decode()


def now_ms() -> int:
    return int(time.time() * 1000)


def test_pages_empty_pages_stream_hints_and_throttling(aws: LocalAws, lake: Path) -> None:
    base = now_ms() - 30 * 60_000
    put_events(aws, range(0, 600), base, f"{ENIS[0]}-all")
    put_events(aws, range(600, 1000), base, f"{ENIS[1]}-all")
    put_events(aws, range(5000, 5050), base, "not-an-interface")
    aws.proxy.rewrite = small_pages_after_empty_ones
    faults = ("throttle", "reset", "cut", "error", "expired")
    for fault in faults:  # once each, then on a share of the requests
        aws.proxy.inject(fault, times=1, when=lambda e: e.operation == "FilterLogEvents")
    for fault, share in zip(faults, (0.1, 0.05, 0.05, 0.05, 0.03), strict=True):
        aws.proxy.inject(fault, share, when=lambda e: e.operation == "FilterLogEvents")
    code, stats, err = ingest(aws, lake, "--stream-prefix", "eni-")
    assert code == 0, err
    assert stats["records"] == 1000
    assert rows(lake, 'select interface_id, count(*), count(distinct srcport), max("end" - start), min("end" - start)'
                      " from flows group by 1 order by 1") == [(ENIS[0], 600, 600, 60, 60), (ENIS[1], 400, 400, 60, 60)]
    assert rows(lake, "select distinct region from flows") == [("us-east-1",)]
    filtered = aws.proxy.requests("FilterLogEvents")
    assert sum(json.loads(e.body).get("limit") == PAGE and not e.fault for e in filtered) >= 1000 // PAGE
    assert {e.fault for e in filtered} >= set(faults)


def test_second_run_continues_without_gaps_or_duplicates_and_takes_late_events(aws: LocalAws, lake: Path) -> None:
    base = now_ms() - 40 * 60_000
    put_events(aws, range(0, 300), base)
    code, stats, _ = ingest(aws, lake)
    assert (code, stats["records"]) == (0, 300)

    put_events(aws, range(300, 400), base)  # newer events
    late = base + 1_000 - 10_000 * 10  # their timestamps fall a second after the first run's first event
    put_events(aws, range(10_000, 10_040), late, f"{ENIS[1]}-all")
    code, stats, _ = ingest(aws, lake)
    assert (code, stats["records"]) == (0, 140)
    code, stats, _ = ingest(aws, lake)
    assert (code, stats["records"], stats["objects"]) == (0, 0, 0)
    assert rows(lake, "select count(*), count(distinct srcport) from flows") == [(440, 440)]


def test_a_run_stopped_midway_resumes_exactly_after_what_it_committed(aws: LocalAws, lake: Path) -> None:
    """Ingest commits while it reads on, a few groups of about 2 MB behind; with one worker, pages of
    10,000 IPv6 records are one group each, and the first is committed when the third is read. The
    events span more than the hour searched again, so a resume point ahead of the records loses some."""
    base = now_ms() - 5 * 3_600_000
    for part in range(4):
        put_events(aws, range(part * 10_000, (part + 1) * 10_000), base, message=ipv6_line, step_ms=400)
    pages = 0

    def after_three_pages(exchange: Exchange) -> bool:
        nonlocal pages
        pages += exchange.operation == "FilterLogEvents"
        return pages > 3

    aws.proxy.inject("denied", when=after_three_pages)
    result = run_cli("ingest", f"cloudwatch://{GROUP}", "--lake", str(lake), "--workers", "1",
                     env={**aws.env, "FLOWLAKE_BATCH_ROWS": "100"})
    assert result.returncode == 2
    assert "logs:FilterLogEvents on arn:aws:logs:us-east-1:*:log-group:vpc-flow-logs:*" in result.stderr.decode()
    stopped_at = count(lake)
    assert 0 < stopped_at < 40_000

    aws.proxy.clear()
    result = run_cli("ingest", f"cloudwatch://{GROUP}", "--lake", str(lake), "--json", env=aws.env)
    assert json.loads(result.stdout)["records"] == 40_000 - stopped_at
    assert rows(lake, "select count(*), count(distinct srcaddr) from flows") == [(40_000, 40_000)]


def test_missing_log_group_is_a_one_line_error(aws: LocalAws, lake: Path) -> None:
    result = run_cli("ingest", "cloudwatch://no-such-group", "--lake", str(lake), env=aws.env)
    assert (result.returncode, result.stderr.decode().strip()) == (2, "Error: no such log group: no-such-group "
                                                                      "(in us-east-1)")
