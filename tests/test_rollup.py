"""Rollups: the rollup views answer exactly what the records answer, whatever has been rolled up,
and a crashed build, late data and compaction never make them disagree."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import run_cli
from flowlake.engine.duckdb import connect
from flowlake.generate import generate
from flowlake.lake import rollup
from flowlake.lake.store import Lake
from flowlake.timerange import TimeRange

END = datetime(2026, 11, 27, tzinfo=UTC)
RANGES = [TimeRange(), TimeRange(datetime(2026, 11, 25, tzinfo=UTC), END),
          TimeRange(datetime(2026, 11, 25, 13, 7, tzinfo=UTC), datetime(2026, 11, 26, 5, 1, tzinfo=UTC))]
"""Everything, whole days (answered from rollups), and a range that cuts files (answered from records)."""
QUESTIONS = {
    "sources": ("select srcaddr, action, sum(bytes), sum(packets), count(*) from traffic group by all",
                "select srcaddr, action, sum(bytes), sum(packets), sum(flows) from rollup_sources group by all"),
    "pairs": ("select srcaddr, dstaddr, sum(bytes) from traffic group by all",
              "select srcaddr, dstaddr, sum(bytes) from rollup_pairs group by all"),
    "totals": ("select \"start\" - \"start\" % 300, log_status, protocol, sum(bytes), count(*) from flows group by all",
               "select t, log_status, protocol, sum(bytes), sum(flows) from rollup_totals group by all"),
    "interfaces": ("select flow_log_id, interface_id, max(end_time) from flows group by all",
                   "select flow_log_id, interface_id, max(last_end) from rollup_interfaces group by all"),
}


def agree(lake: Lake) -> None:
    for when in RANGES:
        con, _ = connect(lake, when, rollups=True)
        for name, (records, rolled) in QUESTIONS.items():
            expected = sorted(con.sql(records).fetchall(), key=repr)
            assert expected, f"{name} is empty: the comparison would prove nothing"
            assert sorted(con.sql(rolled).fetchall(), key=repr) == expected, (name, when)


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    generate(tmp_path / "raw", records=20_000, seed=5, days=3, end=END)
    assert run_cli("ingest", str(tmp_path / "raw"), "--lake", str(tmp_path / "lake")).returncode == 0
    return Lake(tmp_path / "lake")


def test_rollups_answer_as_the_records_do_before_and_after_they_are_built(lake: Lake) -> None:
    agree(lake)
    waiting = rollup.pending(lake)
    assert waiting
    result = run_cli("rollup", "--lake", str(lake.root))
    assert result.returncode == 0 and b"rolled up" in result.stderr
    assert not rollup.pending(lake)
    agree(lake)
    con, _ = connect(lake, RANGES[1], rollups=True)
    views = con.sql("select sql from duckdb_views() where view_name = 'rollup_sources'").fetchall()[0][0]
    assert "sources.parquet" in views, "whole days must be read from their rollups"


def test_a_build_that_crashed_leaves_nothing_a_reader_uses(lake: Lake) -> None:
    entry = rollup.pending(lake)[0]
    half = rollup.folder(lake, entry).with_name(rollup.folder(lake, entry).name + ".tmp")
    half.mkdir(parents=True)
    (half / "sources.parquet").write_bytes(b"PAR1 torn")
    agree(lake)  # the torn folder is not a rollup: readers take the records
    rollup.build_all(lake)
    assert not half.exists() and rollup.folder(lake, entry).is_dir()
    agree(lake)


def test_late_data_and_compaction_keep_rollups_in_step(lake: Lake, tmp_path: Path) -> None:
    rollup.build_all(lake)
    generate(tmp_path / "late", records=3_000, seed=6, days=1, end=END)  # more records for a closed day
    assert run_cli("ingest", str(tmp_path / "late"), "--lake", str(lake.root)).returncode == 0
    agree(lake)  # the new files have no rollups yet: their records answer
    rollup.build_all(lake)
    assert not rollup.pending(lake)
    agree(lake)
    built = {p.parent for p in rollup.root(lake).rglob("sources.parquet")}
    ledger = lake.reader()
    live = {rollup.folder(lake, e) for e in ledger.live_files()}
    ledger.close()
    assert built <= live, "rollups of replaced files are removed"


def test_changed_definitions_are_rebuilt_not_mixed(lake: Lake) -> None:
    rollup.build_all(lake)
    stale = rollup.root(lake).parent / "0123456789ab"
    shutil.copytree(rollup.root(lake), stale)
    rollup.build_all(lake)
    assert not stale.exists()


def test_each_pairs_rollup_is_sorted_by_its_pair_hashes_bytes(lake: Lake) -> None:
    """What the top pairs count on (engine/rewrite.py): on every row of a file's pairs rollup, `pair_bytes` is
    its hash's bytes in that file (`pkt_pair_bytes` its packet-level hash's), and the rows come largest first
    (so the largest are read first); the rows of the files a range cuts are one part, with both over those
    rows."""
    assert rollup.build_all(lake) > 0
    built = sorted((lake.root / "_flowlake" / "rollups").rglob("pairs.parquet"))
    con, _ = connect(lake, RANGES[2], rollups=True)
    assert built and con.execute("select getvariable('rollup_parts')").fetchall() == [(1,)]
    for part in [f"read_parquet('{path}')" for path in built] + ["rollup_pairs"]:
        rows = con.sql(f"select pair_bytes, sum(bytes) over (partition by pair), pkt_pair_bytes,"
                       f" sum(bytes) over (partition by pkt_pair) from {part}").fetchall()
        assert len(rows) > 100 and all(mine == total and pkt == pkt_total for mine, total, pkt, pkt_total in rows), part
    for path in built:
        stored = [b for (b,) in con.sql(f"select pair_bytes from read_parquet('{path}')").fetchall()]
        assert stored == sorted(stored, reverse=True), path
