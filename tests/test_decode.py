"""Decoding: fields by header (never by position), every version, NULLs, unknown fields, wrappers."""

from __future__ import annotations

import base64
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flowlake.decode import decode_object
from flowlake.schema import DEFAULT_FORMAT, FIELDS, TGW_DEFAULT_FORMAT, parse_format_string

V2 = ("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 "
      "ACCEPT OK")


def rows(data: bytes | str, fields=None) -> list[dict]:
    out = decode_object(data.encode() if isinstance(data, str) else data, fields)
    return [row for table in out.tables for row in table.to_pylist()]


def test_header_names_the_fields_in_any_order() -> None:
    # AWS's TCP-flag example: bytes before packets, so position alone would swap them.
    header = ("version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport dstport "
              "pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status")
    line = ("3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 "
            "123456789012 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 "
            "1566848933 ACCEPT 2 OK")
    [row] = rows(f"{header}\n{line}\n")
    assert row["bytes"] == 568 and row["packets"] == 8
    assert row["tcp_flags"] == 2 and row["dstport"] == 5001 and row["type"] == "IPv4"


def test_nodata_and_skipdata_are_kept_with_null_traffic_fields() -> None:
    text = ("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"
            "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA\n")
    nodata, skip = rows(text)
    assert nodata["log_status"] == "NODATA" and skip["log_status"] == "SKIPDATA"
    for row in (nodata, skip):
        assert row["srcaddr"] is None and row["bytes"] is None and row["action"] is None
        assert row["start"] == 1431280876


def test_account_id_unknown_is_a_value() -> None:
    [row] = rows(V2.replace("123456789010", "unknown"))
    assert row["account_id"] == "unknown"


@pytest.mark.parametrize("count", [14, 21, 25, 29, 39, 40, 41, 42])
def test_headerless_standard_layouts_are_read_by_field_count(count: int) -> None:
    values = {f.aws: ("5" if pa.types.is_integer(f.type) else "-") for f in FIELDS[:count]}
    values.update(dict(zip(DEFAULT_FORMAT, V2.split(), strict=True)))
    [row] = rows(" ".join(values[f.aws] for f in FIELDS[:count]))
    assert row["srcaddr"] == "172.31.16.139" and row["bytes"] == 4249
    assert len(row) == count


def test_transit_gateway_header_and_headerless_default() -> None:
    values = ["6", "TransitGatewayAttachment", "123456789012", "tgw-1", "tgw-attach-1", "123456789012",
              "123456789012", "vpc-1", "vpc-2", "subnet-1", "subnet-2", "eni-1", "eni-2", "use1-az1", "use1-az2",
              "tgw-attach-2", "10.0.0.1", "10.0.1.1", "12345", "443", "6", "10", "1000", "1700000000", "1700000060",
              "OK", "IPv4", "0", "1", "0", "0", "19", "us-east-1", "ingress", "-", "-"]
    line = " ".join(values)
    with_header = rows(" ".join(TGW_DEFAULT_FORMAT) + "\n" + line + "\n")
    assert rows(line) == with_header
    [row] = with_header
    assert row["tgw_id"] == "tgw-1" and row["packets_lost_blackhole"] == 1 and row["pkt_src_aws_service"] is None


def test_format_string_in_aws_syntax_for_headerless_lines() -> None:
    fields = parse_format_string("${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}")
    [row] = rows("- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5\n", fields)
    assert row == {"instance_id": None, "interface_id": "eni-1235b8ca123456789", "srcaddr": "10.0.1.5",
                   "dstaddr": "10.0.0.220", "pkt_srcaddr": "10.0.1.5", "pkt_dstaddr": "203.0.113.5"}


def test_unknown_newer_fields_are_kept_and_named() -> None:
    out = decode_object(b"version srcaddr next-hop-az-id\n11 10.0.0.1 use1-az6\n")
    assert out.unknown_fields == {"next-hop-az-id"}
    assert out.tables[0].to_pylist() == [{"version": 11, "srcaddr": "10.0.0.1", "next_hop_az_id": "use1-az6"}]


def test_ipv6_crlf_and_double_spaces() -> None:
    ipv6 = ("2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 "
            "2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK")
    got = rows(f"{ipv6}\r\n{V2.replace(' 22 ', '  22 ')}\r\n")
    assert [r["dstport"] for r in got] == [22, 22]
    assert got[0]["dstaddr"] == "2001:db8:1234:a102:3304:8879:34cf:4071"


def test_cloudwatch_subscription_payload_uses_stream_and_timestamp_when_missing() -> None:
    fields = "${srcaddr} ${dstaddr} ${bytes}"
    payload = {"messageType": "DATA_MESSAGE", "logStream": "eni-1d47d21d-all", "logEvents": [
        {"id": "1", "timestamp": 1700000000000, "message": "10.0.0.1 10.0.0.2 100"},
        {"id": "2", "timestamp": 1700000060000, "message": "10.0.0.2 10.0.0.1 200"}]}
    data = gzip.compress(json.dumps(payload).encode()) + gzip.compress(json.dumps(payload).encode())
    out = decode_object(data, parse_format_string(fields))
    got = [r for t in out.tables for r in t.to_pylist()]
    assert len(got) == 4
    assert {r["_hint_interface_id"] for r in got} == {"eni-1d47d21d"}
    assert [r["_hint_start"] for r in got[:2]] == [1700000000, 1700000060]


def test_filter_log_events_output_and_message_lines() -> None:
    events = {"events": [{"logStreamName": "eni-abc-all", "timestamp": 1418530010000, "message": V2}],
              "searchedLogStreams": []}
    assert rows(json.dumps(events))[0]["bytes"] == 4249
    assert rows(json.dumps({"message": V2}) + "\n" + json.dumps({"message": V2}) + "\n")[1]["dstport"] == 22


def test_firehose_transformation_event() -> None:
    event = {"records": [{"recordId": "1", "data": base64.b64encode(V2.encode()).decode()}]}
    assert rows(json.dumps(event))[0]["srcaddr"] == "172.31.16.139"


def test_parquet_delivery_with_aws_types(tmp_path) -> None:
    import pyarrow as pa

    table = pa.table({
        "version": pa.array([5], pa.int32()), "srcaddr": ["10.0.0.1"], "dstport": pa.array([443], pa.int32()),
        "protocol": pa.array([6], pa.int64()), "bytes": pa.array([1234], pa.int64()), "log_status": ["OK"],
        "pkt_src_aws_service": [None], "flow_direction": ["egress"],
    })
    pq.write_table(table, tmp_path / "x.log.parquet", compression="gzip")
    [row] = rows((tmp_path / "x.log.parquet").read_bytes())
    assert row == {"version": 5, "srcaddr": "10.0.0.1", "dstport": 443, "protocol": 6, "bytes": 1234,
                   "log_status": "OK", "pkt_src_aws_service": None, "flow_direction": "egress"}


def test_bad_lines_do_not_cost_good_ones() -> None:
    text = f"{V2}\n{V2.replace('ACCEPT', 'NOPE')}\nnot a record\n{V2}\n"
    out = decode_object(text.encode())
    assert out.records == 2
    assert [(r.line, r.reason.split(" ")[0]) for r in out.rejects] == [(2, "action"), (3, "3")]
