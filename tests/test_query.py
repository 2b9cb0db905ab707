"""`flowlake query`: output formats, time options that prune partitions, SQL errors."""

from __future__ import annotations

import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from conftest import aws_key, run_cli, text_object, v2_line, write_object
from flowlake.engine.duckdb import connect
from flowlake.lake.store import Lake
from flowlake.timerange import TimeRange

DAY = 86_400
NOV27 = 1_795_737_600  # 2026-11-27T00:00:00Z


@pytest.fixture
def three_days(inbox: Path, lake: Path) -> Path:
    """100 records on each of 2026-11-26, -27 and -28."""
    for offset, day in enumerate(("26", "27", "28")):
        lines = [v2_line(i, start=NOV27 + (offset - 1) * DAY + 3600) for i in range(offset * 100, offset * 100 + 100)]
        write_object(inbox, aws_key(day=f"2026/11/{day}", stamp=f"202611{day}T0100Z"), text_object(lines))
    assert run_cli("ingest", str(inbox), "--lake", str(lake)).returncode == 0
    return lake


def q(lake: Path, sql: str, *args: str) -> list[dict]:
    result = run_cli("query", sql, "--lake", str(lake), "--format", "json", *args)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_json_is_one_array_of_row_objects(three_days: Path) -> None:
    assert q(three_days, "select count(*) n from flows") == [{"n": 300}]
    assert q(three_days, "select * from flows where false") == []


def test_other_formats(three_days: Path, tmp_path: Path) -> None:
    sql = "select dstport, count(*) n from flows group by 1"
    csv = run_cli("query", sql, "--lake", str(three_days), "--format", "csv").stdout.decode()
    assert csv.splitlines() == ['"dstport","n"', "443,300"]
    jsonl = run_cli("query", "select srcport from flows order by 1 limit 2", "--lake", str(three_days),
                    "--format", "jsonl").stdout.decode()
    assert [json.loads(line) for line in jsonl.splitlines()] == [{"srcport": 40000}, {"srcport": 40001}]
    table = pq.read_table(io.BytesIO(run_cli("query", sql, "--lake", str(three_days), "--format", "parquet").stdout))
    assert table.to_pylist() == [{"dstport": 443, "n": 300}]
    out = tmp_path / "out.csv"
    run_cli("query", sql, "--lake", str(three_days), "--format", "csv", "--output", str(out))
    assert out.read_text().splitlines()[1] == "443,300"
    pretty = run_cli("query", "select sum(bytes) bytes from flows", "--lake", str(three_days)).stdout.decode()
    assert re.search(r"│ \d+\.\d MB │", pretty) and "1 row" in pretty


def test_time_options_filter_and_prune(three_days: Path) -> None:
    assert q(three_days, "select count(*) n from flows", "--from", "2026-11-27") == [{"n": 200}]
    assert q(three_days, "select count(*) n from flows", "--from", "2026-11-27", "--to", "2026-11-27") == [{"n": 100}]
    assert q(three_days, "select count(*) n from flows", "--to", "2026-11-26T12:00Z") == [{"n": 100}]
    explain = run_cli("query", "select 1", "--lake", str(three_days), "--from", "2026-11-28", "--explain")
    assert "scanning 1 files" in explain.stderr.decode()
    assert q(three_days, "select count(*) n from flows", "--since", "1h") == [{"n": 0}]


def test_bad_time_options_and_bad_sql_exit_2(three_days: Path) -> None:
    bad_since = run_cli("query", "select 1", "--lake", str(three_days), "--since", "yesterday")
    assert bad_since.returncode == 2 and "not a duration" in bad_since.stderr.decode()
    bad_sql = run_cli("query", "select nope from flows", "--lake", str(three_days))
    assert bad_sql.returncode == 2 and "nope" in bad_sql.stderr.decode()


def test_connections_of_one_process_keep_their_own_views_and_variables(three_days: Path) -> None:
    """Every connection is a cursor on one shared database: the reference tables and macros are made once,
    while each one's range, views and variables stay its own, also across threads at once."""
    lake = Lake(three_days)
    days = {day: TimeRange.from_options(from_=f"2026-11-{day}", to=f"2026-11-{day}") for day in ("26", "27", "28")}
    wide, _ = connect(lake)
    narrow, _ = connect(lake, days["27"], where="srcport >= 40150")
    narrow.execute("create temp view mine as select 1 as x")
    assert wide.sql("select count(*) from flows").fetchall() == [(300,)]
    assert narrow.sql("select count(*) from flows").fetchall() == [(50,)]
    assert wide.sql("select count(*) from duckdb_views() where view_name = 'mine'").fetchall() == [(0,)]
    assert wide.sql("select getvariable('latest_start') > getvariable('first_start') + interval 2 day"
                    ).fetchall() == [(True,)]
    assert narrow.sql("select getvariable('latest_start') < getvariable('first_start') + interval 1 day"
                      ).fetchall() == [(True,)]
    assert narrow.sql("select protocol_name(6), is_private('10.1.2.3'), country('8.8.8.8')").fetchall() == [
        ("TCP", True, "US")]

    def count(day: str) -> tuple[str, list]:
        con, _ = connect(lake, days[day], rollups=True)
        try:
            return day, con.sql("select count(*), min(start_time)::date::varchar from flows").fetchall()
        finally:
            con.close()

    with ThreadPoolExecutor(3) as pool:
        answers = dict(pool.map(count, [day for day in days for _ in range(4)]))
    assert answers == {day: [(100, f"2026-11-{day}")] for day in days}
