"""Bad input gets a clear error, and nothing good is lost.

Each case is one damaged object beside a clean one; the clean one and every good line of
the damaged one must reach the lake, every bad line must be in the quarantine with its
line number and reason, and the command must end with a summary and exit code 1.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from conftest import HEADER, aws_key, count, rows, run_cli, text_object, v2_line, write_object

GOOD = [v2_line(i) for i in range(100)]


def _gz(text: str) -> bytes:
    return gzip.compress(text.encode())


def _lines_with(bad: dict[int, str]) -> str:
    """GOOD with some lines replaced: keys are 1-based line numbers counting the header as line 1."""
    lines = [HEADER, *GOOD]
    for number, text in bad.items():
        lines[number - 1] = text
    return "\n".join(lines) + "\n"


CASES = {
    # name: (object bytes, good records expected, {line: reason fragment})
    "wrong field count": (_gz(_lines_with({5: v2_line(4) + " extra", 9: " ".join(v2_line(8).split()[:10])})),
                          98, {5: "15 fields where the header names 14", 9: "10 fields"}),
    "non-numeric port": (_gz(_lines_with({3: v2_line(2).replace(" 443 ", " https ")})), 99,
                         {3: "dstport 'https' is not a number"}),
    "negative bytes": (_gz(_lines_with({4: v2_line(3).replace(" 6 4 480 ", " 6 4 -480 ")})), 99,
                       {4: "bytes -480 is negative"}),
    "port out of range": (_gz(_lines_with({6: v2_line(5).replace(" 443 ", " 70000 ")})), 99,
                          {6: "dstport 70000 is above 65535"}),
    "invalid address": (_gz(_lines_with({7: v2_line(6).replace("203.0.113.7", "203.0.113.999")})), 99,
                        {7: "dstaddr '203.0.113.999' is not an IP address"}),
    "unknown action": (_gz(_lines_with({8: v2_line(7).replace("ACCEPT", "MAYBE")})), 99,
                       {8: "action 'MAYBE' is not one of ACCEPT/REJECT"}),
    "start after end": (_gz(_lines_with({2: "2 123456789012 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 200 100 ACCEPT OK"})),
                        99, {2: "start 200 is after end"}),
    "milliseconds for seconds": (_gz(_lines_with({5: v2_line(4).replace(" 1795780804 1795780834 ",
                                                                          " 1795780804000 1795780834000 ")})),
                                 99, {5: "end 1795780834000 is not a Unix time in seconds"}),
    "non-UTF-8 bytes": (gzip.compress(_lines_with({}).encode().replace(b"ACCEPT OK\n2", b"ACC\xff\xfeT OK\n2", 1)),
                        99, {2: "not UTF-8 text"}),
    "100 KB line": (_gz(_lines_with({10: "x" * 100_000})), 99, {10: "longer than"}),
    "binary garbage": (bytes(range(256)) * 40, 0, {}),
    "empty object": (b"", 0, {}),
    "empty gzip": (gzip.compress(b""), 0, {}),
    "header only": (_gz(HEADER + "\n"), 0, {}),
}


@pytest.mark.parametrize("name", CASES)
def test_bad_object_keeps_good_records(name: str, inbox: Path, lake: Path) -> None:
    body, good, reasons = CASES[name]
    write_object(inbox, aws_key(suffix="bad00001"), body, gz=False)
    write_object(inbox, aws_key(suffix="good0001"), text_object([v2_line(i) for i in range(1000, 1050)]))
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert count(lake) == good + 50
    quarantine = json.loads(run_cli("quarantine", "--lake", str(lake), "--format", "json").stdout)
    for line, fragment in reasons.items():
        assert any(q["line"] == line and fragment in q["reason"] for q in quarantine), (line, fragment, quarantine)
    summary = result.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("ingested ")
    rejected = name not in ("empty object", "empty gzip", "header only")
    assert result.returncode == (1 if rejected else 0), result.stderr.decode()
    assert ("rejected 0 lines" in summary) is not rejected


def test_binary_garbage_is_reported_line_by_line(inbox: Path, lake: Path) -> None:
    write_object(inbox, "junk.bin", b"\x00\x01\x02 garbage\n\x89PNG\r\n\x1a\n\x00\x00\n", gz=False)
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert result.returncode == 1
    reasons = [q["reason"] for q in json.loads(run_cli("quarantine", "--lake", str(lake), "--format", "json").stdout)]
    assert reasons and all("fields and no header" in r or "not UTF-8" in r for r in reasons), reasons


def test_truncated_gzip_keeps_every_whole_line(inbox: Path, lake: Path) -> None:
    lines = [v2_line(i) for i in range(5000)]
    whole = gzip.compress(text_object(lines).encode())
    write_object(inbox, aws_key(), whole[: len(whole) * 2 // 3], gz=False)
    result = run_cli("ingest", str(inbox), "--lake", str(lake), "--json")
    stats = json.loads(result.stdout)
    assert result.returncode == 1
    assert 0 < stats["records"] < 5000
    assert count(lake) == stats["records"]
    kept = {r[0] for r in rows(lake, "select srcaddr || dstaddr || srcport || start from flows")}
    expected = {"".join(line.split()[3:4] + line.split()[4:5] + line.split()[5:6] + line.split()[10:11])
                for line in lines[: stats["records"]]}
    assert kept == expected, "the kept records must be exactly the first whole lines"
    assert "truncated gzip" in " ".join(stats["problems"])


def test_corrupt_gzip_is_reported_and_other_objects_still_ingest(inbox: Path, lake: Path) -> None:
    good = gzip.compress(text_object(GOOD).encode())
    corrupt = good[:20] + bytes(b ^ 0xFF for b in good[20:60]) + good[60:]
    write_object(inbox, aws_key(suffix="corrupt1"), corrupt, gz=False)
    write_object(inbox, aws_key(suffix="fine0001"), text_object([v2_line(i) for i in range(500, 520)]))
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert result.returncode == 1
    assert count(lake) == 20
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert status["quarantine"]["lines"] >= 1
    assert any("gzip" in reason for reason in status["quarantine"]["reasons"])


def test_repeated_header_and_blank_lines_are_not_errors(inbox: Path, lake: Path) -> None:
    body = text_object(GOOD[:10]) + "\n\n" + text_object(GOOD[10:20])
    write_object(inbox, aws_key(), body)
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert result.returncode == 0, result.stderr.decode()
    assert count(lake) == 20

