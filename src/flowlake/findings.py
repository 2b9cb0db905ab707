"""Detections as data: each rule is a SQL asset (sql/rules/*.sql) returning findings of one shape.

A rule selects `src, dst, ports, first_seen, last_seen, flows, bytes, detail, evidence` (`evidence`
is a SQL condition over `flows`); `SHAPE` adds the rule's header fields, a stable identity and a
runnable evidence query, once for every rule. Rules see `traffic` over the detection range plus a
baseline before it, and bind `$detect_from` (where detection starts) to tell the two apart.
Threat lists and segmentation intents arrive as small tables (`threat_list`, `intents`,
`intent_ranges`), so rules join data and stay plain SQL that Spark and Athena can run too.
"""

from __future__ import annotations

import csv
import datetime as dt
import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from flowlake import __version__, enrich
from flowlake.engine import EngineSQLError, catalog
from flowlake.engine.catalog import SqlAsset
from flowlake.engine.duckdb import Scan, connect
from flowlake.engine.duckdb import setup as duckdb_setup
from flowlake.lake import findings as store
from flowlake.lake.store import META_DIR, Lake
from flowlake.timerange import TimeRange

SEVERITIES = ("informational", "low", "medium", "high", "critical")
"""In OCSF's order: severity_id is the position plus one."""
RULE_COLUMNS = ("src", "dst", "ports", "first_seen", "last_seen", "flows", "bytes", "detail", "evidence")
DEFAULT_WINDOW = dt.timedelta(hours=24)
"""Without a time option, detection covers the last 24 hours of data."""
FOUND = "found"
"""The temp table a run's findings go to."""

SHAPE = """
select md5(concat_ws('|', $finding_rule, coalesce(src, '*'), coalesce(dst, '*'), ports,
                     strftime(first_seen, '%Y-%m-%d') || 'T' || strftime(first_seen, '%H'))) as id,
       $finding_rule as rule, $finding_title as title, $finding_severity as severity,
       cast(src as varchar) as src, cast(dst as varchar) as dst, cast(ports as varchar) as ports,
       cast(first_seen as timestamptz) as first_seen, cast(last_seen as timestamptz) as last_seen,
       cast(flows as bigint) as flows, cast(bytes as bigint) as bytes, cast(detail as varchar) as detail,
       $finding_mitre as mitre, $finding_tactic as tactic,
       'select * from flows where start_time >= timestamptz '''
           || strftime(first_seen, '%Y-%m-%d %H:%M:%S+00') || ''' and start_time <= timestamptz '''
           || strftime(last_seen, '%Y-%m-%d %H:%M:%S+00') || ''' and (' || evidence || ') order by start_time'
           as query,
       cast($finding_now as timestamptz) as detected_at
from ({sql}) finding
"""


class FindingsError(ValueError):
    """A broken rule, threat list or intents file: one line for the user."""


def load_rules(lake: Lake | None, extra: list[Path]) -> dict[str, SqlAsset]:
    """Built-in rules, then the lake's own (LAKE/_flowlake/rules), then `extra` folders."""
    folders = [lake.root / META_DIR / "rules"] if lake is not None else []
    try:
        rules = catalog.load("rules", [f for f in [*folders, *extra] if f.is_dir()])
    except catalog.AssetError as exc:
        raise FindingsError(str(exc)) from None
    for rule in rules.values():
        if rule.severity not in SEVERITIES:
            raise FindingsError(f"{rule.path}: severity {rule.severity!r} must be one of {', '.join(SEVERITIES)}")
        if rule.param("detect_from") is None:
            raise FindingsError(f"{rule.path}: a rule must declare `-- param: detect_from timestamp` and use it")
    return rules


@dataclass(frozen=True)
class Inputs:
    """The data rules join: threat-list ranges and segmentation intents."""

    threats: pa.Table
    intents: pa.Table
    intent_ranges: pa.Table

    @classmethod
    def read(cls, threat_lists: list[Path], intents: Path | None) -> Inputs:
        rows = [row for path in threat_lists for row in threat_ranges(path)]
        threats = pa.table({"list_name": pa.array([r[0] for r in rows], pa.string()),
                            "lo": pa.array([r[1] for r in rows], pa.int64()),
                            "hi": pa.array([r[2] for r in rows], pa.int64())})
        declared, ranges = read_intents(intents) if intents else ([], [])
        return cls(threats,
                   pa.table({"intent": [d[0] for d in declared], "mode": [d[1] for d in declared],
                             "ports": [d[2] for d in declared]}, schema=_INTENTS),
                   pa.table({"intent": pa.array([r[0] for r in ranges], pa.string()),
                             "side": pa.array([r[1] for r in ranges], pa.string()),
                             "lo": pa.array([r[2] for r in ranges], pa.int64()),
                             "hi": pa.array([r[3] for r in ranges], pa.int64())}))

    def tables(self) -> dict[str, pa.Table]:
        return {"threat_list": self.threats, "intents": self.intents, "intent_ranges": self.intent_ranges}

    def install(self, con: Any) -> None:
        """The tables, on a DuckDB connection or engine/spark.py's: both `register` an Arrow table as a view."""
        for name, table in self.tables().items():
            con.register(name, table)

    def selects(self) -> dict[str, str]:
        """Each table as a SELECT of its rows written out, for SQL run where the tables are not (Athena)."""
        return {name: _written_out(table) for name, table in self.tables().items()}


def _written_out(table: pa.Table) -> str:
    types = {pa.string(): "varchar", pa.int64(): "bigint"}
    columns = ", ".join(f"cast({f.name} as {types[f.type]}) as {f.name}" for f in table.schema)
    if not table.num_rows:
        return f"select {columns} from (select {', '.join(f'null as {n}' for n in table.column_names)}) where false"
    rows = ", ".join("(" + ", ".join(str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
                                     for v in row.values()) + ")" for row in table.to_pylist())
    return f"select {columns} from (values {rows}) as t({', '.join(table.column_names)})"


_INTENTS = pa.schema([("intent", pa.string()), ("mode", pa.string()), ("ports", pa.string())])


def _v4_range(text: str, where: str) -> tuple[int, int]:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise FindingsError(f"{where}: {text.strip()!r} is not an address or CIDR") from None
    if net.version != 4:
        raise FindingsError(f"{where}: {text.strip()!r}: only IPv4 addresses and CIDRs are matched")
    return int(net.network_address), int(net.broadcast_address)


def threat_ranges(path: Path) -> Iterator[tuple[str, int, int]]:
    """(list name, first, last) of each entry: one address or CIDR a line with `#` comments, or CSV
    with an `ip`, `cidr`, `address`, `network` or `indicator` column (else its first column)."""
    name = path.stem
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise FindingsError(f"--threat-list {path}: {exc}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(lines))
        header = [c.strip().lower() for c in rows[0]] if rows else []
        known = [i for i, c in enumerate(header) if c in ("ip", "cidr", "address", "network", "indicator")]
        column, body = (known[0], rows[1:]) if known else (0, rows)
        for number, row in enumerate(body, 2 if known else 1):
            if row and row[0].strip() and not row[0].lstrip().startswith("#"):
                yield (name, *_v4_range(row[column] if column < len(row) else "", f"{path}:{number}"))
        return
    for number, line in enumerate(lines, 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            yield (name, *_v4_range(entry, f"{path}:{number}"))


_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                                               "172.16.0.0/12", "192.168.0.0/16")]


def _internet() -> list[str]:
    """Every IPv4 address `is_private` does not cover, as CIDRs."""
    nets = [ipaddress.ip_network("0.0.0.0/0")]
    for private in _PRIVATE:
        nets = [piece for net in nets for piece in
                (net.address_exclude(private) if private.subnet_of(net) else [net])]
    return [str(n) for n in sorted(nets)]


def read_intents(path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, int, int]]]:
    """Intents (name, mode, ports) and their address ranges (name, side, first, last) from YAML:

        groups: {prod: [10.1.0.0/16], dev: [10.2.0.0/16]}
        intents:
          - {name: prod-never-dev, from: prod, to: dev, never: true}
          - {name: db-only-from-app, to: db, only_from: [app]}
          - {name: no-ssh-from-internet, from: internet, to: any, ports: [22], never: true}
    """
    import yaml

    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FindingsError(f"--intents {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("intents"), list):
        raise FindingsError(f"--intents {path}: want a mapping with `groups` and a list of `intents`")
    groups = doc.get("groups") or {}
    if not isinstance(groups, dict):
        raise FindingsError(f"--intents {path}: `groups` must map names to lists of CIDRs")

    def cidrs(names: object, where: str) -> list[str]:
        out = []
        for group in names if isinstance(names, list) else [names]:
            if group == "internet":
                out += _internet()
            elif group == "any":
                out.append("0.0.0.0/0")
            elif group in groups:
                members = groups[group]
                out += [str(m) for m in (members if isinstance(members, list) else [members])]
            else:
                raise FindingsError(f"--intents {path}: {where} names an unknown group {group!r}")
        return out

    declared, ranges = [], []
    for i, intent in enumerate(doc["intents"], 1):
        if not isinstance(intent, dict) or "to" not in intent:
            raise FindingsError(f"--intents {path}: intent {i} needs at least `to`")
        name = str(intent.get("name", f"intent-{i}"))
        if intent.get("never") and "from" in intent:
            mode, sources = "never", intent["from"]
        elif "only_from" in intent:
            mode, sources = "only", intent["only_from"]
        else:
            raise FindingsError(f"--intents {path}: intent {name} needs `from` with `never: true`, or `only_from`")
        ports = intent.get("ports") or []
        if not isinstance(ports, list) or not all(isinstance(p, int) and 0 <= p < 65536 for p in ports):
            raise FindingsError(f"--intents {path}: intent {name}: `ports` must be a list of port numbers")
        declared.append((name, mode, ",".join(str(p) for p in ports)))
        for side, names in (("from", sources), ("to", intent["to"])):
            for cidr in cidrs(names, f"intent {name}"):
                ranges.append((name, side, *_v4_range(cidr, f"--intents {path}: intent {name}")))
    return declared, ranges


def detection_range(lake: Lake, when: TimeRange) -> TimeRange:
    """The range to detect in: `when`, or the last DEFAULT_WINDOW of data without any time option."""
    if when.start:
        return when
    con, _ = connect(lake, when)
    [(last,)] = con.execute("select max(start_time) from traffic").fetchall()
    if last is None:
        return when
    end = when.end or last + dt.timedelta(seconds=1)
    return TimeRange(end - DEFAULT_WINDOW, end)


def detect(lake: Lake, when: TimeRange, baseline: dt.timedelta, rules: list[SqlAsset], inputs: Inputs,
           connect: Callable[[Lake, TimeRange], tuple[Any, Scan]] = connect) -> duckdb.DuckDBPyConnection:
    """Run `rules` over the lake on the engine `connect` opens (engine/duckdb.py's, or engine/spark.py's); the
    findings are in the temp table FOUND of the DuckDB connection returned."""
    when = detection_range(lake, when)
    detect_from = when.start or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    con, _ = connect(lake, TimeRange(when.start - baseline if when.start else None, when.end))
    inputs.install(con)
    found = duckdb.connect()
    found.execute(f"create temp table {FOUND} as select * from ({store.empty_sql()})")
    now = dt.datetime.now(dt.UTC)
    for rule in rules:
        found.register("rule_findings", rule_findings(con, rule, detect_from, now))
        found.execute(f"insert into {FOUND} by name select * from rule_findings")
        found.unregister("rule_findings")
    enrich_findings(found, lake)
    return found


def enrich_findings(found: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Country and AS of each finding's public ends, looked up once per finding after the rules ran (there are
    few findings), so rules stay plain SQL on every engine."""
    duckdb_setup(found)
    enrich.install(found, lake.root)
    found.execute(f"update {FOUND} set src_country = country(src), src_as = as_name(src),"
                  " dst_country = country(dst), dst_as = as_name(dst)")


def rule_findings(con: Any, rule: SqlAsset, detect_from: dt.datetime, now: dt.datetime) -> pa.RecordBatchReader:
    """One rule's findings, in the shape of the `findings` table, on either engine's connection."""
    params = rule_params(rule, detect_from)
    params.update(finding_rule=rule.name, finding_title=rule.title, finding_severity=rule.severity,
                  finding_mitre=rule.mitre, finding_tactic=rule.tactic, finding_now=now)
    try:
        return con.sql(SHAPE.format(sql=rule.sql), params=params).to_arrow_reader(65_536)
    except (duckdb.Error, EngineSQLError) as exc:
        raise FindingsError(f"rule {rule.name} ({rule.path}): {str(exc).splitlines()[0]}") from None


def rule_params(rule: SqlAsset, detect_from: dt.datetime) -> dict[str, object]:
    """The rule's parameters: their defaults, and where detection starts."""
    return {**{p.name: p.convert(None) for p in rule.params}, "detect_from": detect_from}


def find(lake: Lake, when: TimeRange, baseline: dt.timedelta, rules: list[SqlAsset], inputs: Inputs,
         keep: bool = True, connect: Callable[[Lake, TimeRange], tuple[Any, Scan]] = connect,
         ) -> duckdb.DuckDBPyConnection:
    """`detect`, then (with `keep`) store the findings in the lake's `findings` table."""
    con = detect(lake, when, baseline, rules, inputs, connect)
    if keep:
        store.save(lake, con, FOUND)
    return con


ORDER = ("case severity " + " ".join(f"when '{s}' then {i}" for i, s in enumerate(SEVERITIES))
         + " end desc, first_seen, rule, src, dst")


TABLE_COLUMNS = "severity, rule, src, src_country, dst, dst_country, ports, first_seen, last_seen, flows, bytes, detail"
"""What a terminal table shows; the other formats carry every column, the evidence query included."""


def results(con: duckdb.DuckDBPyConnection, compact: bool = False) -> pa.RecordBatchReader:
    """The run's findings, most severe first, then by time."""
    columns = TABLE_COLUMNS if compact else "* exclude (detected_at)"
    return con.sql(f"select {columns} from {FOUND} order by {ORDER}").to_arrow_reader(65_536)


def ocsf(row: dict, descriptions: dict[str, str]) -> dict:
    """One finding as an OCSF (1.3) Detection Finding, class 2004 in category 2 (Findings)."""
    severity_id = SEVERITIES.index(row["severity"]) + 1
    technique, _, technique_name = (row["mitre"] or "").partition(" ")
    tactic, _, tactic_name = (row["tactic"] or "").partition(" ")
    first, last = _ms(row["first_seen"]), _ms(row["last_seen"])
    port = int(row["ports"]) if (row["ports"] or "").isdigit() else None
    record = {
        "class_uid": 2004, "class_name": "Detection Finding", "category_uid": 2, "category_name": "Findings",
        "activity_id": 1, "activity_name": "Create", "type_uid": 200401, "type_name": "Detection Finding: Create",
        "severity_id": severity_id, "severity": row["severity"].capitalize(),
        "status_id": 1, "status": "New", "time": last, "message": f"{row['title']}: {row['detail']}",
        "count": row["flows"],
        "finding_info": {
            "uid": row["id"], "title": row["title"], "desc": descriptions.get(row["rule"], ""),
            "types": [row["rule"]], "first_seen_time": first, "last_seen_time": last,
            "analytic": {"uid": row["rule"], "name": row["rule"], "type_id": 1, "type": "Rule"},
        },
        "evidences": [{
            "src_endpoint": _endpoint(row, "src"),
            "dst_endpoint": {**_endpoint(row, "dst"), **({"port": port} if port is not None and row["dst"] else {})},
            "data": {"ports": row["ports"], "flows": row["flows"], "bytes": row["bytes"], "query": row["query"]},
        }],
        "metadata": {"product": {"name": "flowlake", "vendor_name": "flowlake", "version": __version__},
                     "version": "1.3.0"},
    }
    if technique:
        record["attacks"] = [{"technique": {"uid": technique, "name": technique_name},
                              "tactic": {"uid": tactic, "name": tactic_name}, "version": "v16"}]
    return record


def _endpoint(row: dict, end: str) -> dict:
    """An OCSF Network Endpoint: the address, with its country and AS when enrichment knows them."""
    if not row[end]:
        return {}
    endpoint: dict = {"ip": row[end]}
    if row.get(f"{end}_country"):
        endpoint["location"] = {"country": row[f"{end}_country"]}
    if row.get(f"{end}_as"):
        endpoint["autonomous_system"] = {"name": row[f"{end}_as"]}
    return endpoint


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)
