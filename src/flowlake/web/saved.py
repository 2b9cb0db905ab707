"""Saved queries from the SQL console, kept as the lake's own reports.

A saved query is a report file in `LAKE/_flowlake/reports/NAME.sql`, so `flowlake report NAME` runs it
from the command line and `flowlake report --list` lists it beside the built-in ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from flowlake.engine import catalog
from flowlake.lake.store import META_DIR, Lake
from flowlake.web import sandbox

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class SaveError(ValueError):
    """A name or query that cannot be saved."""


def folder(lake: Lake) -> Path:
    return lake.root / META_DIR / "reports"


def listing(lake: Lake) -> list[dict]:
    """Every saved query, by name."""
    if not folder(lake).is_dir():
        return []
    try:
        assets = catalog.load("reports", [folder(lake)])
    except catalog.AssetError:
        assets = {}
    mine = {p.stem for p in folder(lake).glob("*.sql")}
    return [{"name": a.name, "title": a.title, "sql": a.sql} for a in sorted(assets.values(), key=lambda a: a.name)
            if a.name in mine]


def save(lake: Lake, name: str, sql: str, title: str) -> dict:
    """Write (or replace) one saved query, after the sandbox's check; returns it as listed."""
    if not _NAME.match(name) or len(name) > 80:
        raise SaveError(f"a saved query's name is lowercase words joined by hyphens, not {name!r}")
    sandbox.check(duckdb.connect(), sql)
    title = " ".join(title.split())[:200]  # one line: a newline would add header lines
    text = (f"-- name: {name}\n-- title: {title}\n-- description: Saved from the dashboard's SQL console.\n"
            f"{sql.strip().rstrip(';')}\n")
    try:
        asset = catalog.parse_asset(text)
    except catalog.AssetError as exc:
        raise SaveError(str(exc).removeprefix("None: ")) from None
    folder(lake).mkdir(parents=True, exist_ok=True)
    path = folder(lake) / f"{name}.sql"
    partial = path.with_suffix(".sql.tmp")
    partial.write_text(text)
    os.replace(partial, path)
    return {"name": asset.name, "title": asset.title, "sql": asset.sql}


def delete(lake: Lake, name: str) -> bool:
    if not _NAME.match(name):
        return False
    path = folder(lake) / f"{name}.sql"
    if not path.exists():
        return False
    path.unlink()
    return True
