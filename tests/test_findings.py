"""`flowlake findings`: every rule's recall and precision against injected incidents, the evidence
queries, OCSF output, the `findings` table, user rules, and every bad input a user can give.

The lake holds realistic background traffic (with the constant internet scanning every public host
sees) plus `generate --incidents`; the ground truth is the generator's `_incidents.json`, matched in
plain Python by `incidents.score` (no SQL): a finding matches an incident of its rule when its source
and destination agree (where the incident names them) and its time overlaps the incident's.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import rows, run_cli
from flowlake.cli import commands
from flowlake.engine import catalog
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.incidents import RULE_INPUTS, inject, score, stamp
from flowlake.ingest import ingest
from flowlake.lake.store import Lake
from flowlake.schema import parse_format_string
from flowlake.sources.local import local_objects
from flowlake.web import sandbox
from rawdata import geoip2fast_lookups
from test_corpora import CORPORA, INPUTS

END = datetime(2026, 11, 27, tzinfo=UTC)
DETECT = ("--from", "2026-11-26", "--to", "2026-11-26")
RECORDS = 200_000
RECALL, PRECISION = 0.95, 0.9
DAY_START = END.timestamp() - 86_400


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(generated folder, lake): a week of background traffic plus the incidents, ingested."""
    root = tmp_path_factory.mktemp("findings")
    data, lake = root / "data", root / "lake"
    generate(data, records=RECORDS, seed=7, days=7, end=END)
    inject(data, seed=7, end=END)
    ingest(Lake(lake), local_objects([str(data)]))
    return data, lake


def inputs(data: Path) -> list[str]:
    folder = data / RULE_INPUTS
    return ["--threat-list", str(folder / "c2.txt"), "--threat-list", str(folder / "tor-exits.csv"),
            "--intents", str(folder / "intents.yaml")]


def findings(lake: Path, *args: str) -> list[dict]:
    result = run_cli("findings", "--lake", str(lake), "--format", "json", *args)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_every_rule_finds_its_incidents_and_little_else(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    truth = json.loads((data / "_incidents.json").read_text())
    table = score(findings(lake, *DETECT, *inputs(data)), truth)
    assert set(catalog.load("rules")) <= set(table), "every built-in rule has incidents in the ground truth"
    low = {rule: row for rule, row in table.items() if row.recall < RECALL or row.precision < PRECISION}
    assert not low, low


def test_without_inputs_the_list_and_intent_rules_find_nothing(estate: tuple[Path, Path]) -> None:
    _, lake = estate
    found = findings(lake, *DETECT, "--rule", "threat-list", "--rule", "segmentation-intent", "--no-store")
    assert found == []


def test_each_finding_query_returns_its_evidence(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    found = findings(lake, *DETECT, *inputs(data), "--no-store")
    assert found
    for finding in {f["rule"]: f for f in found}.values():  # one of each rule
        evidence = rows(lake, f"select srcaddr, dstaddr from ({finding['query']})")
        assert len(evidence) >= finding["flows"] > 0
        for key, column in (("src", 0), ("dst", 1)):
            if finding[key] is not None and finding["rule"] != "rejected-spike":
                assert {r[column] for r in evidence} == {finding[key]}, finding["query"]


def test_findings_are_stored_once_however_often_they_run(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    first = findings(lake, *DETECT, *inputs(data))
    again = findings(lake, *DETECT, *inputs(data))
    assert {f["id"] for f in first} == {f["id"] for f in again}
    result = run_cli("query", "--lake", str(lake), "--format", "json",
                     "select count(*) as n, count(distinct id) as ids from findings")
    stored = json.loads(result.stdout)[0]
    assert stored == {"n": len({f["id"] for f in first}), "ids": len({f["id"] for f in first})}
    con, _ = connect(Lake(lake), private=True)
    sandbox.lock(con, lake)
    console = sandbox.run(con, "select count(*) as n from findings where severity = 'high'").table.to_pylist()
    assert console == [{"n": sum(f["severity"] == "high" for f in first)}]


OCSF_REQUIRED = ("activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time",
                 "type_uid")


def test_ocsf_records_are_detection_findings(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    plain = {f["id"]: f for f in findings(lake, *DETECT, *inputs(data), "--no-store")}
    result = run_cli("findings", "--lake", str(lake), *DETECT, *inputs(data), "--no-store", "--format", "ocsf")
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(records) == len(plain)
    for record in records:
        assert all(key in record for key in OCSF_REQUIRED)
        assert (record["class_uid"], record["category_uid"]) == (2004, 2)
        assert record["type_uid"] == record["class_uid"] * 100 + record["activity_id"]
        info = record["finding_info"]
        source = plain[info["uid"]]
        assert info["title"] == source["title"] and info["analytic"]["name"] == source["rule"]
        assert record["severity_id"] == ["informational", "low", "medium", "high", "critical"].index(
            source["severity"]) + 1
        assert info["first_seen_time"] == int(stamp(source["first_seen"]) * 1000) <= info["last_seen_time"]
        assert record["metadata"]["product"]["name"] == "flowlake" and record["metadata"]["version"]
        assert record["attacks"][0]["technique"]["uid"] == source["mitre"].split()[0]
        evidence = record["evidences"][0]
        assert evidence["data"]["query"] == source["query"]
        assert evidence.get("src_endpoint", {}).get("ip") == source["src"]
        for end in ("src", "dst"):
            endpoint = evidence.get(f"{end}_endpoint", {})
            assert endpoint.get("location", {}).get("country") == source[f"{end}_country"]
            assert endpoint.get("autonomous_system", {}).get("name") == source[f"{end}_as"]
    assert any(r["evidences"][0]["dst_endpoint"].get("location") for r in records), "some end is enriched"


def test_findings_carry_the_country_and_as_of_their_public_ends(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    found = findings(lake, *DETECT, *inputs(data), "--no-store")
    ends = [(f, end) for f in found for end in ("src", "dst") if f[end] is not None]
    expected = geoip2fast_lookups(f[end] for f, end in ends)
    for finding, end in ends:
        country, _, as_name = expected[finding[end]]
        assert (finding[f"{end}_country"], finding[f"{end}_as"]) == (country, as_name), (finding["rule"], end)
    resolvers = [f for f in found if f["rule"] == "dns-external-resolver"]
    assert resolvers and all(f["dst_country"] and f["dst_as"] for f in resolvers), "public resolvers are placed"
    assert all(f["src_country"] is None for f in resolvers), "the instances asking are private"


def test_findings_stored_before_enrichment_read_as_unplaced(estate: tuple[Path, Path], tmp_path: Path) -> None:
    """A lake whose findings file predates the enrichment columns still lists, and merges new runs into it."""
    data, lake = estate
    old = tmp_path / "lake"
    shutil.copytree(lake, old)
    stored = old / "findings" / "findings.parquet"
    findings(old, *DETECT, *inputs(data))
    table = pq.read_table(stored)
    pq.write_table(table.drop_columns(["src_country", "src_as", "dst_country", "dst_as"]), stored)
    listed = rows(old, "select count(*), count(dst_country) from findings")
    assert listed == [(table.num_rows, 0)]
    again = findings(old, *DETECT, *inputs(data))
    assert rows(old, "select count(*), count(dst_country) from findings") == [
        (table.num_rows, sum(f["dst_country"] is not None for f in again))]


def test_a_users_rule_runs_beside_the_built_in_ones(estate: tuple[Path, Path], tmp_path: Path) -> None:
    _, lake = estate
    (tmp_path / "big-rejects.sql").write_text(
        "-- title: Rejected flows of more than 1 packet\n-- severity: info\n-- mitre: T1046 Network Service"
        " Discovery\n-- tactic: TA0007 Discovery\n-- param: detect_from timestamp\n-- param: packets integer = 1\n"
        "select srcaddr as src, dstaddr as dst, cast(dstport as varchar) as ports, min(start_time) as first_seen,"
        " max(end_time) as last_seen, count(*) as flows, sum(bytes) as bytes, 'x' as detail,"
        " 'srcaddr = ''' || srcaddr || '''' as evidence from traffic where start_time >= $detect_from"
        " and action = 'REJECT' and packets > $packets group by srcaddr, dstaddr, dstport\n")
    assert "severity 'info' must be one of" in _bad(lake, "--rules", str(tmp_path), "--list")
    path = tmp_path / "big-rejects.sql"
    path.write_text(path.read_text().replace("severity: info", "severity: informational"))
    listed = run_cli("findings", "--lake", str(lake), "--rules", str(tmp_path), "--list")
    assert "big-rejects" in listed.stdout.decode()
    found = findings(lake, *DETECT, "--rules", str(tmp_path), "--rule", "big-rejects", "--no-store")
    result = run_cli("query", "--lake", str(lake), *DETECT, "--format", "json",
                     "select count(*) as n from traffic where action = 'REJECT' and packets > 1")
    assert sum(f["flows"] for f in found) == json.loads(result.stdout)[0]["n"] > 0


def test_every_rule_runs_over_the_real_samples(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for item in INPUTS:
        ingest(lake, local_objects([str(CORPORA / item.path)]),
               fields=parse_format_string(item.fmt) if item.fmt else None)
    found = findings(lake.root, "--from", "2000-01-01", "--baseline", "1d")
    assert all(f["rule"] in catalog.load("rules") for f in found)


def test_an_empty_lake_has_no_findings(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with lake.writer():
        pass
    assert findings(lake.root) == []
    assert findings(lake.root, "--since", "1h") == []


def _bad(lake: Path, *args: str) -> str:
    """The last line on standard error of a run that must exit 2 (in-process, for speed)."""
    result = CliRunner().invoke(commands(), ["findings", "--lake", str(lake), *args])
    assert result.exit_code == 2, result.output
    return result.stderr.strip().splitlines()[-1]


def test_bad_input_fails_with_one_clear_line(estate: tuple[Path, Path], tmp_path: Path) -> None:
    _, lake = estate
    threats = tmp_path / "threats.txt"
    threats.write_text("# ok\n203.0.113.7\nnot-an-address\n")
    assert f"{threats}:3: 'not-an-address' is not an address or CIDR" in _bad(lake, "--threat-list", str(threats))
    threats.write_text("2001:db8::/32\n")
    assert "only IPv4" in _bad(lake, "--threat-list", str(threats))
    assert "--threat-list" in _bad(lake, "--threat-list", str(tmp_path / "missing.txt"))
    intents = tmp_path / "intents.yaml"
    intents.write_text("groups: {prod: [10.0.0.0/16]}\nintents:\n  - {name: x, from: prod, to: dev, never: true}\n")
    assert "unknown group 'dev'" in _bad(lake, "--intents", str(intents))
    intents.write_text("intents: [ {to: : }\n")
    assert f"--intents {intents}" in _bad(lake, "--intents", str(intents))
    intents.write_text("groups: {a: [10.0.0.0/8]}\nintents:\n  - {name: y, to: a}\n")
    assert "needs `from` with `never: true`, or `only_from`" in _bad(lake, "--intents", str(intents))
    intents.write_text("groups: {a: [10.0.0.0/8]}\nintents:\n  - {name: y, to: a, only_from: a, ports: [http]}\n")
    assert "`ports` must be a list of port numbers" in _bad(lake, "--intents", str(intents))
    assert "no rule named nope" in _bad(lake, "--rule", "nope")
    assert "not a duration" in _bad(lake, "--baseline", "soon")
    assert "no flowlake lake" in _bad(tmp_path / "nowhere")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "broken.sql").write_text("-- severity: low\n-- param: detect_from timestamp\n"
                                      "select nothing from nowhere where $detect_from is not null\n")
    assert "rule broken" in _bad(lake, "--rules", str(rules), "--rule", "broken")
    (rules / "broken.sql").write_text("-- severity: low\nselect 1\n")
    assert "must declare `-- param: detect_from timestamp`" in _bad(lake, "--rules", str(rules))


def test_no_time_option_means_the_last_day_of_data(estate: tuple[Path, Path]) -> None:
    data, lake = estate
    explicit = findings(lake, "--from", (END - timedelta(days=1)).isoformat(), *inputs(data), "--no-store")
    default = findings(lake, *inputs(data), "--no-store")
    assert default and {f["id"] for f in default} == {f["id"] for f in explicit}


def test_generate_incidents_writes_records_truth_and_rule_inputs(tmp_path: Path) -> None:
    out = tmp_path / "g"
    made = run_cli("generate", str(out), "--records", "2000", "--days", "2", "--end", "2026-11-27", "--incidents")
    assert made.returncode == 0, made.stderr.decode()
    truth = json.loads((out / "_incidents.json").read_text())
    assert {t["rule"] for t in truth} == set(catalog.load("rules"))
    lines = [line.split() for path in out.rglob("*_incidents.log.gz")
             for line in gzip.decompress(path.read_bytes()).decode().splitlines()[1:]]
    addresses = {a for line in lines for a in (line[3], line[4])}
    assert all(t["src"] in addresses | {None} and t["dst"] in addresses | {None} for t in truth)
    assert all(DAY_START <= int(line[10]) < END.timestamp() for line in lines)
    assert {p.name for p in (out / RULE_INPUTS).iterdir()} == {"c2.txt", "tor-exits.csv", "intents.yaml"}
