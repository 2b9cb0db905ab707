"""Connectivity problems for the demo to explain: flow logs of traffic that does not get through, and why.

The generated traffic (flowlake.generate) rejects at random, like scans and stray packets do; these
cases are steady patterns with one cause each, so `flowlake explain` has something to diagnose on the
demo data (docs/explain.md shows its answers). They live in a VPC of their own, written as AWS delivers
flow logs (version 5 fields, one object per day), every five minutes over the last `days` days:

- a web server whose subnet's network ACL allows HTTPS in but not the responses out to the clients'
  ephemeral ports 49152-65535 (Windows and most browsers): requests accepted, responses rejected;
- SSH from the internet to a server whose security group has no inbound SSH rule: rejected, unanswered;
- an application reaching its database, rejected until the security group rule was added a day ago.
"""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

ACCOUNT = "111122223333"
REGION = "us-east-1"
VPC = "vpc-0e7a1a1ce5c0ffee0"
HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
          "action log-status vpc-id subnet-id flow-direction")
WEB = ("eni-0e7a1a1ce0000web1", "subnet-0e7a1a1ce000pub1", "10.70.1.10")
BASTION = ("eni-0e7a1a1ce00000ssh", "subnet-0e7a1a1ce000pub1", "10.70.1.20")
APP = ("eni-0e7a1a1ce00000app", "subnet-0e7a1a1ce000app1", "10.70.2.30")
DB = ("eni-0e7a1a1ce000000db", "subnet-0e7a1a1ce0000db1", "10.70.3.40")
CLIENTS = ("81.2.69.160", "2.125.160.216", "89.160.20.112")
"""Public addresses of the web clients (GeoLite2 places them in the United Kingdom and Sweden)."""
SCANNER = "175.16.199.7"
STEP = 300


def lines(end: dt.datetime, days: int = 2) -> dict[str, list[str]]:
    """The records, by the UTC day (YYYY/MM/DD) of their start."""
    stop = int(end.timestamp()) // STEP * STEP
    fixed_at = stop - 86_400
    days_lines: dict[str, list[str]] = {}
    for i, t in enumerate(range(stop - days * 86_400, stop, STEP)):
        client = CLIENTS[i % len(CLIENTS)]
        port = 49152 + (i * 7919) % 16384 if i % 2 else 32768 + (i * 7919) % 16384
        records = [
            _record(WEB, client, WEB[2], port, 443, 6, 12, 1840, t, "ACCEPT", "ingress"),
            _record(WEB, WEB[2], client, 443, port, 6, 10, 9620, t, "REJECT" if port >= 49152 else "ACCEPT",
                    "egress"),
            _record(BASTION, SCANNER, BASTION[2], 40000 + i % 20000, 22, 6, 1, 60, t, "REJECT", "ingress"),
        ]
        sport = 50000 + i % 10000
        records.append(_record(APP, APP[2], DB[2], sport, 5432, 6, 8, 1400, t, "ACCEPT", "egress"))
        if t < fixed_at:
            records.append(_record(DB, APP[2], DB[2], sport, 5432, 6, 2, 120, t, "REJECT", "ingress"))
        else:
            records += [_record(DB, APP[2], DB[2], sport, 5432, 6, 8, 1400, t, "ACCEPT", "ingress"),
                        _record(DB, DB[2], APP[2], 5432, sport, 6, 8, 5200, t, "ACCEPT", "egress"),
                        _record(APP, DB[2], APP[2], 5432, sport, 6, 8, 5200, t, "ACCEPT", "ingress")]
        day = dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y/%m/%d")
        days_lines.setdefault(day, []).extend(records)
    return days_lines


def write(outdir: Path, end: dt.datetime, days: int = 2) -> int:
    """Write the cases under `outdir` in AWS's S3 layout; returns the number of records."""
    written = 0
    for day, records in lines(end, days).items():
        stamp = day.replace("/", "") + "T0000Z"
        key = (f"AWSLogs/{ACCOUNT}/vpcflowlogs/{REGION}/{day}/"
               f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0e7a1a1ce5c0ffee0_{stamp}_cases000.log.gz")
        path = Path(outdir) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(("\n".join([HEADER, *records]) + "\n").encode()))
        written += len(records)
    return written


def _record(eni: tuple[str, str, str], src: str, dst: str, sport: int, dport: int, proto: int, packets: int,
            size: int, t: int, action: str, direction: str) -> str:
    return (f"5 {ACCOUNT} {eni[0]} {src} {dst} {sport} {dport} {proto} {packets} {size} {t} {t + 58} {action} OK "
            f"{VPC} {eni[1]} {direction}")
