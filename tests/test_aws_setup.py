"""`flowlake aws setup` and `flowlake aws status` against moto's EC2, S3 and STS server, through the proxy.

moto 5.2.5 keeps a flow log's format, aggregation interval, traffic type and destination, but drops
`DestinationOptions` (file format, Hive prefixes, hourly folders): those are checked in the
CreateFlowLogs request the server received. It also takes the whole `bucket/prefix` of an S3
destination for a bucket name, so a destination with a prefix is tested in the dry run only.
"""

from __future__ import annotations

import gzip
import json
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import pytest

from conftest import ACCOUNT, count, run_cli, text_object, v2_line
from flowlake.aws_setup import Account, FlowLogPlan, merge_policy
from flowlake.schema import FIELDS, TGW_DEFAULT_FORMAT

if TYPE_CHECKING:
    from servers import LocalAws

pytest_plugins = ["servers"]

BUCKET = "flow-logs"
UNRELATED = {"Sid": "ReadForAnalytics", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}
EVERY_VPC_FIELD = [f.aws for f in FIELDS
                   if f.aws != "resource-type" and not f.aws.startswith(("tgw-", "packets-lost-"))]
"""The catalog's fields less those only Transit Gateway flow logs have, in catalog order."""
EVERY_VPC_FORMAT = " ".join(f"${{{name}}}" for name in EVERY_VPC_FIELD)
SOURCE_ARN = f"arn:aws:logs:us-east-1:{ACCOUNT}:*"


def flowlake_aws(aws: LocalAws, *args: str) -> tuple[int, str, str]:
    """Exit code, standard output and standard error of `flowlake aws ...`, pointed at the proxy."""
    result = run_cli("aws", *args, "--endpoint-url", aws.proxy.url, env=aws.env)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.fixture
def vpc(aws: LocalAws) -> str:
    """A VPC, and the bucket with a policy that has nothing to do with flow logs."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [UNRELATED]}))
    return aws.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def policy(aws: LocalAws, bucket: str = BUCKET) -> dict[str, Any]:
    return json.loads(aws.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])


def delivery_statements(account_folder: str, prefix: str = "") -> list[dict[str, Any]]:
    """The two statements AWS documents for delivery to BUCKET."""
    scope = {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": SOURCE_ARN}}
    return [
        {"Sid": "AWSLogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/{prefix}AWSLogs/{account_folder}/*",
         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT, "s3:x-amz-acl": "bucket-owner-full-control"},
                       "ArnLike": {"aws:SourceArn": SOURCE_ARN}}},
        {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
         "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": f"arn:aws:s3:::{BUCKET}", "Condition": scope},
    ]


def changes(aws: LocalAws) -> list[str]:
    """The requests that change something: S3 PUTs and DELETEs, CreateFlowLogs."""
    return [f"{e.method} {e.path}?{'&'.join(e.query)}" for e in aws.proxy.log
            if e.method in ("PUT", "DELETE") or e.operation in ("CreateFlowLogs", "DeleteFlowLogs", "CreateBucket")]


def test_setup_merges_the_policy_and_creates_the_flow_log_once(aws: LocalAws, vpc: str, lake: Path) -> None:
    args = ("setup", "--bucket", BUCKET, "--resource-id", vpc, "--traffic-type", "REJECT", "--file-format", "parquet",
            "--hive-prefixes", "--per-hour", "--aggregation", "60")
    code, out, err = flowlake_aws(aws, *args)
    assert code == 0, err
    assert policy(aws)["Statement"] == [UNRELATED, *delivery_statements(f"aws-account-id={ACCOUNT}")]
    [flow_log] = aws.client("ec2").describe_flow_logs()["FlowLogs"]
    assert (flow_log["ResourceId"], flow_log["LogDestinationType"], flow_log["LogDestination"]) == (
        vpc, "s3", f"arn:aws:s3:::{BUCKET}")
    assert flow_log["LogFormat"] == EVERY_VPC_FORMAT and len(EVERY_VPC_FIELD) == 42
    assert (flow_log["TrafficType"], flow_log["MaxAggregationInterval"]) == ("REJECT", 60)
    [request] = aws.proxy.requests("CreateFlowLogs")
    sent = dict(parse_qsl(request.body.decode()))
    assert {k: v for k, v in sent.items() if k.startswith("DestinationOptions.")} == {
        "DestinationOptions.FileFormat": "parquet", "DestinationOptions.HiveCompatiblePartitions": "true",
        "DestinationOptions.PerHourPartition": "true"}
    assert f"created flow log {flow_log['FlowLogId']} for {vpc}" in out

    aws.proxy.clear()
    code, again, err = flowlake_aws(aws, *args)
    assert code == 0, err
    assert f"{vpc} already has flow log {flow_log['FlowLogId']}" in again and "unchanged" in again
    assert policy(aws)["Statement"] == [UNRELATED, *delivery_statements(f"aws-account-id={ACCOUNT}")]
    assert len(aws.client("ec2").describe_flow_logs()["FlowLogs"]) == 1
    assert changes(aws) == []

    # The printed ingest command reads what AWS will write there.
    prefix = (f"AWSLogs/aws-account-id={ACCOUNT}/aws-service=vpcflowlogs/aws-region=us-east-1/")
    [ingest] = [line.strip() for line in out.splitlines() if line.strip().startswith("flowlake ingest")]
    assert ingest.startswith(f"flowlake ingest s3://{BUCKET}/{prefix} --lake LAKE")
    key = (f"{prefix}year=2026/month=11/day=27/hour=12/"
           f"{ACCOUNT}_vpcflowlogs_us-east-1_{flow_log['FlowLogId']}_20261127T1205Z_0a1b2c3d.log.gz")
    aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=gzip.compress(text_object([v2_line(1)]).encode()))
    command = [str(lake) if word == "LAKE" else word for word in shlex.split(ingest)[1:]]
    result = run_cli(*command, env=aws.env)
    assert result.returncode == 0, result.stderr
    assert count(lake) == 1


def test_dry_run_prints_the_merged_policy_and_the_aws_commands_and_changes_nothing(aws: LocalAws, vpc: str) -> None:
    before = policy(aws)
    aws.proxy.clear()
    code, out, err = flowlake_aws(aws, "setup", "--bucket", f"{BUCKET}/vpc-logs", "--resource-id", vpc, "--dry-run")
    assert code == 0, err
    printed, _ = json.JSONDecoder().raw_decode(out[out.index("{"):])
    assert printed["Statement"] == [UNRELATED, *delivery_statements(ACCOUNT, prefix="vpc-logs/")]
    commands = {" ".join(words[:3]): words for words in map(shlex.split, out.splitlines()) if words[:1] == ["aws"]}
    put = commands["aws s3api put-bucket-policy"]
    assert json.loads(put[put.index("--policy") + 1]) == printed
    create = commands["aws ec2 create-flow-logs"]
    assert dict(zip(create[3::2], create[4::2], strict=False)) == {
        "--resource-type": "VPC", "--resource-ids": vpc, "--traffic-type": "ALL", "--log-destination-type": "s3",
        "--log-destination": f"arn:aws:s3:::{BUCKET}/vpc-logs", "--log-format": EVERY_VPC_FORMAT,
        "--max-aggregation-interval": "600",
        "--destination-options": "FileFormat=plain-text,HiveCompatiblePartitions=false,PerHourPartition=false",
        "--region": "us-east-1", "--endpoint-url": aws.proxy.url}
    assert policy(aws) == before
    assert aws.client("ec2").describe_flow_logs()["FlowLogs"] == []
    assert changes(aws) == []


def test_status_lists_flow_logs_and_flags_what_has_none(aws: LocalAws, vpc: str) -> None:
    ec2 = aws.client("ec2")
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                         LogDestination=f"arn:aws:s3:::{BUCKET}", LogFormat="${version} ${srcaddr} ${dstaddr}",
                         MaxAggregationInterval=60)
    bare = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "unlogged"}]}])["Vpc"]["VpcId"]
    partly = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=partly, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    ec2.create_subnet(VpcId=partly, CidrBlock="10.2.2.0/24")
    ec2.create_flow_logs(ResourceIds=[subnet], ResourceType="Subnet", TrafficType="REJECT", LogDestinationType="s3",
                         LogDestination=f"arn:aws:s3:::{BUCKET}")
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    code, out, err = flowlake_aws(aws, "status", "--format", "json")
    assert code == 0, err
    rows = {row["resource_id"]: row for row in json.loads(out)}
    assert (rows[subnet]["resource_type"], rows[subnet]["format"]) == ("Subnet", "${version} ${account-id} "
        "${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} "
        "${action} ${log-status}")
    assert rows[partly]["status"] == "NO FLOW LOG (1 of 2 subnets have one)"
    assert (rows[tgw]["resource_type"], rows[tgw]["status"]) == ("TransitGateway", "NO FLOW LOG")
    assert {k: rows[vpc][k] for k in ("resource_type", "traffic_type", "destination", "format", "options", "status")
            } == {"resource_type": "VPC", "traffic_type": "ALL", "destination": f"s3://{BUCKET}",
                  "format": "${version} ${srcaddr} ${dstaddr}", "options": "60s", "status": "ACTIVE"}
    assert rows[vpc]["flow_log_id"].startswith("fl-")
    assert (rows[bare]["name"], rows[bare]["flow_log_id"], rows[bare]["status"]) == ("unlogged", None, "NO FLOW LOG")
    assert bare in err.splitlines()[-1] and vpc not in err.splitlines()[-1]

    code, table, _ = flowlake_aws(aws, "status")
    assert code == 0 and "custom (3 fields)" in table and "NO FLOW LOG" in table


def test_a_transit_gateway_gets_every_transit_gateway_field_and_no_traffic_type(aws: LocalAws, vpc: str) -> None:
    tgw = aws.client("ec2").create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    code, _, err = flowlake_aws(aws, "setup", "--bucket", BUCKET, "--resource-id", tgw)
    assert code == 0, err
    [flow_log] = aws.client("ec2").describe_flow_logs()["FlowLogs"]
    assert flow_log["LogFormat"] == " ".join(f"${{{name}}}" for name in TGW_DEFAULT_FORMAT)
    assert flow_log["MaxAggregationInterval"] == 60 and "TrafficType" not in flow_log
    [request] = aws.proxy.requests("CreateFlowLogs")
    assert dict(parse_qsl(request.body.decode()))["ResourceType"] == "TransitGateway"


def test_the_policy_merge_keeps_everything_and_adds_only_what_is_missing() -> None:
    account = Account(ACCOUNT, "aws", "us-east-1")
    write, acl = FlowLogPlan.from_options(BUCKET, ("vpc-0123456789abcdef0",)).statements(account)
    same_write = {**write, "Sid": "FlowLogsIn", "Action": ["s3:PutObject"], "Principal": {
        "Service": ["delivery.logs.amazonaws.com"]}}
    taken = {"Sid": "AWSLogDeliveryAclCheck", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket",
             "Resource": f"arn:aws:s3:::{BUCKET}"}
    merged, added = merge_policy({"Version": "2012-10-17", "Id": "mine", "Statement": same_write}, [write, acl])
    assert added == ["AWSLogDeliveryAclCheck"] and merged["Id"] == "mine"
    assert merged["Statement"] == [same_write, acl]
    merged, added = merge_policy({"Version": "2012-10-17", "Statement": [taken]}, [write, acl])
    assert added == ["AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck2"]
    assert merged["Statement"] == [taken, write, {**acl, "Sid": "AWSLogDeliveryAclCheck2"}]
    assert merge_policy(merged, [write, acl]) == (merged, [])


def test_a_missing_bucket_is_an_error_unless_it_is_to_be_created(aws: LocalAws, vpc: str) -> None:
    code, _, err = flowlake_aws(aws, "setup", "--bucket", "new-flow-logs", "--resource-id", vpc)
    assert code == 2 and err.strip().count("\n") == 0 and "--create-bucket" in err
    assert aws.client("ec2").describe_flow_logs()["FlowLogs"] == []

    code, out, err = flowlake_aws(aws, "setup", "--bucket", "new-flow-logs", "--resource-id", vpc, "--create-bucket",
                                  "--fields", "default")
    assert code == 0, err
    assert "created bucket new-flow-logs" in out
    assert policy(aws, "new-flow-logs")["Statement"] == [
        {**s, "Resource": s["Resource"].replace(BUCKET, "new-flow-logs")} for s in delivery_statements(ACCOUNT)]
    [flow_log] = aws.client("ec2").describe_flow_logs()["FlowLogs"]
    assert "LogFormat" not in dict(parse_qsl(aws.proxy.requests("CreateFlowLogs")[0].body.decode()))
    assert flow_log["LogDestination"] == "arn:aws:s3:::new-flow-logs"


@pytest.mark.parametrize(("args", "message"), [
    (("--fields", "version,srcaddr,no-such-field"), "unknown flow log field(s): no-such-field"),
    (("--fields", "version tgw-id"), "not field(s) of VPC flow logs: tgw-id"),
    (("--resource-id", "tgw-0123456789abcdef0", "--aggregation", "600"), "--aggregation 60 only"),
    (("--resource-id", "tgw-0123456789abcdef0", "--traffic-type", "ALL"), "no --traffic-type"),
])
def test_options_aws_would_refuse_are_usage_errors(aws: LocalAws, args: tuple[str, ...], message: str) -> None:
    resource = () if "--resource-id" in args else ("--resource-id", "vpc-0123456789abcdef0")
    code, _, err = flowlake_aws(aws, "setup", "--bucket", BUCKET, *resource, *args)
    assert code == 2 and message in err
    assert aws.proxy.log == []


def test_a_missing_resource_and_a_denied_call_are_one_line_errors(aws: LocalAws, vpc: str) -> None:
    before = policy(aws)
    code, _, err = flowlake_aws(aws, "setup", "--bucket", BUCKET, "--resource-id", "vpc-0123456789abcdef0")
    assert code == 2 and err.strip() == "Error: no such VPC in us-east-1: vpc-0123456789abcdef0"
    assert policy(aws) == before

    aws.proxy.inject("denied", when=lambda exchange: exchange.method == "PUT" and "policy" in exchange.query)
    code, _, err = flowlake_aws(aws, "setup", "--bucket", BUCKET, "--resource-id", vpc)
    assert code == 2 and err.strip() == (
        f"Error: access denied: the credentials need s3:PutBucketPolicy on arn:aws:s3:::{BUCKET}")
    assert aws.client("ec2").describe_flow_logs()["FlowLogs"] == []

    aws.proxy.clear()
    aws.proxy.inject("denied", when=lambda exchange: exchange.operation == "CreateFlowLogs")
    code, _, err = flowlake_aws(aws, "setup", "--bucket", BUCKET, "--resource-id", vpc)
    assert code == 2 and err.strip().count("\n") == 0
    assert "access denied: the credentials need ec2:CreateFlowLogs" in err
