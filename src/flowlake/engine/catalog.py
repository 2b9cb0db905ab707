"""SQL assets (reports, detection rules): one `.sql` file each, described by a comment header.

    -- name: top-talkers
    -- title: Top talkers by bytes
    -- description: Source addresses that sent the most bytes.
    -- param: limit integer = 10
    select srcaddr, sum(bytes) as bytes from flows group by 1 order by 2 desc limit $limit

Rules also declare `-- severity:`, `-- mitre:` (technique id and name) and `-- tactic:`.
The header is SQL comments, so the file runs unchanged in the DuckDB shell once its `$params`
are set. Parameters reach DuckDB as bound values, never by string formatting. Built-in assets
ship in the package; users add their own by dropping files in a folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

_HEADER = re.compile(r"^--\s*(\w+):\s*(.*?)\s*$")
_PARAM = re.compile(r"^([a-z_][a-z0-9_]*)\s+(integer|text|interval|timestamp)\s*(?:=\s*(.*))?$")
_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class AssetError(ValueError):
    """A SQL asset file with a broken header."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: str | None

    def convert(self, value: str | int | None) -> object:
        """A command-line value (or the default) as the Python value DuckDB binds."""
        raw = self.default if value is None else value
        if raw is None:
            return None
        if self.type == "integer":
            return int(raw)
        return str(raw).strip("'\"")


@dataclass(frozen=True)
class SqlAsset:
    name: str
    title: str
    description: str
    params: tuple[Param, ...]
    sql: str
    path: Path | None = None
    severity: str = ""
    mitre: str = ""
    tactic: str = ""

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


def parse_asset(text: str, path: Path | None = None) -> SqlAsset:
    """Read one asset: its comment header, then its SQL."""
    header: dict[str, str] = {}
    params: list[Param] = []
    body: list[str] = []
    for line in text.splitlines():
        match = _HEADER.match(line) if not body else None
        if match:
            key, value = match.groups()
            if key == "param":
                spec = _PARAM.match(value)
                if not spec:
                    raise AssetError(f"{path}: bad param line {value!r} (want: name integer|text|interval = default)")
                params.append(Param(*spec.groups()))
            else:
                header[key] = value
        elif line.strip() or body:
            body.append(line)
    name = header.get("name") or (path.stem if path else "")
    if not _NAME.match(name):
        raise AssetError(f"{path}: asset name {name!r} must be lowercase words joined by hyphens")
    sql = "\n".join(body).strip().rstrip(";")
    if not sql:
        raise AssetError(f"{path}: no SQL after the header")
    used = set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))
    declared = {p.name for p in params}
    if used - declared:
        raise AssetError(f"{path}: undeclared parameters {sorted(used - declared)}")
    return SqlAsset(name, header.get("title", name), header.get("description", ""), tuple(params), sql, path,
                    header.get("severity", ""), header.get("mitre", ""), header.get("tactic", ""))


def load(kind: str, extra_dirs: list[Path] | None = None) -> dict[str, SqlAsset]:
    """Built-in assets of `kind` (`reports`, `rules`), then users' folders, later ones overriding by name. A kind
    this build has no folder of has only the users' assets."""
    assets: dict[str, SqlAsset] = {}
    builtin = resources.files("flowlake") / "sql" / kind
    for entry in sorted(builtin.iterdir() if builtin.is_dir() else [], key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            asset = parse_asset(entry.read_text(), Path(entry.name))
            assets[asset.name] = asset
    for folder in extra_dirs or []:
        for path in sorted(folder.glob("*.sql")):
            asset = parse_asset(path.read_text(), path)
            assets[asset.name] = asset
    return assets
