"""`flowlake watch`: new objects become queryable while it runs; a signal stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import aws_key, count, run_cli, text_object, v2_line, write_object


def _eventually(check, seconds: float = 60) -> bool:
    """Poll until `check()` holds; a generous bound, not a timing assertion."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _count_or_zero(lake: Path) -> int:
    try:
        return count(lake)
    except Exception:
        return 0


def test_watch_ingests_new_objects_and_stops_on_sigterm(inbox: Path, lake: Path) -> None:
    write_object(inbox, aws_key(suffix="00000001"), text_object([v2_line(i) for i in range(100)]))
    proc = subprocess.Popen([sys.executable, "-m", "flowlake", "watch", str(inbox), "--lake", str(lake),
                             "--interval", "1s"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert _eventually(lambda: _count_or_zero(lake) == 100)
        write_object(inbox, aws_key(suffix="00000002"), text_object([v2_line(i) for i in range(100, 150)]))
        assert _eventually(lambda: _count_or_zero(lake) == 150), "an object added while watching is ingested"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    lines = err.decode().splitlines()
    assert any("stopping after this batch" in line for line in lines)
    assert sum("ingested" in line for line in lines) >= 2, "one line per batch"
    assert count(lake) == 150, "nothing ingested twice across batches"
    status = json.loads(run_cli("status", "--lake", str(lake), "--format", "json").stdout)
    assert status["watch"]["last_success"] and status["watch"]["lag_seconds"] is not None


def test_watch_rejects_a_bad_interval(inbox: Path, lake: Path) -> None:
    result = run_cli("watch", str(inbox), "--lake", str(lake), "--interval", "soon")
    assert result.returncode == 2 and "--interval" in result.stderr.decode()
    assert not os.path.exists(lake / "_flowlake")
