# ruff: noqa: E501  (the page's Markdown tables are written as they render)
"""Write docs/findings.md: every built-in rule from its header, and each rule's measured accuracy.

    .venv/bin/python docs/gen_findings.py

Generates the accuracy test's data (seed 7, a week, 200,000 background records ending at a fixed
time, plus `generate --incidents`), and the same with 3,000,000 background records, into temporary
folders; ingests each, runs `flowlake findings` over the last day through the real command with the
generated threat lists and intents, scores the findings against `_incidents.json` with `incidents.score`, and writes the page. Same code, same page.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flowlake.engine.catalog import load
from flowlake.generate import generate
from flowlake.incidents import RULE_INPUTS, inject, score

PAGE = Path(__file__).parent / "findings.md"
END = datetime(2026, 11, 27, tzinfo=UTC)
SEED, DAYS = 7, 7
SIZES = (200_000, 3_000_000)
"""Background records: the accuracy test's size, and fifteen times more (more scanning, busier hosts)."""

INTRO = """# Findings: detections as data

`flowlake findings` runs detection rules over the lake and prints what they find: port scans and
sweeps, brute force, possible exfiltration, traffic with threat-list addresses, rare and new remote
ports, DNS to outside resolvers, outbound floods, rejected-traffic spikes and broken segmentation
intents. Each rule is one SQL file with a comment header; users add rules by dropping files in a folder.

```
flowlake findings --lake demo/lake                                # the last 24 hours of data
flowlake findings --lake demo/lake --since 6h --format json
flowlake findings --lake demo/lake --threat-list tor.txt --threat-list c2.csv --intents intents.yaml
flowlake findings --lake demo/lake --format ocsf -o findings.ocsf.jsonl   # for a SIEM
flowlake findings --lake demo/lake --list                         # the rules, with severity and title
flowlake query --lake demo/lake "select rule, count(*) from findings group by 1"
```

| option | meaning |
|---|---|
| `--since`, `--from`, `--to` | The detection range. Without any, the last 24 hours of data (up to the newest record). |
| `--baseline 7d` | History before the range that baseline rules (volume, new port, rejected spike) compare with. |
| `--rules DIR` | A folder of your own rule files (repeatable); `LAKE/_flowlake/rules` is read too. Same names override. |
| `--rule NAME` | Run only this rule (repeatable). |
| `--threat-list FILE` | Addresses or IPv4 CIDRs, one a line with `#` comments, or a `.csv` with an `ip`, `cidr`, `address`, `network` or `indicator` column (else its first). Repeatable; the list's name is the file name. |
| `--intents FILE` | Named CIDR groups and segmentation intents (YAML, below). |
| `--format` | `table` (the main columns), `csv`, `json`, `jsonl`, `parquet` (every column), or `ocsf`: one OCSF Detection Finding (class 2004) a line. |
| `--store/--no-store` | Store the findings in the lake's `findings` table (default). |
| `--engine spark`, `--spark-master URL` | Run the rules on Spark instead of DuckDB: the same findings, stored the same way ([scale-out.md](scale-out.md)). |

Exit codes: 0 success (with or without findings), 2 a bad flag, threat list, intents file or rule
(one line on standard error naming the file and line).

## A finding

Every rule returns the same shape, so findings from any rule sit in one table:

| column | meaning |
|---|---|
| `id` | The finding's identity: a hash of rule, source, destination, ports and the hour it started. A rerun replaces the stored finding instead of adding a second one. |
| `rule`, `title`, `severity`, `mitre`, `tactic` | From the rule's header. |
| `src`, `dst` | Addresses; empty where the finding spans many (a sweep's destinations). |
| `ports` | One destination port, a `low-high` span, or `any`. |
| `first_seen`, `last_seen` | The first flow's start and the last flow's end. |
| `flows`, `bytes` | Evidence records and their bytes. |
| `detail` | What the rule measured: ports or hosts counted, the list or intent matched, the baseline. |
| `query` | SQL over `flows` that returns the evidence records: paste it into `flowlake query` or the dashboard. |
| `detected_at` | When the run that stored it ran. |
| `src_country`, `src_as`, `dst_country`, `dst_as` | Where a public end is: its country code and AS name from the offline GeoLite2 data (see [address enrichment](reports.md#address-enrichment)); empty for private addresses, many addresses, and addresses the data does not place. The dashboard shows them beside the addresses, and OCSF carries them as the endpoints' `location.country` and `autonomous_system.name`. |

`flowlake query "select * from findings"` (and every command's connection) sees the stored findings;
they live in `LAKE/findings/findings.parquet`, which each run replaces atomically.

## Segmentation intents

What no other detector knows is what your network is meant to look like. Name CIDR groups and state
intents; every accepted flow that breaks one is a `segmentation-intent` finding:

```yaml
groups:
  prod: [10.1.0.0/16]
  dev: [10.2.0.0/16]
  app: [10.1.32.0/19, 10.2.32.0/19]
  db: [10.1.64.0/19, 10.2.64.0/19]
intents:
  - {name: prod-never-dev, from: prod, to: dev, never: true}
  - {name: no-ssh-from-internet, from: internet, to: any, ports: [22], never: true}
  - {name: db-only-from-app, to: db, only_from: [app]}
```

`never` intents forbid flows from `from` to `to`; `only_from` intents allow only those sources to
reach `to`. `ports` limits an intent to those destination ports. `internet` (every address that is
not private) and `any` are built-in groups. Only IPv4 is matched.

## Writing a rule

A rule is a SQL file in `src/flowlake/sql/rules/` (built in) or your `--rules` folder:

```sql
-- name: telnet-accepted
-- title: Telnet accepted from the internet
-- severity: high
-- mitre: T1021 Remote Services
-- tactic: TA0008 Lateral Movement
-- description: Accepted connections to port 23 from internet addresses.
-- param: min_flows integer = 1
-- param: detect_from timestamp
select srcaddr as src, dstaddr as dst, '23' as ports, min(start_time) as first_seen,
       max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes, 'telnet' as detail,
       'srcaddr = ''' || srcaddr || ''' and dstaddr = ''' || dstaddr || ''' and dstport = 23' as evidence
from traffic
where start_time >= $detect_from and dstport = 23 and action = 'ACCEPT' and not is_private(srcaddr)
group by srcaddr, dstaddr
having count(*) >= $min_flows
```

- The header: `name` (defaults to the file name), `title`, `severity` (`informational`, `low`,
  `medium`, `high`, `critical`), `mitre` (technique id, then its name), `tactic` (id, then name),
  `description`, and `param` lines (`name integer|text|timestamp = default`). Thresholds and windows
  are parameters, never literals.
- Select exactly `src, dst, ports, first_seen, last_seen, flows, bytes, detail, evidence`; `evidence`
  is a condition over `flows` (flowlake adds the time bounds) that picks the finding's records.
- `traffic` holds the detection range plus the baseline before it; `$detect_from` (declare it) is
  where detection starts, so `start_time >= $detect_from` keeps to the range and the rest is history.
- `threat_list(list_name, lo, hi)`, `intents(intent, mode, ports)` and `intent_ranges(intent, side,
  lo, hi)` hold the inputs; `ip_int(addr)`, `port_span(lo, hi)`, `is_private`, `is_ipv6`,
  `protocol_name` and `port_name` are the macros of every connection.
- Keep to plain SQL (standard aggregates, window functions, `||`, `position(... in ...)`, `floor`)
  so the same file runs on Spark and Athena.
- Windows are `floor("start" / (60.0 * $window_minutes))`: fixed buckets of the record's Unix start.

## Rules
"""

ACCURACY = """
## Accuracy

Measured on generated data: a week of realistic background traffic (200,000 records, as the test has,
and 3,000,000 records over the same estate), including the constant low-rate internet scanning every
public host sees, internal traffic between tiers, NAT and AWS-service traffic, with five incidents of
every kind injected in the last day: {incidents} expected findings (`flowlake generate --incidents`
writes this ground truth to `_incidents.json`, with threat lists and an intents file true to the estate). `flowlake findings` ran over that day with
every rule at its default thresholds. An incident is found when a finding of its rule names the same
source and destination (where the incident has them) and overlaps it in time; precision is the share
of findings that match an incident. Some incidents are truth for two rules (spam to port 25 is also a
port the instance never used). `tests/test_findings.py` asserts recall of at least 0.95 and precision
of at least 0.9 for every rule. Produced by `.venv/bin/python docs/gen_findings.py`.

| rule | incidents | findings (200k) | recall (200k) | precision (200k) | findings (3M) | recall (3M) | precision (3M) |
|---|---:|---:|---:|---:|---:|---:|---:|
{rows}

Limits: only IPv4 is analysed (as GuardDuty does for flow logs); `is_private` decides what is inside;
`new-remote-port` needs an instance with at least 20 baseline outbound flows; window rules count per
fixed window, so an incident that straddles a window boundary may be reported once per window.
"""


def rule_section(rule) -> str:
    params = [p for p in rule.params if p.name != "detect_from"]
    lines = [f"### `{rule.name}`: {rule.title}", "",
             f"Severity **{rule.severity}**; MITRE ATT&CK {rule.mitre} ({rule.tactic}).", "", rule.description, ""]
    if params:
        lines.append("Parameters: " + ", ".join(f"`{p.name}` = {p.default}" for p in params) + ".")
        lines.append("")
    return "\n".join(lines)


def measure(records: int) -> tuple[list, dict]:
    """The ground truth and each rule's score over a fresh lake of `records` background records."""
    with tempfile.TemporaryDirectory() as tmp:
        data, lake = Path(tmp) / "data", Path(tmp) / "lake"
        generate(data, records=records, seed=SEED, days=DAYS, end=END)
        truth = inject(data, seed=SEED, end=END)
        flowlake = [sys.executable, "-m", "flowlake"]
        subprocess.run([*flowlake, "ingest", str(data), "--lake", str(lake)], check=True, capture_output=True)
        inputs = data / RULE_INPUTS
        out = subprocess.run([*flowlake, "findings", "--lake", str(lake), "--from", "2026-11-26", "--to", "2026-11-26",
                              "--threat-list", str(inputs / "c2.txt"), "--threat-list", str(inputs / "tor-exits.csv"),
                              "--intents", str(inputs / "intents.yaml"), "--format", "json"],
                             check=True, capture_output=True).stdout
    return truth, score(json.loads(out), [t.__dict__ for t in truth])


def main() -> None:
    (truth, small), (_, big) = (measure(n) for n in SIZES)
    rows = "\n".join(f"| `{rule}` | {s.incidents} | {s.findings} | {s.recall:.2f} | {s.precision:.2f} "
                     f"| {big[rule].findings} | {big[rule].recall:.2f} | {big[rule].precision:.2f} |"
                     for rule, s in small.items())
    rules = "\n".join(rule_section(r) for r in sorted(load("rules").values(), key=lambda r: r.name))
    PAGE.write_text(INTRO + "\n" + rules + ACCURACY.format(incidents=len(truth), rows=rows))


if __name__ == "__main__":
    main()
