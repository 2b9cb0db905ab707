"""The synthetic flow-log generator: exact truth, AWS layouts and formats, determinism, realism."""

from __future__ import annotations

import gzip
import json
import os
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from flowlake.generate import FORMATS, TGW_DEFAULT_ORDER, V5_CUSTOM_ORDER, generate, generate_live
from flowlake.schema import BY_AWS, DEFAULT_FORMAT, FIELDS

END = datetime(2026, 11, 27, tzinfo=UTC)
DAYS = 3
RECORDS = 24_000

NAME = r"(?P<acct>\d{12})_vpcflowlogs_(?P<region>[a-z]{2}-[a-z]+-\d)_(?P<fl>fl-[0-9a-f]{17})_" \
       r"(?P<stamp>\d{8}T\d{4}Z)_[0-9a-f]{8}"
LAYOUTS = {
    "daily": re.compile(
        rf"AWSLogs/(?P<a>\d{{12}})/vpcflowlogs/(?P<r>[a-z0-9-]+)/(?P<y>\d{{4}})/(?P<m>\d\d)/(?P<d>\d\d)/{NAME}\.log\.gz"),
    "hive-hourly": re.compile(
        rf"AWSLogs/aws-account-id=(?P<a>\d{{12}})/aws-service=vpcflowlogs/aws-region=(?P<r>[a-z0-9-]+)/"
        rf"year=(?P<y>\d{{4}})/month=(?P<m>\d\d)/day=(?P<d>\d\d)/hour=(?P<h>\d\d)/{NAME}\.log\.gz"),
    "org-daily": re.compile(
        rf"AWSLogs/o-[a-z0-9]{{10,32}}/(?P<a>\d{{12}})/vpcflowlogs/(?P<r>[a-z0-9-]+)/(?P<y>\d{{4}})/(?P<m>\d\d)/"
        rf"(?P<d>\d\d)/{NAME}\.log\.gz"),
    "hourly": re.compile(
        rf"AWSLogs/(?P<a>\d{{12}})/vpcflowlogs/(?P<r>[a-z0-9-]+)/(?P<y>\d{{4}})/(?P<m>\d\d)/(?P<d>\d\d)/"
        rf"(?P<h>\d\d)/{NAME}\.log\.parquet"),
}
V2_V8 = tuple(f.aws for f in FIELDS if f.version in (2, 3, 4, 5, 7, 8))
V2_V5 = tuple(f.aws for f in FIELDS if f.version in (2, 3, 4, 5))
HEADERS = {"daily": {DEFAULT_FORMAT, TGW_DEFAULT_ORDER}, "hive-hourly": {V5_CUSTOM_ORDER}, "org-daily": {V2_V8}}
DASHED = ("srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes", "action")


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("_"))


def read_text(path: Path) -> tuple[tuple[str, ...], list[list[str]]]:
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    return tuple(lines[0].split()), [line.split(" ") for line in lines[1:]]


def records(root: Path) -> list[dict[str, str | int]]:
    """Every record of every object, keyed by AWS field name (Parquet nulls as `-`, as in text)."""
    out: list[dict[str, str | int]] = []
    for path in data_files(root):
        if path.name.endswith(".log.gz"):
            header, rows = read_text(path)
            out += [dict(zip(header, row, strict=True)) for row in rows]
        else:
            table = pq.read_table(path)
            names = {f.column: f.aws for f in FIELDS}
            out += [{names[k]: "-" if v is None else v for k, v in row.items()} for row in table.to_pylist()]
    return out


@pytest.fixture(scope="module")
def lake_in(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("gen")
    stats = generate(root, records=RECORDS, seed=7, days=DAYS, end=END, records_per_object=1000)
    return root, stats


@pytest.fixture(scope="module")
def all_records(lake_in: tuple[Path, object]) -> list[dict[str, str | int]]:
    return records(lake_in[0])


def test_record_count_is_exact(lake_in, all_records) -> None:
    root, stats = lake_in
    counted = 0
    for path in data_files(root):
        if path.name.endswith(".log.gz"):
            counted += len(gzip.decompress(path.read_bytes()).splitlines()) - 1  # minus the header
        else:
            counted += pq.read_metadata(path).num_rows
    assert counted == RECORDS == stats.records == len(all_records)
    assert sum(stats.by_format.values()) == RECORDS
    assert set(stats.by_format) == set(FORMATS)
    assert stats.by_format["v2-text"] > stats.by_format["v5-text"] > stats.by_format["v8-text"]
    assert stats.objects == len(data_files(root))
    truth = json.loads((root / "_generated.json").read_text())
    assert truth["records"] == RECORDS and truth["by_format"] == stats.by_format
    assert datetime.fromisoformat(truth["start"]) == stats.start
    assert datetime.fromisoformat(truth["end"]) == stats.end


@pytest.mark.parametrize("n", [0, 1, 7, 2999, 3001])
def test_small_and_odd_counts_are_exact(tmp_path: Path, n: int) -> None:
    stats = generate(tmp_path, records=n, seed=3, days=2, end=END, formats=("tgw", "v2-text"))
    assert stats.records == n == sum(stats.by_format.values())
    assert len(records(tmp_path)) == n


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> dict[str, tuple[bytes, int]]:
        root = tmp_path / name
        generate(root, records=5000, seed=seed, days=2, end=END, records_per_object=700)
        return {str(p.relative_to(root)): (p.read_bytes(), int(p.stat().st_mtime)) for p in data_files(root)}

    first, second, other = run("a", 11), run("b", 11), run("c", 12)
    assert first == second
    assert set(first) != set(other)
    assert [v[0] for v in first.values()] != [v[0] for v in other.values()]


def test_keys_follow_aws_layouts(lake_in) -> None:
    root, _ = lake_in
    seen = Counter()
    fl_ids_per_layout = defaultdict(set)
    for path in data_files(root):
        key = path.relative_to(root).as_posix()
        matches = [(name, m) for name, rx in LAYOUTS.items() if (m := rx.fullmatch(key))]
        assert len(matches) == 1, key
        layout, m = matches[0]
        seen[layout] += 1
        fl_ids_per_layout[layout].add(m["fl"])
        assert m["a"] == m["acct"] and m["r"] == m["region"]
        stamp = datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
        assert stamp.minute % 5 == 0
        assert (m["y"], m["m"], m["d"]) == (f"{stamp:%Y}", f"{stamp:%m}", f"{stamp:%d}")
        if "h" in m.groupdict():
            assert m["h"] == f"{stamp:%H}"
    assert set(seen) == set(LAYOUTS)
    # Each format is its own flow log: no fl-id is shared between layouts.
    ids = [fl for s in fl_ids_per_layout.values() for fl in s]
    assert len(ids) == len(set(ids))


def test_headers_list_the_format_fields(lake_in) -> None:
    root, _ = lake_in
    header_of_flow_log: dict[str, tuple[str, ...]] = {}
    headers = set()
    for path in data_files(root):
        if not path.name.endswith(".log.gz"):
            continue
        key = path.relative_to(root).as_posix()
        layout = next(name for name, rx in LAYOUTS.items() if rx.fullmatch(key))
        header, rows = read_text(path)
        assert header in HEADERS[layout]
        assert all(len(row) == len(header) for row in rows)
        fl = LAYOUTS[layout].fullmatch(key)["fl"]
        assert header_of_flow_log.setdefault(fl, header) == header
        headers.add(header)
    assert headers == {DEFAULT_FORMAT, V5_CUSTOM_ORDER, V2_V8, TGW_DEFAULT_ORDER}
    # The v5 custom order really is custom: packets/bytes moved away from their v2 positions.
    assert V5_CUSTOM_ORDER.index("packets") != DEFAULT_FORMAT.index("packets")
    assert sorted(V5_CUSTOM_ORDER) == sorted(V2_V5)


def test_nodata_and_skipdata_rows_look_like_aws(lake_in, all_records) -> None:
    _, stats = lake_in
    by_status = Counter(r["log-status"] for r in all_records)
    assert by_status["NODATA"] == stats.nodata > 0
    assert by_status["SKIPDATA"] == stats.skipdata > 0
    assert stats.nodata > stats.skipdata
    assert 0.002 < stats.nodata / RECORDS < 0.01
    for r in all_records:
        fields = [name for name in DASHED if name in r]
        if r["log-status"] == "OK":
            assert all(r[name] != "-" for name in fields), r
            continue
        assert all(r[name] == "-" for name in fields), r
        assert int(r["start"]) <= int(r["end"])
        assert r.get("interface-id", r.get("tgw-attachment-id")).startswith(("eni-", "tgw-attach-"))


def test_parquet_objects_have_aws_columns_and_types(lake_in) -> None:
    root, _ = lake_in
    files = [p for p in data_files(root) if p.name.endswith(".parquet")]
    assert files
    schema = pq.read_schema(files[0])
    assert schema.names == [BY_AWS[f].column for f in V2_V5]
    for name in schema.names:
        expected = {f.column: f.type for f in FIELDS}[name]
        assert schema.field(name).type == expected, name
    assert schema.field("srcport").type == pa.int32() and schema.field("bytes").type == pa.int64()
    meta = pq.read_metadata(files[0])
    assert meta.row_group(0).column(0).compression == "GZIP"
    table = pa.concat_tables(pq.read_table(f) for f in files)
    quiet = table.filter(pa.compute.not_equal(table["log_status"], "OK"))
    assert quiet.num_rows > 0
    assert quiet["srcaddr"].null_count == quiet.num_rows and quiet["packets"].null_count == quiet.num_rows
    assert table["traffic_path"].null_count > 0  # ingress rows


def test_times_fall_inside_the_window(lake_in, all_records) -> None:
    _, stats = lake_in
    lo, hi = int((END - timedelta(days=DAYS)).timestamp()), int(END.timestamp())
    starts = [int(r["start"]) for r in all_records]
    ends = [int(r["end"]) for r in all_records]
    assert all(lo <= s <= e < hi for s, e in zip(starts, ends, strict=True))
    assert stats.start == datetime.fromtimestamp(min(starts), UTC)
    assert stats.end == datetime.fromtimestamp(max(starts), UTC)
    short = sum(e - s <= 60 for s, e in zip(starts, ends, strict=True))
    assert short / len(starts) > 0.9


def test_objects_are_bucketed_sized_and_delivered_after_their_records(lake_in) -> None:
    root, _ = lake_in
    for path in data_files(root):
        key = path.relative_to(root).as_posix()
        m = next(rx.fullmatch(key) for rx in LAYOUTS.values() if rx.fullmatch(key))
        stamp = int(datetime.strptime(m["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC).timestamp())
        if path.name.endswith(".log.gz"):
            header, rows = read_text(path)
            ends = [int(row[header.index("end")]) for row in rows]
        else:
            ends = pq.read_table(path, columns=["end"])["end"].to_pylist()
        assert 0 < len(ends) <= 1000
        assert min(ends) >= stamp  # named by the 5-minute bucket of its first end time
        delivered = int(os.stat(path).st_mtime)
        assert max(ends) < delivered <= max(ends) + 600 + 300


def test_a_full_5_minute_bucket_is_split_into_several_objects(tmp_path: Path) -> None:
    # Transit Gateway logs come from 3 flow logs only: each gets at least ~20 records per 5-minute
    # bucket, so with objects of 40 no bucket is widened and the busiest are cut in several.
    generate(tmp_path, records=50_000, seed=5, days=1, end=END, records_per_object=40, formats=("tgw",))
    names = Counter(re.sub(r"_[0-9a-f]{8}\.log\.gz$", "", p.name) for p in data_files(tmp_path))
    assert max(names.values()) >= 2  # same flow log and bucket, different hash suffixes
    for path in data_files(tmp_path):
        header, rows = read_text(path)
        stamp = int(datetime.strptime(path.name.split("_")[4], "%Y%m%dT%H%MZ").replace(tzinfo=UTC).timestamp())
        assert 0 < len(rows) <= 40
        assert all(stamp <= int(row[header.index("end")]) < stamp + 300 for row in rows)


def test_inventory_is_stable_and_consistent(all_records) -> None:
    eni_meta: dict[str, tuple] = {}
    accounts, regions = set(), set()
    for r in all_records:
        if "vpc-id" not in r:
            continue
        meta = (r["vpc-id"], r["subnet-id"], r["instance-id"], r["region"], r["az-id"])
        assert eni_meta.setdefault(r["interface-id"], meta) == meta
        assert re.fullmatch(r"eni-[0-9a-f]{17}", r["interface-id"])
        assert r["account-id"] == "unknown" or re.fullmatch(r"\d{12}", r["account-id"])
        accounts.add(r["account-id"])
        regions.add(r["region"])
    assert len(accounts - {"unknown"}) == 3 and "unknown" in accounts
    assert regions == {"us-east-1", "eu-west-1", "ap-southeast-2"}
    assert len({m[0] for m in eni_meta.values()}) >= 5
    assert any(m[2] == "-" for m in eni_meta.values())  # NAT gateways, endpoints, Fargate


def test_traffic_looks_realistic(all_records) -> None:
    vpc = [r for r in all_records if r["log-status"] == "OK" and "interface-id" in r]
    n = len(vpc)
    protocols = Counter(int(r["protocol"]) for r in vpc)
    assert protocols[6] / n > 0.7 and protocols[17] / n > 0.03 and protocols[1] > 0
    reject = sum(r["action"] == "REJECT" for r in vpc) / n
    assert 0.03 <= reject <= 0.08
    ports = Counter(int(r["dstport"]) for r in vpc) + Counter(int(r["srcport"]) for r in vpc)
    for port in (443, 80, 22, 53, 3389, 5432):
        assert ports[port] > 0, port
    assert sum(32768 <= int(r["srcport"]) <= 60999 for r in vpc) / n > 0.2
    with_type = [r for r in vpc if "type" in r]
    v6 = [r for r in with_type if r["type"] == "IPv6"]
    assert 0 < len(v6) < 0.2 * len(with_type) and all(":" in r["srcaddr"] for r in v6)
    assert any(int(r["protocol"]) == 58 for r in v6)
    private = re.compile(r"(10\.|172\.(1[6-9]|2\d|3[01])\.)")
    v4 = [r for r in vpc if ":" not in r["srcaddr"]]
    assert all(private.match(r["srcaddr"]) or private.match(r["dstaddr"]) for r in v4)  # the ENI's own side
    assert sum(not (private.match(r["srcaddr"]) and private.match(r["dstaddr"])) for r in v4) / len(v4) > 0.3
    # Background scanning: many public sources, SYN only, rejected.
    scans = [r for r in with_type if r["action"] == "REJECT" and int(r["tcp-flags"]) == 2
             and not private.match(r["srcaddr"]) and r["flow-direction"] == "ingress"]
    assert len({r["srcaddr"] for r in scans}) > 50
    bytes_ = sorted(int(r["bytes"]) for r in vpc)
    assert bytes_[-1] > 100 * bytes_[len(bytes_) // 2]  # heavy tail
    v8 = [r for r in vpc if "ecs-task-id" in r]
    assert any(r["ecs-task-id"] != "-" for r in v8) and sum(r["ecs-task-id"] == "-" for r in v8) > len(v8) / 2
    assert {r["reject-reason"] for r in v8 if r["action"] == "REJECT"} == {"BPA", "-"}
    assert {r["reject-reason"] for r in v8 if r["action"] == "ACCEPT"} == {"-"}


def test_transit_gateway_records(all_records) -> None:
    tgw = [r for r in all_records if "tgw-id" in r and r["log-status"] == "OK"]
    assert tgw
    assert {r["version"] for r in tgw} == {"6"}
    assert {r["resource-type"] for r in tgw} == {"TransitGatewayAttachment"}
    assert all(r["tgw-attachment-id"] != r["tgw-pair-attachment-id"] for r in tgw)
    assert all(r["tgw-src-vpc-id"] != r["tgw-dst-vpc-id"] for r in tgw)
    lost = [int(r["packets-lost-no-route"]) for r in tgw]
    assert sum(x == 0 for x in lost) / len(lost) > 0.95


def test_weekdays_and_working_hours_are_busier(tmp_path: Path) -> None:
    end = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday: 14 whole days, 4 of them weekend days
    generate(tmp_path, records=200_000, seed=2, days=14, end=end, formats=("v2-text",), records_per_object=20_000)
    per_day, per_hour = Counter(), Counter()
    for path in data_files(tmp_path):
        with gzip.open(path) as f:
            starts = pcsv.read_csv(f, parse_options=pcsv.ParseOptions(delimiter=" "))["start"].to_pylist()
        for s in starts:
            t = datetime.fromtimestamp(s, UTC)
            per_day[t.date()] += 1
            per_hour[t.hour] += 1
    weekend = [n for d, n in per_day.items() if d.weekday() >= 5]
    weekday = [n for d, n in per_day.items() if d.weekday() < 5 and d != (end - timedelta(days=14)).date()]
    assert len(weekend) == 4
    assert sum(weekday) / len(weekday) > 1.3 * sum(weekend) / len(weekend)
    day = sum(per_hour[h] for h in range(10, 18)) / 8
    night = sum(per_hour[h] for h in range(0, 6)) / 6
    assert day > 1.8 * night


def test_every_hour_of_big_objects_carries_traffic(tmp_path: Path) -> None:
    """NODATA and SKIPDATA rows sit at the end of each object; their times must still fall anywhere in the
    object's span. Objects spanning hours once left their last hour with quiet rows only: a hole in every
    traffic series, at every object's end."""
    generate(tmp_path, records=60_000, seed=4, days=2, end=END, formats=("v2-text",), records_per_object=20_000)
    ok, quiet = Counter(), Counter()
    for path in data_files(tmp_path):
        _, rows = read_text(path)
        for row in rows:
            (ok if row[13] == "OK" else quiet)[int(row[10]) // 3600] += 1
    assert len(ok) == 48
    for hour in ok.keys() | quiet.keys():
        assert quiet[hour] < 0.05 * (ok[hour] + quiet[hour]), hour


def test_live_delivery_appends_fresh_traffic_from_the_same_estate(tmp_path: Path, lake_in) -> None:
    root, _ = lake_in
    known = {r["interface-id"] for r in records(root) if "interface-id" in r}
    at = datetime(2026, 11, 27, 10, 7, 30, tzinfo=UTC)
    first = generate_live(tmp_path, records=4000, seed=7, at=at)
    second = generate_live(tmp_path, records=500, seed=7, at=at + timedelta(seconds=5))
    assert first.records == 4000 and second.records == 500 and first.by_format == {"v2-text": 4000}
    files = data_files(tmp_path)
    assert len(files) == first.objects + second.objects
    rows = records(tmp_path)
    assert len(rows) == 4500
    live_enis = {r["interface-id"] for r in rows}
    assert len(live_enis & known) > 0.9 * len(live_enis)  # (a rarely used ENI may be missing from `known`)
    other_seed = generate_live(tmp_path / "other", records=500, seed=8, at=at)
    assert other_seed.records == 500
    assert not {r["interface-id"] for r in records(tmp_path / "other")} & known
    bucket = int(datetime(2026, 11, 27, 10, 5, tzinfo=UTC).timestamp())
    assert all(bucket <= int(r["end"]) <= int((at + timedelta(seconds=5)).timestamp()) for r in rows)
    assert all(LAYOUTS["daily"].fullmatch(p.relative_to(tmp_path).as_posix())["stamp"] == "20261127T1005Z"
               for p in files)
    assert not (tmp_path / "_generated.json").exists()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, records=10, formats=("v9-text",), end=END)
    with pytest.raises(ValueError):
        generate(tmp_path, records=-1, end=END)
    with pytest.raises(ValueError):
        generate(tmp_path, records=10, days=0, end=END)
