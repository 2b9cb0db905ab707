"""The SQL console's sandbox: ordinary queries answer exactly as on an open connection; anything that
would write, reach a file outside the lake, load code or loosen the settings is refused with a message,
and the connection goes on answering."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.ingest import ingest
from flowlake.lake.store import Lake
from flowlake.sources.local import local_objects
from flowlake.web import sandbox
from flowlake.web.sandbox import SqlRefused, check, lock, position_of, run
from flowlake.weblogs import ingest_weblogs

SECRET = "canary-4d1f0c-not-for-the-console"
ACCESS_LOG = (
    '203.0.113.10 - - [27/Nov/2026:10:00:00 +0000] "GET /index.html HTTP/1.1" 200 5120 "-" "Mozilla/5.0"\n'
    '198.51.100.20 - - [27/Nov/2026:11:00:00 +0000] "GET /login HTTP/1.1" 404 12 "-" "curl/8.4.0"\n'
    '203.0.113.10 - - [28/Nov/2026:09:00:00 +0000] "POST /api HTTP/1.1" 500 0 "-" "Mozilla/5.0"\n'
)


@dataclass(frozen=True)
class World:
    lake: Path
    outside: Path
    """A folder beside the lake holding a secret text file and a secret Parquet file."""
    flows: int
    protocols: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("sandbox")
    lake = base / "lake"
    generate(base / "inbox", records=20_000, seed=1, days=2)
    assert ingest(Lake(lake), local_objects([str(base / "inbox")])).exit_code == 0
    (base / "www").mkdir()
    (base / "www" / "access.log").write_text(ACCESS_LOG)
    assert ingest_weblogs(Lake(lake), local_objects([str(base / "www")])).exit_code == 0
    assert list((lake / "web_logs").glob("date=*/*.parquet"))
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"name\n{SECRET}\n")
    pq.write_table(pa.table({"name": [SECRET]}), outside / "secret.parquet")
    con, _ = connect(Lake(lake))
    flows = con.execute("select count(*) from flows").fetchall()[0][0]
    protocols = con.execute("select count(*) from protocols").fetchall()[0][0]
    assert flows == 20_000 and protocols > 0
    return World(lake, outside, flows, protocols)


@pytest.fixture
def locked(world: World) -> duckdb.DuckDBPyConnection:
    con, _ = connect(Lake(world.lake), private=True)
    lock(con, world.lake)
    return con


def open_connection(world: World) -> duckdb.DuckDBPyConnection:
    return connect(Lake(world.lake), private=True)[0]


def still_answers(con: duckdb.DuckDBPyConnection, world: World) -> None:
    """The connection is intact: its views and tables are there, unchanged, and it answers."""
    result = run(con, "select (select count(*) from flows) as flows, (select count(*) from protocols) as protocols,"
                      " (select count(*) from vpc_flow_logs) as athena")
    assert result.table.to_pylist() == [{"flows": world.flows, "protocols": world.protocols, "athena": world.flows}]


# --- ordinary queries ---------------------------------------------------------------------------

ORDINARY = [
    "select count(*) from flows",
    "select count(*) as n, sum(bytes) as b from vpc_flow_logs",
    "select action, count(*) from traffic group by all order by all",
    "with t as (select action, protocol, count(*) as n from flows group by all)\n"
    "select * from t where n > 1 order by all",
    "select p.name, count(*) as n from flows f join protocols p on p.number = f.protocol group by all order by all",
    "select protocol_name(protocol) as p, port_name(dstport) as port, is_private(srcaddr) as private,"
    " is_ipv6(srcaddr) as v6, count(*) as n from traffic group by all order by all",
    "select status, path, count(*) from web_logs group by all order by all",
    "select * from ports order by all limit 5",
    "values (1, 'a'), (2, 'b')",
    "select 1 as a union all select 2 order by a",
    "pivot (select action, protocol from flows) on action in ('ACCEPT', 'REJECT') using count(*) order by protocol",
    "unpivot (select 1 as a, 2 as b) on a, b into name k value v order by k",
    "from range(3) select range * 2 as doubled",
    "select * from unnest([3, 1, 2]) as t(x) order by x",
    "with recursive t(n) as (select 1 union all select n + 1 from t where n < 5) select sum(n) from t",
    "select action, row_number() over (order by action) as r from (select distinct action from flows) order by r",
    "describe flows",
    "-- a comment first\nselect count(*) /* and inside */ from flows -- and after\n;",
    "select count(*) from flows;",
]


@pytest.mark.parametrize("sql", ORDINARY)
def test_ordinary_query_answers_as_on_an_open_connection(world: World, locked: duckdb.DuckDBPyConnection,
                                                         sql: str) -> None:
    expected = open_connection(world).execute(sql)
    names = [d[0] for d in expected.description]
    rows = expected.fetchall()
    result = run(locked, sql)
    assert [name for name, _ in result.columns] == names
    assert [tuple(r.values()) for r in result.table.to_pylist()] == rows
    assert not result.truncated
    assert rows  # every query above answers something


def test_result_has_duckdb_types_and_time(locked: duckdb.DuckDBPyConnection) -> None:
    result = run(locked, "select count(*) as n, any_value(start_time) as t, 'x' as s from flows")
    assert result.columns == [("n", "BIGINT"), ("t", "TIMESTAMP WITH TIME ZONE"), ("s", "VARCHAR")]
    assert result.table.column_names == ["n", "t", "s"]
    assert 0 < result.elapsed < 5


def test_parameters_are_bound(world: World, locked: duckdb.DuckDBPyConnection) -> None:
    sql = "select count(*) from flows where action = $action"
    expected = open_connection(world).execute(sql, {"action": "REJECT"}).fetchall()[0][0]
    assert 0 < expected < world.flows
    assert run(locked, sql, params={"action": "REJECT"}).table.column(0).to_pylist() == [expected]


def test_lock_keeps_the_lake_views_working(world: World) -> None:
    con = open_connection(world)
    queries = ["select count(*), sum(bytes) from flows", "select count(*) from flows_all",
               "select count(*), min(time) from web_logs", "select count(*) from traffic"]
    before = [con.execute(q).fetchall() for q in queries]
    lock(con, world.lake)
    assert [con.execute(q).fetchall() for q in queries] == before
    assert before[2][0][0] == 3  # the web_logs view reads real files under LAKE/web_logs/


def test_lock_refuses_the_shared_database_and_leaves_it_open(world: World, locked: duckdb.DuckDBPyConnection) -> None:
    """The sandbox's settings are a database's: locking the process's shared one would lock every connection."""
    shared, _ = connect(Lake(world.lake))
    with pytest.raises(RuntimeError, match="private=True"):
        lock(shared, world.lake)
    assert run(locked, "select count(*) from flows").table.column(0).to_pylist() == [world.flows]
    again, _ = connect(Lake(world.lake))
    assert again.execute("select current_setting('enable_external_access'), count(*) from flows").fetchall() == [
        (True, world.flows)]
    assert again.execute(f"select count(*) from read_csv('{world.outside / 'secret.txt'}')").fetchall() == [(1,)]


def test_lock_with_a_relative_lake_path(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(world.lake.parent)
    con, _ = connect(Lake(Path(world.lake.name)), private=True)
    lock(con, Path(world.lake.name), threads=1, memory_limit="500MB")
    assert run(con, "select count(*) from flows").table.column(0).to_pylist() == [world.flows]
    assert con.execute("select current_setting('threads')").fetchall() == [(1,)]


# --- what is refused ------------------------------------------------------------------------------

HOSTILE = [
    # files outside the lake, by every reader
    ("select * from read_csv('{outside}/secret.txt')", "reads files"),
    ("select * from read_csv_auto('{outside}/secret.txt')", "reads files"),
    ("select * from read_text('{outside}/secret.txt')", "reads files"),
    ("select content from read_blob('{outside}/secret.txt')", "reads files"),
    ("select * from read_json('{outside}/secret.txt')", "reads files"),
    ("select * from glob('{outside}/*')", "reads files"),
    ("select * from read_parquet('{outside}/secret.parquet')", "reads files"),
    ("select * from parquet_scan('{outside}/secret.parquet')", "reads files"),
    ("select * from parquet_metadata('{outside}/secret.parquet')", "reads files"),
    ("select * from sniff_csv('{outside}/secret.txt')", "reads files"),
    ("select * from read_text('{lake}/flows/../../outside/secret.txt')", "reads files"),
    ("select * from read_parquet('{lake}/flows/*/*.parquet')", "reads files"),
    ("select * from '{outside}/secret.txt'", "reads only the lake's tables"),
    ("select * from '{outside}/secret.parquet'", "reads only the lake's tables"),
    # statements other than SELECT
    ("copy (select * from flows) to '{outside}/out.csv'", "only SELECT"),
    ("copy protocols from '{outside}/secret.txt'", "only SELECT"),
    ("export database '{outside}/export'", "only SELECT"),
    ("import database '{outside}'", "only SELECT"),
    ("attach ':memory:' as other", "only SELECT"),
    ("attach '{outside}/other.db' as other", "only SELECT"),
    ("detach memory", "only SELECT"),
    ("install httpfs", "only SELECT"),
    ("load httpfs", "only SELECT"),
    ("load '{outside}/evil.duckdb_extension'", "only SELECT"),
    ("update extensions", "only SELECT"),
    ("set enable_external_access = true", "only SELECT"),
    ("set lock_configuration = false", "only SELECT"),
    ("set memory_limit = '100GB'", "only SELECT"),
    ("reset enable_external_access", "only SELECT"),
    ("reset threads", "only SELECT"),
    ("set variable x = 1", "only SELECT"),
    ("pragma version", "only SELECT"),
    ("pragma enable_profiling", "only SELECT"),
    ("call pragma_version()", "only SELECT"),
    ("create table t as select 1", "only SELECT"),
    ("create temp view v as select 1", "only SELECT"),
    ("create macro m() as 1", "only SELECT"),
    ("create secret (type s3, key_id 'a', secret 'b')", "only SELECT"),
    ("drop view flows", "only SELECT"),
    ("drop table protocols", "only SELECT"),
    ("alter view flows rename to gone", "only SELECT"),
    ("insert into protocols select * from protocols", "only SELECT"),
    ("update protocols set name = 'x'", "only SELECT"),
    ("delete from protocols", "only SELECT"),
    ("truncate protocols", "only SELECT"),
    ("use memory", "only SELECT"),
    ("checkpoint", "only SELECT"),
    ("vacuum", "only SELECT"),
    ("analyze", "only SELECT"),
    ("begin transaction", "only SELECT"),
    ("prepare p as select 1", "only SELECT"),
    ("explain select 1", "EXPLAIN"),
    ("explain analyze select count(*) from flows", "EXPLAIN"),
    ("pivot flows on action using count(*)", "PIVOT"),
    # statements smuggled inside a SELECT
    ("select * from query('select * from flows')", "runs SQL given as a string"),
    ("select count(*) from query_table('flows')", "runs SQL given as a string"),
    ("select * from json_execute_serialized_sql(json_serialize_sql('select 1'))", "runs SQL given as a string"),
    ("with gone as (delete from protocols returning *) select count(*) from gone", "only reads"),
    ("with added as (insert into protocols select * from protocols returning *) select count(*) from added",
     "only reads"),
    ("with changed as (update protocols set name = 'x' returning *) select count(*) from changed", "only reads"),
    ("select 1; select 2", "one statement at a time"),
    ("select 1; drop view flows", "one statement at a time"),
    ("select 1;\n-- and then\ncopy (select 1) to '{outside}/out.csv'", "one statement at a time"),
    # table functions that change state, read memory or tell secrets
    ("select * from arrow_scan(1, 2, 3)", "not available"),
    ("select * from checkpoint()", "not available"),
    ("select * from enable_profiling()", "not available"),
    ("select * from duckdb_secrets()", "not available"),
    ("select * from duckdb_settings()", "not available"),
    ("select write_log('x')", "changes state"),
    # nothing at all
    ("", "no SQL"),
    ("-- just a comment", "no SQL"),
]


@pytest.mark.parametrize(("template", "says"), HOSTILE, ids=[t for t, _ in HOSTILE])
def test_hostile_sql_is_refused(world: World, locked: duckdb.DuckDBPyConnection, template: str, says: str) -> None:
    sql = template.format(outside=world.outside, lake=world.lake)
    before = sorted(p.name for p in world.outside.iterdir())
    with pytest.raises(SqlRefused) as refused:
        run(locked, sql)
    assert says in str(refused.value)
    assert SECRET not in str(refused.value)
    assert sorted(p.name for p in world.outside.iterdir()) == before  # nothing written beside the lake
    still_answers(locked, world)


def test_refusals_leave_one_connection_intact(world: World, locked: duckdb.DuckDBPyConnection) -> None:
    """Every hostile statement in turn on the same connection: none leaves anything behind."""
    for template, _ in HOSTILE:
        with pytest.raises(SqlRefused):
            run(locked, template.format(outside=world.outside, lake=world.lake))
    still_answers(locked, world)
    assert run(locked, "select count(*) from duckdb_views() where not internal").table.column(0).to_pylist() \
        == [open_connection(world).execute("select count(*) from duckdb_views() where not internal").fetchall()[0][0]]


def test_check_refuses_on_any_connection() -> None:
    """The saved-query path checks on a bare connection, without the views or the lock."""
    bare = duckdb.connect()
    assert check(bare, "select 1 -- fine\n;") == "select 1 -- fine\n;"
    for template, says in HOSTILE:
        if "lake's tables" in says:
            continue  # a file named as a table is stopped when DuckDB binds it, on the locked connection
        with pytest.raises(SqlRefused):
            check(bare, template.format(outside="outside", lake="lake"))


# --- the lock on its own: what holds even if the check let something through -------------------

@pytest.mark.parametrize("sql", [
    "select * from read_csv('{outside}/secret.txt')",
    "select * from read_text('{outside}/secret.txt')",
    "select * from read_blob('{outside}/secret.txt')",
    "select * from read_parquet('{outside}/secret.parquet')",
    "select * from glob('{outside}/*')",
    "select * from read_text('{lake}/flows/../../outside/secret.txt')",
    "select * from read_text('{lake}/_flowlake/ledger.sqlite')",
    "copy (select 1) to '{outside}/out.csv'",
    "export database '{outside}/export'",
    "attach '{outside}/other.db' as other",
    "install httpfs",
    "load httpfs",
])
def test_lock_alone_stops_files_and_extensions(world: World, locked: duckdb.DuckDBPyConnection, sql: str) -> None:
    before = sorted(p.name for p in world.outside.iterdir())
    with pytest.raises(duckdb.PermissionException) as refused:
        locked.execute(sql.format(outside=world.outside, lake=world.lake)).fetchall()
    assert SECRET not in str(refused.value)
    assert sorted(p.name for p in world.outside.iterdir()) == before
    assert locked.execute("select count(*) from flows").fetchall() == [(world.flows,)]


@pytest.mark.parametrize("sql", [
    "set enable_external_access = true",
    "reset enable_external_access",
    "set lock_configuration = false",
    "set allowed_directories = ['/']",
    "set python_enable_replacements = true",
    "set autoload_known_extensions = true",
    "set memory_limit = '100GB'",
    "set temp_directory = '.tmp'",
    "set errors_as_json = false",
])
def test_lock_configuration_holds(locked: duckdb.DuckDBPyConnection, sql: str) -> None:
    with pytest.raises(duckdb.Error, match=r"locked|disabled"):
        locked.execute(sql)
    assert locked.execute("select current_setting('enable_external_access'), current_setting('lock_configuration'),"
                          " current_setting('python_enable_replacements')").fetchall() == [(False, True, False)]


def test_lock_settings(world: World, locked: duckdb.DuckDBPyConnection) -> None:
    settings = dict(locked.execute("select name, value from duckdb_settings()").fetchall())
    root = world.lake.resolve()
    assert sorted(settings["allowed_directories"].strip("[]").split(", ")) == [f"{root}/findings/", f"{root}/flows/",
                                                                                 f"{root}/web_logs/"]
    assert settings["temp_directory"] == ""
    assert settings["enable_external_access"] == "false"
    assert settings["autoinstall_known_extensions"] == settings["autoload_known_extensions"] == "false"
    assert settings["allow_community_extensions"] == "false"
    assert settings["errors_as_json"] == "true"
    assert settings["lock_configuration"] == "true"
    assert settings["memory_limit"] == "1.8 GiB"  # 2 GB


def test_python_variables_are_not_tables(world: World) -> None:
    leaked_rows = pa.table({"name": [SECRET]})  # noqa: F841 - what a replacement scan would find
    open_con = open_connection(world)
    assert open_con.sql("select * from leaked_rows").fetchall() == [(SECRET,)]  # DuckDB's default
    lock(open_con, world.lake)
    with pytest.raises(duckdb.CatalogException):
        open_con.sql("select * from leaked_rows").fetchall()


def test_run_needs_a_locked_connection(world: World) -> None:
    with pytest.raises(RuntimeError, match="lock"):
        run(open_connection(world), "select 1")


def test_lock_twice_is_harmless(world: World, locked: duckdb.DuckDBPyConnection) -> None:
    lock(locked, world.lake)
    assert run(locked, "select count(*) from flows").table.column(0).to_pylist() == [world.flows]


def test_a_write_the_check_missed_is_rolled_back(world: World, locked: duckdb.DuckDBPyConnection,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: each query runs in a read-only transaction that is rolled back. The reference tables
    are the database's (not the connection's), so a write to them is refused outright; a write to one of the
    connection's own temporary tables is undone."""
    monkeypatch.setattr(sandbox, "check", lambda con, sql: sql)
    with pytest.raises(SqlRefused, match="read-only"):
        run(locked, "with gone as (delete from protocols returning *) select count(*) as n from gone")
    assert locked.execute("select count(*) from protocols").fetchall() == [(world.protocols,)]
    locked.execute("create temp table scratch as select range as x from range(3)")
    result = run(locked, "with gone as (delete from scratch returning *) select count(*) as n from gone")
    assert result.table.to_pylist() == [{"n": 3}]
    assert locked.execute("select count(*) from scratch").fetchall() == [(3,)]


def test_a_file_the_check_missed_is_refused_by_the_lock(world: World, locked: duckdb.DuckDBPyConnection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "check", lambda con, sql: sql)
    sql = f"select * from read_text('{world.outside}/secret.txt')"
    with pytest.raises(SqlRefused) as refused:
        run(locked, sql)
    message = str(refused.value)
    assert message.startswith("the SQL console reads only the lake's tables (flows, traffic, vpc_flow_logs, "
                              "web_logs, protocols, ports, findings)")
    assert "Permission" in message and SECRET not in message
    assert refused.value.location == {"offset": 14, "line": 1, "column": 15}


# --- limits ---------------------------------------------------------------------------------------

def test_row_limit(locked: duckdb.DuckDBPyConnection) -> None:
    result = run(locked, "select * from range(100000)", limit=10)
    assert result.table.column("range").to_pylist() == list(range(10))
    assert result.truncated
    exact = run(locked, "select * from range(10)", limit=10)
    assert exact.table.num_rows == 10 and not exact.truncated
    none = run(locked, "select * from range(10)", limit=0)
    assert none.table.num_rows == 0 and none.truncated and none.table.column_names == ["range"]


def test_row_limit_streams(locked: duckdb.DuckDBPyConnection) -> None:
    """Ten billion rows would take minutes and 80 GB to hold: only the first few are ever made."""
    began = time.perf_counter()
    result = run(locked, "select range as n, range * 2 as twice from range(10000000000)", limit=5, timeout=20)
    assert time.perf_counter() - began < 5
    assert result.table.to_pylist()[-1] == {"n": 4, "twice": 8}
    assert result.truncated
    assert run(locked, "select 42 as x").table.to_pylist() == [{"x": 42}]


@pytest.mark.parametrize("sql", [
    "select count(*) from range(100000000) a, range(100000) b",
    "select sleep_ms(20000)",
])
def test_time_limit(world: World, locked: duckdb.DuckDBPyConnection, sql: str) -> None:
    began = time.perf_counter()
    with pytest.raises(SqlRefused, match=r"query stopped after 0\.5 s \(the limit\)"):
        run(locked, sql, timeout=0.5)
    assert time.perf_counter() - began < 4
    still_answers(locked, world)


# --- error positions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "mentions", "line", "column"), [
    ("select nosuchcolumn from flows", "nosuchcolumn", 1, 8),
    ("select from where", "where", 1, 13),
    ("select\n  srcaddr,\n  nosuchcolumn\nfrom flows", "nosuchcolumn", 3, 3),
    ("select srcaddr\nfrom flows\nwhere bytes >\n  order by 1", "order", 4, 3),
    ("select * from nosuchtable", "nosuchtable", 1, 15),
    ("select 'é漢字', nosuchcolumn from flows", "nosuchcolumn", 1, 15),
    ("select cast('x' as integer)", "Conversion", 1, 8),
    ("select 1;\n  select 2", "one statement", 2, 3),
    ("with t as (select 1)\nselect * from read_text('notes.txt')", "reads files", 2, 15),
    ("-- first\ncopy flows to 'x.csv'", "only SELECT", 2, 1),
    ("select\n  1 as a,\n  write_log('x')", "changes state", 3, 3),
])
def test_error_positions(locked: duckdb.DuckDBPyConnection, sql: str, mentions: str, line: int, column: int) -> None:
    with pytest.raises(SqlRefused) as refused:
        run(locked, sql)
    assert mentions in str(refused.value)
    lines = sql.split("\n")
    offset = sum(len(text) + 1 for text in lines[:line - 1]) + column - 1
    assert refused.value.position == offset
    assert refused.value.location == {"offset": offset, "line": line, "column": column}
    assert position_of(refused.value, sql) == refused.value.location


def test_check_gives_parse_positions_on_a_bare_connection() -> None:
    with pytest.raises(SqlRefused) as refused:
        check(duckdb.connect(), "select 1,\n  from where")
    assert refused.value.location == {"offset": 17, "line": 2, "column": 8}


LONG = "select " + ", ".join(f"c{i}" for i in range(40))
PLAIN_ERRORS = [
    ("select nosuch from t", "nosuch from t"),
    ("select c0,\n  nosuch\nfrom t", "nosuch\nfrom t"),
    (LONG + ", nosuch from t", "nosuch from t"),  # the excerpt is cut at its start
    ("select nosuch, " + ", ".join(f"c{i}" for i in range(40)) + " from t", "nosuch, c0"),  # ... at its end
    (LONG + ", nosuch, " + ", ".join(f"c{i}" for i in range(40)) + " from t", "nosuch, c0"),  # ... at both
    ("select 'é漢字😀', nosuch from t", "nosuch from t"),  # wide characters take two columns of the excerpt
    ("select c0 from t where c1 = 'ü' and\n c2 >", ">"),
    ("select from where", "where"),
]


@pytest.mark.parametrize(("sql", "at"), PLAIN_ERRORS)
def test_position_of_reads_plain_duckdb_errors(sql: str, at: str) -> None:
    """On a connection without JSON errors, the "LINE n:" excerpt and its caret give the same position
    as DuckDB's JSON error does."""
    table = "create table t as select " + ", ".join(f"1 as c{i}" for i in range(40))
    plain, as_json = duckdb.connect(), duckdb.connect()
    plain.execute(table)
    as_json.execute(table)
    as_json.execute("set errors_as_json = true")
    with pytest.raises(duckdb.Error) as plain_error:
        plain.execute(sql)
    with pytest.raises(duckdb.Error) as json_error:
        as_json.execute(sql)
    assert "LINE " in str(plain_error.value) and '"position"' in str(json_error.value)
    expected = position_of(json_error.value, sql)
    assert expected is not None and sql[expected["offset"]:].startswith(at)
    assert position_of(plain_error.value, sql) == expected
    assert position_of(str(plain_error.value), sql) == expected


def test_position_of_without_a_position() -> None:
    assert position_of("Invalid Input Error: something", "select 1") is None
    assert position_of(SqlRefused("no SQL to run"), "") is None
