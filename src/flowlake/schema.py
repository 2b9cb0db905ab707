"""The flow-log field catalog and the lake's column schema, defined once.

Every other module (decoders, the lake writer, the DDL printers, the docs)
reads the columns from here, so AWS's field names, the Athena column names
and the Arrow types can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Field:
    """One flow-log field as AWS defines it."""

    aws: str
    """Name as written in a format string and in a text object's header (`pkt-srcaddr`)."""
    type: pa.DataType
    version: int
    description: str

    @property
    def column(self) -> str:
        """Athena/Parquet column name: hyphens become underscores (`pkt_srcaddr`)."""
        return self.aws.replace("-", "_")


S, I32, I64 = pa.string(), pa.int32(), pa.int64()

FIELDS: tuple[Field, ...] = (
    # Version 2: the default format, in its fixed order.
    Field("version", I32, 2, "Flow Logs version of the format"),
    Field("account-id", S, 2, "Account owning the source interface; may be 'unknown'"),
    Field("interface-id", S, 2, "Network interface whose traffic is recorded"),
    Field("srcaddr", S, 2, "Source address (the interface's private IPv4 for egress)"),
    Field("dstaddr", S, 2, "Destination address (the interface's private IPv4 for ingress)"),
    Field("srcport", I32, 2, "Source port"),
    Field("dstport", I32, 2, "Destination port"),
    Field("protocol", I32, 2, "IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6)"),
    Field("packets", I64, 2, "Packets in the flow within the aggregation interval"),
    Field("bytes", I64, 2, "Bytes in the flow within the aggregation interval"),
    Field("start", I64, 2, "Unix seconds of the first packet in the interval"),
    Field("end", I64, 2, "Unix seconds of the last packet in the interval"),
    Field("action", S, 2, "ACCEPT or REJECT"),
    Field("log-status", S, 2, "OK, NODATA (no traffic) or SKIPDATA (records skipped)"),
    # Version 3.
    Field("vpc-id", S, 3, "VPC of the interface"),
    Field("subnet-id", S, 3, "Subnet of the interface"),
    Field("instance-id", S, 3, "Instance of the interface, if the account owns it"),
    Field("tcp-flags", I32, 3, "OR of TCP flags in the interval (FIN 1, SYN 2, RST 4, SYN-ACK 18)"),
    Field("type", S, 3, "IPv4, IPv6 or EFA"),
    Field("pkt-srcaddr", S, 3, "Packet-level (original) source address"),
    Field("pkt-dstaddr", S, 3, "Packet-level (original) destination address"),
    # Version 4.
    Field("region", S, 4, "Region of the interface"),
    Field("az-id", S, 4, "Availability Zone ID of the interface"),
    Field("sublocation-type", S, 4, "wavelength, outpost or localzone"),
    Field("sublocation-id", S, 4, "ID of the sublocation"),
    # Version 5.
    Field("pkt-src-aws-service", S, 5, "AWS service owning pkt-srcaddr, if any"),
    Field("pkt-dst-aws-service", S, 5, "AWS service owning pkt-dstaddr, if any"),
    Field("flow-direction", S, 5, "ingress or egress, relative to the interface"),
    Field("traffic-path", I32, 5, "Path egress traffic takes (1 same VPC ... 8 internet gateway)"),
    # Version 7: ECS.
    Field("ecs-cluster-arn", S, 7, "ECS cluster ARN"),
    Field("ecs-cluster-name", S, 7, "ECS cluster name"),
    Field("ecs-container-instance-arn", S, 7, "ECS container instance ARN (EC2 capacity)"),
    Field("ecs-container-instance-id", S, 7, "ECS container instance ID (EC2 capacity)"),
    Field("ecs-container-id", S, 7, "Docker ID of the task's first container"),
    Field("ecs-second-container-id", S, 7, "Docker ID of the task's second container"),
    Field("ecs-service-name", S, 7, "ECS service that started the task"),
    Field("ecs-task-definition-arn", S, 7, "ECS task definition ARN"),
    Field("ecs-task-arn", S, 7, "ECS task ARN"),
    Field("ecs-task-id", S, 7, "ECS task ID"),
    # Version 8 and later.
    Field("reject-reason", S, 8, "Why traffic was rejected: BPA (VPC Block Public Access)"),
    Field("resource-id", S, 9, "Resource of flows through a regional NAT gateway"),
    Field("encryption-status", I32, 10, "0 clear, 1 Nitro, 2 application, 3 both"),
    # Transit Gateway flow logs (version 6).
    Field("resource-type", S, 6, "TransitGateway or TransitGatewayAttachment"),
    Field("tgw-id", S, 6, "Transit gateway"),
    Field("tgw-attachment-id", S, 6, "Transit gateway attachment"),
    Field("tgw-src-vpc-account-id", S, 6, "Source VPC account"),
    Field("tgw-dst-vpc-account-id", S, 6, "Destination VPC account"),
    Field("tgw-src-vpc-id", S, 6, "Source VPC"),
    Field("tgw-dst-vpc-id", S, 6, "Destination VPC"),
    Field("tgw-src-subnet-id", S, 6, "Source subnet"),
    Field("tgw-dst-subnet-id", S, 6, "Destination subnet"),
    Field("tgw-src-eni", S, 6, "Source attachment interface"),
    Field("tgw-dst-eni", S, 6, "Destination attachment interface"),
    Field("tgw-src-az-id", S, 6, "Source Availability Zone ID"),
    Field("tgw-dst-az-id", S, 6, "Destination Availability Zone ID"),
    Field("tgw-pair-attachment-id", S, 6, "Egress or ingress attachment of the flow"),
    Field("packets-lost-no-route", I64, 6, "Packets dropped: no route"),
    Field("packets-lost-blackhole", I64, 6, "Packets dropped: blackhole route"),
    Field("packets-lost-mtu-exceeded", I64, 6, "Packets dropped: MTU exceeded"),
    Field("packets-lost-ttl-expired", I64, 6, "Packets dropped: TTL expired"),
)

BY_AWS: dict[str, Field] = {f.aws: f for f in FIELDS}
BY_COLUMN: dict[str, Field] = {f.column: f for f in FIELDS}

DEFAULT_FORMAT: tuple[str, ...] = tuple(f.aws for f in FIELDS[:14])
"""The v2 default field order: what header-less records are read as."""

TGW_DEFAULT_FORMAT: tuple[str, ...] = (
    "version", "resource-type", "account-id", "tgw-id", "tgw-attachment-id", "tgw-src-vpc-account-id",
    "tgw-dst-vpc-account-id", "tgw-src-vpc-id", "tgw-dst-vpc-id", "tgw-src-subnet-id", "tgw-dst-subnet-id",
    "tgw-src-eni", "tgw-dst-eni", "tgw-src-az-id", "tgw-dst-az-id", "tgw-pair-attachment-id", "srcaddr",
    "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "start", "end", "log-status", "type",
    "packets-lost-no-route", "packets-lost-blackhole", "packets-lost-mtu-exceeded", "packets-lost-ttl-expired",
    "tcp-flags", "region", "flow-direction", "pkt-src-aws-service", "pkt-dst-aws-service",
)
"""The Transit Gateway default field order (all v2 to v6 TGW fields)."""

HEADERLESS_LAYOUTS: dict[int, tuple[str, ...]] = {
    len(layout): layout
    for layout in (
        *(tuple(f.aws for f in FIELDS[:n]) for n in (14, 21, 25, 29, 39, 40, 41, 42)),
        TGW_DEFAULT_FORMAT,
    )
}
"""Header-less lines with no format given are read by field count: AWS's standard
"all fields up to version N" orders, and the Transit Gateway default."""

TGW_MARKERS = frozenset({"tgw-id", "resource-type", "tgw-attachment-id"})
"""A header naming any of these is a Transit Gateway flow log."""

# Columns flowlake adds to every row.
DERIVED: tuple[tuple[str, pa.DataType, str], ...] = (
    ("start_time", pa.timestamp("s", tz="UTC"), "`start` as a UTC timestamp"),
    ("end_time", pa.timestamp("s", tz="UTC"), "`end` as a UTC timestamp"),
    ("flow_log_id", S, "Flow log id, from the S3 object name where known"),
    ("object_id", I64, "Ledger id of the delivery object the row came from"),
)

PARTITION_COLUMN = "date"
"""Hive partition key: the UTC date of `start` (`date=2026-11-27`)."""


def lake_schema(extra: tuple[str, ...] = ()) -> pa.Schema:
    """Schema of a lake data file; `extra` are unknown (newer) fields kept as strings."""
    cols = [pa.field(f.column, f.type) for f in FIELDS]
    cols += [pa.field(name, typ) for name, typ, _ in DERIVED]
    cols += [pa.field(name.replace("-", "_"), S) for name in extra]
    return pa.schema(cols)


SQL_TYPES: dict[str, dict[str, str]] = {
    "duckdb": {"int32": "integer", "int64": "bigint", "timestamp": "timestamptz", "string": "varchar"},
    "athena": {"int32": "int", "int64": "bigint", "timestamp": "timestamp", "string": "string"},
}
"""The lake's Arrow types as each SQL dialect names them."""


def sql_type(arrow_type: pa.DataType, dialect: str) -> str:
    """A column type for DDL in `dialect` (`duckdb` or `athena`)."""
    if pa.types.is_int32(arrow_type):
        kind = "int32"
    elif pa.types.is_int64(arrow_type):
        kind = "int64"
    elif pa.types.is_timestamp(arrow_type):
        kind = "timestamp"
    else:
        kind = "string"
    return SQL_TYPES[dialect][kind]


def column_name(aws_name: str) -> str:
    """Athena column name of any field, known or not."""
    return aws_name.strip().lower().replace("-", "_")


def parse_format_string(fmt: str) -> tuple[str, ...]:
    """Field list of an AWS format string (`${version} ${account-id} ...`) or a plain list of names,
    hyphenated or underscored as Athena writes them (`account_id`); returned as AWS field names."""
    names = []
    for tok in fmt.split():
        if tok.startswith("${") and tok.endswith("}"):
            tok = tok[2:-1]
        names.append(tok.strip().lower().replace("_", "-"))
    if not names:
        raise ValueError("empty format string")
    return tuple(names)
