"""Dashboard filters: `account=...&dstport=22&src=10.0.0.0/8` as one SQL condition over `flows`.

Values never enter SQL text. Each becomes a DuckDB variable (`set variable f0 = ?`, bound) that the
condition reads with `getvariable('f0')`, so the same condition can sit inside the `flows` view that
every report and dashboard query reads. Keys and columns are checked against the lake schema.
"""

from __future__ import annotations

import csv
import ipaddress
from dataclasses import dataclass, field
from importlib import resources

import duckdb
import pyarrow as pa

from flowlake.schema import lake_schema

ALIASES = {
    "account": "account_id",
    "region": "region",
    "vpc": "vpc_id",
    "subnet": "subnet_id",
    "interface": "interface_id",
    "instance": "instance_id",
    "action": "action",
    "protocol": "protocol",
    "srcport": "srcport",
    "dstport": "dstport",
    "direction": "flow_direction",
}
"""Short filter keys and the columns they match; every lake column is a key too."""
SPECIAL = {"port": ("dstport", "srcport or dstport equals the value"),
           "src": ("srcaddr", "srcaddr is the address or in the CIDR block"),
           "dst": ("dstaddr", "dstaddr is the address or in the CIDR block")}
"""Filter keys that are more than an equality: the column they are about, and what they match."""
NOT_DIMENSIONS = {"bytes", "packets", "start", "end", "start_time", "end_time", "object_id"}

ENRICHED = {
    "src_class": ("addr_class(srcaddr, pkt_src_aws_service)", ("srcaddr", "pkt_src_aws_service"),
                  "srcaddr is private, public or aws-service"),
    "dst_class": ("addr_class(dstaddr, pkt_dst_aws_service)", ("dstaddr", "pkt_dst_aws_service"),
                  "dstaddr is private, public or aws-service"),
    "src_country": ("country(srcaddr)", ("srcaddr",), "Country of srcaddr (GeoLite2)"),
    "dst_country": ("country(dstaddr)", ("dstaddr",), "Country of dstaddr (GeoLite2)"),
    "src_as_name": ("as_name(srcaddr)", ("srcaddr",), "Autonomous system of srcaddr (GeoLite2)"),
    "dst_as_name": ("as_name(dstaddr)", ("dstaddr",), "Autonomous system of dstaddr (GeoLite2)"),
}
"""Dimensions worked out from the addresses by the enrichment macros (flowlake.enrich): their SQL, the
columns it reads, and what they are."""

SCHEMA = lake_schema()
COLUMNS: dict[str, pa.DataType] = {f.name: f.type for f in SCHEMA}
DIMENSIONS = (*(name for name in COLUMNS if name not in NOT_DIMENSIONS), *ENRICHED)
"""Columns and enriched values a chart can group by or a filter can match."""


class FilterError(ValueError):
    """An unknown filter key or a value of the wrong type: the API answers 400."""


def _names(table: str, key: str) -> dict[int, str]:
    with (resources.files("flowlake") / "reference" / f"{table}.csv").open() as f:
        return {int(row[key]): row["name"] for row in csv.DictReader(f)}


PROTOCOL_NAMES = _names("protocols", "number")
PORT_NAMES = _names("ports", "port")
PROTOCOLS = {name.upper(): number for number, name in PROTOCOL_NAMES.items()}
"""Protocol numbers by upper-case name, for `protocol=tcp`."""


@dataclass
class Filters:
    """The condition and the variables it reads; empty when nothing is filtered."""

    items: list[tuple[str, str]] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)
    """The columns the condition reads: a rollup can answer only if it has them all."""
    _conditions: list[str] = field(default_factory=list)
    _values: dict[str, object] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: list[tuple[str, str]]) -> Filters:
        """Filters from query-string pairs: the same key ORs its values, different keys AND."""
        made = cls(items=list(items))
        by_key: dict[str, list[str]] = {}
        for key, value in items:
            by_key.setdefault(key, []).append(value)
        for key, values in by_key.items():
            made._conditions.append("(" + " or ".join(made._condition(key, v) for v in values) + ")")
        return made

    @property
    def sql(self) -> str | None:
        """The condition for `connect(where=...)`, or None."""
        return " and ".join(self._conditions) or None

    def bind(self, con: duckdb.DuckDBPyConnection) -> None:
        """Set the variables the condition reads, as bound parameters."""
        for name, value in self._values.items():
            con.execute(f"set variable {name} = ?", [value])

    def _var(self, value: object) -> str:
        name = f"flowlake_f{len(self._values)}"
        self._values[name] = value
        return f"getvariable('{name}')"

    def _condition(self, key: str, value: str) -> str:
        if key == "port":
            self.columns |= {"srcport", "dstport"}
            number = self._var(_integer(key, value))
            return f"(srcport = {number} or dstport = {number})"
        if key in ("src", "dst"):
            self.columns.add("srcaddr" if key == "src" else "dstaddr")
            return self._address("srcaddr" if key == "src" else "dstaddr", key, value)
        if key in ENRICHED:
            expression, columns, _ = ENRICHED[key]
            self.columns |= set(columns)
            return f"{expression} = {self._var(value)}"
        column = ALIASES.get(key, key)
        if column not in COLUMNS or column in NOT_DIMENSIONS:
            raise FilterError(f"unknown filter {key!r}: use one of {', '.join([*ALIASES, *SPECIAL])} or a column name")
        self.columns.add(column)
        if column == "protocol" and not value.strip().isdigit():
            number = PROTOCOLS.get(value.strip().upper())
            if number is None:
                raise FilterError(f"unknown protocol {value!r}: give its number (6) or name (TCP)")
            return f"protocol = {self._var(number)}"
        if pa.types.is_integer(COLUMNS[column]):
            return f'"{column}" = {self._var(_integer(key, value))}'
        return f'"{column}" = {self._var(value)}'

    def _address(self, column: str, key: str, value: str) -> str:
        try:
            network = ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise FilterError(f"{key}={value!r} is not an address or CIDR block (10.0.0.0/8, 2001:db8::/32)") from None
        if network.num_addresses == 1:
            return f"{column} = {self._var(str(network.network_address))}"
        low, high = int(network.network_address), int(network.broadcast_address)
        version = "" if network.version == 6 else "not "
        return (f"{version}is_ipv6({column}) and ip_int({column})"
                f" between cast({self._var(str(low))} as uhugeint) and cast({self._var(str(high))} as uhugeint)")


def _integer(key: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise FilterError(f"{key}={value!r} must be a whole number") from None
