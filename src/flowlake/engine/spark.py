"""Spark over the lake: the views engine/duckdb.py's `connect()` makes, for the same SQL files.

The `flows` view reads exactly the ledger's live files for the range (the same selection DuckDB
reads), `traffic`, `web_logs` and `vpc_flow_logs` are the same SELECTs, and SQL reaches Spark
through engine/dialects.py, so a report or a rule is written once, in DuckDB's SQL. pyspark is an
optional extra (`pip install flowlake[spark]`); nothing here imports it until a session starts.
A local session listens on loopback only: it has no business on the network.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv

from flowlake import enrich
from flowlake.engine import EngineSQLError
from flowlake.engine.dialects import SQLTranslationError, translate
from flowlake.engine.duckdb import TRAFFIC, VPC_FLOW_LOGS, Scan, live_files, setup, time_conditions
from flowlake.lake.ledger import FileEntry
from flowlake.lake.store import FLOWS_DIR, Lake
from flowlake.schema import PARTITION_COLUMN, lake_schema
from flowlake.timerange import TimeRange
from flowlake.weblogs import WEB_LOGS_DIR, WEB_LOGS_SCHEMA

DEFAULT_MASTER = "local[*]"

SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
}
"""Every session's settings: no web UI or progress bars, and UTC as DuckDB's sessions."""

LOCAL = {
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
}
"""Local mode's: the driver on loopback, and a handful of shuffle partitions, not the cluster default of 200.
(On a cluster the executors must reach the driver, so there Spark's own choice of address stands.)"""


ENRICHMENT = {"ip_int": "decimal(38,0)", "country": "string", "country_name": "string", "as_name": "string",
              "aws_service": "string", "addr_class": "string"}
"""DuckDB's enrichment macros, and `ip_int` they are built on, as Spark functions: Arrow UDFs that put each batch
of addresses through the same macro in a DuckDB connection of the Python worker, over the same ranges
(flowlake.enrich) and the lake's ip-ranges.json, so both engines give one answer. Spark has no unsigned 128-bit
integer: its `ip_int` is a decimal(38,0), NULL for IPv6 addresses from 4b3b:4ca8:5a86:c47a:98a:224:: up
(10^38), among them fc00::/7 and fe80::/10."""


class SparkUnavailable(RuntimeError):
    """pyspark or Java is missing."""


def session(master: str = DEFAULT_MASTER) -> Any:
    """The process's SparkSession (started on first use) for `master`."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailable("--engine spark needs pyspark: install flowlake[spark]") from None
    if not _java():
        raise SparkUnavailable("--engine spark needs Java 17 or later on PATH or in JAVA_HOME "
                               "(Debian: apt-get install openjdk-17-jre-headless)")
    local = master.startswith("local")
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # tasks run flowlake's code: this interpreter's
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # pyspark logs each SQL error's stack
    builder = SparkSession.builder.master(master).appName("flowlake")
    with resources.as_file(resources.files("flowlake") / "engine" / "log4j2.properties") as log_config:
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config}")
    for key, value in {**SETTINGS, **(LOCAL if local else {})}.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # pyspark's note on pandas' version, not ours
        return builder.getOrCreate()


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    return str(Path(home) / "bin" / "java") if home and (Path(home) / "bin" / "java").exists() else shutil.which("java")


@dataclass
class Result:
    """A Spark answer, offered as the DuckDB relation the commands read (`fetchall`, `to_arrow_reader`)."""

    frame: Any

    def fetchall(self) -> list[tuple]:
        """The rows, through Arrow: timestamps in UTC, as DuckDB's (`collect` makes them naive local times)."""
        table = self.arrow()
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def to_arrow_reader(self, batch_size: int) -> pa.RecordBatchReader:
        return self.arrow().to_reader(max_chunksize=batch_size)

    def arrow(self) -> pa.Table:
        """The answer as Arrow. Spark hands the whole answer to the driver: reports' answers are small, and a
        query that selects every record should write with `--format parquet` on DuckDB instead."""
        return call(lambda: self.frame.toArrow())


class SparkConnection:
    """A Spark session with the lake's views: `execute` and `sql` take DuckDB SQL, as a DuckDB connection does."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark

    def sql(self, text: str, params: dict | None = None) -> Result:
        try:
            spark_sql = translate(text, "spark", functions=frozenset(ENRICHMENT))
        except SQLTranslationError as exc:
            raise EngineSQLError(str(exc)) from None
        return Result(call(lambda: self.spark.sql(spark_sql, args=params or None)))

    execute = sql

    def register(self, name: str, table: pa.Table) -> None:
        """An Arrow table as the temp view `name`, as DuckDB's `register` makes one."""
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def view(self, name: str, duckdb_select: str) -> None:
        self.sql(duckdb_select).frame.createOrReplaceTempView(name)


def connect(lake: Lake, when: TimeRange | None = None, where: str | None = None,
            master: str = DEFAULT_MASTER) -> tuple[SparkConnection, Scan]:
    """A Spark session of its own (its own views) with `flows`, `traffic`, `web_logs`, `vpc_flow_logs` and the
    reference tables, as engine/duckdb.py's `connect` makes them; `where` is DuckDB SQL, as there."""
    when = when or TimeRange()
    files, web_files = live_files(lake, when)
    con = SparkConnection(session(master).newSession())
    package = resources.files("flowlake")
    for table in ("protocols", "ports"):
        with resources.as_file(package / "reference" / f"{table}.csv") as path:
            con.spark.createDataFrame(pyarrow.csv.read_csv(path)).createOrReplaceTempView(table)
    _enrichment(con, lake)
    _views(con, FLOWS_DIR, lake, files, lake_schema(), time_conditions("start_time", when))
    if where:
        con.view("flows_in_range", "select * from flows")
        con.view("flows", f"select * from flows_in_range where {where}")
    _views(con, WEB_LOGS_DIR, lake, web_files, WEB_LOGS_SCHEMA, time_conditions("time", when))
    con.view("vpc_flow_logs", VPC_FLOW_LOGS)
    con.view("traffic", TRAFFIC)
    return con, Scan(len(files), sum(f.bytes for f in files), sum(f.rows for f in files))


def _enrichment(con: SparkConnection, lake: Lake) -> None:
    from pyspark.sql.functions import arrow_udf

    for name, kind in ENRICHMENT.items():
        con.spark.udf.register(name, arrow_udf(_udf(name, str(lake.root)), kind))


def _udf(name: str, lake_root: str) -> Callable[[pa.Array], pa.Array]:
    """A scalar Arrow UDF (pyspark reads the kind from the type hints)."""

    def function(addresses: pa.Array) -> pa.Array:
        return enriched(name, lake_root, addresses)

    return function


def enriched(name: str, lake_root: str, addresses: pa.Array) -> pa.Array:
    """The macro `name` of each address, computed by DuckDB (in Spark's Python workers); in the addresses' order,
    which the macros' lookups (joins) do not keep by themselves."""
    value = f"try_cast({name}(a) as decimal(38, 0))" if name == "ip_int" else f"{name}(a)"
    con = _enricher(lake_root)
    con.register("addresses", pa.table({"i": pa.array(range(len(addresses)), pa.int64()), "a": addresses}))
    try:
        return con.sql(f"select {value} from addresses order by i").to_arrow_table().column(0).combine_chunks()
    finally:
        con.unregister("addresses")


@functools.cache
def _enricher(lake_root: str) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    setup(con)
    enrich.install(con, Path(lake_root))
    return con


def _views(con: SparkConnection, table: str, lake: Lake, files: list[FileEntry], schema: pa.Schema,
           conditions: list[str]) -> None:
    """`{table}_all` over exactly `files` (the lake's folder of the same name), its partition column from their
    folders (with none, empty with the table's columns), and `{table}`: its rows meeting `conditions`."""
    if files:
        reader = (con.spark.read.option("basePath", str(lake.root / table))
                  .option("mergeSchema", any(f.extra for f in files)))
        frame = call(lambda: reader.parquet(*(str(lake.root / f.path) for f in files)))
    else:
        empty = schema.append(pa.field(PARTITION_COLUMN, pa.date32())).empty_table()
        frame = con.spark.createDataFrame(empty)
    frame.createOrReplaceTempView(f"{table}_all")
    con.view(table, f"select * from {table}_all" + (" where " + " and ".join(conditions) if conditions else ""))


def call(step: Any) -> Any:
    """Run a Spark call, its refusals (and a failed job) as EngineSQLError with Spark's first line."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    try:
        return step()
    except PySparkException as exc:
        raise EngineSQLError(str(exc).strip().splitlines()[0]) from None
    except Py4JError as exc:
        raise EngineSQLError(_first_line(exc)) from None


def _first_line(exc: Exception) -> str:
    lines: Iterator[str] = (line.strip() for line in str(exc).splitlines())
    return next((line for line in lines if line and not line.startswith("An error occurred")), str(exc))
