"""Exactly once under crashes, and readers that never break.

`kill -9` lands at random moments of ingest and of compaction; after a clean run every
record is in the lake exactly once and no stray file is left. Meanwhile queries keep
running against the lake and must never fail, never see a partial file, never double count.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import aws_key, count, rows, run_cli, text_object, v2_line, write_object
from flowlake.lake.ledger import Ledger

OBJECTS, PER_OBJECT = 40, 2500
TOTAL = OBJECTS * PER_OBJECT
ENV = {"FLOWLAKE_BATCH_ROWS": "4000", "FLOWLAKE_GRACE_SECONDS": "0"}


def _inbox(root: Path) -> Path:
    for n in range(OBJECTS):
        lines = [v2_line(n * PER_OBJECT + i, start=1_795_780_800 + n * 300) for i in range(PER_OBJECT)]
        write_object(root, aws_key(stamp=f"20261127T{n // 12:02d}{n % 12 * 5:02d}Z", suffix=f"{n:08x}"),
                     text_object(lines))
    return root


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flowlake", *args], env={**os.environ, **ENV},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _timed(args: list[str]) -> float:
    began = time.perf_counter()
    assert run_cli(*args, env=ENV).returncode == 0
    return time.perf_counter() - began


def _crash_once(args: list[str], delay: float) -> bool:
    """Run `flowlake ARGS` and SIGKILL it after `delay` seconds; True if it was still running."""
    proc = _start(*args)
    time.sleep(delay)
    landed = proc.poll() is None
    if landed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return landed


def _assert_exactly_once(lake: Path) -> None:
    assert count(lake) == TOTAL
    distinct = rows(lake, "select count(distinct (interface_id, srcaddr, dstaddr, srcport, start)) from flows")
    assert distinct[0][0] == TOTAL
    ledger = Ledger(lake / "_flowlake" / "ledger.sqlite", readonly=True)
    known = ledger.known_paths()
    ledger.close()
    on_disk = {p.relative_to(lake).as_posix() for p in lake.glob("flows/date=*/*")}
    assert on_disk == known, "no stray or temporary file may remain after a clean run"


@pytest.mark.slow
def test_kill_during_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Each trial: a fresh lake, ingest killed at a random moment (twice in some trials), then a clean run."""
    rng = random.Random(20261127)
    inbox = _inbox(tmp_path / "inbox")
    full = _timed(["ingest", str(inbox), "--lake", str(tmp_path / "timing"), "--no-compact"])
    landed = 0
    for trial in range(8):
        lake = tmp_path / f"lake{trial}"
        for _ in range(1 + trial % 2):
            landed += _crash_once(["ingest", str(inbox), "--lake", str(lake)], rng.uniform(0.2, full))
        finish = run_cli("ingest", str(inbox), "--lake", str(lake), env=ENV)
        assert finish.returncode == 0, finish.stderr.decode()
        _assert_exactly_once(lake)
    assert landed >= 6, "most kills must land while ingest is still running"


@pytest.mark.slow
def test_kill_during_compaction_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(7)
    template = tmp_path / "template"
    assert run_cli("ingest", str(_inbox(tmp_path / "inbox")), "--lake", str(template), "--no-compact",
                   env=ENV).returncode == 0
    copy = tmp_path / "timing"
    shutil.copytree(template, copy)
    full = _timed(["compact", "--lake", str(copy)])
    landed = 0
    for trial in range(6):
        lake = tmp_path / f"lake{trial}"
        shutil.copytree(template, lake)
        landed += _crash_once(["compact", "--lake", str(lake)], rng.uniform(0.2, full))
        assert run_cli("compact", "--lake", str(lake), env=ENV).returncode == 0
        _assert_exactly_once(lake)
        files = list(lake.glob("flows/date=*/*.parquet"))
        assert len(files) <= 2, "compaction must leave few files per partition"
    assert landed >= 3, "most kills must land while compaction is still running"


@pytest.mark.slow
def test_queries_during_ingest_and_compaction_never_fail_or_double_count(tmp_path: Path) -> None:
    inbox, lake = _inbox(tmp_path / "inbox"), tmp_path / "lake"
    env = {**ENV, "FLOWLAKE_GRACE_SECONDS": "60"}
    first = sorted(inbox.rglob("*.log.gz"))[0]
    assert run_cli("ingest", str(first), "--lake", str(lake), env=env).returncode == 0
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(rows(lake, "select count(*), count(distinct (interface_id, srcaddr, dstaddr, srcport,"
                                       " start)) from flows")[0])
            except BaseException as exc:  # any failure is the finding
                errors.append(exc)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for args in (["ingest", str(inbox), "--no-compact"], ["compact"], ["ingest", str(inbox)]):
            done = run_cli(*args, "--lake", str(lake), env=env)
            assert done.returncode == 0, done.stderr.decode()
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert len(seen) > 10
    assert all(total == distinct for total, distinct in seen), "a query saw a record twice"
    totals = [total for total, _ in seen]
    assert totals == sorted(totals), "a query saw fewer records than an earlier one"
    assert totals[0] == PER_OBJECT and totals[-1] == TOTAL
