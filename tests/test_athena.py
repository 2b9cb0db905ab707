"""Athena compatibility: AWS's sample Athena queries run unchanged with `--dialect athena`, and
`flowlake athena ddl` prints tables whose columns, partitions and projected locations match AWS's
documented DDL and the S3 keys AWS writes."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from conftest import ACCOUNT, aws_key, rows, run_cli, text_object, write_object
from flowlake import athena
from flowlake.engine.duckdb import connect
from flowlake.lake.store import Lake
from flowlake.sources.keys import KeyInfo, parse_key, prefix_for

pytest_plugins = ["servers"]

TODAY = dt.datetime.now(dt.UTC).date()
WEEK_AGO = TODAY - dt.timedelta(days=7)

AWS_DDL = [
    ("version", "int"), ("account_id", "string"), ("interface_id", "string"), ("srcaddr", "string"),
    ("dstaddr", "string"), ("srcport", "int"), ("dstport", "int"), ("protocol", "bigint"), ("packets", "bigint"),
    ("bytes", "bigint"), ("start", "bigint"), ("end", "bigint"), ("action", "string"), ("log_status", "string"),
    ("vpc_id", "string"), ("subnet_id", "string"), ("instance_id", "string"), ("tcp_flags", "int"), ("type", "string"),
    ("pkt_srcaddr", "string"), ("pkt_dstaddr", "string"), ("region", "string"), ("az_id", "string"),
    ("sublocation_type", "string"), ("sublocation_id", "string"), ("pkt_src_aws_service", "string"),
    ("pkt_dst_aws_service", "string"), ("flow_direction", "string"), ("traffic_path", "int"),
]
"""The columns of AWS's documented Athena table for versions 2 to 5 (reference section 5.2), in its order."""

V2_TO_V5 = ", ".join(f'"{name}"' for name, _ in AWS_DDL)

# -- AWS's sample queries ----------------------------------------------------------------

RECORDS = [
    # day, seconds into the day, srcaddr, dstaddr, srcport, dstport, protocol, packets, action
    ("2020-05-04", 3_600, "10.117.1.22", "10.0.1.14", 49152, 443, 6, 10, "ACCEPT"),
    ("2020-05-04", 7_260, "203.0.113.7", "10.0.2.9", 51000, 22, 6, 3, "REJECT"),
    ("2020-05-04", 9_000, "10.0.2.9", "198.51.100.1", 53001, 53, 17, 2, "REJECT"),
    ("2020-05-05", 600, "198.51.100.20", "10.0.2.9", 40000, 3389, 6, 1, "REJECT"),
    ("2021-01-15", 43_200, "10.0.3.3", "10.0.1.14", 40001, 5432, 6, 40, "ACCEPT"),
    ("2021-01-31", 100, "10.0.3.3", "10.0.1.14", 40002, 5432, 6, 41, "ACCEPT"),
    ("2021-02-01", 0, "10.117.1.22", "10.0.1.14", 40003, 443, 6, 7, "ACCEPT"),
    ("2021-02-01", 1_800, "192.0.2.44", "10.117.8.1", 40004, 22, 6, 1, "REJECT"),
    ("2021-02-27", 80_000, "10.117.200.5", "10.0.1.14", 40005, 443, 6, 9, "ACCEPT"),
    ("2021-02-28", 60, "10.117.1.22", "10.0.5.5", 40006, 22, 6, 2, "REJECT"),
    ("2021-03-10", 3_600, "10.0.4.4", "10.0.1.14", 40007, 443, 6, 25, "ACCEPT"),
    ("2021-03-10", 3_700, "10.0.4.5", "10.0.9.9", 40008, 443, 6, 12, "ACCEPT"),
    ("2021-03-11", 3_700, "10.0.4.5", "10.0.9.9", 40009, 443, 6, 30, "ACCEPT"),
    ("2021-04-01", 3_600, "10.0.6.6", "10.0.1.14", 40010, 80, 6, 4, "ACCEPT"),
    ("2021-04-01", 7_200, "10.11.7.1", "10.0.1.14", 40011, 80, 6, 4, "REJECT"),
    (WEEK_AGO.isoformat(), 3_600, "10.0.7.1", "10.0.7.7", 40012, 443, 6, 100, "ACCEPT"),
    ((TODAY - dt.timedelta(days=6)).isoformat(), 3_600, "10.0.7.1", "10.0.7.7", 40013, 443, 6, 5, "ACCEPT"),
    (TODAY.isoformat(), 0, "10.0.8.1", "10.0.8.8", 40014, 443, 6, 6, "ACCEPT"),
]
"""Hand-written records over several days: each sample query below keeps some and drops others."""


def start_of(record: tuple) -> int:
    day, seconds = record[:2]
    return int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp()) + seconds


def line(i: int, record: tuple) -> str:
    _, _, src, dst, sport, dport, proto, packets, action = record
    start = start_of(record)
    return (f"2 {ACCOUNT} eni-{i:017x} {src} {dst} {sport} {dport} {proto} {packets} {packets * 100} "
            f"{start} {start + 30} {action} OK")


@pytest.fixture(scope="module")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The records ingested as AWS delivers them: one object per day."""
    inbox, lake = tmp_path_factory.mktemp("inbox"), tmp_path_factory.mktemp("lake") / "lake"
    by_day: dict[str, list[str]] = {}
    for i, record in enumerate(RECORDS):
        by_day.setdefault(record[0], []).append(line(i, record))
    for day, lines in by_day.items():
        stamp = day.replace("-", "") + "T0000Z"
        write_object(inbox, aws_key(day=day.replace("-", "/"), stamp=stamp), text_object(lines))
    result = run_cli("ingest", str(inbox), "--lake", str(lake))
    assert result.returncode == 0, result.stderr.decode()
    return lake


SAMPLES = [
    # AWS's queries for its `vpc_flow_logs` table, as documented.
    pytest.param("SELECT * FROM vpc_flow_logs WHERE date = DATE('2020-05-04') LIMIT 100;",
                 f"select {V2_TO_V5}, date from flows where date = '2020-05-04'", id="1-one-date"),
    pytest.param("SELECT day_of_week(date) AS day, date, interface_id, srcaddr, action, protocol FROM vpc_flow_logs "
                 "WHERE action = 'REJECT' AND protocol = 6 LIMIT 100;",
                 "select cast(strftime(date, '%u') as int) as day, date, interface_id, srcaddr, action, protocol "
                 "from flows where action = 'REJECT' and protocol = 6", id="2-day-of-week"),
    pytest.param("SELECT SUM(packets) AS packetcount, dstaddr FROM vpc_flow_logs "
                 "WHERE dstport = 443 AND date > current_date - interval '7' day "
                 "GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10;",
                 "select sum(packets) as packetcount, dstaddr from flows "
                 f"where dstport = 443 and date > date '{WEEK_AGO}' group by dstaddr", id="3-last-week"),
    # AWS's queries for its projection table `test_table_vpclogs`, whose `day` string partition
    # (`day >= '2021/02/01'`) is the `date` column here (`date >= DATE('2021-02-01')`): the only change.
    pytest.param("SELECT * FROM vpc_flow_logs WHERE date >= DATE('2021-02-01') AND date < DATE('2021-02-28') "
                 "ORDER BY date ASC LIMIT 100",
                 f"select {V2_TO_V5}, date from flows where date between '2021-02-01' and '2021-02-27'",
                 id="4-period"),
    pytest.param("SELECT SUM(packets) AS packetcount, dstaddr FROM vpc_flow_logs WHERE dstport = 443 "
                 "AND date >= DATE('2021-03-01') AND date < DATE('2021-03-31') "
                 "GROUP BY dstaddr ORDER BY packetcount DESC LIMIT 10",
                 "select sum(packets), dstaddr from flows where dstport = 443 and date between '2021-03-01' and "
                 "'2021-03-30' group by dstaddr", id="5-https-top"),
    pytest.param("SELECT interface_id, srcaddr, action, protocol, to_iso8601(from_unixtime(start)) AS start_time, "
                 'to_iso8601(from_unixtime("end")) AS end_time FROM vpc_flow_logs '
                 "WHERE date >= DATE('2021-04-01') AND date < DATE('2021-04-30')",
                 "select interface_id, srcaddr, action, protocol, strftime(start_time, '%Y-%m-%dT%H:%M:%S.000Z'), "
                 "strftime(end_time, '%Y-%m-%dT%H:%M:%S.000Z') from flows where month(date) = 4 and year(date) = 2021",
                 id="6-readable-times"),
    pytest.param("SELECT interface_id, srcaddr, action, protocol, to_iso8601(from_unixtime(start)) AS start_time, "
                 "to_iso8601(from_unixtime(`end`)) AS end_time FROM vpc_flow_logs "
                 "WHERE date >= DATE('2021-04-01') AND date < DATE('2021-04-30')",
                 "select interface_id, srcaddr, action, protocol, strftime(start_time, '%Y-%m-%dT%H:%M:%S.000Z'), "
                 "strftime(end_time, '%Y-%m-%dT%H:%M:%S.000Z') from flows where month(date) = 4 and year(date) = 2021",
                 id="6-backticked-end"),
    pytest.param("SELECT * FROM vpc_flow_logs WHERE srcaddr = '10.117.1.22' "
                 "AND date >= DATE('2021-02-01') AND date < DATE('2021-02-28')",
                 f"select {V2_TO_V5}, date from flows where srcaddr = '10.117.1.22' and year(date) = 2021 "
                 "and month(date) = 2 and day(date) < 28", id="7-source"),
    pytest.param("SELECT date, interface_id, srcaddr, action, protocol FROM vpc_flow_logs WHERE action = 'REJECT' "
                 "AND protocol = 6 AND date >= DATE('2021-02-01') AND date < DATE('2021-02-28') LIMIT 10",
                 "select date, interface_id, srcaddr, action, protocol from flows where action = 'REJECT' "
                 "and protocol = 6 and date between '2021-02-01' and '2021-02-27'", id="8-rejected-tcp"),
    pytest.param("SELECT * FROM vpc_flow_logs "
                 "WHERE split_part(srcaddr,'.', 1)='10' AND split_part(srcaddr,'.', 2) ='117'",
                 f"select {V2_TO_V5}, date from flows where srcaddr like '10.117.%'", id="9-prefix"),
    pytest.param("SELECT * FROM vpc_flow_logs WHERE dstaddr = '10.0.1.14' "
                 "AND date >= DATE('2021-01-01') AND date < DATE('2021-01-31')",
                 f"select {V2_TO_V5}, date from flows where dstaddr = '10.0.1.14' and date between '2021-01-01' "
                 "and '2021-01-30'", id="10-destination"),
]


def athena_rows(lake: Path, sql: str) -> list[tuple]:
    """What `flowlake query --dialect athena` runs, in process (a subprocess per query would be slow)."""
    con, _ = connect(Lake(lake))
    athena.install(con)
    return con.execute(athena.to_duckdb(sql)).fetchall()


@pytest.mark.parametrize(("athena_sql", "duckdb_sql"), SAMPLES)
def test_aws_sample_queries_give_the_duckdb_answers(sample_lake: Path, athena_sql: str, duckdb_sql: str) -> None:
    got, want = athena_rows(sample_lake, athena_sql), rows(sample_lake, duckdb_sql)
    assert got, "the sample data should give every query something to return"
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert len(want) < len(RECORDS) or "GROUP BY" in athena_sql, "and something to leave out"


def test_sample_answers_in_detail(sample_lake: Path) -> None:
    """The values Athena itself would print: ISO weekdays, Trino's ISO 8601 text, the top talkers in order."""
    weekdays = athena_rows(sample_lake, SAMPLES[1].values[0])
    assert sorted((date, day) for day, date, *_ in weekdays) == [
        (dt.date(2020, 5, 4), 1), (dt.date(2020, 5, 5), 2), (dt.date(2021, 2, 1), 1), (dt.date(2021, 2, 28), 7),
        (dt.date(2021, 4, 1), 4)]  # Monday is 1, Sunday 7
    assert athena_rows(sample_lake, SAMPLES[2].values[0]) == [(6, "10.0.8.8"), (5, "10.0.7.7")]
    assert athena_rows(sample_lake, SAMPLES[4].values[0]) == [(42, "10.0.9.9"), (25, "10.0.1.14")]
    times = {row[1]: row[4:] for row in athena_rows(sample_lake, SAMPLES[5].values[0])}
    assert times["10.0.6.6"] == ("2021-04-01T01:00:00.000Z", "2021-04-01T01:00:30.000Z")


def test_queries_are_read_as_sqlglots_athena_reads_them() -> None:
    """Backticks aside, flowlake's reading of Athena SQL is sqlglot's Athena dialect's."""
    for sample in SAMPLES:
        sql = sample.values[0]
        if "`" not in sql:
            assert sqlglot.parse_one(sql, read=athena.AthenaQueries) == sqlglot.parse_one(sql, read="athena")


def test_query_dialect_athena_on_the_command_line(sample_lake: Path) -> None:
    result = run_cli("query", SAMPLES[6].values[0], "--dialect", "athena", "--lake", str(sample_lake),
                     "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    assert sorted(json.loads(result.stdout), key=lambda row: row["srcaddr"]) == [
        {"interface_id": f"eni-{13:017x}", "srcaddr": "10.0.6.6", "action": "ACCEPT", "protocol": 6,
         "start_time": "2021-04-01T01:00:00.000Z", "end_time": "2021-04-01T01:00:30.000Z"},
        {"interface_id": f"eni-{14:017x}", "srcaddr": "10.11.7.1", "action": "REJECT", "protocol": 6,
         "start_time": "2021-04-01T02:00:00.000Z", "end_time": "2021-04-01T02:00:30.000Z"},
    ]
    bad = run_cli("query", "SELECT srcaddr FROM vpc_flow_logs WHERE (", "--dialect", "athena",
                  "--lake", str(sample_lake))
    assert bad.returncode == 2 and bad.stdout == b""
    assert "Athena SQL error" in bad.stderr.decode() and "line 1, column" in bad.stderr.decode()


# -- flowlake athena ddl -------------------------------------------------------------------

BUCKET = "s3://flow-bucket/logs"
START = dt.date(2024, 1, 1)
JAVA_DATES = {"yyyy/MM/dd": "%Y/%m/%d", "yyyy": "%Y", "yyyy-MM-dd": "%Y-%m-%d"}


@dataclass
class Table:
    """A CREATE EXTERNAL TABLE as sqlglot's Athena dialect reads it."""

    name: str
    columns: list[tuple[str, str]]
    partitions: list[tuple[str, str]]
    storage: str
    location: str
    properties: dict[str, str]


def parse_ddl(ddl: str) -> Table:
    create = sqlglot.parse_one(ddl, read="athena")
    assert isinstance(create, exp.Create) and create.kind == "TABLE"
    props = create.args["properties"].expressions
    assert any(isinstance(p, exp.ExternalProperty) for p in props)

    def one(kind: type[exp.Expression]) -> exp.Expression:
        (found,) = [p for p in props if isinstance(p, kind)]
        return found

    def columns(schema: exp.Expression) -> list[tuple[str, str]]:
        return [(c.name, c.args["kind"].sql("hive").lower()) for c in schema.expressions]

    storage = ([p.args["fields"].name for p in props if isinstance(p, exp.RowFormatDelimitedProperty)]
               or [p.this.name for p in props if isinstance(p, exp.RowFormatSerdeProperty)])
    return Table(create.this.this.name, columns(create.this), columns(one(exp.PartitionedByProperty).this),
                 storage[0], one(exp.LocationProperty).this.name,
                 {p.this.name: p.args["value"].name for p in props if type(p) is exp.Property})


def expand(table: Table, values: dict) -> str:
    """The storage.location.template with each partition's value written as its projection says, checking
    that the value is one the projection produces."""
    props, path = table.properties, table.properties["storage.location.template"]
    for name, _ in table.partitions:
        kind, value = props[f"projection.{name}.type"], values[name]
        if kind == "date":
            fmt = JAVA_DATES[props[f"projection.{name}.format"]]
            low, high = props[f"projection.{name}.range"].split(",")
            assert high == "NOW" and dt.datetime.strptime(low, fmt).date() <= value <= TODAY
            text = value.strftime(fmt)
        elif kind == "integer":
            low, high = map(int, props[f"projection.{name}.range"].split(","))
            assert low <= value <= high
            text = f"{value:0{int(props[f'projection.{name}.digits'])}d}"
        elif kind == "enum":
            assert value in props[f"projection.{name}.values"].split(",")
            text = value
        else:
            assert kind == "injected"
            text = value
        path = path.replace(f"${{{name}}}", text)
    assert "$" not in path
    return path


LAYOUTS = [pytest.param(fmt, hive, hourly, id=f"{fmt}-{'hive' if hive else 'plain'}-{'hourly' if hourly else 'daily'}")
           for fmt in ("text", "parquet") for hive in (False, True) for hourly in (False, True)]


@pytest.mark.parametrize(("fmt", "hive", "hourly"), LAYOUTS)
def test_raw_layout_tables_project_the_keys_aws_writes(fmt: str, hive: bool, hourly: bool) -> None:
    table = parse_ddl(athena.raw_ddl(BUCKET, ["us-east-1", "eu-west-1"], fmt=fmt, hive=hive, hourly=hourly,
                                     start=START))
    assert table.name == "vpc_flow_logs"
    assert table.columns == AWS_DDL[:14], "the default format's fields, typed as AWS's DDL types them"
    if fmt == "text":
        assert table.storage == " " and table.properties["skip.header.line.count"] == "1"
    else:
        assert table.storage == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    date_parts = ["year", "month", "day"] if hive else ["day"]
    assert table.partitions == [(name, "string") for name in
                                ["aws_account_id", "aws_region", *date_parts, *(["hour"] if hourly else [])]]
    props = table.properties
    assert props["projection.enabled"] == "true"
    assert props["projection.aws_account_id.type"] == "injected"
    assert props["projection.aws_region.values"] == "us-east-1,eu-west-1"
    if hive:
        assert props["projection.year.range"] == "2024,NOW" and props["projection.year.interval.unit"] == "YEARS"
        assert props["projection.month.range"] == "01,12" and props["projection.day.range"] == "01,31"
    else:
        assert props["projection.day.format"] == "yyyy/MM/dd" and props["projection.day.range"] == "2024/01/01,NOW"
    if hourly:
        assert (props["projection.hour.type"], props["projection.hour.range"], props["projection.hour.digits"]) == (
            "integer", "00,23", "2")

    day, hour = dt.date(2024, 2, 9), 7
    path = expand(table, {"aws_account_id": ACCOUNT, "aws_region": "eu-west-1", "year": day, "month": day.month,
                          "day": day.day if hive else day, "hour": hour})
    hour_part = (f"hour={hour:02d}/" if hive else f"{hour:02d}/") if hourly else ""  # reference section 3.3
    assert path == f"{BUCKET}/{prefix_for(ACCOUNT, 'eu-west-1', day, hive=hive)}{hour_part}"
    assert path.startswith(table.location)
    name = f"{ACCOUNT}_vpcflowlogs_eu-west-1_fl-0123456789abcdef0_20240209T{hour:02d}05Z_0a1b2c3d.log.gz"
    assert parse_key(path.removeprefix(BUCKET + "/") + name) == KeyInfo(
        ACCOUNT, "eu-west-1", day, hour, "fl-0123456789abcdef0", hive)
    if not (hive or hourly):
        key = aws_key(day="2024/02/09", region="eu-west-1", stamp="20240209T0705Z")
        assert f"{BUCKET}/{key}".startswith(path), "the reference's example key lies under the projected prefix"


def test_accounts_field_lists_and_table_name() -> None:
    all_fields = parse_ddl(athena.raw_ddl(BUCKET, ["us-east-1"], fields=athena.field_list("all"),
                                          accounts=[ACCOUNT, "210987654321"], table="flow_logs_all", start=START))
    ecs = ["ecs_cluster_arn", "ecs_cluster_name", "ecs_container_instance_arn", "ecs_container_instance_id",
           "ecs_container_id", "ecs_second_container_id", "ecs_service_name", "ecs_task_definition_arn",
           "ecs_task_arn", "ecs_task_id"]
    assert all_fields.name == "flow_logs_all"
    assert all_fields.columns == AWS_DDL + [(name, "string") for name in [*ecs, "reject_reason"]]
    assert all_fields.properties["projection.aws_account_id.type"] == "enum"
    assert all_fields.properties["projection.aws_account_id.values"] == f"{ACCOUNT},210987654321"
    assert expand(all_fields, {"aws_account_id": ACCOUNT, "aws_region": "us-east-1", "day": START}).startswith(
        f"{BUCKET}/AWSLogs/{ACCOUNT}/")

    custom = ("${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} "
              "${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} "
              "${start} ${end} ${action} ${tcp-flags} ${log-status}")  # an AWS custom format example
    types = dict(AWS_DDL)
    expected = [(name[2:-1].replace("-", "_"), types[name[2:-1].replace("-", "_")]) for name in custom.split()]
    assert parse_ddl(athena.raw_ddl(BUCKET, ["us-east-1"], fields=athena.field_list(custom), start=START)).columns \
        == expected
    assert athena.field_list("srcaddr, dstaddr,end") == ("srcaddr", "dstaddr", "end")
    for bad in ("srcaddr nosuchfield", "srcaddr srcaddr"):
        with pytest.raises(ValueError, match=r"nosuchfield|twice"):
            athena.field_list(bad)


def test_lake_table_matches_the_lake_files(sample_lake: Path) -> None:
    table = parse_ddl(athena.lake_ddl("s3://flow-bucket/copies/lake/", start=dt.date(2020, 5, 1)))
    parquet = {"INT32": "int", "INT64": "bigint", "BYTE_ARRAY": "string"}
    file = next((sample_lake / "flows").glob("date=*/*.parquet"))
    schema = pq.ParquetFile(file).schema
    assert table.name == "flows"
    assert table.columns == [
        (c.name, "timestamp" if "Timestamp" in str(c.logical_type) else parquet[c.physical_type])
        for c in (schema.column(i) for i in range(len(schema)))
    ]
    assert table.partitions == [("date", "date")]
    assert table.storage == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    assert table.location == "s3://flow-bucket/copies/lake/flows/"
    assert {k: v for k, v in table.properties.items() if k != "storage.location.template"} == {
        "projection.enabled": "true", "projection.date.type": "date", "projection.date.format": "yyyy-MM-dd",
        "projection.date.range": "2020-05-01,NOW", "projection.date.interval": "1",
        "projection.date.interval.unit": "DAYS"}
    for folder in (sample_lake / "flows").glob("date=*"):
        day = dt.date.fromisoformat(folder.name.removeprefix("date="))
        assert expand(table, {"date": day}) == f"s3://flow-bucket/copies/lake/{folder.relative_to(sample_lake)}/"


def test_ddl_on_the_command_line() -> None:
    raw = run_cli("athena", "ddl", "--location", BUCKET, "--regions", "us-east-1", "--accounts", ACCOUNT,
                  "--format", "parquet", "--hive", "--hourly", "--fields", "version,account-id srcaddr end",
                  "--start", "2024/03/05")
    assert raw.returncode == 0, raw.stderr.decode()
    table = parse_ddl(raw.stdout.decode())
    assert table.columns == [("version", "int"), ("account_id", "string"), ("srcaddr", "string"), ("end", "bigint")]
    assert table.properties["projection.year.range"] == "2024,NOW"
    assert "MSCK" not in raw.stdout.decode() and "ADD PARTITION" not in raw.stdout.decode()
    lake = run_cli("athena", "ddl", "--lake", "--location", "s3://flow-bucket/lake", "--table", "my_flows")
    assert lake.returncode == 0, lake.stderr.decode()
    assert parse_ddl(lake.stdout.decode()).name == "my_flows"
    assert parse_ddl(lake.stdout.decode()).properties["projection.date.range"] == f"{TODAY.year - 1}-01-01,NOW"


@pytest.mark.parametrize(("args", "message"), [
    (["--lake", "--location", BUCKET, "--hive"], "--lake tables take no --hive"),
    (["--location", f"{BUCKET}/AWSLogs", "--regions", "us-east-1"], "before AWSLogs/"),
])
def test_ddl_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = run_cli("athena", "ddl", *args)
    assert result.returncode == 2 and message in result.stderr.decode() and result.stdout == b""


def test_ddl_checks_its_inputs() -> None:
    for kwargs, message in [
        ({"regions": []}, "--regions"),
        ({"regions": ["us-east-1"], "accounts": ["12345"]}, "12-digit"),
        ({"regions": ["US East"]}, "not an AWS region"),
    ]:
        with pytest.raises(ValueError, match=message):
            athena.raw_ddl(BUCKET, start=START, **kwargs)
    with pytest.raises(ValueError, match="s3://"):
        athena.lake_ddl("/local/lake", start=START)


# -- Reports and rules as Athena SQL ------------------------------------------------------

ATHENA_END = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):
    """5,000 generated records over two days, every format, and an access log."""
    from test_reports import access_line, build, web_requests

    root = tmp_path_factory.mktemp("athena-reports")
    lake = build(root, {"records": 5_000, "days": 2, "end": ATHENA_END})
    log = root / "access.log"
    log.write_text("".join(access_line(request) + "\n" for request in web_requests(lake.records)))
    assert run_cli("ingest-weblogs", str(log), "--lake", str(lake.path)).returncode == 0
    return lake


def athena_assets() -> list:
    """The reports (the rules run with their inputs, below)."""
    from flowlake.engine import catalog

    return list(catalog.load("reports").values())


def as_athena_table(lake: Path):
    """A DuckDB connection where `"default"."flows"` is the lake's table as `flowlake athena ddl --lake` declares
    it on S3 (every file, the `date` partition), and `"default".web_logs` the lake's web logs."""
    con, _ = connect(Lake(lake), private=True)  # its tables are its own, not every connection's
    con.execute('create schema "default"')
    con.execute('create table "default".flows as select * from flows_all')
    con.execute('create table "default".web_logs as select * from web_logs_all')
    athena.install(con)
    return con


@pytest.mark.parametrize("asset", athena_assets(), ids=lambda a: a.name)
def test_every_asset_as_athena_sql_parses_and_gives_the_duckdb_answer(generated, asset) -> None:
    from flowlake.reports import bind, run
    from flowlake.timerange import TimeRange
    from test_reports import params

    ranges = [TimeRange(), TimeRange(ATHENA_END - dt.timedelta(hours=30), ATHENA_END - dt.timedelta(hours=3))]
    for when in ranges:
        duck, _ = connect(Lake(generated.path), when)
        values = bind(asset, params(asset.name, generated.records), duck, when)
        expected = run(duck, asset, values).read_all().to_pylist()
        sql = athena.asset_sql(asset, values, when)
        assert isinstance(sqlglot.parse_one(sql, read="athena"), exp.Query)
        assert '"default"."flows"' in sql
        assert not [p.name for p in asset.params if f"${p.name}" in sql or f":{p.name}" in sql]
        answer = as_athena_table(generated.path).sql(athena.to_duckdb(sql)).to_arrow_table().to_pylist()
        assert answer == expected if "order by" in asset.sql.lower() else sorted(map(str, answer)) == sorted(
            map(str, expected))
        assert expected or when, f"{asset.name} is empty on the test data: the comparison would prove nothing"


@pytest.fixture(scope="module")
def incidents(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(generated folder, lake): 20,000 records over three days, with every kind of incident in the last one."""
    from flowlake.generate import generate
    from flowlake.incidents import inject

    root = tmp_path_factory.mktemp("athena-rules")
    generate(root / "raw", records=20_000, seed=7, days=3, end=ATHENA_END)
    inject(root / "raw", seed=7, end=ATHENA_END)
    assert run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake")).returncode == 0
    return root / "raw", root / "lake"


def rule_inputs(raw: Path) -> list[Path]:
    from flowlake.incidents import RULE_INPUTS

    return [raw / RULE_INPUTS / name for name in ("c2.txt", "tor-exits.csv", "intents.yaml")]


def rules() -> list:
    from flowlake.engine import catalog

    return list(catalog.load("rules").values())


@pytest.mark.parametrize("rule", rules(), ids=lambda a: a.name)
def test_every_rule_as_athena_sql_parses_and_gives_the_duckdb_answer(incidents, rule) -> None:
    from flowlake import findings
    from flowlake.timerange import TimeRange

    raw, lake = incidents
    *lists, intents = rule_inputs(raw)
    inputs = findings.Inputs.read(lists, intents)
    detect_from = ATHENA_END - dt.timedelta(days=1)
    read = TimeRange(detect_from - dt.timedelta(days=2), ATHENA_END)
    values = findings.rule_params(rule, detect_from)
    duck, _ = connect(Lake(lake), read)
    inputs.install(duck)
    expected = duck.sql(rule.sql, params=values).to_arrow_table().to_pylist()
    assert expected, f"{rule.name} is empty on the test data: the comparison would prove nothing"
    sql = athena.asset_sql(rule, values, read, inputs=inputs)
    assert isinstance(sqlglot.parse_one(sql, read="athena"), exp.Query)
    assert '"default"."flows"' in sql and not [p.name for p in rule.params if f":{p.name}" in sql]
    answer = as_athena_table(lake).sql(athena.to_duckdb(sql)).to_arrow_table().to_pylist()
    assert sorted(map(str, answer)) == sorted(map(str, expected))


def test_athena_sql_of_a_rule_on_the_command_line(incidents) -> None:
    raw, lake = incidents
    c2, _, intents = rule_inputs(raw)
    done = run_cli("athena", "sql", "threat-list", "--from", "2026-11-26", "--to", "2026-11-26", "--baseline", "1d",
                   "--threat-list", str(c2), "--intents", str(intents))
    assert done.returncode == 0, done.stderr.decode()
    sql = done.stdout.decode()
    assert "CAST('2026-11-26 00:00:00' AS TIMESTAMP)" in sql and "CAST('2026-11-25' AS DATE)" in sql
    printed = {tuple(row[:2]) for row in as_athena_table(lake).execute(athena.to_duckdb(sql)).fetchall()}
    stored = run_cli("findings", "--lake", str(lake), "--from", "2026-11-26", "--to", "2026-11-26", "--rule",
                     "threat-list", "--threat-list", str(c2), "--no-store", "--format", "json")
    found = {(row["src"], row["dst"]) for row in json.loads(stored.stdout)}
    assert printed == found and found
    for args, message in ((["--to", "2026-11-26"], "needs --since or --from"),
                          (["--since", "1d", "--param", "x=1"], "takes no --param"),
                          (["--since", "1d", "--threat-list", str(intents)], "is not an address or CIDR")):
        bad = run_cli("athena", "sql", "threat-list", *args)
        assert bad.returncode == 2 and message in bad.stderr.decode(), bad.stderr.decode()


def test_athena_sql_on_the_command_line(generated) -> None:
    done = run_cli("athena", "sql", "top-talkers", "--limit", "3", "--from", "2026-11-25", "--to", "2026-11-26",
                   "--table", "vpc_lake", "--database", "network")
    assert done.returncode == 0, done.stderr.decode()
    sql = done.stdout.decode()
    assert '"network"."vpc_lake"' in sql and "LIMIT 3" in sql and "CAST('2026-11-25' AS DATE)" in sql
    con, _ = connect(Lake(generated.path), private=True)
    con.execute('create schema network')
    con.execute('create table network.vpc_lake as select * from flows_all')
    expected = con.execute("select srcaddr, sum(bytes) as bytes, sum(packets), count(*) from flows "
                           "where start_time >= '2026-11-25' and start_time < '2026-11-27' and srcaddr is not null "
                           "group by 1 order by 2 desc, 1 limit 3").fetchall()
    assert con.execute(athena.to_duckdb(sql)).fetchall() == expected


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no report or rule named 'nope'"),
    (["top-talkers", "--param", "nope=1"], "has no parameter nope"),
    (["top-talkers", "--param", "limit=ten"], "--param limit must be an integer"),
    (["traffic-from-source"], "needs --param src=..."),
    (["traffic-over-time"], "an `auto` bucket needs --from and --to"),
    (["top-talkers", "--table", "Flows-1"], "Athena table names are lowercase"),
    (["top-talkers", "--workgroup", "w"], "--workgroup goes with --run"),
    (["top-talkers", "--output", "s3://b/r", "--format", "json"], "--output, --format go with --run"),
    (["top-talkers", "--run", "--output", "results/athena"], "--output is an s3://bucket/prefix"),
])
def test_athena_sql_usage_errors_exit_2(args: list[str], message: str) -> None:
    done = run_cli("athena", "sql", *args, env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                                "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert done.returncode == 2 and message in done.stderr.decode(), done.stderr.decode()


def test_athena_sql_traffic_over_time_with_a_closed_range_picks_its_bucket() -> None:
    done = run_cli("athena", "sql", "traffic-over-time", "--from", "2026-11-20", "--to", "2026-11-26")
    assert done.returncode == 0 and "INTERVAL '1' HOUR" in done.stdout.decode()


# -- athena sql --run, against moto's Athena through the proxy ----------------------------

ATHENA_RESULTS = [("srcaddr", "varchar"), ("bytes", "bigint"), ("share", "double")]


def canned_results(aws, rows: list[tuple]) -> None:
    """What moto's Athena answers the next query with (it runs no SQL): the header row first, as Athena sends it."""
    columns = [{"Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN", "CaseSensitive": True,
                "CatalogName": "hive", "SchemaName": "", "TableName": "", "Precision": 0, "Scale": 0}
               for name, kind in ATHENA_RESULTS]
    data = [{"Data": [{"VarCharValue": name} for name, _ in ATHENA_RESULTS]}]
    data += [{"Data": [{} if v is None else {"VarCharValue": str(v)} for v in row]} for row in rows]
    request = urllib.request.Request(f"{aws.moto.url}/moto-api/static/athena/query-results", method="POST",
                                     data=json.dumps({"results": [{"rows": data, "column_info": columns}]}).encode(),
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=30).status == 201


def test_run_submits_the_printed_sql_and_prints_athenas_results(aws) -> None:
    canned_results(aws, [("10.0.0.1", 12_345_678_901, 0.5), ("10.0.0.2", 7, None)])
    printed = run_cli("athena", "sql", "top-talkers", "--limit", "2", "--database", "network")
    done = run_cli("athena", "sql", "top-talkers", "--limit", "2", "--database", "network", "--run", "--workgroup",
                   "primary", "--output", "s3://results-bucket/athena/", "--format", "json", env=aws.env)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == [{"srcaddr": "10.0.0.1", "bytes": 12_345_678_901, "share": 0.5},
                                       {"srcaddr": "10.0.0.2", "bytes": 7, "share": None}]
    [start] = aws.proxy.requests("StartQueryExecution")
    request = json.loads(start.body)
    assert request["QueryString"] == printed.stdout.decode()
    assert request["WorkGroup"] == "primary" and request["QueryExecutionContext"] == {"Database": "network"}
    assert request["ResultConfiguration"] == {"OutputLocation": "s3://results-bucket/athena/"}
    assert aws.proxy.requests("GetQueryExecution") and aws.proxy.requests("GetQueryResults")


def test_run_failed_query_exits_2_with_athenas_reason(aws) -> None:
    reason = "COLUMN_NOT_FOUND: line 1:8: Column 'srcaddr' cannot be resolved"

    def failed(exchange) -> bytes | None:
        if exchange.operation != "GetQueryExecution":
            return None
        query_id = json.loads(exchange.body)["QueryExecutionId"]
        return json.dumps({"QueryExecution": {"QueryExecutionId": query_id, "Status": {
            "State": "FAILED", "StateChangeReason": reason}}}).encode()

    aws.proxy.rewrite = failed
    done = run_cli("athena", "sql", "top-talkers", "--run", env=aws.env)
    assert done.returncode == 2
    assert done.stderr.decode().strip().endswith(f"failed: {reason}")
    assert not aws.proxy.requests("GetQueryResults")


def test_run_access_denied_names_the_permission(aws) -> None:
    aws.proxy.inject("denied", when=lambda e: e.operation == "StartQueryExecution")
    done = run_cli("athena", "sql", "top-talkers", "--run", env=aws.env)
    assert done.returncode == 2 and "athena:StartQueryExecution" in done.stderr.decode()
