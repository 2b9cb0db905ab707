"""Synthetic Amazon VPC Flow Logs, written to a folder exactly as AWS lays them out in S3.

Tests, the live demo and the benchmarks need flow logs whose truth is known (how many
records, which window, which formats) and that look like the real thing: several accounts,
regions and flow logs with different field lists, AWS key layouts and file names, header
lines, gzip text and gzip Parquet, NODATA/SKIPDATA rows, IPv6, rejects, internet scanning and
traffic with daily and weekly seasonality.

Speed matters (benchmarks use tens of millions of records), so records are generated a
chunk at a time as numpy columns, strings are built by Arrow `take` from small dictionaries
(inventory ids, address pools, pre-joined runs of per-ENI fields), text is formatted by
Arrow's CSV writer and compressed with ISA-L, and a background thread writes objects while
the next chunk is generated.  Memory is bounded by the chunk size, never by `records`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from isal import igzip

from flowlake.schema import BY_AWS, DEFAULT_FORMAT, FIELDS, parse_format_string

__all__ = ["FORMATS", "TGW_DEFAULT_ORDER", "V5_CUSTOM_ORDER", "FormatSpec", "GenerateStats", "generate",
           "generate_live"]

BUCKET = 300
"""AWS publishes flow-log objects per 5-minute bucket of record end times."""
DAY = 86_400
CHUNK = 100_000
"""Records generated at once: bounds memory whatever `records` is."""
GZIP_LEVEL = 1
WRITER_THREADS = 1
"""Background threads that format, compress and write objects (0: all on the calling thread)."""
MAX_IN_FLIGHT = 1
"""Generated chunks waiting for the writer; bounds memory to a few chunks."""
NODATA_SHARE = 0.005
SKIPDATA_SHARE = 0.001
SCAN_SHARE = 0.03
"""Internet scanning, relative to the mean rate of ordinary traffic; constant in time."""
BPA_SHARE = 0.2
"""Share of rejects blamed on VPC Block Public Access in the v8 `reject-reason` field."""

# ---------------------------------------------------------------------------------------------
# Formats: each label is its own flow log, with its own field list, key layout and file type.

V5_CUSTOM_ORDER: tuple[str, ...] = parse_format_string(
    "version srcaddr dstaddr srcport dstport protocol start end type packets bytes account-id vpc-id "
    "subnet-id instance-id interface-id region az-id sublocation-type sublocation-id action tcp-flags "
    "pkt-srcaddr pkt-dstaddr pkt-src-aws-service pkt-dst-aws-service traffic-path flow-direction "
    "log-status"
)
"""The AWS documentation's v5 example order (reference 7.8): `bytes`/`packets` not in v2 positions."""

TGW_DEFAULT_ORDER: tuple[str, ...] = parse_format_string(
    "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id "
    "tgw-dst-vpc-account-id tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id "
    "tgw-src-eni tgw-dst-eni tgw-src-az-id tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr "
    "srcport dstport protocol packets bytes start end log-status type packets-lost-no-route "
    "packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired tcp-flags region "
    "flow-direction pkt-src-aws-service pkt-dst-aws-service"
)
"""Transit Gateway flow logs' default field order (reference 8.1)."""

_V2_V5 = tuple(f.aws for f in FIELDS if f.version in (2, 3, 4, 5))
_V2_V8 = tuple(f.aws for f in FIELDS if f.version in (2, 3, 4, 5, 7, 8))  # v6 is Transit Gateway only


@dataclass(frozen=True)
class FormatSpec:
    """One synthetic flow log: what it writes and where AWS would put it."""

    label: str
    fields: tuple[str, ...]
    version: int
    layout: str
    """`daily`, `hive-hourly`, `org-daily` or `hourly` (reference 3.3)."""
    parquet: bool
    share: float
    """Default share of the records when every format is requested."""
    tgw: bool = False


FORMATS: dict[str, FormatSpec] = {
    s.label: s
    for s in (
        FormatSpec("v2-text", DEFAULT_FORMAT, 2, "daily", False, 0.40),
        FormatSpec("v5-text", V5_CUSTOM_ORDER, 5, "hive-hourly", False, 0.25),
        FormatSpec("v8-text", _V2_V8, 8, "org-daily", False, 0.15),
        FormatSpec("parquet", _V2_V5, 5, "hourly", True, 0.10),
        FormatSpec("tgw", TGW_DEFAULT_ORDER, 6, "daily", False, 0.10, tgw=True),
    )
}

assert len(_V2_V5) == 29 and len(_V2_V8) == 40 and sorted(V5_CUSTOM_ORDER) == sorted(_V2_V5)
assert all(name in BY_AWS for spec in FORMATS.values() for name in spec.fields)


@dataclass(frozen=True)
class GenerateStats:
    """The truth about a generated data set, for tests and benchmarks to compare a lake with."""

    objects: int
    records: int
    """Data records in all files (header lines excluded; NODATA/SKIPDATA included)."""
    by_format: dict[str, int]
    nodata: int
    skipdata: int
    start: datetime
    """UTC, earliest record `start`."""
    end: datetime
    """UTC, latest record `start`."""

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict with ISO times."""
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["end"] = self.end.isoformat()
        return d


# ---------------------------------------------------------------------------------------------
# Inventory: a stable set of accounts, VPCs, subnets, instances and ENIs derived from the seed.

WEB, APP, ECS, DB, BASTION, WIN, DNS, NAT, VPCE = range(9)
_ROLE_COUNTS = {WEB: (2, 6), APP: (3, 8), ECS: (2, 5), DB: (1, 3), BASTION: (1, 1), WIN: (1, 2),
                DNS: (1, 1), NAT: (1, 1), VPCE: (1, 2)}
_ROLE_TIER = {WEB: 0, BASTION: 0, NAT: 0, APP: 1, ECS: 1, WIN: 1, DNS: 1, VPCE: 1, DB: 2}
_PUBLIC_FACING = (WEB, BASTION, NAT)

_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
_REGION_WEIGHT = {"us-east-1": 1.0, "eu-west-1": 0.6, "ap-southeast-2": 0.35}
_AZ_IDS = {"us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az6"),
           "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
           "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3")}
_PRESENCE = ((0, 1), (0, 2), (0, 1, 2))
"""Region indexes where each account has a VPC: every region has VPCs of at least two accounts."""
_ECS_CLUSTERS = ("prod-web", "payments", "batch-jobs")
_ECS_SERVICES = ("checkout-api", "catalog", "search", "image-resizer", "notifier")


def _hex(rng: np.random.Generator, n: int) -> str:
    return rng.bytes((n + 1) // 2).hex()[:n]


def _split_exact(total: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Integers proportional to `weights` summing exactly to `total` (largest remainder)."""
    w = np.asarray(weights, float)
    q = total * w / w.sum()
    base = np.floor(q).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(q - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _digest(*parts: object, size: int = 4) -> str:
    """Stable short hash of `parts` (file-name suffixes, flow-log ids, delivery delays)."""
    return hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=size).hexdigest()


@dataclass
class _Vpc:
    account: int
    region: str
    vpc_id: str
    weight: float
    enis: np.ndarray
    by_role: dict[int, np.ndarray] = field(default_factory=dict)
    tgw_attachment: str = ""
    tgw_eni: str = ""
    tgw_subnet: str = ""
    tgw_az: str = ""


@dataclass
class _Inventory:
    accounts: list[str]
    org_id: str
    vpcs: list[_Vpc]
    tgws: dict[str, tuple[str, int]]
    """region -> (tgw id, owner account index)."""
    eni_role: np.ndarray
    eni_vpc: np.ndarray
    eni_weight: np.ndarray
    eni_has_v6: np.ndarray
    ip4: list[str]
    ip6: list[str | None]
    cols: dict[str, pa.Array]
    """Per-ENI string columns (`interface-id`, `vpc-id`, ECS fields...), taken by ENI index."""
    vpc_cols: dict[str, pa.Array]
    """Per-VPC string columns for Transit Gateway records."""


def _inventory(seed: int) -> _Inventory:
    """The seed's estate; independent of every other argument so live deliveries match it."""
    rng = np.random.default_rng([seed, 0x1A7])
    accounts: list[str] = []
    while len(accounts) < 3:
        acct = str(int(rng.integers(10**11, 10**12)))
        if acct not in accounts:
            accounts.append(acct)
    org_id = "o-" + "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz0123456789"), 10))
    rows: dict[str, list[object]] = {k: [] for k in (
        "interface-id", "account-id", "instance-id", "subnet-id", "vpc-id", "region", "az-id",
        "ecs-cluster-arn", "ecs-cluster-name", "ecs-container-instance-arn", "ecs-container-instance-id",
        "ecs-container-id", "ecs-second-container-id", "ecs-service-name", "ecs-task-definition-arn",
        "ecs-task-arn", "ecs-task-id")}
    roles: list[int] = []
    eni_vpc: list[int] = []
    weights: list[float] = []
    ip4: list[str] = []
    ip6: list[str | None] = []
    vpcs: list[_Vpc] = []
    used_octets: set[int] = set()
    for a, regions in enumerate(_PRESENCE):
        for r in regions:
            region = _REGIONS[r]
            v = len(vpcs)
            if v % 2 == 0:
                octet = int(rng.integers(0, 256))
                while octet in used_octets:
                    octet = int(rng.integers(0, 256))
                used_octets.add(octet)
                prefix = f"10.{octet}"
            else:
                prefix = f"172.{16 + (v // 2) % 16}"
            v6_prefix = (f"2600:1f{int(rng.integers(16, 32)):02x}:{int(rng.integers(0, 65536)):x}:"
                         f"{int(rng.integers(16, 256)):02x}") if rng.random() < 0.6 else None
            azs = _AZ_IDS[region][: 2 + int(rng.integers(0, 2))]
            subnets = {(tier, az): "subnet-" + _hex(rng, 17) for tier in range(3) for az in range(len(azs))}
            vpc = _Vpc(a, region, "vpc-" + _hex(rng, 17), float(rng.lognormal(0, 0.4)) * _REGION_WEIGHT[region],
                       np.empty(0, np.int32))
            hosts_used: set[tuple[int, int]] = set()
            first = len(roles)
            for role, (lo, hi) in _ROLE_COUNTS.items():
                for _ in range(int(rng.integers(lo, hi + 1))):
                    tier = _ROLE_TIER[role]
                    az = int(rng.integers(0, len(azs)))
                    sub_octet = tier * 32 + az * 8
                    host = int(rng.integers(4, 251))
                    while (sub_octet, host) in hosts_used:
                        host = int(rng.integers(4, 251))
                    hosts_used.add((sub_octet, host))
                    ip4.append(f"{prefix}.{sub_octet}.{host}")
                    has_v6 = v6_prefix is not None and role in (WEB, APP, ECS, BASTION)
                    ip6.append(f"{v6_prefix}{sub_octet:02x}:{_hex(rng, 4).lstrip('0') or '0'}:"
                               f"{_hex(rng, 4).lstrip('0') or '0'}:{_hex(rng, 4).lstrip('0') or '0'}:"
                               f"{_hex(rng, 4).lstrip('0') or '0'}" if has_v6 else None)
                    fargate = role == ECS and rng.random() < 0.5
                    no_instance = role in (NAT, VPCE) or fargate
                    rows["interface-id"].append("eni-" + _hex(rng, 17))
                    rows["account-id"].append("unknown" if role == VPCE else accounts[a])
                    rows["instance-id"].append(None if no_instance else "i-" + _hex(rng, 17))
                    rows["subnet-id"].append(subnets[(tier, az)])
                    rows["vpc-id"].append(vpc.vpc_id)
                    rows["region"].append(region)
                    rows["az-id"].append(azs[az])
                    ecs = _ecs_fields(rng, region, accounts[a], fargate) if role == ECS else {}
                    for k in rows:
                        if k.startswith("ecs-"):
                            rows[k].append(ecs.get(k))
                    roles.append(role)
                    eni_vpc.append(v)
                    weights.append(float(rng.lognormal(0, 1.0)))
            vpc.enis = np.arange(first, len(roles), dtype=np.int32)
            role_arr = np.asarray(roles[first:])
            vpc.by_role = {role: vpc.enis[role_arr == role] for role in _ROLE_COUNTS}
            vpc.tgw_attachment = "tgw-attach-" + _hex(rng, 17)
            vpc.tgw_eni = "eni-" + _hex(rng, 17)
            vpc.tgw_subnet = subnets[(1, 0)]
            vpc.tgw_az = azs[0]
            vpcs.append(vpc)
    tgws = {}
    for region in _REGIONS:
        owner = min(v.account for v in vpcs if v.region == region)
        tgws[region] = ("tgw-" + _hex(rng, 17), owner)
    cols = {k: pa.array(v, pa.string()) for k, v in rows.items()}
    vpc_cols = {
        "account": pa.array([accounts[v.account] for v in vpcs]),
        "vpc-id": pa.array([v.vpc_id for v in vpcs]),
        "attachment": pa.array([v.tgw_attachment for v in vpcs]),
        "eni": pa.array([v.tgw_eni for v in vpcs]),
        "subnet": pa.array([v.tgw_subnet for v in vpcs]),
        "az": pa.array([v.tgw_az for v in vpcs]),
    }
    return _Inventory(accounts, org_id, vpcs, tgws, np.asarray(roles, np.int8), np.asarray(eni_vpc, np.int32),
                      np.asarray(weights), np.asarray([x is not None for x in ip6]), ip4, ip6, cols, vpc_cols)


def _ecs_fields(rng: np.random.Generator, region: str, account: str, fargate: bool) -> dict[str, str | None]:
    cluster = _ECS_CLUSTERS[int(rng.integers(0, len(_ECS_CLUSTERS)))]
    base = f"arn:aws:ecs:{region}:{account}"
    task_id = _hex(rng, 32)
    ci_id = _hex(rng, 32)
    service = _ECS_SERVICES[int(rng.integers(0, len(_ECS_SERVICES)))] if rng.random() < 0.75 else None
    family = service or "adhoc-task"
    return {
        "ecs-cluster-arn": f"{base}:cluster/{cluster}",
        "ecs-cluster-name": cluster,
        "ecs-container-instance-arn": None if fargate else f"{base}:container-instance/{cluster}/{ci_id}",
        "ecs-container-instance-id": None if fargate else ci_id,
        "ecs-container-id": _hex(rng, 64),
        "ecs-second-container-id": _hex(rng, 64) if rng.random() < 0.5 else None,
        "ecs-service-name": service,
        "ecs-task-definition-arn": f"{base}:task-definition/{family}:{int(rng.integers(1, 40))}",
        "ecs-task-arn": f"{base}:task/{cluster}/{task_id}",
        "ecs-task-id": task_id,
    }


# ---------------------------------------------------------------------------------------------
# Address pools: every address a record can show, in one Arrow string array; records hold indexes.

_POOL_SIZES = {"inet4": 60_000, "inet6": 8_000, "scan": 40_000, "office": 12, "aws": 4_000, "srv": 6_000}
_PUBLIC_FIRST_OCTETS = np.array([o for o in range(1, 224) if o not in (10, 100, 127, 169, 172, 192, 198)])
_AWS_RANGES = (  # (label, first octet, second octets)
    ("S3", 52, (216, 217, 218, 219)), ("S3", 3, (5,)), ("S3", 54, (231,)),
    ("DYNAMODB", 52, (94,)), ("DYNAMODB", 3, (218,)), ("AMAZON", 54, (239, 240)),
    ("EC2", 18, (204, 205, 206)), ("EC2", 3, (80, 81, 82)), ("CLOUDFRONT", 13, (32, 35)),
    ("API_GATEWAY", 15, (197,)), ("ROUTE53", 205, (251,)),
)
_V6_PREFIXES = np.array(["2a01", "2a02", "2a00", "2001", "2600", "2601", "2604", "2605", "2607", "2400", "2406"])


def _dotted(o1: np.ndarray, o2: np.ndarray, o3: np.ndarray, o4: np.ndarray) -> pa.Array:
    parts = [pc.cast(pa.array(o.astype(np.int64)), pa.string()) for o in (o1, o2, o3, o4)]
    return pc.binary_join_element_wise(*parts, ".")


def _public_v4(rng: np.random.Generator, n: int) -> pa.Array:
    return _dotted(rng.choice(_PUBLIC_FIRST_OCTETS, n), rng.integers(0, 256, n), rng.integers(0, 256, n),
                   rng.integers(1, 255, n))


@dataclass
class _Pool:
    addr: pa.Array
    label: pa.Array
    """AWS service name of each address (null for non-AWS), for `pkt-*-aws-service`."""
    off: dict[str, int]
    size: dict[str, int]


def _pool(seed: int, inv: _Inventory) -> _Pool:
    rng = np.random.default_rng([seed, 0x9001])
    n_eni = len(inv.ip4)
    pieces: list[pa.Array] = [pa.array(inv.ip4), pa.array(inv.ip6, pa.string())]
    labels: list[pa.Array] = [pa.nulls(2 * n_eni, pa.string())]
    off, size = {"eni4": 0, "eni6": n_eni}, {"eni4": n_eni, "eni6": n_eni}
    pos = 2 * n_eni
    for name, n in _POOL_SIZES.items():
        if name == "inet6":
            hexed = [pa.array([f"{x:x}" for x in rng.integers(0, 65536, n).tolist()]) for _ in range(7)]
            arr = pc.binary_join_element_wise(pa.array(rng.choice(_V6_PREFIXES, n)), *hexed, ":")
            lab = pa.nulls(n, pa.string())
        elif name == "aws":
            which = rng.integers(0, len(_AWS_RANGES), n)
            first = np.array([r[1] for r in _AWS_RANGES])[which]
            second = np.array([r[2][int(rng.integers(0, len(r[2])))] for r in (_AWS_RANGES[w] for w in which)])
            arr = _dotted(first, second, rng.integers(0, 256, n), rng.integers(1, 255, n))
            lab = pa.array([_AWS_RANGES[w][0] for w in which])
        else:
            arr = _public_v4(rng, n)
            lab = pa.nulls(n, pa.string())
        pieces.append(arr)
        labels.append(lab)
        off[name], size[name] = pos, n
        pos += n
    return _Pool(pa.concat_arrays(pieces), pa.concat_arrays(labels), off, size)


# ---------------------------------------------------------------------------------------------
# Traffic model.

SAMPLER_SLOTS = 8192
"""Resolution of weighted choices: a lookup table of this many slots (each value gets at least one)."""


class _Sampler:
    """Weighted choice among a few values by one table lookup per draw (much faster than searchsorted)."""

    def __init__(self, values: Sequence[int] | np.ndarray, weights: Sequence[float] | np.ndarray) -> None:
        vals, w = np.asarray(values), np.asarray(weights, float)
        self.single = vals[0] if len(vals) == 1 else None
        slots = 1 + _split_exact(SAMPLER_SLOTS - len(vals), w)
        self.table = np.repeat(vals, slots)

    def __call__(self, rng: np.random.Generator, m: int) -> np.ndarray:
        if self.single is not None:
            return np.full(m, self.single)
        return self.table[rng.integers(0, SAMPLER_SLOTS, m, dtype=np.int32)]


_SAMPLERS: dict[tuple[tuple[int, float], ...], _Sampler] = {}


@dataclass(frozen=True)
class _Kind:
    """A kind of conversation: who talks to whom on which port, and how the records look."""

    weight: float
    client: tuple[int, ...] | str
    """ENI roles, or an address pool name for internet peers."""
    server: tuple[int, ...] | str
    ports: tuple[tuple[int, float], ...]
    protos: tuple[tuple[int, float], ...] = ((6, 1.0),)
    observe: str = "both"
    """Which end's ENI records it: `server`, `client` or `both` (internet ends are never recorded)."""
    reject: float = 0.002
    paths: tuple[int, ...] = (1,)
    """`traffic-path` values of the kind's egress records."""
    ipv6: float = 0.0
    """Share of IPv6 when the ENIs have IPv6 addresses."""
    packets: tuple[float, float, float] = (1.5, 2.0, 1.3)
    """Lognormal mu of request and response packets, and sigma."""
    size: tuple[int, int, int, int] = (60, 600, 200, 1400)
    """Bytes per packet, request lo/hi then response lo/hi."""


_ALL = (WEB, APP, ECS, DB, BASTION, WIN)
_KINDS: tuple[_Kind, ...] = (
    _Kind(0.30, "inet4", (WEB,), ((443, 0.85), (80, 0.15)), observe="server", paths=(8,), ipv6=0.3,
          packets=(1.6, 2.3, 1.4), size=(80, 700, 600, 1440)),
    _Kind(0.14, (WEB,), (APP, ECS), ((8080, 0.7), (8443, 0.3)), packets=(1.8, 2.2, 1.2), size=(100, 900, 300, 1400)),
    _Kind(0.12, (APP, ECS), (DB,), ((5432, 0.75), (3306, 0.25)), reject=0.004, size=(80, 600, 200, 1400)),
    _Kind(0.09, _ALL, (DNS,), ((53, 1.0),), protos=((17, 0.92), (6, 0.08)), packets=(0.2, 0.2, 0.6),
          size=(60, 90, 90, 300)),
    _Kind(0.09, (APP, ECS, WEB), "aws", ((443, 1.0),), observe="client", paths=(7, 7, 2, 8),
          packets=(1.5, 2.4, 1.5), size=(100, 800, 600, 1440)),
    _Kind(0.03, (APP, ECS), (VPCE,), ((443, 1.0),), packets=(1.2, 1.6, 1.2)),
    _Kind(0.015, "office", (BASTION,), ((22, 1.0),), observe="server", paths=(8,), packets=(2.0, 2.2, 1.0),
          size=(60, 200, 60, 400)),
    _Kind(0.015, (BASTION,), (APP, DB, WEB, ECS), ((22, 1.0),), packets=(2.0, 2.2, 1.0), size=(60, 200, 60, 400)),
    _Kind(0.02, (BASTION,), (WIN,), ((3389, 1.0),), packets=(2.5, 3.0, 1.0), size=(60, 300, 200, 1400)),
    _Kind(0.012, "scan", (BASTION,), ((22, 1.0),), observe="server", reject=0.85, paths=(8,),
          packets=(1.0, 1.2, 0.8), size=(60, 200, 60, 400)),
    _Kind(0.008, (APP, WEB), (WIN,), ((3389, 1.0),), observe="server", reject=0.9),
    _Kind(0.02, (BASTION, APP), (WEB, APP, DB), ((0, 1.0),), protos=((1, 1.0),), packets=(0.8, 0.8, 0.5),
          size=(84, 84, 84, 84)),
    _Kind(0.015, "inet4", (WEB,), ((0, 1.0),), protos=((1, 1.0),), observe="server", reject=0.3, paths=(8,),
          ipv6=0.3, packets=(0.8, 0.8, 0.5), size=(84, 84, 84, 84)),
)
_NAT_WEIGHT = 0.10
_NAT_KIND = len(_KINDS)
_SCAN_KIND = len(_KINDS) + 1
_KIND_SAMPLER = _Sampler(np.arange(len(_KINDS) + 1, dtype=np.int8), [k.weight for k in _KINDS] + [_NAT_WEIGHT])

_SCAN_PORTS = np.array([22, 23, 80, 443, 445, 3389, 1433, 3306, 5432, 5900, 6379, 8080, 8443, 9200, 27017,
                        2375, 8888, 21, 25, 111, 135, 139, 161, 1900, 5060, 11211, 7547, 81, 8000, 10250])
_UDP_SCAN_PORTS = np.array([53, 123, 161, 1900, 5060, 11211, 137, 500, 3702, 19])
_REQ_FLAGS = ((0, 0.35), (2, 0.25), (3, 0.2), (1, 0.15), (4, 0.05))
"""Client-side TCP flags of a window: ACK-only (0), SYN, SYN+FIN, FIN, RST."""
_RESP_FLAGS = ((0, 0.35), (18, 0.25), (19, 0.2), (1, 0.15), (4, 0.05))
_SYN_SIZES = np.array([44, 52, 60])


def _choose(rng: np.random.Generator, pairs: Sequence[tuple[int, float]], m: int) -> np.ndarray:
    key = tuple(pairs)
    if key not in _SAMPLERS:
        _SAMPLERS[key] = _Sampler([v for v, _ in pairs], [w for _, w in pairs])
    return _SAMPLERS[key](rng, m)


def _intensity(t: np.ndarray, t0: int, seed: int) -> np.ndarray:
    """Relative rate of ordinary traffic at Unix times `t`: diurnal, weekly, trend and noise."""
    hour = (t % DAY) / 3600.0
    diurnal = 0.3 + 1.0 * np.exp(-0.5 * ((hour - 14.0) / 3.8) ** 2)
    dow = ((t // DAY) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekly = np.where(dow >= 5, 0.5, np.where(dow == 4, 0.9, 1.0))
    trend = 1.0 + 0.02 * (t - t0) / DAY
    rng = np.random.default_rng([seed, 0x5EA5, len(t), int(t[0]) if len(t) else 0])
    noise = rng.lognormal(0.0, 0.12, len(t))
    burst = np.where(rng.random(len(t)) < 0.003, rng.uniform(2.0, 4.0, len(t)), 1.0)
    return diurnal * weekly * trend * noise * burst


# ---------------------------------------------------------------------------------------------
# Record generation.


@dataclass
class _Ctx:
    seed: int
    inv: _Inventory
    pool: _Pool
    window_start: int
    eni_samplers: dict[tuple[int, tuple[int, ...]], _Sampler] = field(default_factory=dict)
    dict_cache: dict[int, tuple[pa.Array, pa.Array]] = field(default_factory=dict)
    run_cache: dict[tuple[object, ...], pa.Array] = field(default_factory=dict)
    text_cache: dict[str, list[str]] = field(default_factory=dict)

    def eni_text(self, name: str) -> list[str]:
        """Text of a per-ENI field for each ENI (`-` where empty)."""
        if name not in self.text_cache:
            self.text_cache[name] = [v if v is not None else "-" for v in self.inv.cols[name].to_pylist()]
        return self.text_cache[name]

    def pick_eni(self, rng: np.random.Generator, vpc: int, roles: tuple[int, ...], m: int) -> np.ndarray:
        """ENIs of `roles` in `vpc`, busier ENIs more often (activity weights are heavy-tailed)."""
        key = (vpc, roles)
        if key not in self.eni_samplers:
            v = self.inv.vpcs[vpc]
            cand = np.concatenate([v.by_role[r] for r in roles])
            self.eni_samplers[key] = _Sampler(cand, self.inv.eni_weight[cand])
        return self.eni_samplers[key](rng, m)

    def pick_pool(self, rng: np.random.Generator, name: str, m: int, skew: float = 3.0) -> np.ndarray:
        """Pool addresses with a heavy head (top talkers) when `skew` > 1."""
        n = self.pool.size[name]
        return self.pool.off[name] + (n * rng.random(m) ** skew).astype(np.int32).clip(0, n - 1)


@dataclass
class _Core:
    """One chunk of VPC records as numpy columns; addresses are indexes into the pool."""

    end: np.ndarray
    eni: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    psrc: np.ndarray
    pdst: np.ndarray
    sport: np.ndarray
    dport: np.ndarray
    proto: np.ndarray
    packets: np.ndarray
    nbytes: np.ndarray
    reject: np.ndarray
    flags: np.ndarray
    v6: np.ndarray
    egress: np.ndarray
    path: np.ndarray
    start: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    status: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))
    bpa: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    # Transit Gateway only: VPC of each end and the recording side.
    src_vpc: np.ndarray | None = None
    dst_vpc: np.ndarray | None = None
    at_src: np.ndarray | None = None
    lost: np.ndarray | None = None

    def subset(self, idx: np.ndarray) -> _Core:
        """The records at `idx` (for the small block of NODATA/SKIPDATA rows)."""
        parts = {}
        for f in fields(self):
            v = getattr(self, f.name)
            parts[f.name] = None if v is None else (v[:, idx] if f.name == "lost" else v[idx])
        return _Core(**parts)

    @classmethod
    def empty(cls, end: np.ndarray) -> _Core:
        n = len(end)
        i32 = [np.zeros(n, np.int32) for _ in range(8)]
        return cls(end, *i32, np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool),
                   np.zeros(n, np.int16), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int8))


def _traffic(rng: np.random.Generator, c: _Core, idx: np.ndarray, kind: _Kind, is_resp: np.ndarray,
             reject: np.ndarray) -> None:
    """Packets, bytes and TCP flags of records `idx` (protocol already set)."""
    m = len(idx)
    mu_req, mu_resp, sigma = kind.packets
    mu = np.where(is_resp, np.float32(mu_resp), np.float32(mu_req))
    packets = 1 + np.exp(mu + np.float32(sigma) * rng.standard_normal(m, dtype=np.float32)).astype(np.int64)
    elephant = rng.random(m, dtype=np.float32) < 0.004
    if elephant.any():
        packets[elephant] *= (1 + rng.pareto(1.1, int(elephant.sum())) * 20).astype(np.int64)
    np.minimum(packets, 5_000_000, out=packets)
    lo = np.where(is_resp, kind.size[2], kind.size[0])
    hi = np.where(is_resp, kind.size[3], kind.size[1])
    size = lo + (rng.random(m, dtype=np.float32) * (hi - lo + 1)).astype(np.int64)
    nbytes = packets * size
    proto = c.proto[idx]
    tcp = proto == 6
    flags = np.where(is_resp, _choose(rng, _RESP_FLAGS, m), _choose(rng, _REQ_FLAGS, m))
    if reject.any():
        r_packets = 1 + (rng.random(m, dtype=np.float32) < 0.3) + (rng.random(m, dtype=np.float32) < 0.1)
        packets = np.where(reject, r_packets, packets)
        syn = _SYN_SIZES[rng.integers(0, 3, m)]
        nbytes = np.where(reject, np.where(tcp, syn, size) * packets, nbytes)
        flags = np.where(reject, 2, flags)
    c.packets[idx] = packets
    c.nbytes[idx] = nbytes
    c.flags[idx] = np.where(tcp, flags, 0)


def _fill_kind(ctx: _Ctx, rng: np.random.Generator, c: _Core, idx: np.ndarray, vpc: int, kind: _Kind) -> None:
    m = len(idx)
    off6 = ctx.pool.off["eni6"]
    sv_eni = ctx.pick_eni(rng, vpc, kind.server, m) if isinstance(kind.server, tuple) else None
    cl_eni = ctx.pick_eni(rng, vpc, kind.client, m) if isinstance(kind.client, tuple) else None
    v6 = np.zeros(m, bool)
    if kind.ipv6 > 0:
        v6 = rng.random(m) < kind.ipv6
        for e in (sv_eni, cl_eni):
            if e is not None:
                v6 &= ctx.inv.eni_has_v6[e]
    sv_addr = np.where(v6, off6 + sv_eni, sv_eni) if sv_eni is not None else ctx.pick_pool(rng, str(kind.server), m)
    if cl_eni is not None:
        cl_addr = np.where(v6, off6 + cl_eni, cl_eni)
        cl_port = rng.integers(32768, 61000, m)
    else:
        skew = 1.5 if kind.client == "scan" else 3.0
        cl_addr = ctx.pick_pool(rng, str(kind.client), m, skew)
        if v6.any():
            cl_addr = np.where(v6, ctx.pick_pool(rng, "inet6", m), cl_addr)
        cl_port = rng.integers(1024, 65536, m)
    reject = rng.random(m) < kind.reject
    if kind.observe == "server":
        local_client = np.zeros(m, bool)
    elif kind.observe == "client":
        local_client = np.ones(m, bool)
    else:
        local_client = (rng.random(m) < 0.5) & ~reject
    is_resp = (rng.random(m) < 0.5) & ~reject
    proto = _choose(rng, kind.protos, m)
    proto = np.where(v6 & (proto == 1), 58, proto)
    icmp = (proto == 1) | (proto == 58)
    sv_port = np.where(icmp, 0, _choose(rng, kind.ports, m))
    cl_port = np.where(icmp, 0, cl_port)
    c.eni[idx] = np.where(local_client, cl_eni, sv_eni) if cl_eni is not None and sv_eni is not None else (
        cl_eni if sv_eni is None else sv_eni)
    src = np.where(is_resp, sv_addr, cl_addr)
    dst = np.where(is_resp, cl_addr, sv_addr)
    c.src[idx] = c.psrc[idx] = src
    c.dst[idx] = c.pdst[idx] = dst
    c.sport[idx] = np.where(is_resp, sv_port, cl_port)
    c.dport[idx] = np.where(is_resp, cl_port, sv_port)
    c.proto[idx] = proto
    c.v6[idx] = v6
    c.reject[idx] = reject
    c.egress[idx] = local_client != is_resp
    c.path[idx] = _choose(rng, [(p, 1.0) for p in kind.paths], m)
    _traffic(rng, c, idx, kind, is_resp, reject)


_NAT_TRAFFIC = _Kind(0.0, (), (), (), packets=(1.6, 2.4, 1.4), size=(80, 700, 500, 1440))


def _fill_nat(ctx: _Ctx, rng: np.random.Generator, c: _Core, idx: np.ndarray, vpc: int) -> None:
    """Instance -> NAT gateway -> internet, seen on the NAT ENI (4 legs) and the instance ENI (2 legs)."""
    m = len(idx)
    inst = ctx.pick_eni(rng, vpc, (APP, ECS), m)
    nat = ctx.pick_eni(rng, vpc, (NAT,), m)
    host = np.where(rng.random(m) < 0.7, ctx.pick_pool(rng, "srv", m), ctx.pick_pool(rng, "aws", m))
    leg = rng.integers(0, 6, m)
    inst_port = rng.integers(32768, 61000, m)
    nat_port = rng.integers(1024, 65536, m)
    hport = np.where(rng.random(m) < 0.8, 443, 80)
    legs = [leg == i for i in range(6)]
    c.eni[idx] = np.where(leg < 4, nat, inst)
    c.src[idx] = np.select(legs, [inst, nat, host, nat, inst, host])
    c.dst[idx] = np.select(legs, [nat, host, nat, inst, host, inst])
    c.psrc[idx] = np.select(legs, [inst, nat, host, host, inst, host])
    c.pdst[idx] = np.select(legs, [host, host, nat, inst, host, inst])
    c.sport[idx] = np.select(legs, [inst_port, nat_port, hport, hport, inst_port, hport])
    c.dport[idx] = np.select(legs, [hport, hport, nat_port, inst_port, hport, inst_port])
    c.proto[idx] = 6
    c.egress[idx] = (leg == 1) | (leg == 3) | (leg == 4)
    c.path[idx] = np.where(leg == 1, 8, 1)
    is_resp = (leg == 2) | (leg == 3) | (leg == 5)
    reject = np.zeros(m, bool)
    _traffic(rng, c, idx, _NAT_TRAFFIC, is_resp, reject)


def _fill_scan(ctx: _Ctx, rng: np.random.Generator, c: _Core, idx: np.ndarray, vpc: int) -> None:
    """Background internet scanning: SYNs from many sources to random ports, rejected."""
    m = len(idx)
    c.eni[idx] = eni = ctx.pick_eni(rng, vpc, _PUBLIC_FACING, m)
    c.src[idx] = c.psrc[idx] = ctx.pick_pool(rng, "scan", m, 1.3)
    c.dst[idx] = c.pdst[idx] = eni
    udp = rng.random(m) < 0.15
    common = rng.random(m) < 0.5
    tcp_port = np.where(common, _SCAN_PORTS[rng.integers(0, len(_SCAN_PORTS), m)], rng.integers(1, 65536, m))
    c.dport[idx] = np.where(udp, _UDP_SCAN_PORTS[rng.integers(0, len(_UDP_SCAN_PORTS), m)], tcp_port)
    c.sport[idx] = np.where(rng.random(m) < 0.3, 54321, rng.integers(1024, 65536, m))
    c.proto[idx] = np.where(udp, 17, 6)
    packets = 1 + (rng.random(m) < 0.2)
    c.packets[idx] = packets
    c.nbytes[idx] = packets * np.where(udp, 28 + rng.integers(0, 120, m), _SYN_SIZES[rng.integers(0, 3, m)])
    c.flags[idx] = np.where(udp, 0, 2)
    c.reject[idx] = True


def _timing(rng: np.random.Generator, c: _Core, end_lo: np.ndarray, end_hi: np.ndarray, window_start: int) -> None:
    """`end` inside its bucket, `start` mostly within 60 s before it (Nitro 1-minute aggregation)."""
    n = len(end_lo)
    c.end = end_lo + (rng.random(n) * (end_hi - end_lo)).astype(np.int64)
    u = rng.random(n, dtype=np.float32)
    dur = (np.float32(60) * np.sqrt(u)).astype(np.int64)  # flows mostly span much of their minute
    dur[u < 0.02] += rng.integers(60, 540, int((u < 0.02).sum()))  # 10-minute aggregation (non-Nitro)
    dur[c.packets <= 1] = 0
    np.minimum(dur, 3, out=dur, where=c.reject)
    quiet = np.flatnonzero(c.status)
    dur[quiet] = rng.integers(40, 61, len(quiet))
    c.start = np.maximum(c.end - dur, window_start)


def _status(rng: np.random.Generator, sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """`log-status` of consecutive objects of `sizes` records, and each object's NODATA+SKIPDATA count.

    Each object's NODATA/SKIPDATA rows are its last rows, so text objects can be written as an all-OK
    block (typed integers, no `-`) followed by a small block of `-` rows. The caller shuffles the
    rows' times within each object first: otherwise an object's last minutes would hold no traffic.
    """
    r = rng.random(sum(sizes))
    nodata = r < NODATA_SHARE
    skip = (r >= NODATA_SHARE) & (r < NODATA_SHARE + SKIPDATA_SHARE)
    status = np.zeros(len(r), np.int8)
    quiet = np.zeros(len(sizes), np.int64)
    pos = 0
    for i, size in enumerate(sizes):
        nd, ns = int(nodata[pos:pos + size].sum()), int(skip[pos:pos + size].sum())
        status[pos + size - nd - ns:pos + size - ns] = 1
        status[pos + size - ns:pos + size] = 2
        quiet[i] = nd + ns
        pos += size
    return status, quiet


def _vpc_chunk(ctx: _Ctx, rng: np.random.Generator, vpc: int, end_lo: np.ndarray, end_hi: np.ndarray,
               scan_p: np.ndarray, status: np.ndarray) -> _Core:
    n = len(end_lo)
    c = _Core.empty(end_lo)
    scan = rng.random(n) < scan_p
    kind = _KIND_SAMPLER(rng, n)
    kind[scan] = _SCAN_KIND
    order = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[order], np.arange(_SCAN_KIND + 2))
    for k in range(_SCAN_KIND + 1):
        idx = order[bounds[k]:bounds[k + 1]]
        if not len(idx):
            continue
        if k == _NAT_KIND:
            _fill_nat(ctx, rng, c, idx, vpc)
        elif k == _SCAN_KIND:
            _fill_scan(ctx, rng, c, idx, vpc)
        else:
            _fill_kind(ctx, rng, c, idx, vpc, _KINDS[k])
    c.status = status
    quiet = np.flatnonzero(c.status)
    if len(quiet):
        enis = ctx.inv.vpcs[vpc].enis
        c.eni[quiet] = enis[rng.integers(0, len(enis), len(quiet))]
    c.bpa = c.reject & (rng.random(n) < BPA_SHARE)
    _timing(rng, c, end_lo, end_hi, ctx.window_start)
    return c


_TGW_CLIENT_ROLES = (WEB, APP, ECS, BASTION)
_TGW_SERVER_ROLES = (APP, DB, DNS, ECS)
_TGW_PORT = {APP: 8080, ECS: 8080, DB: 5432, DNS: 53}
_TGW_TRAFFIC = _Kind(0.0, (), (), (), packets=(1.6, 2.0, 1.3), size=(80, 700, 200, 1400))


def _tgw_chunk(ctx: _Ctx, rng: np.random.Generator, region: str, end_lo: np.ndarray, end_hi: np.ndarray,
               status: np.ndarray) -> _Core:
    """Inter-VPC traffic through the region's transit gateway, recorded at either attachment."""
    n = len(end_lo)
    c = _Core.empty(end_lo)
    vpcs = np.array([i for i, v in enumerate(ctx.inv.vpcs) if v.region == region])
    w = np.cumsum([ctx.inv.vpcs[i].weight for i in vpcs])
    a = np.searchsorted(w, rng.random(n) * w[-1], side="right").clip(0, len(vpcs) - 1)
    b = (a + 1 + rng.integers(0, len(vpcs) - 1, n)) % len(vpcs)
    cl_vpc, sv_vpc = vpcs[a], vpcs[b]
    cl_eni = np.zeros(n, np.int32)
    sv_eni = np.zeros(n, np.int32)
    for v in vpcs:
        sel = np.flatnonzero(cl_vpc == v)
        cl_eni[sel] = ctx.pick_eni(rng, int(v), _TGW_CLIENT_ROLES, len(sel))
        sel = np.flatnonzero(sv_vpc == v)
        sv_eni[sel] = ctx.pick_eni(rng, int(v), _TGW_SERVER_ROLES, len(sel))
    role = ctx.inv.eni_role[sv_eni]
    port_by_role = np.zeros(16, np.int32)
    for r, p in _TGW_PORT.items():
        port_by_role[r] = p
    sv_port = port_by_role[role]
    proto = np.where((role == DNS) & (rng.random(n) < 0.9), 17, 6)
    cl_port = rng.integers(32768, 61000, n)
    is_resp = rng.random(n) < 0.5
    c.src = np.where(is_resp, sv_eni, cl_eni).astype(np.int32)
    c.dst = np.where(is_resp, cl_eni, sv_eni).astype(np.int32)
    c.sport = np.where(is_resp, sv_port, cl_port).astype(np.int32)
    c.dport = np.where(is_resp, cl_port, sv_port).astype(np.int32)
    c.proto = proto.astype(np.int32)
    c.src_vpc = np.where(is_resp, sv_vpc, cl_vpc)
    c.dst_vpc = np.where(is_resp, cl_vpc, sv_vpc)
    c.at_src = rng.random(n) < 0.5
    idx = np.arange(n)
    _traffic(rng, c, idx, _TGW_TRAFFIC, is_resp, np.zeros(n, bool))
    lost = np.zeros((4, n), np.int64)
    for i, p in enumerate((0.002, 0.001, 0.0005, 0.0005)):
        hit = rng.random(n) < p
        lost[i, hit] = rng.integers(1, 20, int(hit.sum()))
    c.lost = lost
    c.bpa = np.zeros(n, bool)
    c.status = status
    _timing(rng, c, end_lo, end_hi, ctx.window_start)
    return c


# ---------------------------------------------------------------------------------------------
# Columns: typed Arrow arrays with nulls where AWS writes `-`.

_ACTION = pa.array(["ACCEPT", "REJECT"])
_STATUS = pa.array(["OK", "NODATA", "SKIPDATA"])
_TYPE = pa.array(["IPv4", "IPv6"])
_DIRECTION = pa.array(["ingress", "egress"])
_BPA = pa.array(["BPA"])
STRING = pa.string()
_INT_TEXT = pa.array([str(i) for i in range(65536)])
_TINY_INT_TEXT = _INT_TEXT[:256]
"""Decimal text of small integers: ports, protocols and flags with `-` become text by one `take`."""


def _either(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    if a is None:
        return b
    return a if b is None else a | b


class _Columns:
    """Builds one chunk's columns either typed with nulls (Parquet) or as AWS text with `-` (gzip text).

    `dash` marks NODATA/SKIPDATA rows, whose 5-tuple, counters and action are missing; None
    means every row is written as OK.  Text columns are made directly (dictionaries with a
    trailing `-` entry) rather than by filling nulls afterwards, and integer columns without
    `-` stay integers for the CSV writer to format.
    """

    def __init__(self, n: int, dash: np.ndarray | None, text: bool, cache: dict[int, tuple[pa.Array, pa.Array]]):
        self.n, self.text, self._cache = n, text, cache
        self.dash = dash if dash is not None and dash.any() else None

    def _with_dash(self, dictionary: pa.Array) -> pa.Array:
        """`dictionary` with nulls as `-` and a trailing `-` for masked rows (cached per dictionary)."""
        hit = self._cache.get(id(dictionary))
        if hit is None or hit[0] is not dictionary:
            filled = pc.fill_null(dictionary, "-") if dictionary.null_count else dictionary
            hit = (dictionary, pa.concat_arrays([filled, pa.array(["-"])]))
            self._cache[id(dictionary)] = hit
        return hit[1]

    def take(self, dictionary: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
        """`dictionary[idx]`; rows where `mask` is set are missing (`-` or null)."""
        if mask is not None and not mask.any():
            mask = None
        if self.text:
            if mask is not None:
                idx = np.where(mask, len(dictionary), idx)
            return self._with_dash(dictionary).take(pa.array(idx.astype(np.int32, copy=False)))
        return dictionary.take(pa.array(idx, mask=mask))

    def ints(self, values: np.ndarray, typ: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
        if mask is not None and not mask.any():
            mask = None
        if not self.text or mask is None:
            return pa.array(values, typ, mask=mask)
        top = int(values.max()) if len(values) else 0
        if len(values) and values.min() >= 0 and top < 65536:
            return self.take(_TINY_INT_TEXT if top < 256 else _INT_TEXT, values, mask)
        return pc.fill_null(pc.cast(pa.array(values, typ, mask=mask), STRING), "-")

    def const(self, value: str | None, typ: pa.DataType = STRING) -> pa.Array:
        if value is None:
            return pa.repeat("-", self.n) if self.text else pa.nulls(self.n, typ)
        return pa.repeat(value, self.n)

    def table(self, cols: dict[str, pa.Array], spec: FormatSpec,
              runs: dict[tuple[str, ...], pa.Array] | None = None) -> pa.Table:
        if self.text:
            first = {names[0]: (names, arr) for names, arr in (runs or {}).items()}
            arrays, names = [], []
            for f in spec.fields:
                if f in first:
                    arrays.append(first[f][1])
                    names.append("+".join(first[f][0]))
                elif f in cols:
                    arrays.append(cols[f])
                    names.append(f)
            return pa.table(arrays, names=names)
        schema = pa.schema([pa.field(BY_AWS[f].column, BY_AWS[f].type) for f in spec.fields])
        return pa.table([cols[f].cast(BY_AWS[f].type) for f in spec.fields], schema=schema)


_ENI_FIELDS = frozenset({"account-id", "interface-id", "vpc-id", "subnet-id", "instance-id", "region", "az-id"})
_SEP = "\x1f"
"""Stands for a space inside pre-joined runs of fields (the CSV writer refuses real spaces)."""
_UNSEP = bytes.maketrans(b"\x1f", b" ")


@dataclass(frozen=True)
class _Key:
    """A per-record key (ENI, action...) that decides the text of several fields at once."""

    index: np.ndarray
    values: dict[str, list[str]]
    """Field -> its text for each key value."""


def _joined_runs(ctx: _Ctx, spec: FormatSpec, scope: object, consts: dict[str, str],
                 keys: dict[str, _Key]) -> dict[tuple[str, ...], pa.Array]:
    """Runs of adjacent fields decided by one key (or constant), each as one pre-joined text column.

    One `take` of "vpc-0a.. subnet-0b.. i-0c.." per ENI is far cheaper than three takes and
    three CSV columns; the `_SEP` inside is turned into spaces after the CSV writer.
    """
    runs: list[tuple[str, list[str]]] = []
    for name in spec.fields:
        kind = "const" if name in consts else next((k for k, key in keys.items() if name in key.values), "")
        last = runs[-1] if runs else None
        if kind and last and last[0] and (kind == "const" or last[0] in ("const", kind)):
            runs[-1] = (last[0] if kind == "const" else kind, [*last[1], name])
        else:
            runs.append((kind, [name]))
    out: dict[tuple[str, ...], pa.Array] = {}
    for kind, names in runs:
        if not kind or len(names) < 2:
            continue
        cache_key = (spec.label, scope, tuple(names))
        joined = ctx.run_cache.get(cache_key)
        if joined is None:
            if kind == "const":
                joined = pa.array([_SEP.join(consts[f] for f in names)])
            else:
                vals = keys[kind].values
                n_keys = len(next(iter(vals[f] for f in names if f in vals)))
                joined = pa.array([_SEP.join(consts[f] if f in consts else vals[f][i] for f in names)
                                   for i in range(n_keys)])
            ctx.run_cache[cache_key] = joined
        n = len(next(iter(keys.values())).index)
        if kind == "const":
            out[tuple(names)] = pa.repeat(joined[0], n)
        else:
            out[tuple(names)] = joined.take(pa.array(keys[kind].index.astype(np.int32, copy=False)))
    return out


def _vpc_table(ctx: _Ctx, c: _Core, spec: FormatSpec, text: bool, all_ok: bool = False) -> pa.Table:
    """The records as a table of the format's columns; `all_ok` ignores NODATA/SKIPDATA (text blocks)."""
    n = len(c.end)
    b = _Columns(n, None if all_ok else c.status != 0, text, ctx.dict_cache)
    dash = b.dash
    inv, pool = ctx.inv, ctx.pool
    addr = {"srcaddr": c.src, "dstaddr": c.dst, "pkt-srcaddr": c.psrc, "pkt-dstaddr": c.pdst}
    small = {"srcport": c.sport, "dstport": c.dport, "protocol": c.proto, "tcp-flags": c.flags}
    runs: dict[tuple[str, ...], pa.Array] = {}
    if text and all_ok:
        consts = {"version": str(spec.version), "sublocation-type": "-", "sublocation-id": "-", "log-status": "OK"}
        eni_fields = [f for f in spec.fields if f in _ENI_FIELDS or f.startswith("ecs-")]
        keys = {"eni": _Key(c.eni, {f: ctx.eni_text(f) for f in eni_fields}),
                "reject": _Key(c.reject.view(np.int8), {"action": ["ACCEPT", "REJECT"]}),
                "egress": _Key(c.egress.view(np.int8), {"flow-direction": ["ingress", "egress"]})}
        runs = _joined_runs(ctx, spec, None, consts, keys)
    covered = {f for names in runs for f in names}
    out: dict[str, pa.Array] = {}
    for name in spec.fields:
        if name in covered:
            continue
        if name == "version":
            col = b.ints(np.full(n, spec.version, np.int32), pa.int32())
        elif name in _ENI_FIELDS or name.startswith("ecs-"):
            col = b.take(inv.cols[name], c.eni)
        elif name in addr:
            col = b.take(pool.addr, addr[name], dash)
        elif name in small:
            col = b.ints(small[name], pa.int32(), dash)
        elif name in ("packets", "bytes"):
            col = b.ints(c.packets if name == "packets" else c.nbytes, pa.int64(), dash)
        elif name in ("start", "end"):
            col = b.ints(c.start if name == "start" else c.end, pa.int64())
        elif name == "action":
            col = b.take(_ACTION, c.reject.view(np.int8), dash)
        elif name == "log-status":
            col = b.const("OK") if dash is None else b.take(_STATUS, c.status)
        elif name == "type":
            col = b.take(_TYPE, c.v6.view(np.int8), dash)
        elif name in ("pkt-src-aws-service", "pkt-dst-aws-service"):
            col = b.take(pool.label, c.psrc if name == "pkt-src-aws-service" else c.pdst, dash)
        elif name == "flow-direction":
            col = b.take(_DIRECTION, c.egress.view(np.int8), dash)
        elif name == "traffic-path":
            col = b.ints(c.path.astype(np.int32), pa.int32(), _either(dash, ~c.egress | (c.path == 0)))
        elif name == "reject-reason":
            col = b.take(_BPA, np.zeros(n, np.int8), _either(dash, ~c.bpa))
        else:  # sublocation-type/-id and anything else this estate never fills
            col = b.const(None, BY_AWS[name].type)
        out[name] = col
    return b.table(out, spec, runs)


_TGW_VPC_KEYS = {"vpc-account-id": "account", "vpc-id": "vpc-id", "subnet-id": "subnet", "eni": "eni", "az-id": "az"}
_LOST = ("no-route", "blackhole", "mtu-exceeded", "ttl-expired")


def _tgw_table(ctx: _Ctx, c: _Core, spec: FormatSpec, text: bool, region: str, all_ok: bool = False) -> pa.Table:
    n = len(c.end)
    b = _Columns(n, None if all_ok else c.status != 0, text, ctx.dict_cache)
    dash = b.dash
    vc = ctx.inv.vpc_cols
    assert c.src_vpc is not None and c.dst_vpc is not None and c.at_src is not None and c.lost is not None
    tgw_id, owner = ctx.inv.tgws[region]
    consts = {"resource-type": "TransitGatewayAttachment", "account-id": ctx.inv.accounts[owner],
              "tgw-id": tgw_id, "region": region}
    small = {"srcport": c.sport, "dstport": c.dport, "tcp-flags": c.flags}
    runs: dict[tuple[str, ...], pa.Array] = {}
    if text and all_ok:
        nv = len(ctx.inv.vpcs)
        key = ((c.src_vpc * nv + c.dst_vpc) * 2 + c.at_src).astype(np.int32)
        sv = [i // (2 * nv) for i in range(2 * nv * nv)]
        dv = [(i // 2) % nv for i in range(2 * nv * nv)]
        at = [i % 2 for i in range(2 * nv * nv)]
        text_vc = {k: v.to_pylist() for k, v in vc.items()}
        values = {
            "tgw-attachment-id": [text_vc["attachment"][s if a else d] for s, d, a in zip(sv, dv, at, strict=True)],
            "tgw-pair-attachment-id": [text_vc["attachment"][d if a else s]
                                       for s, d, a in zip(sv, dv, at, strict=True)],
            "flow-direction": ["ingress" if a else "egress" for a in at],
        }
        for suffix, col_key in _TGW_VPC_KEYS.items():
            values["tgw-src-" + suffix] = [text_vc[col_key][s] for s in sv]
            values["tgw-dst-" + suffix] = [text_vc[col_key][d] for d in dv]
        text_consts = {**consts, "version": str(spec.version), "log-status": "OK", "type": "IPv4",
                       "pkt-src-aws-service": "-", "pkt-dst-aws-service": "-"}
        runs = _joined_runs(ctx, spec, region, text_consts, {"pair": _Key(key, values)})
    covered = {f for names in runs for f in names}
    out: dict[str, pa.Array] = {}
    for name in spec.fields:
        if name in covered:
            continue
        if name == "version":
            col = b.ints(np.full(n, spec.version, np.int32), pa.int32())
        elif name in consts:
            col = b.const(consts[name])
        elif name == "tgw-attachment-id":
            col = b.take(vc["attachment"], np.where(c.at_src, c.src_vpc, c.dst_vpc))
        elif name == "tgw-pair-attachment-id":
            col = b.take(vc["attachment"], np.where(c.at_src, c.dst_vpc, c.src_vpc))
        elif name.startswith(("tgw-src-", "tgw-dst-")):
            which = c.src_vpc if name.startswith("tgw-src-") else c.dst_vpc
            col = b.take(vc[_TGW_VPC_KEYS[name[8:]]], which, dash)
        elif name in ("srcaddr", "dstaddr"):
            col = b.take(ctx.pool.addr, c.src if name == "srcaddr" else c.dst, dash)
        elif name in small:
            col = b.ints(small[name], pa.int32(), dash)
        elif name == "protocol":  # INT_64 in Transit Gateway flow logs
            col = b.ints(c.proto.astype(np.int64), pa.int64(), dash)
        elif name in ("packets", "bytes"):
            col = b.ints(c.packets if name == "packets" else c.nbytes, pa.int64(), dash)
        elif name in ("start", "end"):
            col = b.ints(c.start if name == "start" else c.end, pa.int64())
        elif name == "log-status":
            col = b.const("OK") if dash is None else b.take(_STATUS, c.status)
        elif name == "type":
            col = b.const("IPv4") if dash is None else b.take(_TYPE, np.zeros(n, np.int8), dash)
        elif name.startswith("packets-lost-"):
            col = b.ints(c.lost[_LOST.index(name[13:])], pa.int64(), dash)
        elif name == "flow-direction":
            col = b.take(_DIRECTION, (~c.at_src).view(np.int8), dash)
        else:
            col = b.const(None)
        out[name] = col
    return b.table(out, spec, runs)


# ---------------------------------------------------------------------------------------------
# Objects: keys, names and writers.

_CSV_OPTIONS = pcsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none", batch_size=4096)


def _object_key(spec: FormatSpec, org_id: str, account: str, region: str, fl_id: str, bucket: int,
                suffix: str) -> str:
    t = datetime.fromtimestamp(bucket, UTC)
    y, mo, d, h = f"{t:%Y}", f"{t:%m}", f"{t:%d}", f"{t:%H}"
    name = f"{account}_vpcflowlogs_{region}_{fl_id}_{t:%Y%m%dT%H%MZ}_{suffix}"
    name += ".log.parquet" if spec.parquet else ".log.gz"
    if spec.layout == "hive-hourly":
        return (f"AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
                f"year={y}/month={mo}/day={d}/hour={h}/{name}")
    prefix = f"AWSLogs/{org_id}/{account}" if spec.layout == "org-daily" else f"AWSLogs/{account}"
    hour = f"/{h}" if spec.layout == "hourly" else ""
    return f"{prefix}/vpcflowlogs/{region}/{y}/{mo}/{d}{hour}/{name}"


def _write_object(path: Path, spec: FormatSpec, blocks: Sequence[pa.Table], mtime: int | None) -> None:
    """Write one object from table blocks (text: a header line, then the blocks' rows)."""
    if spec.parquet:
        table = pa.concat_tables(blocks) if len(blocks) > 1 else blocks[0]
        # No ARROW:schema metadata (AWS's writer has none), so readers see plain STRING columns.
        pq.write_table(table, path, compression="gzip", compression_level=GZIP_LEVEL, store_schema=False)
    else:
        buf = io.BytesIO()
        buf.write((" ".join(spec.fields) + "\n").encode())
        for block in blocks:
            if block.num_rows:
                pcsv.write_csv(block, buf, _CSV_OPTIONS)
        text = buf.getvalue().translate(_UNSEP)
        path.write_bytes(igzip.compress(text, compresslevel=GZIP_LEVEL, mtime=0))
    if mtime is not None:
        os.utime(path, (mtime, mtime))


_Job = tuple[Path, FormatSpec, list[pa.Table], "int | None"]


class _Writer:
    """Writes objects on a background thread, so formatting and compressing overlap generation.

    Arrow's CSV and Parquet writers, ISA-L and file I/O release the GIL.  At most `MAX_IN_FLIGHT`
    chunks wait to be written, which bounds memory.  Output bytes never depend on timing.
    """

    def __init__(self, threads: int = WRITER_THREADS) -> None:
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="flowlake-gen") if threads > 0 else None
        self._pending: deque[Future[None]] = deque()
        self._made: set[Path] = set()

    def _run(self, jobs: list[_Job]) -> None:
        for path, spec, blocks, mtime in jobs:
            if path.parent not in self._made:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(path.parent)
            _write_object(path, spec, blocks, mtime)

    def submit(self, jobs: list[_Job]) -> None:
        if self._pool is None:
            self._run(jobs)
            return
        while len(self._pending) >= MAX_IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._run, jobs))

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is None:
            return
        try:
            if exc[0] is None:
                while self._pending:
                    self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class _Stream:
    """One flow log's deliveries for one account and region (one fl-id)."""

    spec: FormatSpec
    index: int
    account: int
    region: str
    vpc: int
    """VPC whose ENIs it records (VPC formats); -1 for a transit gateway."""
    weight: float

    def fl_id(self, seed: int, accounts: list[str]) -> str:
        return "fl-" + _digest(seed, self.spec.label, accounts[self.account], self.region, size=9)[:17]


def _streams(inv: _Inventory, spec: FormatSpec) -> list[_Stream]:
    if spec.tgw:
        out = []
        for region in _REGIONS:
            _, owner = inv.tgws[region]
            weight = sum(v.weight for v in inv.vpcs if v.region == region)
            out.append(_Stream(spec, len(out), owner, region, -1, weight))
        return out
    return [_Stream(spec, i, v.account, v.region, i, v.weight) for i, v in enumerate(inv.vpcs)]


@dataclass
class _Tally:
    objects: int = 0
    records: int = 0
    nodata: int = 0
    skipdata: int = 0
    first: int | None = None
    last: int | None = None
    by_format: dict[str, int] = field(default_factory=dict)

    def add(self, label: str, c: _Core) -> None:
        n = len(c.end)
        self.records += n
        self.by_format[label] = self.by_format.get(label, 0) + n
        self.nodata += int((c.status == 1).sum())
        self.skipdata += int((c.status == 2).sum())
        lo, hi = int(c.start.min()), int(c.start.max())
        self.first = lo if self.first is None else min(self.first, lo)
        self.last = hi if self.last is None else max(self.last, hi)

    def stats(self, default_start: int, default_end: int) -> GenerateStats:
        start = self.first if self.first is not None else default_start
        end = self.last if self.last is not None else default_end
        return GenerateStats(self.objects, self.records, dict(self.by_format), self.nodata, self.skipdata,
                             datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))


def _span_buckets(per_bucket: float, records_per_object: int) -> int:
    """5-minute buckets per object span: widen sparse streams so objects hold about `records_per_object`.

    A span is a divisor of a day (so it never crosses midnight) or a whole number of days.
    """
    if per_bucket <= 0:
        return DAY // BUCKET
    k = records_per_object / per_bucket
    per_day = DAY // BUCKET
    if k <= 1:
        return 1
    if k < per_day:
        return max(d for d in range(1, per_day + 1) if per_day % d == 0 and d <= k)
    return per_day * int(k // per_day)


def _write_stream(ctx: _Ctx, outdir: Path, stream: _Stream, buckets: np.ndarray, counts: np.ndarray,
                  lo: np.ndarray, hi: np.ndarray, scan_p: np.ndarray, records_per_object: int, tally: _Tally,
                  writer: _Writer, window_buckets: float, salt: object = "", delivery_mtime: bool = True) -> None:
    """Generate and write one stream's records; `buckets`/`counts` are its non-empty 5-minute buckets.

    `window_buckets` is the window's length in buckets, to size objects from the stream's density.
    """
    spec, inv = stream.spec, ctx.inv
    account, fl_id = inv.accounts[stream.account], stream.fl_id(ctx.seed, inv.accounts)
    total = int(counts.sum())
    if total == 0:
        return
    k = _span_buckets(total / max(1.0, window_buckets), records_per_object)
    span = buckets // k
    # Objects: each span's records, cut into parts of at most records_per_object.
    cum = np.concatenate([[0], np.cumsum(counts)])
    span_starts = np.flatnonzero(np.concatenate([[True], span[1:] != span[:-1]]))
    objects: list[tuple[int, int]] = []  # (first record offset, count)
    for i, s in enumerate(span_starts):
        e = span_starts[i + 1] if i + 1 < len(span_starts) else len(span)
        a, b = int(cum[s]), int(cum[e])
        parts = -(-(b - a) // records_per_object)
        edges = np.linspace(a, b, parts + 1).round().astype(np.int64)
        objects += [(int(edges[j]), int(edges[j + 1] - edges[j])) for j in range(parts)]
    # Chunks: consecutive objects, about CHUNK records each.
    chunk: list[tuple[int, int]] = []
    chunk_records = chunk_no = 0
    for obj_i, obj in enumerate(objects):
        chunk.append(obj)
        chunk_records += obj[1]
        if chunk_records < CHUNK and obj_i + 1 < len(objects):
            continue
        a, b = chunk[0][0], chunk[-1][0] + chunk[-1][1]
        cell = np.searchsorted(cum, np.arange(a, b), side="right") - 1  # bucket cell of each record
        rng = np.random.default_rng([ctx.seed, 7, list(FORMATS).index(spec.label), stream.index, chunk_no,
                                     int(buckets[0]), *_salt_ints(salt)])
        for off, cnt in chunk:  # each object's quiet rows sit at its end (`_status`); their times need not
            rng.shuffle(cell[off - a:off - a + cnt])
        status, quiet = _status(rng, [cnt for _, cnt in chunk])
        if spec.tgw:
            core = _tgw_chunk(ctx, rng, stream.region, lo[cell], hi[cell], status)
        else:
            core = _vpc_chunk(ctx, rng, stream.vpc, lo[cell], hi[cell], scan_p[cell], status)

        def table(c: _Core, all_ok: bool) -> pa.Table:
            if spec.tgw:
                return _tgw_table(ctx, c, spec, not spec.parquet, stream.region, all_ok)
            return _vpc_table(ctx, c, spec, not spec.parquet, all_ok)

        # Text: every row as OK (integers stay integers for the CSV writer) plus a small table of the
        # NODATA/SKIPDATA rows, which sit at the end of each object; Parquet: one typed table.
        main = table(core, all_ok=not spec.parquet)
        quiet_rows = np.flatnonzero(status) if not spec.parquet else np.empty(0, np.int64)
        dashed = table(core.subset(quiet_rows), all_ok=False) if len(quiet_rows) else None
        tally.add(spec.label, core)
        q = 0
        jobs: list[_Job] = []
        for (off, cnt), n_quiet in zip(chunk, quiet, strict=True):
            cells = cell[off - a:off - a + cnt]
            first_b, last_b = int(buckets[cells.min()]), int(buckets[cells.max()])
            suffix = _digest(ctx.seed, spec.label, stream.index, off, first_b, salt)
            key = _object_key(spec, inv.org_id, account, stream.region, fl_id, first_b * BUCKET, suffix)
            # Delivered 5-10 minutes after the (last) bucket, like S3's Last-Modified.
            mtime = last_b * BUCKET + 300 + int(suffix[:4], 16) % 301 if delivery_mtime else None
            if spec.parquet or dashed is None:
                blocks = [main.slice(off - a, cnt)]
            else:
                blocks = [main.slice(off - a, cnt - n_quiet), dashed.slice(q, n_quiet)]
                q += int(n_quiet)
            jobs.append((outdir / key, spec, blocks, mtime))
            tally.objects += 1
        writer.submit(jobs)
        chunk, chunk_records = [], 0
        chunk_no += 1


def _salt_ints(salt: object) -> list[int]:
    return [int(_digest(salt), 16)] if salt != "" else []


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _check_formats(formats: Sequence[str]) -> list[FormatSpec]:
    if isinstance(formats, str):
        formats = [formats]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats or len(set(formats)) != len(formats):
        raise ValueError(f"formats must be distinct names from {sorted(FORMATS)}, got {list(formats)}")
    return [FORMATS[f] for f in formats]


def generate(
    outdir: Path,
    records: int = 100_000,
    seed: int = 0,
    days: int = 7,
    end: datetime | None = None,
    records_per_object: int = 3000,
    formats: Sequence[str] = ("v2-text", "v5-text", "v8-text", "parquet", "tgw"),
) -> GenerateStats:
    """Write exactly `records` flow-log records over `days` ending at `end` into `outdir`, AWS-style.

    Deterministic for the same arguments (`end` defaults to the current UTC hour, the only
    wall-clock input).  Also writes `outdir/_generated.json` with the returned stats.  Files
    already in `outdir` are left alone, so give it an empty folder when comparing with the stats.
    """
    if records < 0 or days <= 0 or records_per_object <= 0:
        raise ValueError("records must be >= 0, days and records_per_object > 0")
    specs = _check_formats(formats)
    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    window_end = int(_utc(end).timestamp())
    window_start = window_end - int(days * DAY)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    inv = _inventory(seed)
    ctx = _Ctx(seed, inv, _pool(seed, inv), window_start)

    # 5-minute buckets of end times, clipped to the window, and their traffic intensity.
    buckets = np.arange(window_start // BUCKET, -(-window_end // BUCKET), dtype=np.int64)
    lo = np.maximum(buckets * BUCKET, window_start)
    hi = np.minimum((buckets + 1) * BUCKET, window_end)
    length = (hi - lo) / BUCKET
    normal = _intensity((lo + hi) // 2, window_start, seed) * length
    scan = SCAN_SHARE * normal.sum() / max(1.0, length.sum()) * length
    scan_p = scan / np.maximum(normal + scan, 1e-12)

    tally = _Tally(by_format={s.label: 0 for s in specs})
    per_format = _split_exact(records, [s.share for s in specs])
    with _Writer() as writer:
        for spec, n_format in zip(specs, per_format, strict=True):
            streams = _streams(inv, spec)
            per_stream = _split_exact(int(n_format), [s.weight for s in streams])
            w = normal if spec.tgw else normal + scan
            p = w / w.sum()
            for stream, n_stream in zip(streams, per_stream, strict=True):
                rng = np.random.default_rng([seed, 3, list(FORMATS).index(spec.label), stream.index])
                counts = rng.multinomial(int(n_stream), p)
                nz = np.flatnonzero(counts)
                _write_stream(ctx, outdir, stream, buckets[nz], counts[nz], lo[nz], hi[nz],
                              np.zeros(len(nz)) if spec.tgw else scan_p[nz], records_per_object, tally, writer,
                              float(length.sum()))
    stats = tally.stats(window_start, window_end)
    truth = {**stats.to_json(), "seed": seed, "formats": [s.label for s in specs],
             "window_start": datetime.fromtimestamp(window_start, UTC).isoformat(),
             "window_end": datetime.fromtimestamp(window_end, UTC).isoformat()}
    (outdir / "_generated.json").write_text(json.dumps(truth, indent=2) + "\n")
    return stats


def generate_live(outdir: Path, records: int, seed: int, at: datetime) -> GenerateStats:
    """Write one fresh 5-minute v2-text delivery ending at `at`, for the live demo.

    Same inventory as `generate(seed=seed)`.  Records end between the start of `at`'s
    5-minute bucket and `at`; object names differ per `at`, so repeated calls append.
    Files keep their real write time as mtime; `_generated.json` is not touched.
    """
    if records < 0:
        raise ValueError("records must be >= 0")
    at_ts = int(_utc(at).timestamp())
    bucket = at_ts // BUCKET
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    inv = _inventory(seed)
    window_start = bucket * BUCKET
    ctx = _Ctx(seed, inv, _pool(seed, inv), window_start - 600)  # starts may precede the bucket
    spec = FORMATS["v2-text"]
    streams = _streams(inv, spec)
    tally = _Tally(by_format={spec.label: 0})
    per_stream = _split_exact(records, [s.weight for s in streams])
    scan_p = np.array([SCAN_SHARE / (SCAN_SHARE + float(_intensity(np.array([at_ts]), at_ts, seed)[0]))])
    with _Writer(threads=0) as writer:
        for stream, n in zip(streams, per_stream, strict=True):
            if n == 0:
                continue
            _write_stream(ctx, outdir, stream, np.array([bucket]), np.array([int(n)]), np.array([window_start]),
                          np.array([at_ts + 1]), scan_p, 3000, tally, writer, 1.0, salt=("live", at_ts, records),
                          delivery_mtime=False)
    return tally.stats(window_start, at_ts)


def _main() -> None:  # pragma: no cover - manual speed check
    import sys
    import tempfile
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    formats = sys.argv[2].split(",") if len(sys.argv) > 2 else list(FORMATS)
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        stats = generate(Path(tmp), records=n, end=datetime(2026, 11, 27, tzinfo=UTC), formats=formats)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{stats.records:,} records, {stats.objects:,} objects in {dt:.2f}s ({cpu:.2f}s CPU): "
          f"{stats.records / dt:,.0f} records/s")


if __name__ == "__main__":  # pragma: no cover
    _main()
