"""The docs keep up with the code: every column and every command is documented."""

from __future__ import annotations

from pathlib import Path

from flowlake.cli import commands
from flowlake.engine import catalog
from flowlake.schema import PARTITION_COLUMN, lake_schema

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def test_every_lake_column_is_in_the_schema_doc() -> None:
    text = (DOCS / "schema.md").read_text()
    missing = [name for name in [*lake_schema().names, PARTITION_COLUMN] if f"`{name}`" not in text]
    assert not missing


def test_every_command_is_in_the_readme_or_docs() -> None:
    text = README.read_text() + "".join(p.read_text() for p in DOCS.glob("*.md"))
    missing = [name for name in commands().commands if f"flowlake {name}" not in text]
    assert not missing


def test_every_rule_is_in_the_findings_doc() -> None:
    text = (DOCS / "findings.md").read_text()
    missing = [name for name in catalog.load("rules") if f"### `{name}`" not in text]
    assert not missing
