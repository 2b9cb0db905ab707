"""One truth, two engines: every report and every detection rule gives the same answer on DuckDB and on
Spark in local mode, over one lake built from generated data with injected incidents.

Exact numbers, the same column names, in the same order where the SQL orders its rows (as a multiset
where it does not). Spark runs on loopback with two cores, one session for the whole test run.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlglot

from conftest import aws_key, run_cli, text_object, v2_line, write_object
from flowlake import findings
from flowlake.engine import EngineSQLError, catalog, spark
from flowlake.engine import duckdb as duck
from flowlake.generate import generate
from flowlake.incidents import RULE_INPUTS, inject
from flowlake.lake.store import META_DIR, Lake
from flowlake.reports import bind, run
from flowlake.timerange import TimeRange
from rawdata import read_raw
from test_reports import END, access_line, params, web_requests
from test_reports import Lake as ReportsLake

pytestmark = pytest.mark.slow
MASTER = "local[2]"


DETECT_FROM = END - timedelta(days=1)
"""The incidents are in the last day before END: rules detect there, the two days before are their baseline."""


def assets() -> list[catalog.SqlAsset]:
    """The reports and the detection rules: SQL assets of either kind run alike."""
    return [*catalog.load("reports").values(), *catalog.load("rules").values()]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 records over three days, every format, with every kind of incident in the last day."""
    folder = tmp_path_factory.mktemp("spark") / "raw"
    generate(folder, records=20_000, seed=7, days=3, end=END)
    inject(folder, seed=7, end=END)
    return folder


@pytest.fixture(scope="module")
def demo(raw: Path) -> ReportsLake:
    """The lake of `raw`, and an access log."""
    lake = ReportsLake(raw.parent / "lake", read_raw(raw))
    assert run_cli("ingest", str(raw), "--lake", str(lake.path)).returncode == 0
    log = raw.parent / "access.log"
    log.write_text("".join(access_line(request) + "\n" for request in web_requests(lake.records)))
    assert run_cli("ingest-weblogs", str(log), "--lake", str(lake.path)).returncode == 0
    return lake


def rule_inputs(raw: Path) -> list[str]:
    """The threat lists and intents the incidents came with, as `flowlake findings` options."""
    folder = raw / RULE_INPUTS
    return ["--threat-list", str(folder / "c2.txt"), "--threat-list", str(folder / "tor-exits.csv"),
            "--intents", str(folder / "intents.yaml")]


@pytest.fixture(scope="module")
def engines(demo, raw: Path) -> Iterator[tuple]:
    """A DuckDB and a Spark connection over the whole lake, both with the rules' inputs."""
    spark.session(MASTER)
    lake = Lake(demo.path)
    cons = duck.connect(lake)[0], spark.connect(lake, master=MASTER)[0]
    folder = raw / RULE_INPUTS
    inputs = findings.Inputs.read([folder / "c2.txt", folder / "tor-exits.csv"], folder / "intents.yaml")
    for con in cons:
        inputs.install(con)
    yield cons


def answer(con, asset: catalog.SqlAsset, values: dict[str, str], when: TimeRange | None = None) -> tuple[list, list]:
    """A report's answer, or a rule's findings over the day before END, the way `flowlake findings` runs it."""
    if asset.param("detect_from") is not None:  # a rule: findings.load_rules requires the parameter
        reader = findings.rule_findings(con, asset, DETECT_FROM, END)
    else:
        reader = run(con, asset, bind(asset, values, con, when or TimeRange()))
    table = reader.read_all()
    return table.column_names, [tuple(row.values()) for row in table.to_pylist()]


@pytest.mark.parametrize("asset", assets(), ids=lambda a: a.name)
def test_every_asset_answers_the_same_on_spark(engines: tuple, demo, asset: catalog.SqlAsset) -> None:
    duck_con, spark_con = engines
    values = params(asset.name, demo.records)
    duck_columns, duck_rows = answer(duck_con, asset, values)
    spark_columns, spark_rows = answer(spark_con, asset, values)
    assert duck_rows, f"{asset.name} is empty on the test data: the comparison would prove nothing"
    assert spark_columns == duck_columns
    if sqlglot.parse_one(asset.sql, read="duckdb").args.get("order"):
        assert spark_rows == duck_rows
    else:
        assert Counter(spark_rows) == Counter(duck_rows)


def test_time_range_and_where_narrow_alike(engines: tuple, demo) -> None:
    duck_con, _ = engines
    lake = Lake(demo.path)
    when = TimeRange(END - timedelta(hours=30), END - timedelta(hours=6))
    asset = catalog.load("reports")["top-ports"]
    narrowed = [answer(connect(lake, when, "dstport < 1024")[0], asset, {}, when)
                for connect in (duck.connect, lambda *a: spark.connect(*a, master=MASTER))]
    assert narrowed[0] == narrowed[1]
    assert narrowed[0][1] != answer(duck_con, asset, {})[1]
    assert all(row[0] < 1024 for row in narrowed[0][1])


def test_open_ranges_pick_the_same_auto_bucket(engines: tuple, demo) -> None:
    lake = Lake(demo.path)
    when = TimeRange(END - timedelta(hours=30), None)
    asset = catalog.load("reports")["traffic-over-time"]
    answers = [answer(connect(lake, when)[0], asset, {}, when)
               for connect in (duck.connect, lambda *a: spark.connect(*a, master=MASTER))]
    assert answers[0] == answers[1] and answers[0][1]


def test_empty_lake_gives_empty_answers(inbox: Path, lake: Path) -> None:
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    con = spark.connect(Lake(lake), master=MASTER)[0]
    for name in ("top-talkers", "web-clients", "coverage"):
        asset = catalog.load("reports")[name]
        assert answer(con, asset, {}) == answer(duck.connect(Lake(lake))[0], asset, {})


def test_spark_sql_errors_are_engine_errors(engines: tuple) -> None:
    _, spark_con = engines
    with pytest.raises(EngineSQLError, match="nope"):
        spark_con.sql("select nope from flows").to_arrow_reader(10)
    with pytest.raises(EngineSQLError):
        spark_con.sql("select from where")


def test_query_and_report_on_the_command_line(demo) -> None:
    lake = str(demo.path)
    sql = "select protocol_name(protocol) as name, count(*) as flows, sum(bytes) as bytes from traffic group by 1"
    real = {}
    for engine in ("duckdb", "spark"):
        done = run_cli("query", sql, "--lake", lake, "--format", "json", "--engine", engine, "--spark-master", MASTER)
        assert done.returncode == 0, done.stderr.decode()
        real[engine] = sorted(json.loads(done.stdout), key=lambda row: row["name"])
    assert real["spark"] == real["duckdb"] and len(real["spark"]) > 2
    args = ("report", "rejected-ports", "--lake", lake, "--format", "csv", "--limit", "5", "--since", "2d")
    spark_run = run_cli(*args, "--engine", "spark", "--spark-master", MASTER)
    assert spark_run.returncode == 0, spark_run.stderr.decode()
    assert spark_run.stdout == run_cli(*args).stdout


def test_command_line_errors_exit_2(demo, tmp_path: Path) -> None:
    lake = str(demo.path)
    bad = run_cli("query", "select nope from flows", "--lake", lake, "--engine", "spark", "--spark-master", MASTER)
    last = bad.stderr.decode().strip().splitlines()[-1]  # after the JVM's own start-up lines
    assert bad.returncode == 2 and last.startswith("SQL error: ") and "nope" in last
    assert run_cli("report", "top-talkers", "--lake", lake, "--engine", "presto").returncode == 2
    mixed = run_cli("query", "select 1", "--lake", lake, "--engine", "spark", "--dialect", "athena")
    assert mixed.returncode == 2 and "--dialect athena runs on DuckDB only" in mixed.stderr.decode()
    no_java = run_cli("report", "top-talkers", "--lake", lake, "--engine", "spark",
                      env={"PATH": str(tmp_path), "JAVA_HOME": ""})
    assert no_java.returncode == 2 and "needs Java 17" in no_java.stderr.decode()
    shadow = tmp_path / "no-pyspark"
    shadow.mkdir()
    (shadow / "pyspark.py").write_text("raise ImportError('No module named pyspark')\n")
    no_pyspark = run_cli("report", "top-talkers", "--lake", lake, "--engine", "spark", env={"PYTHONPATH": str(shadow)})
    assert no_pyspark.returncode == 2 and "install flowlake[spark]" in no_pyspark.stderr.decode()


def test_enrichment_on_spark_gives_duckdbs_answers(demo, tmp_path: Path) -> None:
    """Every address of the lake, IPv4 and IPv6, with an ip-ranges.json that classifies a network of each."""
    lake = tmp_path / "lake"
    shutil.copytree(demo.path, lake)
    [(v4, v6)] = duck.connect(Lake(lake))[0].execute(
        "select min(dstaddr) filter (where not is_ipv6(dstaddr)), min(dstaddr) filter (where is_ipv6(dstaddr))"
        " from traffic where not is_private(dstaddr)").fetchall()
    (lake / META_DIR / "ip-ranges.json").write_text(json.dumps({
        "prefixes": [{"ip_prefix": str(ipaddress.ip_network(f"{v4}/16", strict=False)), "service": "S3"}],
        "ipv6_prefixes": [{"ipv6_prefix": str(ipaddress.ip_network(f"{v6}/32", strict=False)), "service": "EC2"}]}))
    sql = ("select a, ip_int(a), country(a), country_name(a), as_name(a), aws_service(a), addr_class(a)"
           " from (select srcaddr as a from flows union select dstaddr from flows) where a is not null")
    want = {row[0]: row for row in duck.connect(Lake(lake))[0].execute(sql).fetchall()}
    got = {row[0]: row for row in spark.connect(Lake(lake), master=MASTER)[0].sql(sql).fetchall()}
    assert got == {a: (a, n if n < 10**38 else None, *rest) for a, (_, n, *rest) in want.items()}
    assert {row[5] for row in want.values()} == {None, "S3", "EC2"}
    assert any(":" in a and row[2] for a, row in want.items()) and any(row[4] for row in want.values())


def test_findings_on_spark_stores_what_duckdb_stores(demo, raw: Path, tmp_path: Path) -> None:
    stored = {}
    for engine in ("duckdb", "spark"):
        lake = tmp_path / engine
        shutil.copytree(demo.path, lake)
        done = run_cli("findings", "--lake", str(lake), "--from", DETECT_FROM.date().isoformat(), "--to",
                       DETECT_FROM.date().isoformat(), *rule_inputs(raw), "--engine", engine, "--spark-master", MASTER,
                       "--format", "json")
        assert done.returncode == 0, done.stderr.decode()
        printed = json.loads(done.stdout)
        table = pq.read_table(lake / "findings" / "findings.parquet").drop_columns(["detected_at"])
        assert sorted(row["id"] for row in printed) == sorted(table.column("id").to_pylist())
        stored[engine] = sorted(table.to_pylist(), key=lambda row: row["id"])
    assert stored["spark"] == stored["duckdb"]
    assert {row["rule"] for row in stored["duckdb"]} == set(catalog.load("rules"))


def test_findings_on_spark_fail_with_one_line(demo) -> None:
    bad = run_cli("findings", "--lake", str(demo.path), "--engine", "spark", "--spark-master", MASTER, "--since", "1x")
    assert bad.returncode == 2 and "1x" in bad.stderr.decode()
    no_java = run_cli("findings", "--lake", str(demo.path), "--engine", "spark", env={"PATH": "", "JAVA_HOME": ""})
    assert no_java.returncode == 2 and "needs Java 17" in no_java.stderr.decode()


# -- ingest --engine spark ----------------------------------------------------------------


def ledger_rows(lake: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(lake / "_flowlake" / "ledger.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_spark_ingest_makes_the_lake_and_ledger_single_machine_ingest_makes(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate(raw, records=6_000, seed=3, days=2, end=END)
    records = read_raw(raw)  # before the object with bad lines, which only the ledger and quarantine compare
    write_object(raw, aws_key(day="2026/11/26", stamp="20261126T0100Z"),
                 text_object([v2_line(1), "2 not a record", v2_line(2), "2 123456789012 eni-1 x"]))
    by_spark, alone = tmp_path / "spark-lake", tmp_path / "lake"
    done = run_cli("ingest", str(raw), "--lake", str(by_spark), "--engine", "spark", "--spark-master", MASTER, "--json")
    assert done.returncode == 1, done.stderr.decode()  # two lines rejected, as single-machine ingest says
    assert run_cli("ingest", str(raw), "--lake", str(alone)).returncode == 1
    stats = json.loads(done.stdout)
    assert stats["records"] == 6_002 and stats["rejected"] == 2
    objects = "select location, size, mtime, records, rejected, result, formats from objects order by location"
    assert ledger_rows(by_spark, objects) == ledger_rows(alone, objects)
    quarantine = "select location, line, reason, text from quarantine join objects on id = object_id order by 1, 2"
    assert ledger_rows(by_spark, quarantine) == ledger_rows(alone, quarantine) and ledger_rows(alone, quarantine)
    on_spark, on_one = duck.connect(Lake(by_spark))[0], duck.connect(Lake(alone))[0]
    for asset in catalog.load("reports").values():
        values = params(asset.name, records)
        assert answer(on_spark, asset, values) == answer(on_one, asset, values), asset.name
    again = run_cli("ingest", str(raw), "--lake", str(by_spark), "--json")
    assert again.returncode == 0
    rerun = json.loads(again.stdout)
    assert (rerun["ingested"], rerun["records"], rerun["unchanged"]) == (0, 0, stats["ingested"])


@pytest.mark.parametrize("source", ["s3://bucket/AWSLogs/", "-"])
def test_spark_ingest_reads_files_only(tmp_path: Path, source: str) -> None:
    done = run_cli("ingest", source, "--lake", str(tmp_path / "lake"), "--engine", "spark")
    assert done.returncode == 2 and "--engine spark reads files and folders" in done.stderr.decode()
