"""Flow logs to S3, set up as AWS documents it, and a look at what is set up (`flowlake aws`).

`setup` does the two steps of AWS's guide: the bucket policy that lets the log delivery service
(`delivery.logs.amazonaws.com`) write, merged into the bucket's policy without touching anything else
in it, and `CreateFlowLogs` with a format holding every field the resource type has (the field
catalog in `schema.py`). A dry run reads the same things and prints the policy and the AWS CLI
commands instead of changing anything. `status` lists the region's flow logs and the VPCs and
transit gateways that have none.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flowlake.schema import BY_AWS, DEFAULT_FORMAT, FIELDS, TGW_DEFAULT_FORMAT, parse_format_string
from flowlake.sources.aws import Aws, AwsOptions, SourceError, checked, error_code, explain

RESOURCE_TYPES: dict[str, str] = {
    "VPC": "vpc-", "Subnet": "subnet-", "NetworkInterface": "eni-",
    "TransitGatewayAttachment": "tgw-attach-", "TransitGateway": "tgw-",
}
"""CreateFlowLogs' resource types and the prefix of their ids (the attachment's before the gateway's)."""
TRANSIT_GATEWAY = frozenset({"TransitGateway", "TransitGatewayAttachment"})

VPC_FIELDS: tuple[str, ...] = tuple(f.aws for f in FIELDS if f.version != 6)
"""Every field of VPC, subnet and interface flow logs, in catalog order: version 6 is Transit Gateway's only."""
TGW_FIELDS: tuple[str, ...] = TGW_DEFAULT_FORMAT
"""Every field of Transit Gateway flow logs, in AWS's default order."""

FILE_FORMATS = {"text": "plain-text", "parquet": "parquet"}
DELIVERY = "delivery.logs.amazonaws.com"
WRITE_SID, ACL_SID = "AWSLogDeliveryWrite", "AWSLogDeliveryAclCheck"
NO_FLOW_LOG = "NO FLOW LOG"


@dataclass(frozen=True)
class Account:
    """Who the credentials are and where the flow logs go."""

    id: str
    partition: str
    region: str


@dataclass(frozen=True)
class FlowLogPlan:
    """A flow log to S3, as the `setup` options describe it (validated; no AWS call made)."""

    bucket: str
    prefix: str
    resource_type: str
    resource_ids: tuple[str, ...]
    traffic_type: str | None
    fields: tuple[str, ...] | None
    """None: AWS's default format."""
    file_format: str
    hive: bool
    per_hour: bool
    aggregation: int

    @classmethod
    def from_options(cls, bucket: str, resource_ids: tuple[str, ...], resource_type: str | None = None,
                     traffic_type: str | None = None, fields: str = "all", file_format: str = "text",
                     hive: bool = False, per_hour: bool = False, aggregation: int | None = None) -> FlowLogPlan:
        """Raises ValueError with a one-line reason for options AWS would refuse or that make no sense."""
        name, _, prefix = bucket.removeprefix("s3://").partition("/")
        prefix = prefix.strip("/")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
            raise ValueError(f"--bucket: not an S3 bucket name: {name!r}")
        if prefix.split("/")[0] == "AWSLogs":
            raise ValueError("--bucket: the prefix cannot start with AWSLogs (AWS keeps that folder for itself)")
        if not resource_ids:
            raise ValueError("--resource-id: give at least one")
        kind = resource_type or _type_of(resource_ids[0])
        wrong = [rid for rid in resource_ids if _type_of(rid) != kind]
        if wrong:
            raise ValueError(f"--resource-id: not a {kind} id: {', '.join(wrong)}")
        tgw = kind in TRANSIT_GATEWAY
        if tgw and traffic_type:
            raise ValueError("Transit Gateway flow logs take no --traffic-type (they record all traffic)")
        if tgw and aggregation not in (None, 60):
            raise ValueError("Transit Gateway flow logs take --aggregation 60 only")
        if aggregation not in (None, 60, 600):
            raise ValueError("--aggregation is 60 or 600 (seconds)")
        return cls(name, prefix, kind, tuple(dict.fromkeys(resource_ids)), None if tgw else traffic_type or "ALL",
                   field_spec(fields, kind), file_format, hive, per_hour, aggregation or (60 if tgw else 600))

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"

    def destination(self, account: Account) -> str:
        return f"arn:{account.partition}:s3:::{self.bucket}{'/' + self.prefix if self.prefix else ''}"

    def key_prefix(self, account: Account) -> str:
        """Where AWS writes this flow log's objects (then year/month/day[/hour]/)."""
        if self.hive:
            return f"{self._account_folder(account)}/aws-service=vpcflowlogs/aws-region={account.region}/"
        return f"{self._account_folder(account)}/vpcflowlogs/{account.region}/"

    def _account_folder(self, account: Account) -> str:
        """`[prefix/]AWSLogs/` and the account's folder in it, as the key layout spells it."""
        folder = f"aws-account-id={account.id}" if self.hive else account.id
        return f"{self.prefix}/AWSLogs/{folder}" if self.prefix else f"AWSLogs/{folder}"

    def request(self, account: Account) -> dict[str, Any]:
        """The arguments of `ec2.create_flow_logs`."""
        args: dict[str, Any] = {
            "ResourceType": self.resource_type, "ResourceIds": list(self.resource_ids),
            "LogDestinationType": "s3", "LogDestination": self.destination(account),
            "MaxAggregationInterval": self.aggregation,
            "DestinationOptions": {"FileFormat": FILE_FORMATS[self.file_format],
                                   "HiveCompatiblePartitions": self.hive, "PerHourPartition": self.per_hour},
        }
        if self.traffic_type:
            args["TrafficType"] = self.traffic_type
        if self.fields:
            args["LogFormat"] = format_string(self.fields)
        return args

    def statements(self, account: Account) -> list[dict[str, Any]]:
        """The two statements AWS documents for flow-log delivery to this bucket, scoped to the account
        and region with `aws:SourceAccount` and `aws:SourceArn`."""
        bucket_arn = f"arn:{account.partition}:s3:::{self.bucket}"
        scope = {"StringEquals": {"aws:SourceAccount": account.id},
                 "ArnLike": {"aws:SourceArn": f"arn:{account.partition}:logs:{account.region}:{account.id}:*"}}
        write_scope = {**scope, "StringEquals": {**scope["StringEquals"], "s3:x-amz-acl": "bucket-owner-full-control"}}
        return [
            {"Sid": WRITE_SID, "Effect": "Allow", "Principal": {"Service": DELIVERY}, "Action": "s3:PutObject",
             "Resource": f"{bucket_arn}/{self._account_folder(account)}/*", "Condition": write_scope},
            {"Sid": ACL_SID, "Effect": "Allow", "Principal": {"Service": DELIVERY},
             "Action": ["s3:GetBucketAcl", "s3:ListBucket"], "Resource": bucket_arn, "Condition": scope},
        ]


def _type_of(resource_id: str) -> str:
    for kind, prefix in RESOURCE_TYPES.items():
        if resource_id.startswith(prefix):
            return kind
    raise ValueError(f"--resource-id: {resource_id!r} is not a VPC, subnet, network interface or transit gateway "
                     "(attachment) id")


def field_spec(spec: str, resource_type: str) -> tuple[str, ...] | None:
    """`--fields`: `all` (every field of the resource type), `default` (None: AWS's default format), or
    names separated by spaces or commas, or a `${...}` format string, checked against the catalog."""
    valid = TGW_FIELDS if resource_type in TRANSIT_GATEWAY else VPC_FIELDS
    if spec.strip() == "all":
        return valid
    if spec.strip() == "default":
        return None
    try:
        names = parse_format_string(spec.replace(",", " "))
    except ValueError:
        raise ValueError("--fields: all, default, or field names") from None
    unknown = [n for n in names if n not in BY_AWS]
    if unknown:
        raise ValueError(f"--fields: unknown flow log field(s): {', '.join(unknown)} (see docs/schema.md)")
    foreign = [n for n in names if n not in valid]
    if foreign:
        kind = "Transit Gateway" if resource_type in TRANSIT_GATEWAY else "VPC"
        raise ValueError(f"--fields: not field(s) of {kind} flow logs: {', '.join(foreign)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"--fields: named twice: {', '.join(repeated)}")
    return names


def format_string(fields: tuple[str, ...]) -> str:
    return " ".join(f"${{{name}}}" for name in fields)


def format_summary(log_format: str | None) -> str:
    """A flow log's format in a few words (`every VPC field (42)`, `default (14)`, `custom (7 fields)`)."""
    if not log_format:
        return "-"
    fields = parse_format_string(log_format)
    for name, known in (("default", DEFAULT_FORMAT), ("every VPC field", VPC_FIELDS),
                        ("every Transit Gateway field", TGW_FIELDS)):
        if fields == known:
            return f"{name} ({len(fields)})"
    return f"custom ({len(fields)} fields)"


# --- The bucket policy ---------------------------------------------------------------------------

def merge_policy(existing: dict[str, Any] | None, wanted: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """`existing` with each `wanted` statement it does not already hold (whatever its Sid), and the Sids
    added. Nothing is removed or changed; a Sid already used for something else gets a suffix."""
    policy = dict(existing or {"Version": "2012-10-17"})
    statements = policy.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else list(statements)
    have = [_canonical({k: v for k, v in s.items() if k != "Sid"}) for s in statements]
    sids = {s.get("Sid") for s in statements}
    added = []
    for statement in wanted:
        if _canonical({k: v for k, v in statement.items() if k != "Sid"}) in have:
            continue
        sid, n = statement["Sid"], 1
        while sid in sids:
            n += 1
            sid = f"{statement['Sid']}{n}"
        statements.append({**statement, "Sid": sid})
        sids.add(sid)
        added.append(sid)
    policy["Statement"] = statements
    return policy, added


def _canonical(value: Any) -> Any:
    """A policy element in one spelling: a one-item list is its item, lists are in sorted order."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return items[0] if len(items) == 1 else items
    return value


# --- setup -------------------------------------------------------------------------------------------

@dataclass
class SetupReport:
    """What `setup` found and did (or, in a dry run, would do)."""

    account: Account
    plan: FlowLogPlan
    policy: dict[str, Any]
    """The bucket policy after the merge."""
    added: list[str]
    """Sids of the statements added to the policy (none: it already allowed delivery)."""
    kept: int
    """Statements of the policy before the merge."""
    bucket_missing: bool = False
    existing: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Resource id: its flow log already delivering to this destination."""
    created: dict[str, str] = field(default_factory=dict)
    """Resource id: the new flow log's id."""
    failed: dict[str, str] = field(default_factory=dict)
    """Resource id: why AWS did not create its flow log."""

    @property
    def to_create(self) -> tuple[str, ...]:
        return tuple(rid for rid in self.plan.resource_ids if rid not in self.existing)


class _Clients:
    def __init__(self, options: AwsOptions) -> None:
        try:
            self.ec2, self.s3, self.sts = (Aws(service, options) for service in ("ec2", "s3", "sts"))
        except BotoCoreError as exc:
            raise SourceError(str(exc)) from None


def _pages(aws: Aws, operation: str, key: str, permission: str, **args: Any) -> Iterator[dict[str, Any]]:
    pages = checked(aws, lambda c: list(c.get_paginator(operation).paginate(**args)), permission, "*")
    for page in pages:
        yield from page.get(key, [])


def setup(plan: FlowLogPlan, options: AwsOptions, *, create_bucket: bool = False,
          dry_run: bool = False) -> SetupReport:
    """Check the resources, create the bucket if asked, merge the delivery statements into its policy,
    and create the flow logs that do not exist yet; a dry run only reads. Raises SourceError."""
    aws = _Clients(options)
    identity = checked(aws.sts, lambda c: c.get_caller_identity(), "sts:GetCallerIdentity", "*")
    account = Account(identity["Account"], identity["Arn"].split(":")[1], aws.ec2.region)
    _check_resources(aws.ec2, plan, account.region)
    bucket_arn = f"arn:{account.partition}:s3:::{plan.bucket}"
    existing_policy, missing = _bucket_policy(aws.s3, plan.bucket, bucket_arn)
    if missing and not create_bucket:
        raise SourceError(f"no such bucket: {plan.bucket} (add --create-bucket to create it)")
    policy, added = merge_policy(existing_policy, plan.statements(account))
    kept = len(policy["Statement"]) - len(added)
    report = SetupReport(account, plan, policy, added, kept, bucket_missing=missing)
    destination = plan.destination(account).rstrip("/")
    for flow_log in _pages(aws.ec2, "describe_flow_logs", "FlowLogs", "ec2:DescribeFlowLogs",
                           Filters=[{"Name": "resource-id", "Values": list(plan.resource_ids)}]):
        if (flow_log.get("LogDestinationType") == "s3"
                and (flow_log.get("LogDestination") or "").rstrip("/") == destination):
            report.existing.setdefault(flow_log["ResourceId"], flow_log)
    if dry_run:
        return report
    if missing:
        where = {} if account.region == "us-east-1" else {
            "CreateBucketConfiguration": {"LocationConstraint": account.region}}
        checked(aws.s3, lambda c: c.create_bucket(Bucket=plan.bucket, **where), "s3:CreateBucket", bucket_arn)
    if added:
        checked(aws.s3, lambda c: c.put_bucket_policy(Bucket=plan.bucket, Policy=json.dumps(policy)),
                "s3:PutBucketPolicy", bucket_arn)
    if report.to_create:
        request = {**plan.request(account), "ResourceIds": list(report.to_create)}
        answer = checked(aws.ec2, lambda c: c.create_flow_logs(**request), "ec2:CreateFlowLogs",
                         f"arn:{account.partition}:ec2:{account.region}:{account.id}:vpc-flow-log/*")
        for problem in answer.get("Unsuccessful", []):
            error = problem.get("Error", {})
            report.failed[problem.get("ResourceId", "?")] = f"{error.get('Code', '')}: {error.get('Message', '')}"
        ids = answer.get("FlowLogIds", [])
        if ids:  # which id is whose: the answer lists ids only
            for flow_log in _pages(aws.ec2, "describe_flow_logs", "FlowLogs", "ec2:DescribeFlowLogs", FlowLogIds=ids):
                report.created[flow_log["ResourceId"]] = flow_log["FlowLogId"]
    return report


_DESCRIBE = {
    "VPC": ("describe_vpcs", "VpcIds", "Vpcs", "VpcId", "ec2:DescribeVpcs"),
    "Subnet": ("describe_subnets", "SubnetIds", "Subnets", "SubnetId", "ec2:DescribeSubnets"),
    "NetworkInterface": ("describe_network_interfaces", "NetworkInterfaceIds", "NetworkInterfaces",
                         "NetworkInterfaceId", "ec2:DescribeNetworkInterfaces"),
    "TransitGateway": ("describe_transit_gateways", "TransitGatewayIds", "TransitGateways", "TransitGatewayId",
                       "ec2:DescribeTransitGateways"),
    "TransitGatewayAttachment": ("describe_transit_gateway_attachments", "TransitGatewayAttachmentIds",
                                 "TransitGatewayAttachments", "TransitGatewayAttachmentId",
                                 "ec2:DescribeTransitGatewayAttachments"),
}


def _check_resources(ec2: Aws, plan: FlowLogPlan, region: str) -> None:
    """A one-line error, before anything is changed, when a resource id does not exist in the region."""
    operation, param, key, id_key, permission = _DESCRIBE[plan.resource_type]
    ids = list(plan.resource_ids)
    try:
        found = ec2.call(lambda c: getattr(c, operation)(**{param: ids}))
    except ClientError as exc:
        code = error_code(exc)
        if code.endswith("NotFound") or code.endswith(".Malformed"):
            raise SourceError(f"no such {plan.resource_type} in {region}: {', '.join(ids)}") from None
        raise SourceError(explain(exc, permission, "*")) from None
    except BotoCoreError as exc:
        raise SourceError(explain(exc, permission, "*")) from None
    missing = set(ids) - {item.get(id_key) for item in found.get(key, [])}
    if missing:
        raise SourceError(f"no such {plan.resource_type} in {region}: {', '.join(sorted(missing))}")


def _bucket_policy(s3: Aws, bucket: str, bucket_arn: str) -> tuple[dict[str, Any] | None, bool]:
    """The bucket's policy (None without one), and whether the bucket is missing."""
    try:
        answer = s3.call(lambda c: c.get_bucket_policy(Bucket=bucket))
    except ClientError as exc:
        code = error_code(exc)
        if code == "NoSuchBucketPolicy":
            return None, False
        if code in ("NoSuchBucket", "404"):
            return None, True
        raise SourceError(explain(exc, "s3:GetBucketPolicy", bucket_arn)) from None
    except BotoCoreError as exc:
        raise SourceError(explain(exc, "s3:GetBucketPolicy", bucket_arn)) from None
    return json.loads(answer["Policy"]), False


def aws_cli_commands(report: SetupReport, options: AwsOptions) -> list[str]:
    """The AWS CLI commands that do what `setup` does (or would do), shell-quoted."""
    plan, account = report.plan, report.account
    common = ["--region", account.region]
    if options.profile:
        common += ["--profile", options.profile]
    if options.endpoint_url:
        common += ["--endpoint-url", options.endpoint_url]
    commands = []
    if report.bucket_missing:
        where = [] if account.region == "us-east-1" else [
            "--create-bucket-configuration", f"LocationConstraint={account.region}"]
        commands.append(["aws", "s3api", "create-bucket", "--bucket", plan.bucket, *where, *common])
    if report.added:
        commands.append(["aws", "s3api", "put-bucket-policy", "--bucket", plan.bucket,
                         "--policy", json.dumps(report.policy, separators=(",", ":")), *common])
    if report.to_create:
        request = plan.request(account)
        options_arg = request["DestinationOptions"]
        command = ["aws", "ec2", "create-flow-logs", "--resource-type", plan.resource_type,
                   "--resource-ids", *report.to_create]
        if plan.traffic_type:
            command += ["--traffic-type", plan.traffic_type]
        command += ["--log-destination-type", "s3", "--log-destination", request["LogDestination"]]
        if "LogFormat" in request:
            command += ["--log-format", request["LogFormat"]]
        command += ["--max-aggregation-interval", str(plan.aggregation), "--destination-options",
                    ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in options_arg.items())]
        commands.append([*command, *common])
    return [shlex.join(command) for command in commands]


# --- status --------------------------------------------------------------------------------------

STATUS_COLUMNS = ("resource_id", "resource_type", "name", "flow_log_id", "traffic_type", "destination", "format",
                  "options", "status")


@dataclass
class StatusReport:
    rows: list[dict[str, Any]]
    """One per flow log, then one per VPC or transit gateway without one (status NO FLOW LOG)."""
    region: str
    warnings: list[str] = field(default_factory=list)

    @property
    def uncovered(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["flow_log_id"] is None]


def status(options: AwsOptions) -> StatusReport:
    """The region's flow logs (like `describe-flow-logs`) and the VPCs and transit gateways without one."""
    try:
        ec2 = Aws("ec2", options)
    except BotoCoreError as exc:
        raise SourceError(str(exc)) from None
    flow_logs = list(_pages(ec2, "describe_flow_logs", "FlowLogs", "ec2:DescribeFlowLogs"))
    report = StatusReport([], ec2.region)
    names: dict[str, str] = {}
    candidates: list[tuple[str, str]] = []
    for vpc in _pages(ec2, "describe_vpcs", "Vpcs", "ec2:DescribeVpcs"):
        names[vpc["VpcId"]] = _name(vpc) or ("default VPC" if vpc.get("IsDefault") else "")
        candidates.append(("VPC", vpc["VpcId"]))
    try:
        for tgw in _pages(ec2, "describe_transit_gateways", "TransitGateways", "ec2:DescribeTransitGateways"):
            names[tgw["TransitGatewayId"]] = _name(tgw)
            candidates.append(("TransitGateway", tgw["TransitGatewayId"]))
    except SourceError as exc:
        if "access denied" not in str(exc):
            raise
        report.warnings.append(f"transit gateways not checked: {exc}")
    for flow_log in sorted(flow_logs, key=lambda f: (f.get("ResourceId", ""), str(f.get("CreationTime", "")))):
        report.rows.append(_flow_log_row(flow_log, names))
    covered = {f.get("ResourceId") for f in flow_logs}
    per_vpc = _subnet_coverage(ec2, covered, [rid for kind, rid in candidates if kind == "VPC" and rid not in covered])
    for kind, resource_id in candidates:
        if resource_id not in covered:
            note = per_vpc.get(resource_id)
            report.rows.append({**dict.fromkeys(STATUS_COLUMNS), "resource_id": resource_id, "resource_type": kind,
                                "name": names.get(resource_id) or None,
                                "status": NO_FLOW_LOG + (f" ({note})" if note else "")})
    return report


def _flow_log_row(flow_log: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    resource_id = flow_log.get("ResourceId", "")
    kind = flow_log.get("LogDestinationType", "")
    if kind == "s3":
        destination = "s3://" + (flow_log.get("LogDestination") or "").split(":::", 1)[-1]
    elif kind == "cloud-watch-logs":
        destination = f"cloudwatch://{flow_log.get('LogGroupName') or ''}"
    else:
        destination = flow_log.get("LogDestination") or kind
    given = flow_log.get("DestinationOptions") or {}
    opts = [{"plain-text": "text"}.get(given.get("FileFormat", ""), given.get("FileFormat", ""))]
    opts += [word for word, key in (("hive", "HiveCompatiblePartitions"), ("hourly", "PerHourPartition"))
             if given.get(key)]
    opts.append(f"{flow_log['MaxAggregationInterval']}s" if flow_log.get("MaxAggregationInterval") else "")
    state = flow_log.get("FlowLogStatus", "")
    if flow_log.get("DeliverLogsStatus") not in (None, "SUCCESS"):
        state += f", delivery {flow_log['DeliverLogsStatus']}: {flow_log.get('DeliverLogsErrorMessage') or '?'}"
    try:
        resource_type: str | None = _type_of(resource_id)
    except ValueError:
        resource_type = None
    return {"resource_id": resource_id, "resource_type": resource_type, "name": names.get(resource_id) or None,
            "flow_log_id": flow_log.get("FlowLogId"), "traffic_type": flow_log.get("TrafficType"),
            "destination": destination, "format": flow_log.get("LogFormat"),
            "options": ", ".join(o for o in opts if o) or None, "status": state}


def _subnet_coverage(ec2: Aws, covered: set[str | None], vpcs: list[str]) -> dict[str, str]:
    """For VPCs without a flow log of their own: how many of their subnets have one."""
    if not vpcs or not any(str(rid).startswith("subnet-") for rid in covered):
        return {}
    subnets: dict[str, list[str]] = {}
    for subnet in _pages(ec2, "describe_subnets", "Subnets", "ec2:DescribeSubnets",
                         Filters=[{"Name": "vpc-id", "Values": vpcs}]):
        subnets.setdefault(subnet["VpcId"], []).append(subnet["SubnetId"])
    notes = {}
    for vpc, ids in subnets.items():
        logged = sum(1 for sid in ids if sid in covered)
        if logged:
            notes[vpc] = f"{logged} of {len(ids)} subnets have one"
    return notes


def _name(resource: dict[str, Any]) -> str:
    return next((t["Value"] for t in resource.get("Tags", []) if t.get("Key") == "Name"), "")

