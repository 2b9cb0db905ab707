"""Shared fixtures: lakes in temp folders, AWS-shaped delivery objects, and the CLI."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowlake.engine.duckdb import connect
from flowlake.lake.store import Lake
from flowlake.schema import DEFAULT_FORMAT

ACCOUNT = "123456789012"
HEADER = " ".join(DEFAULT_FORMAT)


def aws_key(day: str = "2026/11/27", account: str = ACCOUNT, region: str = "us-east-1",
            stamp: str = "20261127T1200Z", suffix: str = "0a1b2c3d", ext: str = ".log.gz") -> str:
    """An S3 key in AWS's default layout."""
    return (f"AWSLogs/{account}/vpcflowlogs/{region}/{day}/"
            f"{account}_vpcflowlogs_{region}_fl-0123456789abcdef0_{stamp}_{suffix}{ext}")


def v2_line(i: int, start: int = 1_795_780_800, action: str = "ACCEPT") -> str:
    """A valid default-format record, distinct for each i."""
    return (f"2 {ACCOUNT} eni-{i % 50:017x} 10.0.{i // 250 % 250}.{i % 250 + 1} 203.0.113.{i % 200 + 1} "
            f"{40000 + i % 20000} 443 6 {i % 90 + 1} {(i % 90 + 1) * 120} {start + i % 3000} {start + i % 3000 + 30} "
            f"{action} OK")


def write_object(root: Path, key: str, body: bytes | str, gz: bool = True) -> Path:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    data = body.encode() if isinstance(body, str) else body
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def text_object(lines: list[str], header: str | None = HEADER) -> str:
    return "\n".join(([header] if header else []) + lines) + "\n"


def rows(lake: Path, sql: str) -> list[tuple]:
    con, _ = connect(Lake(lake))
    return con.execute(sql).fetchall()


def count(lake: Path, where: str = "true") -> int:
    return rows(lake, f"select count(*) from flows where {where}")[0][0]


def run_cli(*args: str, stdin: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real `flowlake` command in a subprocess (exit codes, stdout and stderr as users see them)."""
    return subprocess.run([sys.executable, "-m", "flowlake", *args], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path
