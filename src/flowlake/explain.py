"""Why is this traffic not getting through? The flows between two address ranges, both ways, and a verdict.

The request leg is src to dst (dstport = the port), the response leg dst to src (srcport = the port).
Security groups are stateful, network ACLs are not (AWS's example: a ping accepted inbound whose reply
is rejected outbound is a network ACL without the outbound rule), so the pattern of accepted and
rejected records on each leg and interface tells where traffic stops. The SQL is in sql/explain.sql
and sql/explain/; `classify` turns its aggregates into the verdict, without touching the lake.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import duckdb

from flowlake.engine import catalog
from flowlake.reports import BUCKETS, auto_bucket
from flowlake.timerange import TimeRange

VERDICTS = {
    "no-records": "No records at all",
    "bpa": "Blocked by VPC Block Public Access",
    "outbound-reject": "Rejected as it leaves the sender",
    "inbound-reject": "Rejected inbound, no response",
    "return-path-reject": "Request accepted, response rejected (network ACL)",
    "partial-reject": "Partly rejected",
    "no-response": "Accepted, but no response recorded",
    "response-only": "Only the reverse direction recorded",
    "accepted": "Accepted both ways",
}
"""Every verdict code, with its headline."""

ICMP = (1, 58)
FLAGS = ("--src", "--dst", "--port", "--protocol")
"""The command's names of the question's fields, for its error messages."""


class ExplainError(ValueError):
    """A bad address, port or protocol: a usage error."""


@dataclass(frozen=True)
class Question:
    """Traffic from `src` to `dst` (addresses or CIDRs of one IP version), optionally one port and protocol."""

    src: ipaddress.IPv4Network | ipaddress.IPv6Network
    dst: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None = None
    protocol: int | None = None

    @classmethod
    def parse(cls, src: str, dst: str, port: int | None = None, protocol: str | None = None,
              names: tuple[str, str, str, str] = FLAGS) -> Question:
        """A question from text; errors name the fields as `names` says (the flags, or the API's parameters)."""
        src_name, dst_name, port_name, protocol_name = names
        nets = [network(text, name) for text, name in ((src, src_name), (dst, dst_name))]
        if nets[0].version != nets[1].version:
            raise ExplainError(f"{src_name} and {dst_name} must both be IPv4 or both IPv6")
        number = protocol_number(protocol, protocol_name) if protocol is not None else None
        if port is not None and not 0 <= port <= 65535:
            raise ExplainError(f"{port_name} must be 0 to 65535, not {port}")
        if port is not None and number in ICMP:
            raise ExplainError(f"ICMP has no ports: leave out {port_name}")
        return cls(nets[0], nets[1], port, number)

    def params(self) -> dict[str, object]:
        """The bound values of the explain SQL assets."""
        return {"src_lo": str(int(self.src.network_address)), "src_hi": str(int(self.src.broadcast_address)),
                "dst_lo": str(int(self.dst.network_address)), "dst_hi": str(int(self.dst.broadcast_address)),
                "v6": str(self.src.version == 6).lower(), "port": self.port, "protocol": self.protocol}

    def describe(self) -> str:
        """`TCP port 443 traffic from 203.0.113.12 to 10.0.1.0/24`, `traffic from ...`."""
        words = [protocol_label(self.protocol) if self.protocol is not None else "",
                 f"port {self.port}" if self.port is not None else "", "traffic"]
        return f"{' '.join(w for w in words if w)} from {_net(self.src)} to {_net(self.dst)}"


@dataclass
class Diagnosis:
    """A verdict code, its plain-words explanation, and the evidence it rests on."""

    verdict: str
    headline: str
    summary: str
    details: list[str] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    series: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    reach: dict = field(default_factory=dict)
    bucket_seconds: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"verdict": self.verdict, "headline": self.headline, "summary": self.summary, "details": self.details,
                "evidence": self.evidence, "series": self.series, "bucket_seconds": self.bucket_seconds,
                "sources": self.sources, "reach": self.reach}


def network(text: str, name: str = "address") -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address (a /32 or /128) or a CIDR; host bits set are allowed (10.0.1.5/24 is 10.0.1.0/24)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ExplainError(f"{name}: not an IP address or CIDR: {text!r}") from None


@cache
def _protocols() -> dict[str, int]:
    with resources.as_file(resources.files("flowlake") / "reference" / "protocols.csv") as path, open(path) as f:
        return {row["name"].lower(): int(row["number"]) for row in csv.DictReader(f)}


def protocol_number(text: str, name: str = "--protocol") -> int:
    """`tcp`, `udp`, `icmp`, any IANA name, or a number 0 to 255."""
    value = text.strip().lower()
    if value.isdigit() and int(value) <= 255:
        return int(value)
    if value in _protocols():
        return _protocols()[value]
    raise ExplainError(f"{name}: not a protocol name or number 0-255: {text!r} (try tcp, udp, icmp or 6)")


def protocol_label(number: int) -> str:
    return next((name.upper() if len(name) <= 4 else name for name, n in _protocols().items() if n == number),
                str(number))


def explain(con: duckdb.DuckDBPyConnection, question: Question, when: TimeRange) -> Diagnosis:
    """Run the explain SQL on `con` (a `flowlake.engine.duckdb.connect` connection) and classify it."""
    con.execute((resources.files("flowlake") / "sql" / "explain.sql").read_text())
    assets = catalog.load("explain")
    params = question.params()
    evidence = _records(con, assets["evidence"].sql, params)
    bucket = auto_bucket(con, when)
    series = _records(con, assets["series"].sql, {**params, "bucket": bucket}) if evidence else []
    sources = _records(con, assets["sources"].sql, {**params, "limit": 20}) if evidence else []
    reach = _records(con, assets["reach"].sql, {})[0]
    diagnosis = classify(question, evidence, series, sources, reach)
    diagnosis.bucket_seconds = next(int(size.total_seconds()) for size, name in BUCKETS if name == bucket)
    return diagnosis


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    return con.sql(sql, params=params).to_arrow_table().to_pylist()


def classify(question: Question, evidence: list[dict], series: list[dict], sources: list[dict],
             reach: dict) -> Diagnosis:
    """The verdict from the evidence rows (per interface, leg, direction and action), most specific first."""
    def flows(leg: str, action: str, direction: str | None = None) -> int:
        return sum(r["flows"] for r in evidence if r["leg"] == leg and r["action"] == action
                   and (direction is None or (r["flow_direction"] == "egress") == (direction == "egress")))

    what = question.describe()
    sentence = what[0].upper() + what[1:]
    req_ok, req_no = flows("request", "ACCEPT"), flows("request", "REJECT")
    arrived = flows("request", "ACCEPT", "ingress")  # accepted where it arrives (or direction unknown)
    resp_ok, resp_no = flows("response", "ACCEPT"), flows("response", "REJECT")
    bpa = sum(r["bpa_flows"] for r in evidence)
    found = {"evidence": evidence, "series": series, "sources": sources, "reach": reach}

    def verdict(code: str, summary: str, *details: str) -> Diagnosis:
        return Diagnosis(code, VERDICTS[code], summary, [d for d in details if d], **found)

    counts = (f"Request: {req_ok:,} accepted, {req_no:,} rejected; response: {resp_ok:,} accepted, "
              f"{resp_no:,} rejected (flows).")
    if not evidence:
        return verdict("no-records", _no_records(what, reach))
    if bpa:
        return verdict("bpa", f"{bpa:,} rejected flows of {what} have reject-reason BPA: VPC Block Public Access "
                       "blocks the internet gateway traffic of this VPC or subnet, whatever the security groups and "
                       "network ACLs allow. Add a BPA exclusion for the subnet or VPC, or turn the block off.",
                       counts, _interfaces(evidence, "REJECT"))
    if req_no and not arrived:
        rejected = _rows(evidence, "request", "REJECT")
        if all(r["flow_direction"] == "egress" for r in rejected):
            return verdict("outbound-reject", f"{sentence} is rejected as it leaves the sender's interface "
                           f"({_names(rejected)}): the sender's security group has no outbound rule for it, or "
                           "its subnet's network ACL denies it outbound.", counts)
        left = _rows(evidence, "request", "ACCEPT")
        return verdict("inbound-reject", f"{sentence} is rejected inbound on {_names(rejected)} and nothing comes "
                       "back: a security group inbound rule or the subnet's network ACL inbound rules do not allow "
                       "it. A security group that rejects logs a single REJECT record per flow; so does a network "
                       "ACL that denies inbound.", counts,
                       f"It left the sender accepted ({_names(left)})." if left else "", _reply(resp_ok, resp_no))
    if req_ok and resp_no:
        return verdict("return-path-reject", _return_path(what, evidence, question, resp_ok, resp_no), counts)
    if arrived and req_no:
        refused = flows("request", "REJECT", "ingress")
        return verdict("partial-reject", f"{sentence} is partly rejected: {refused:,} of {refused + arrived:,} "
                       "request flows where it arrives. " + _which(evidence, sources), counts)
    if req_ok and not resp_ok:
        return verdict("no-response", f"{sentence} is accepted ({_names(_rows(evidence, 'request', 'ACCEPT'))}) but "
                       "no response is recorded: nothing listens on the port or a host firewall drops it, or the "
                       "response leaves through an interface that has no flow log.", counts)
    if not req_ok:
        return verdict("response-only", f"Only traffic from {_net(question.dst)} to {_net(question.src)} is "
                       "recorded, none the other way: did you mean --src and --dst the other way round?", counts)
    return verdict("accepted", f"{sentence} gets through: requests and responses are accepted on every interface "
                   f"({_names(evidence)}). The network is not stopping it: look at the application, DNS, or the "
                   "client.", counts)


def _rows(evidence: list[dict], leg: str, action: str) -> list[dict]:
    return [r for r in evidence if r["leg"] == leg and r["action"] == action]


def _no_records(what: str, reach: dict) -> str:
    text = (f"No flow log record matches {what}: the traffic never reached an interface with a flow log. "
            "Check the route tables (a missing or blackhole route), the addresses (a wrong or stale IP, or a "
            "NAT or load balancer in between), and that the interfaces have a flow log that captures this "
            "traffic type.")
    complete = reach.get("complete_up_to")
    if complete is None:
        return text + " The lake has no records in this range at all."
    return text + (f" The lake is complete up to {complete:%Y-%m-%d %H:%M} UTC: traffic after that may not have "
                   "been delivered yet (flow logs arrive after the aggregation interval, within minutes).")


def _return_path(what: str, evidence: list[dict], question: Question, resp_ok: int, resp_no: int) -> str:
    rejected = _rows(evidence, "response", "REJECT")
    where = {r["interface_id"] for r in rejected}
    same = {r["interface_id"] for r in _rows(evidence, "request", "ACCEPT")} & where
    at_client = all(r["flow_direction"] == "ingress" for r in rejected)
    text = (f"The requests of {what} are accepted but {resp_no:,} of {resp_ok + resp_no:,} response flows are "
            f"rejected{' on the same interface' if same else ''} ({', '.join(sorted(map(str, where)))}). Security "
            "groups are stateful and let responses through; network ACLs are stateless, so a network ACL is "
            "missing the rule for the return traffic: ")
    text += ("an inbound rule in the client's subnet" if at_client else "an outbound rule in the server's subnet")
    if question.protocol in ICMP:
        return text + " for the ICMP replies."
    low, high = min(r["min_dstport"] for r in rejected), max(r["max_dstport"] for r in rejected)
    return text + f" for the client's ephemeral ports (the rejected responses go to ports {low}-{high})."


def _which(evidence: list[dict], sources: list[dict]) -> str:
    """Which part of the traffic is rejected where it arrives: some interfaces, some sources, or some of the time."""
    said = []
    arrivals = [r for r in evidence if r["leg"] == "request" and r["flow_direction"] != "egress"]
    by_eni: dict[str, set[str]] = {}
    for r in arrivals:
        by_eni.setdefault(str(r["interface_id"]), set()).add(r["action"])
    only_no = sorted(e for e, acts in by_eni.items() if acts == {"REJECT"})
    only_ok = sorted(e for e, acts in by_eni.items() if acts == {"ACCEPT"})
    if only_no and only_ok:
        said.append(f"Rejected only on {', '.join(only_no)} and accepted only on {', '.join(only_ok)}: compare "
                    "the security groups and network ACLs of those interfaces.")
    no_src = sorted({s["srcaddr"] for s in sources if s["rejected"] and not s["accepted"]})
    ok_src = sorted({s["srcaddr"] for s in sources if s["accepted"] and not s["rejected"]})
    if no_src and ok_src:
        said.append(f"Sources only rejected: {', '.join(no_src[:5])}{' ...' if len(no_src) > 5 else ''}; "
                    f"only accepted: {', '.join(ok_src[:5])}{' ...' if len(ok_src) > 5 else ''}: a rule allows "
                    "some source addresses and not others.")
    seen = {a: [r for r in arrivals if r["action"] == a] for a in ("ACCEPT", "REJECT")}
    if seen["ACCEPT"] and seen["REJECT"]:
        first = {a: min(r["first_seen"] for r in rows) for a, rows in seen.items()}
        last = {a: max(r["last_seen"] for r in rows) for a, rows in seen.items()}
        if last["REJECT"] <= first["ACCEPT"]:
            said.append(f"Rejected until {_time(last['REJECT'])}, accepted from {_time(first['ACCEPT'])}: "
                        "a rule was added then.")
        elif last["ACCEPT"] <= first["REJECT"]:
            said.append(f"Accepted until {_time(last['ACCEPT'])}, rejected from {_time(first['REJECT'])}: "
                        "a rule was removed or changed then.")
    return " ".join(said) or "Accepted and rejected flows are mixed across interfaces, sources and time."


def _interfaces(evidence: list[dict], action: str) -> str:
    rows = [r for r in evidence if r["action"] == action]
    return f"{'Rejected' if action == 'REJECT' else 'Accepted'} on {_names(rows)}."


def _names(rows: list[dict]) -> str:
    return ", ".join(sorted({str(r["interface_id"]) for r in rows}))


def _reply(resp_ok: int, resp_no: int) -> str:
    return "" if not resp_ok + resp_no else f"(Some traffic came back the other way: {resp_ok + resp_no:,} flows.)"


def _net(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(net.network_address) if net.num_addresses == 1 else str(net)


def _time(value: dt.datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC"
