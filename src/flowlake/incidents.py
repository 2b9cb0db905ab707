"""Security incidents injected into generated flow logs, with their ground truth, to measure the rules.

`inject` writes, beside what `generate` wrote for the same seed, v2 delivery objects holding
incidents of every kind `flowlake findings` detects, on the seed's own estate (its ENIs, accounts
and regions), during the last day before `end`. It also writes the inputs the rules join (two
threat lists and a segmentation intents file true to the estate, in `_rules/`) and `_incidents.json`: one entry
per finding a correct detector must report (rule, src, dst, port, start, end). Attackers use
documentation and benchmarking ranges (198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24), which
the background traffic never uses, so a finding either matches an entry or is a false positive.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from flowlake.generate import (
    APP,
    BASTION,
    DAY,
    DB,
    ECS,
    FORMATS,
    WEB,
    WIN,
    _digest,
    _inventory,
    _object_key,
    _write_object,
)

SPEC = FORMATS["v2-text"]
RULE_INPUTS = "_rules"
PER_KIND = 5
"""Incidents of each kind."""
BUSIEST = 8
"""Instances with baseline-dependent incidents are among this many busiest of their roles."""


@dataclass(frozen=True)
class Truth:
    rule: str
    src: str | None
    dst: str | None
    port: int | None
    start: int
    end: int


SLACK = 60
"""Seconds a finding's span may differ from its incident's (records end 30 s after they start)."""


@dataclass(frozen=True)
class Score:
    incidents: int
    findings: int
    recall: float
    precision: float


def stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def matches(finding: dict, truth: dict) -> bool:
    """Whether a finding (as `--format json` prints it) reports an incident of `_incidents.json`."""
    return (finding["rule"] == truth["rule"]
            and truth["src"] in (None, finding["src"]) and truth["dst"] in (None, finding["dst"])
            and stamp(finding["first_seen"]) <= truth["end"] + SLACK
            and stamp(finding["last_seen"]) >= truth["start"] - SLACK)


def score(found: list[dict], truth: list[dict]) -> dict[str, Score]:
    """Per rule: incidents, findings, recall (incidents found) and precision (findings that are incidents)."""
    rules = sorted({t["rule"] for t in truth} | {f["rule"] for f in found})
    table = {}
    for rule in rules:
        ts = [t for t in truth if t["rule"] == rule]
        fs = [f for f in found if f["rule"] == rule]
        recall = sum(any(matches(f, t) for f in fs) for t in ts) / len(ts) if ts else 1.0
        precision = sum(any(matches(f, t) for t in ts) for f in fs) / len(fs) if fs else 1.0
        table[rule] = Score(len(ts), len(fs), recall, precision)
    return table


@dataclass(frozen=True)
class _Record:
    eni: int
    src: str
    dst: str
    sport: int
    dport: int
    proto: int
    packets: int
    nbytes: int
    start: int
    action: str = "ACCEPT"


class _Incidents:
    """Builds records and truth; each kind gets its own hour of the last day."""

    def __init__(self, seed: int, end: int) -> None:
        self.inv = _inventory(seed)
        self.rng = np.random.default_rng([seed, 0x1C1D])
        self.day_start = end - DAY + 1800
        self.records: list[_Record] = []
        self.truth: list[Truth] = []
        self.slot = 0
        self.used: set[int] = set()
        self.busy: dict[str, set[int]] = {}

    def at(self) -> int:
        """A start time in the next free 70-minute slot of the last day."""
        self.slot += 1
        return self.day_start + (self.slot - 1) * 1200 + int(self.rng.integers(0, 300))

    def eni(self, roles: tuple[int, ...], busiest: str = "", vpc: int | None = None, shared: bool = False) -> int:
        """An ENI of `roles` not used by another incident; `shared` ones (a sweep's many targets) may
        be any and stay free for others; `busiest`: one of the BUSIEST (whose baseline is rich) not yet
        used by another incident of that kind."""
        taken = self.busy.setdefault(busiest, set()) if busiest else self.used
        cands = [int(e) for e in np.flatnonzero(np.isin(self.inv.eni_role, roles))
                 if (shared or e not in taken) and (vpc is None or self.inv.eni_vpc[e] == vpc)]
        cands.sort(key=lambda e: -self.inv.eni_weight[e])
        pick = cands[int(self.rng.integers(0, min(BUSIEST, len(cands)) if busiest else len(cands)))]
        if not shared:
            taken.add(pick)
        return pick

    def ip(self, eni: int) -> str:
        return self.inv.ip4[eni]

    def add(self, eni: int, src: str, dst: str, dport: int, start: int, proto: int = 6, packets: int = 1,
            nbytes: int = 44, action: str = "ACCEPT") -> None:
        self.records.append(_Record(eni, src, dst, int(self.rng.integers(40000, 61000)), dport, proto, packets,
                                    nbytes, start, action))

    def expect(self, rule: str, src: str | None, dst: str | None, port: int | None, start: int, end: int) -> None:
        self.truth.append(Truth(rule, src, dst, port, start, end))


def _build(k: _Incidents) -> None:
    ext = iter(f"198.51.100.{i}" for i in range(1, 255))
    far = iter(f"198.18.{i // 250}.{1 + i % 250}" for i in range(60_000))
    for _ in range(PER_KIND):  # vertical scans from the internet
        t, attacker, host = k.at(), next(ext), k.eni((WEB, BASTION))
        ports = k.rng.choice(np.arange(1, 1025), int(k.rng.integers(40, 80)), replace=False)
        for i, port in enumerate(ports):
            k.add(host, attacker, k.ip(host), int(port), t + i * 10, action="REJECT")
        k.expect("port-scan-inbound", attacker, k.ip(host), None, t, t + len(ports) * 10)
    for _ in range(PER_KIND):  # horizontal sweeps from the internet
        t, attacker = k.at(), next(ext)
        port = int(k.rng.choice([23, 445, 6379, 9200, 2375]))
        hosts = [k.eni((WEB, APP, ECS, DB, WIN), shared=True) for _ in range(int(k.rng.integers(22, 30)))]
        for i, host in enumerate(hosts):
            k.add(host, attacker, k.ip(host), port, t + i * 5, action="REJECT")
        k.expect("port-sweep-inbound", attacker, None, port, t, t + len(hosts) * 5)
    for _ in range(PER_KIND):  # an instance scanning a neighbour
        t, scanner = k.at(), k.eni((APP,))
        target = k.eni((DB, APP), vpc=int(k.inv.eni_vpc[scanner]))
        ports = k.rng.choice(np.arange(1, 10000), int(k.rng.integers(45, 70)), replace=False)
        for i, port in enumerate(ports):
            k.add(scanner, k.ip(scanner), k.ip(target), int(port), t + i * 3, action="REJECT")
        k.expect("port-scan-outbound", k.ip(scanner), k.ip(target), None, t, t + len(ports) * 3)
    for _ in range(PER_KIND):  # an instance sweeping the internet
        t, sweeper = k.at(), k.eni((APP, ECS), busiest="sweep")
        port = int(k.rng.choice([23, 445, 2375, 6379]))
        targets = [next(far) for _ in range(int(k.rng.integers(55, 75)))]
        for i, target in enumerate(targets):
            k.add(sweeper, k.ip(sweeper), target, port, t + i * 4)
        k.expect("port-sweep-outbound", k.ip(sweeper), None, port, t, t + len(targets) * 4)
        k.expect("new-remote-port", k.ip(sweeper), None, port, t, t + len(targets) * 4)
    services = [(22, None, (BASTION,)), (3389, None, (WEB,)), (5985, (APP,), (WIN,)), (22, (WEB,), (APP,)),
                (5986, None, (WEB,))]
    for port, from_roles, to_roles in services[:PER_KIND]:  # brute force, inbound and lateral
        t, target = k.at(), k.eni(to_roles)
        attacker = k.ip(k.eni(from_roles)) if from_roles else next(ext)
        attempts = int(k.rng.integers(65, 90))
        for i in range(attempts):
            k.add(target, attacker, k.ip(target), port, t + i * 5, packets=int(k.rng.integers(8, 20)),
                  nbytes=int(k.rng.integers(1500, 4000)), action="REJECT" if i % 3 == 0 else "ACCEPT")
        k.expect("brute-force", attacker, k.ip(target), port, t, t + attempts * 5)
    for _ in range(PER_KIND):  # exfiltration: tens of GB to one address within an hour
        t, source, drop = k.at(), k.eni((APP, ECS), busiest="exfil"), next(far)
        for i in range(20):
            size = int(k.rng.integers(1_000_000_000, 2_000_000_000))
            k.add(source, k.ip(source), drop, 443, t + i * 120, packets=size // 1400, nbytes=size)
        k.expect("unusual-outbound-volume", k.ip(source), drop, 443, t, t + 2400)
    c2 = [f"203.0.113.{i}" for i in range(10, 10 + PER_KIND)]
    tor = [f"198.51.100.{200 + i}" for i in range(PER_KIND)]
    for i in range(PER_KIND):  # command and control out, Tor exits in
        t = k.at()
        if i % 2 == 0:
            implant = k.eni((APP, ECS), busiest="c2")
            for j in range(6):
                k.add(implant, k.ip(implant), c2[i], 443, t + j * 300, packets=6, nbytes=900)
            k.expect("threat-list", k.ip(implant), c2[i], 443, t, t + 1800)
        else:
            web = k.eni((WEB,))
            for j in range(4):
                k.add(web, tor[i], k.ip(web), 443, t + j * 60, packets=12, nbytes=5000)
            k.expect("threat-list", tor[i], k.ip(web), 443, t, t + 240)
    for port in [25, 3333, 9001, 4444, 14444][:PER_KIND]:  # spam, mining pools, Tor
        t, source, remote = k.at(), k.eni((APP, ECS), busiest="port"), next(far)
        for j in range(5):
            k.add(source, k.ip(source), remote, port, t + j * 60, packets=10, nbytes=2000)
        k.expect("outbound-suspicious-port", k.ip(source), remote, port, t, t + 300)
        k.expect("new-remote-port", k.ip(source), remote, port, t, t + 300)
    for port in [8081, 5000, 2222, 8444, 9443][:PER_KIND]:  # a server port never used before
        t, source, remote = k.at(), k.eni((APP, ECS), busiest="new"), next(far)
        for j in range(3):
            k.add(source, k.ip(source), remote, port, t + j * 60, packets=8, nbytes=1200)
        k.expect("new-remote-port", k.ip(source), remote, port, t, t + 180)
    for resolver in ["8.8.8.8", "1.1.1.1", "9.9.9.9", "208.67.222.222", "8.8.4.4"][:PER_KIND]:
        t, source = k.at(), k.eni((APP, ECS), busiest="dns")
        for j in range(12):
            k.add(source, k.ip(source), resolver, 53, t + j * 30, proto=17, packets=1, nbytes=70)
        k.expect("dns-external-resolver", k.ip(source), resolver, 53, t, t + 360)
        k.expect("new-remote-port", k.ip(source), resolver, 53, t, t + 360)
    for proto, port in [(17, 80), (6, 8080), (2, 0), (17, 27015), (6, 8443)][:PER_KIND]:  # floods
        t, source, victim = k.at(), k.eni((APP, ECS), busiest="dos"), next(far)
        for j in range(8):
            packets = int(k.rng.integers(100_000, 200_000))
            k.add(source, k.ip(source), victim, port, t + j * 40, proto=proto, packets=packets,
                  nbytes=packets * int(k.rng.integers(60, 130)))
        k.expect("outbound-dos", k.ip(source), victim, port, t, t + 320)
        if proto != 2:
            k.expect("new-remote-port", k.ip(source), victim, port, t, t + 320)
    for _ in range(PER_KIND):  # an interface suddenly rejecting hundreds of sources
        t, host = k.at(), k.eni((WEB, BASTION))
        sources = [f"198.19.{k.slot}.{i}" for i in range(1, 251)]
        for i, src in enumerate(sources):
            for j in range(3):
                k.add(host, src, k.ip(host), int(k.rng.integers(1, 65536)), t + i * 8 + j, action="REJECT")
        k.expect("rejected-spike", None, k.ip(host), None, t, t + len(sources) * 8 + 3)
    prod, dev = 0, 3
    for i in range(PER_KIND):  # segmentation intents broken
        t = k.at()
        if i < 2:
            client, server = k.eni((APP,), vpc=prod, shared=True), k.eni((APP, DB), vpc=dev, shared=True)
            src, dst, port, eni = k.ip(client), k.ip(server), 5432, client
        elif i < 4:
            server = k.eni((APP,), shared=True)
            src, dst, port, eni = next(ext), k.ip(server), 22, server
        else:
            server = k.eni((DB,), shared=True)
            src, dst, port, eni = next(ext), k.ip(server), 5432, server
        for j in range(3):
            k.add(eni, src, dst, port, t + j * 100, packets=10, nbytes=3000)
        k.expect("segmentation-intent", src, dst, port, t, t + 300)


def _inputs(k: _Incidents, outdir: Path) -> None:
    """The threat lists and intents file the rules take, true to the estate, in `_rules/` (which
    ingest skips, like every `_` name)."""
    outdir = outdir / RULE_INPUTS
    outdir.mkdir(exist_ok=True)
    c2 = [f"203.0.113.{i}" for i in range(10, 10 + PER_KIND, 2)]
    (outdir / "c2.txt").write_text("# command-and-control addresses\n" + "".join(f"{a}  # seen in an implant\n"
                                                                                 for a in c2) + "192.0.2.0/24\n")
    (outdir / "tor-exits.csv").write_text("ip,first_seen\n"
                                          + "".join(f"198.51.100.{200 + i},2026-01-01\n" for i in range(PER_KIND)))
    prefixes = sorted({k.inv.ip4[int(v.enis[0])].rsplit(".", 2)[0] for v in k.inv.vpcs})

    def vpc_net(v: int) -> str:
        return k.inv.ip4[int(k.inv.vpcs[v].enis[0])].rsplit(".", 2)[0] + ".0.0/16"

    bastions = [k.inv.ip4[e] + "/32" for e in np.flatnonzero(k.inv.eni_role == BASTION)]
    lines = ["# Named CIDR groups of the generated estate, and the intents they must keep.", "groups:",
             f"  prod: [{vpc_net(0)}]", f"  dev: [{vpc_net(3)}]",
             "  web: [" + ", ".join(f"{p}.0.0/19" for p in prefixes) + "]",
             "  app: [" + ", ".join(f"{p}.32.0/19" for p in prefixes) + "]",
             "  db: [" + ", ".join(f"{p}.64.0/19" for p in prefixes) + "]",
             "  admin: [" + ", ".join(bastions) + "]",
             "intents:",
             "  - {name: prod-never-dev, from: prod, to: dev, never: true}",
             "  - {name: no-ssh-from-internet, from: internet, to: [app, db], ports: [22], never: true}",
             "  - {name: db-only-from-app, to: db, only_from: [web, app, admin]}"]
    (outdir / "intents.yaml").write_text("\n".join(lines) + "\n")


def inject(outdir: Path, seed: int, end: datetime) -> list[Truth]:
    """Write the incidents (v2 objects), the rule inputs and `_incidents.json` into `outdir`."""
    k = _Incidents(seed, int(end.astimezone(UTC).timestamp()))
    _build(k)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    by_stream: dict[tuple[str, str], list[_Record]] = {}
    for r in k.records:
        account = k.inv.cols["account-id"][r.eni].as_py()
        by_stream.setdefault((account, k.inv.vpcs[k.inv.eni_vpc[r.eni]].region), []).append(r)
    for (account, region), records in sorted(by_stream.items()):
        records.sort(key=lambda r: r.start)
        columns = {
            "version": ["2"] * len(records), "account-id": [account] * len(records),
            "interface-id": [k.inv.cols["interface-id"][r.eni].as_py() for r in records],
            "srcaddr": [r.src for r in records], "dstaddr": [r.dst for r in records],
            "srcport": [str(0 if r.proto not in (6, 17) else r.sport) for r in records],
            "dstport": [str(r.dport) for r in records], "protocol": [str(r.proto) for r in records],
            "packets": [str(r.packets) for r in records], "bytes": [str(r.nbytes) for r in records],
            "start": [str(r.start) for r in records], "end": [str(r.start + 30) for r in records],
            "action": [r.action for r in records], "log-status": ["OK"] * len(records),
        }
        table = pa.table({name: columns[name] for name in SPEC.fields})
        fl_id = "fl-" + _digest(seed, "incidents", account, region, size=9)[:17]
        key = _object_key(SPEC, k.inv.org_id, account, region, fl_id, records[-1].start + 30, "incidents")
        path = outdir / key
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_object(path, SPEC, [table], None)
    _inputs(k, outdir)
    (outdir / "_incidents.json").write_text(json.dumps([asdict(t) for t in k.truth], indent=1) + "\n")
    return k.truth
