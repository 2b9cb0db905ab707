"""The Findings page and the Overview's findings count in a real browser (Debian's chromium through
Playwright, as in test_dashboard.py) over a lake with injected incidents and stored findings. What the
pages show is compared with the stored findings file read with pyarrow and with the evidence records
counted by DuckDB from the lake's Parquet files directly. Also writes docs/img/findings.png.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from conftest import run_cli
from flowlake.generate import generate
from flowlake.incidents import RULE_INPUTS, inject
from test_dashboard import DOCS_IMG, END, RANGE, Tab, _has_chromium, browser, new_tab, serving, tab  # noqa: F401


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    """A lake of two days with incidents, its findings stored, and those findings read back from the file."""
    root = tmp_path_factory.mktemp("findings-page")
    generate(root / "raw", records=40_000, seed=3, days=2, end=END)
    inject(root / "raw", seed=3, end=END)
    assert run_cli("ingest", str(root / "raw"), "--lake", str(root / "lake")).returncode == 0
    inputs = root / "raw" / RULE_INPUTS
    ran = run_cli("findings", "--lake", str(root / "lake"), "--from", "2026-11-26", "--to", "2026-11-26",
                  "--threat-list", str(inputs / "c2.txt"), "--intents", str(inputs / "intents.yaml"))
    assert ran.returncode == 0, ran.stderr.decode()
    return root / "lake", pq.read_table(root / "lake" / "findings" / "findings.parquet").to_pylist()


@pytest.fixture(scope="module")
def site(found: tuple[Path, list[dict]], tmp_path_factory: pytest.TempPathFactory):
    with serving(found[0], tmp_path_factory.mktemp("serve") / "stderr.log") as base:
        yield base


def test_the_findings_page_lists_filters_and_opens_the_evidence(site: str, found, tab: Tab) -> None:  # noqa: F811
    lake, stored = found
    tab.open(f"{site}/findings?{RANGE}")
    rows = tab.table("findings-table")
    assert {r["id"] for r in rows} == {f["id"] for f in stored}
    severities = [r["severity"] for r in rows]
    order = ["critical", "high", "medium", "low", "informational"]
    assert severities == sorted(severities, key=order.index), "most severe first"
    counts = Counter(f["severity"] for f in stored)
    for severity, n in counts.items():
        assert tab.page.get_attribute(f'[data-testid="findings-severity-{severity}"]', "data-count") == str(n)

    with tab.reloading():
        tab.page.click('[data-testid="findings-severity-high"]')
    assert ("severity", "high") in tab.query()
    assert {r["id"] for r in tab.table("findings-table")} == {f["id"] for f in stored if f["severity"] == "high"}

    with tab.reloading():
        tab.page.select_option('[data-testid="findings-rule"]', "brute-force")
    brute = [f for f in stored if f["rule"] == "brute-force" and f["severity"] == "high"]
    assert [r["id"] for r in tab.table("findings-table")] == [f["id"] for f in brute]  # brute force is medium
    with tab.reloading():
        tab.page.click('[data-testid="findings-severity-high"]')
    scan = next(f for f in stored if f["rule"] == "brute-force")
    assert scan["id"] in {r["id"] for r in tab.table("findings-table")}

    with tab.reloading():
        tab.page.click(f'[data-testid="findings-table"] td[data-key="id"][data-value="{scan["id"]}"]')
    assert ("finding", scan["id"]) in tab.query()
    assert tab.page.inner_text('[data-testid="finding-query"]') == scan["query"]
    files = [str(p) for p in (lake / "flows").rglob("*.parquet")]
    evidence = duckdb.sql(f"select srcaddr, dstaddr, dstport from read_parquet({files}) where srcaddr = ? and"
                          " dstaddr = ? and dstport = ? and start_time between ? and ?",
                          params=[scan["src"], scan["dst"], int(scan["ports"]), scan["first_seen"],
                                  scan["last_seen"]]).fetchall()
    assert len(tab.table("finding-flows")) == len(evidence) >= scan["flows"]
    talkers = tab.table("finding-talkers-table")
    assert [(t["srcaddr"], t["dstaddr"], int(t["flows"])) for t in talkers] == [(scan["src"], scan["dst"],
                                                                                 len(evidence))]
    assert sum(tab.chart("finding-timeline")[0]["y"]) == len(evidence)
    assert not tab.errors
    tab.page.screenshot(path=DOCS_IMG / "findings.png")


def test_a_finding_shows_where_its_public_end_is(site: str, found, tab: Tab) -> None:  # noqa: F811
    _, stored = found
    placed = next(f for f in stored if f["dst_country"] and f["dst_as"])
    tab.open(f"{site}/findings?{RANGE}&finding={placed['id']}")
    row = f'[data-testid="findings-table"] tr:has(td[data-key="id"][data-value="{placed["id"]}"])'
    assert tab.page.inner_text(f'{row} td[data-key="dst"]') == f"{placed['dst']} ({placed['dst_country']})"
    assert tab.page.inner_text('[data-testid="finding-ends"]') == (
        f"From {placed['src']} to {placed['dst']} ({placed['dst_country']}, {placed['dst_as']}).")
    assert not tab.errors


def test_the_overview_counts_the_findings_and_links_to_them(site: str, found, tab: Tab) -> None:  # noqa: F811
    _, stored = found
    tab.open(f"{site}/?{RANGE}")
    link = tab.page.locator('[data-testid="overview-findings"]')
    assert link.get_attribute("data-total") == str(len(stored))
    worst = next(s for s in ("critical", "high", "medium", "low") if any(f["severity"] == s for f in stored))
    assert f"{sum(f['severity'] == worst for f in stored)} {worst}" in link.inner_text()
    with tab.reloading():
        link.click()
    assert tab.page.url.startswith(f"{site}/findings")
    assert len(tab.table("findings-table")) == len(stored)
    assert not tab.errors
