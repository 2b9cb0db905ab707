"""`flowlake explain`: each verdict from hand-written flow log lines, AWS's own examples and real corpora.

The evidence is checked against counts made here from the lines themselves (split, `ipaddress`), never
from flowlake's decoders or SQL.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import aws_key, run_cli, text_object, write_object
from flowlake import cases
from flowlake.cli import commands
from rawdata import geoip2fast_lookups

CORPORA = Path(__file__).parent / "data" / "corpora"
V2 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
      "log-status")
V8 = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
      "log-status flow-direction reject-reason")
T0 = 1_795_780_800  # 2026-11-27T12:00:00Z


def build(tmp_path: Path, lines: list[str], header: str = V2) -> Path:
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    write_object(inbox, aws_key(), text_object(lines, header))
    result = CliRunner().invoke(commands(), ["ingest", str(inbox), "--lake", str(lake)])
    assert result.exit_code == 0, result.output
    return lake


def explain(lake: Path, *args: str) -> dict:
    result = CliRunner().invoke(commands(), ["explain", "--lake", str(lake), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def line(eni: str, src: str, dst: str, sport: int, dport: int, action: str, start: int = T0, proto: int = 6,
         packets: int = 3, size: int = 180, extra: str = "") -> str:
    return (f"2 123456789012 {eni} {src} {dst} {sport} {dport} {proto} {packets} {size} {start} {start + 60} "
            f"{action} OK{' ' + extra if extra else ''}")


def expected(lines: list[str], header: str, src: str, dst: str, port: int | None = None,
             protocol: int | None = None) -> Counter:
    """Flows per (interface, leg, action), worked out from the text lines."""
    s, d = ipaddress.ip_network(src, strict=False), ipaddress.ip_network(dst, strict=False)
    names = header.split()
    found: Counter = Counter()
    for text in lines:
        r = dict(zip(names, text.split(), strict=True))
        a, b = ipaddress.ip_address(r["srcaddr"]), ipaddress.ip_address(r["dstaddr"])
        if r["log-status"] != "OK" or (protocol is not None and int(r["protocol"]) != protocol):
            continue
        if a in s and b in d and (port is None or int(r["dstport"]) == port):
            found[(r["interface-id"], "request", r["action"])] += 1
        elif a in d and b in s and (port is None or int(r["srcport"]) == port):
            found[(r["interface-id"], "response", r["action"])] += 1
    return found


def got(answer: dict) -> Counter:
    found: Counter = Counter()
    for row in answer["evidence"]:
        found[(row["interface_id"], row["leg"], row["action"])] += row["flows"]
    return found


def check(tmp_path: Path, lines: list[str], src: str, dst: str, *args: str, header: str = V2,
          port: int | None = None, protocol: int | None = None) -> dict:
    lake = build(tmp_path, lines, header)
    flags = [*args, *(["--port", str(port)] if port is not None else [])]
    answer = explain(lake, "--src", src, "--dst", dst, *flags)
    assert got(answer) == expected(lines, header, src, dst, port, protocol)
    return answer


# AWS's example (flow-logs-records-examples, "security group and network ACL rules"): a ping from a home
# computer to an instance whose network ACL allows inbound ICMP but not outbound.
AWS_PING = ["2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 "
            "ACCEPT OK",
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 "
            "REJECT OK"]


def test_aws_nacl_example_is_a_return_path_reject(tmp_path: Path) -> None:
    answer = check(tmp_path, AWS_PING, "203.0.113.12", "172.31.16.139", "--protocol", "icmp", protocol=1)
    assert answer["verdict"] == "return-path-reject"
    assert "network ACL" in answer["summary"] and "eni-1235b8ca123456789" in answer["summary"]
    assert [(r["leg"], r["action"], r["packets"], r["bytes"]) for r in answer["evidence"]] == [
        ("request", "ACCEPT", 4, 336), ("response", "REJECT", 4, 336)]


def test_aws_security_group_deny_is_a_single_inbound_reject(tmp_path: Path) -> None:
    """AWS: if the security group denies inbound ICMP, there is a single REJECT record."""
    lines = [AWS_PING[0].replace("ACCEPT", "REJECT")]
    answer = check(tmp_path, lines, "203.0.113.12", "172.31.16.139", "--protocol", "1", protocol=1)
    assert answer["verdict"] == "inbound-reject"
    assert "security group" in answer["summary"]


def test_aws_default_format_examples(tmp_path: Path) -> None:
    """AWS's accepted SSH and rejected RDP records: one address pair each, no responses logged."""
    lines = ["2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 "
             "1418530070 ACCEPT OK",
             "2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 "
             "1418530070 REJECT OK"]
    rdp = check(tmp_path / "a", lines, "172.31.9.69", "172.31.9.12", "--protocol", "tcp", port=3389, protocol=6)
    assert rdp["verdict"] == "inbound-reject"
    ssh = check(tmp_path / "b", lines, "172.31.16.139", "172.31.16.21", port=22)
    assert ssh["verdict"] == "no-response"


def test_return_path_reject_of_part_of_the_ephemeral_range(tmp_path: Path) -> None:
    """A network ACL that allows outbound 1024-49151 only: responses to higher client ports are rejected."""
    eni, client, server = "eni-0aaaaaaaaaaaaaaaa", "198.51.100.7", "10.0.1.20"
    lines = []
    for i, sport in enumerate((40000, 45000, 50000, 55000, 60000)):
        lines.append(line(eni, client, server, sport, 443, "ACCEPT", T0 + i * 60))
        lines.append(line(eni, server, client, 443, sport, "ACCEPT" if sport < 49152 else "REJECT", T0 + i * 60))
    answer = check(tmp_path, lines, client, "10.0.1.0/24", port=443)
    assert answer["verdict"] == "return-path-reject"
    assert "3 of 5 response flows" in answer["summary"] and "ports 50000-60000" in answer["summary"]


def test_bpa_reject_reason(tmp_path: Path) -> None:
    eni = "eni-0bbbbbbbbbbbbbbbb"
    lines = [line(eni, "192.0.2.50", "10.0.2.9", 50000 + i, 22, "REJECT", T0 + i, extra="ingress BPA")
             for i in range(4)]
    lines.append(line(eni, "192.0.2.51", "10.0.2.9", 51000, 22, "REJECT", T0, extra="ingress -"))
    answer = check(tmp_path, lines, "192.0.2.0/24", "10.0.2.9", header=V8, port=22)
    assert answer["verdict"] == "bpa"
    assert answer["summary"].startswith("4 rejected flows")
    assert sum(r["bpa_flows"] for r in answer["evidence"]) == 4


def test_outbound_reject_on_the_sender(tmp_path: Path) -> None:
    lines = [line("eni-0cccccccccccccccc", "10.0.3.4", "203.0.113.80", 40000 + i, 443, "REJECT", T0 + i * 60,
                  extra="egress -") for i in range(3)]
    answer = check(tmp_path, lines, "10.0.3.4", "203.0.113.80", header=V8, port=443)
    assert answer["verdict"] == "outbound-reject"
    assert "outbound" in answer["summary"]


def test_both_ends_logged_rejected_where_it_arrives(tmp_path: Path) -> None:
    """Client and server interfaces both in the lake: it leaves the client, the server's interface rejects it."""
    client, server = "10.0.1.5", "10.0.2.6"
    lines = []
    for i in range(3):
        lines.append(line("eni-0client0000000000", client, server, 41000 + i, 5432, "ACCEPT", T0 + i, extra="egress -"))
        lines.append(line("eni-0server0000000000", client, server, 41000 + i, 5432, "REJECT", T0 + i,
                          extra="ingress -"))
    answer = check(tmp_path, lines, client, server, header=V8, port=5432)
    assert answer["verdict"] == "inbound-reject"
    assert "eni-0server0000000000" in answer["summary"]
    assert any("eni-0client0000000000" in d for d in answer["details"])


def test_partial_reject_over_time(tmp_path: Path) -> None:
    eni, src, dst = "eni-0dddddddddddddddd", "203.0.113.9", "10.0.4.4"
    lines = [line(eni, src, dst, 42000 + i, 80, "REJECT" if i < 3 else "ACCEPT", T0 + i * 3600) for i in range(6)]
    lines += [line(eni, dst, src, 80, 42000 + i, "ACCEPT", T0 + i * 3600) for i in range(3, 6)]
    answer = check(tmp_path, lines, src, dst, port=80)
    assert answer["verdict"] == "partial-reject"
    assert "3 of 6 request flows where it arrives" in answer["summary"]
    assert "Rejected until 2026-11-27 14:01 UTC, accepted from 2026-11-27 15:00 UTC" in answer["summary"]


def test_partial_reject_by_source_and_interface(tmp_path: Path) -> None:
    lines = [line("eni-0eeeeeeeeeeeeeee1", "198.51.100.1", "10.0.5.5", 43000 + i, 8443, "ACCEPT", T0 + i)
             for i in range(2)]
    lines += [line("eni-0eeeeeeeeeeeeeee2", "198.51.100.2", "10.0.5.6", 43000 + i, 8443, "REJECT", T0 + i)
              for i in range(3)]
    answer = check(tmp_path, lines, "198.51.100.0/24", "10.0.5.0/24", port=8443)
    assert answer["verdict"] == "partial-reject"
    assert "Rejected only on eni-0eeeeeeeeeeeeeee2 and accepted only on eni-0eeeeeeeeeeeeeee1" in answer["summary"]
    assert "Sources only rejected: 198.51.100.2; only accepted: 198.51.100.1" in answer["summary"]
    assert {(s["srcaddr"], s["accepted"], s["rejected"]) for s in answer["sources"]} == {
        ("198.51.100.1", 2, 0), ("198.51.100.2", 0, 3)}


def test_accepted_both_ways_and_the_port_on_each_side(tmp_path: Path) -> None:
    """The request's dstport is the response's srcport; other ports between the same hosts do not count."""
    eni, src, dst = "eni-0fffffffffffffff0", "10.0.6.1", "10.0.6.2"
    lines = [line(eni, src, dst, 44000, 443, "ACCEPT"), line(eni, dst, src, 443, 44000, "ACCEPT"),
             line(eni, src, dst, 44001, 22, "REJECT"), line(eni, dst, src, 22, 44001, "REJECT")]
    answer = check(tmp_path, lines, src, dst, port=443)
    assert answer["verdict"] == "accepted"
    assert sum(r["flows"] for r in answer["evidence"]) == 2


def test_response_only_suggests_swapping(tmp_path: Path) -> None:
    lines = [line("eni-0a0a0a0a0a0a0a0a0", "10.0.7.7", "10.0.7.8", 443, 45000, "ACCEPT")]
    answer = check(tmp_path, lines, "10.0.7.8", "10.0.7.7", port=443)
    assert answer["verdict"] == "response-only"


def test_no_records_says_how_far_the_lake_reaches(tmp_path: Path) -> None:
    lines = [line("eni-0b0b0b0b0b0b0b0b0", "10.0.8.1", "10.0.8.2", 46000, 443, "ACCEPT", T0 + i * 60)
             for i in range(3)]
    answer = check(tmp_path, lines, "10.0.8.1", "10.9.9.9", port=443)
    assert answer["verdict"] == "no-records" and answer["evidence"] == []
    assert answer["reach"]["complete_up_to"] == "2026-11-27T12:03:00+00:00"
    assert "routing" in answer["summary"] or "route" in answer["summary"]
    assert "complete up to 2026-11-27 12:03 UTC" in answer["summary"]


def test_no_records_in_an_empty_range(tmp_path: Path) -> None:
    lake = build(tmp_path, [line("eni-0c0c0c0c0c0c0c0c0", "10.0.8.1", "10.0.8.2", 46000, 443, "ACCEPT")])
    answer = explain(lake, "--src", "10.0.8.1", "--dst", "10.0.8.2", "--from", "2026-12-01")
    assert answer["verdict"] == "no-records"
    assert "no records in this range" in answer["summary"]


def test_ipv6(tmp_path: Path) -> None:
    """AWS's IPv6 example record, matched by a /64 on each side."""
    lines = ["2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 "
             "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"]
    answer = check(tmp_path, lines, "2001:db8:1234:a100::/64", "2001:db8:1234:a102::/64", port=22)
    assert answer["verdict"] == "no-response"
    assert answer["evidence"][0]["bytes"] == 8855


def test_real_corpus_accepted_both_ways(tmp_path: Path) -> None:
    """grafana's analyzer sample: an HTTPS client and server through a NAT, every record ACCEPT."""
    path = CORPORA / "grafana__vpc-flow-logs-analyzer" / "testdata__aws-flow-logs-10.3.11.57-142.250.185.91.log"
    header, *lines = path.read_text().splitlines()
    answer = check(tmp_path, lines, "10.3.11.57", "10.63.37.34", "--protocol", "tcp", header=header, port=443,
                   protocol=6)
    assert answer["verdict"] == "accepted"


def test_real_corpus_beats_accept_reject(tmp_path: Path) -> None:
    """elastic/beats' accept-reject sample holds AWS's ping example among other lines."""
    path = CORPORA / "elastic__beats" / "x-pack__filebeat__module__aws__vpcflow__test__accept-reject-traffic.log"
    header, *lines = path.read_text().splitlines()
    answer = check(tmp_path, lines, "203.0.113.12", "172.31.16.139", header=header)
    assert answer["verdict"] == "return-path-reject"
    rdp = explain(tmp_path / "lake", "--src", "78.24.182.42", "--dst", "158.109.0.1", "--port", "3389")
    assert rdp["verdict"] == "inbound-reject"
    geo = geoip2fast_lookups(["78.24.182.42", "158.109.0.1"])
    [pair] = rdp["sources"]
    assert (pair["src_class"], pair["src_country"], pair["src_as_name"]) == ("public", *geo["78.24.182.42"][::2])
    assert (pair["dst_class"], pair["dst_country"], pair["dst_as_name"]) == ("public", *geo["158.109.0.1"][::2])
    assert pair["src_country"] is not None


def test_table_output_says_the_verdict_and_shows_the_evidence(tmp_path: Path) -> None:
    lake = build(tmp_path, AWS_PING)
    result = run_cli("explain", "--lake", str(lake), "--src", "203.0.113.12", "--dst", "172.31.16.139",
                     "--protocol", "ICMP")
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert out.startswith("Request accepted, response rejected (network ACL) [return-path-reject]")
    assert "eni-1235b8ca123456789" in out and "Over time:" in out
    csv = run_cli("explain", "--lake", str(lake), "--src", "203.0.113.12", "--dst", "172.31.16.139",
                  "--format", "csv").stdout.decode().splitlines()
    assert csv[0].startswith('"interface_id","leg"') and len(csv) == 3


@pytest.fixture(scope="module")
def ping_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("ping"), AWS_PING)


@pytest.mark.parametrize(("flags", "message"), [
    (["--src", "10.0.0.300", "--dst", "10.0.0.1"], "--src: not an IP address or CIDR: '10.0.0.300'"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.0/33"], "--dst: not an IP address or CIDR"),
    (["--src", "10.0.0.1", "--dst", "2001:db8::1"], "both be IPv4 or both IPv6"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--protocol", "tcpx"], "--protocol: not a protocol name"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--protocol", "256"], "--protocol: not a protocol name"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--port", "70000"], "--port must be 0 to 65535"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--port", "x"], "'x' is not a valid integer"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--port", "22", "--protocol", "icmp"], "ICMP has no ports"),
    (["--src", "10.0.0.1"], "Missing option '--dst'"),
    (["--src", "10.0.0.1", "--dst", "10.0.0.2", "--since", "soon"], "not a duration"),
])
def test_bad_flags_exit_2(ping_lake: Path, flags: list[str], message: str) -> None:
    result = CliRunner().invoke(commands(), ["explain", "--lake", str(ping_lake), *flags])
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_lake_exits_2(tmp_path: Path) -> None:
    result = run_cli("explain", "--lake", str(tmp_path / "nothing"), "--src", "10.0.0.1", "--dst", "10.0.0.2")
    assert result.returncode == 2 and "no flowlake lake" in result.stderr.decode()


def test_demo_cases(tmp_path: Path) -> None:
    """The demo's connectivity problems (flowlake.cases), each with its verdict, counted from their lines."""
    end = datetime(2026, 11, 27, tzinfo=UTC)
    cases.write(tmp_path / "inbox", end)
    lines = [text for day in cases.lines(end).values() for text in day]
    lake = tmp_path / "lake"
    assert CliRunner().invoke(commands(), ["ingest", str(tmp_path / "inbox"), "--lake", str(lake)]).exit_code == 0
    for src, dst, port, verdict, said in (
            (cases.CLIENTS[0], cases.WEB[2], 443, "return-path-reject", "rejected responses go to ports 49"),
            ("0.0.0.0/0", cases.BASTION[2], 22, "inbound-reject", cases.BASTION[0]),
            (cases.APP[2], cases.DB[2], 5432, "partial-reject", "Rejected until 2026-11-25 23:55 UTC, accepted from "
             "2026-11-26 00:00 UTC")):
        answer = explain(lake, "--src", src, "--dst", dst, "--port", str(port))
        assert answer["verdict"] == verdict and said in answer["summary"], answer["summary"]
        assert got(answer) == expected(lines, cases.HEADER, src, dst, port)
