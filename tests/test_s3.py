"""`flowlake ingest s3://...` against moto's S3 server, through the fault proxy."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import boto3

from conftest import ACCOUNT, aws_key, count, rows, run_cli, text_object, v2_line

if TYPE_CHECKING:
    from servers import Exchange, LocalAws

pytest_plugins = ["servers"]

BUCKET = "flow-logs"
OTHER = "222233334444"
ORG = "o-abcdefghij"


def hive_key(day: int, hour: int, account: str = OTHER, region: str = "eu-west-1", suffix: str = "0a1b2c3d") -> str:
    """A Hive-compatible, hourly key under an organisation folder (November 2026)."""
    return (f"AWSLogs/{ORG}/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
            f"year=2026/month=11/day={day:02d}/hour={hour:02d}/"
            f"{account}_vpcflowlogs_{region}_fl-0123456789abcdef0_202611{day:02d}T{hour:02d}05Z_{suffix}.log.gz")


def plain_key(day: int, n: int, region: str = "us-east-1", account: str = ACCOUNT) -> str:
    return aws_key(day=f"2026/11/{day:02d}", account=account, region=region, stamp=f"202611{day:02d}T1200Z",
                   suffix=f"{n:08x}")


def put(aws: LocalAws, objects: dict[str, list[str]], bucket: str = BUCKET, client: object = None) -> None:
    """Upload gzip text objects (in parallel: the bounded-listing test writes thousands)."""
    s3 = client or aws.client("s3")
    if not any(b["Name"] == bucket for b in s3.list_buckets().get("Buckets", [])):
        s3.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: s3.put_object(Bucket=bucket, Key=item[0], Body=gzip.compress(
            text_object(item[1]).encode())), objects.items()))


def ingest(aws: LocalAws, lake: Path, *args: str, env: dict | None = None) -> tuple[int, dict, str]:
    """Exit code, --json statistics and standard error of `flowlake ingest` (`env`: instead of `aws.env`)."""
    result = run_cli("ingest", *args, "--lake", str(lake), "--json", env=aws.env if env is None else env)
    stats = json.loads(result.stdout) if result.stdout else {}
    return result.returncode, stats, result.stderr.decode()


def test_every_layout_is_read_and_a_second_run_downloads_nothing(aws: LocalAws, lake: Path) -> None:
    put(aws, {
        f"logs/{plain_key(27, 1)}": [v2_line(i) for i in range(0, 10)],
        f"logs/{hive_key(28, 13)}": [v2_line(i) for i in range(10, 30)],
        f"logs/{aws_key(day='2026/11/29/07', stamp='20261129T0705Z')}": [v2_line(i) for i in range(30, 35)],
        plain_key(27, 2): [v2_line(i) for i in range(100, 200)],  # outside the prefix
    })
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/logs/")
    assert code == 0 and stats["records"] == 35
    assert rows(lake, "select region, count(*) from flows group by 1 order by 1") == [("eu-west-1", 20),
                                                                                      ("us-east-1", 15)]
    aws.proxy.clear()
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/logs/")
    assert (code, stats["unchanged"], stats["records"]) == (0, 3, 0)
    assert aws.proxy.requests("GetObject") == []

    put(aws, {f"logs/{hive_key(28, 13)}": [v2_line(i) for i in range(1000, 1003)]})  # a new ETag
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/logs/{hive_key(28, 13)}")
    assert (code, stats["ingested"], stats["records"]) == (0, 1, 3)
    assert count(lake) == 18


def test_listing_is_bounded_to_the_requested_days_accounts_and_regions(aws: LocalAws, lake: Path) -> None:
    busy = {plain_key(day, n): [v2_line(day * 100 + n)] for day in range(1, 21) for n in range(100)}
    quiet = {plain_key(day, 0, region="eu-west-1"): [v2_line(5000 + day)] for day in range(1, 21)}
    hourly = {hive_key(day, hour, suffix=f"{hour:08x}"): [v2_line(6000 + day * 24 + hour)]
              for day in range(1, 21) for hour in (9, 10, 11)}
    put(aws, busy | quiet | hourly)
    assert len(busy | quiet | hourly) == 2080

    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/", "--from", "2026-11-03", "--to", "2026-11-04",
                            "--account", ACCOUNT, "--region", "us-east-1")
    assert (code, stats["records"]) == (0, 200)
    listings = aws.proxy.requests("ListObjectsV2")
    # AWSLogs/ (accounts), the organisation folder (its accounts), then one page from the first day on
    assert [(e.query["prefix"], e.query.get("start-after")) for e in listings] == [
        ("AWSLogs/", None), (f"AWSLogs/{ORG}/", None),
        (f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/", f"AWSLogs/{ACCOUNT}/vpcflowlogs/us-east-1/2026/11/03/")]
    fetched = {e.key.split("/")[6] for e in aws.proxy.requests("GetObject")}
    assert fetched == {"03", "04"}

    aws.proxy.clear()
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/", "--from", "2026-11-05T10:00", "--to", "2026-11-05T11:00",
                            "--account", OTHER)
    assert (code, stats["records"]) == (0, 1)
    assert rows(lake, "select srcport from flows where srcport >= 46000") == [(40000 + 6000 + 5 * 24 + 10,)]
    ranged = aws.proxy.requests("ListObjectsV2")[-1].query
    assert ranged["start-after"].endswith("aws-region=eu-west-1/year=2026/month=11/day=05/")


def test_since_lists_from_the_first_day_it_reaches(aws: LocalAws, lake: Path, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=back) for back in (0, 3)]
    put(aws, {aws_key(day=f"{day:%Y/%m/%d}", stamp=f"{day:%Y%m%d}T0000Z", suffix=f"{n:08x}"): [v2_line(n)]
              for n, day in enumerate(days)})
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/", "--since", "1d")
    assert (code, stats["records"]) == (0, 1)
    [ranged] = [e for e in aws.proxy.requests("ListObjectsV2") if "start-after" in e.query]
    assert ranged.query["start-after"].endswith(f"{today - dt.timedelta(days=1):%Y/%m/%d}/")

    result = run_cli("ingest", str(tmp_path), "--lake", str(lake), "--since", "1d")
    assert result.returncode == 2 and b"for s3:// and cloudwatch:// paths" in result.stderr


def test_throttling_resets_cut_bodies_stalls_and_expired_credentials_lose_nothing(aws: LocalAws, lake: Path) -> None:
    put(aws, {plain_key(27, n): [v2_line(n * 25 + i) for i in range(25)] for n in range(24)})
    proxy = aws.proxy

    def s3(exchange: Exchange) -> bool:
        return exchange.operation in ("GetObject", "ListObjectsV2")

    proxy.inject("cut", times=1, when=lambda e: e.operation == "ListObjectsV2")
    for fault in ("throttle", "error", "reset", "cut", "stall", "expired"):
        proxy.inject(fault, times=1, when=lambda e: e.operation == "GetObject")
    for fault, share in (("throttle", 0.1), ("error", 0.05), ("reset", 0.05), ("cut", 0.05), ("stall", 0.02),
                         ("expired", 0.03)):
        proxy.inject(fault, share, when=s3)
    env = {**aws.env, "FLOWLAKE_AWS_TIMEOUT": "1"}  # a stall is a timeout
    code, stats, err = ingest(aws, lake, f"s3://{BUCKET}/", "--workers", "4", env=env)
    assert code == 0, err
    assert (stats["records"], stats["failed"]) == (600, 0)
    assert rows(lake, "select count(*), count(distinct srcport) from flows") == [(600, 600)]
    assert {e.fault for e in proxy.log} >= {"throttle", "error", "reset", "cut", "stall", "expired"}


def test_an_object_that_keeps_failing_is_reported_and_read_next_run(aws: LocalAws, lake: Path) -> None:
    put(aws, {plain_key(27, n): [v2_line(n * 10 + i) for i in range(10)] for n in range(3)})
    aws.proxy.inject("denied", when=lambda e: e.operation == "GetObject" and e.key == plain_key(27, 1))
    code, stats, err = ingest(aws, lake, f"s3://{BUCKET}/")
    assert (code, stats["records"], stats["failed"]) == (1, 20, 1)
    assert f"s3:GetObject on arn:aws:s3:::{BUCKET}/{plain_key(27, 1)}" in err

    aws.proxy.clear()
    code, stats, _ = ingest(aws, lake, f"s3://{BUCKET}/")
    assert (code, stats["records"], stats["unchanged"]) == (0, 10, 2)
    assert count(lake) == 30


def test_a_bucket_is_read_day_by_day_across_accounts_and_regions(aws: LocalAws, lake: Path) -> None:
    """In key order a batch would hold every day of one account and region, and cut each day's partition
    into pieces for compaction to rewrite; merged by day, every account and region of a day come together."""
    objects = {plain_key(day, n, region=region, account=account): [v2_line(day * 1000 + n)]
               for account in (ACCOUNT, OTHER) for region in ("us-east-1", "eu-west-1")
               for day in (3, 4, 5) for n in range(3)}
    put(aws, objects, bucket="by-day")
    aws.proxy.clear()
    code, stats, _ = ingest(aws, lake, "s3://by-day/", "--workers", "1")
    assert (code, stats["records"]) == (0, len(objects))
    days = [int(e.key.split("/")[6]) for e in aws.proxy.requests("GetObject")]
    assert len(days) == len(objects) and days == sorted(days)


def test_denied_listing_and_missing_bucket_are_one_line_errors(aws: LocalAws, lake: Path) -> None:
    put(aws, {f"restricted/{plain_key(27, 1)}": [v2_line(1)]})
    aws.proxy.inject("denied", when=lambda e: e.query.get("prefix", "").startswith("restricted/"))
    code, _, err = ingest(aws, lake, f"s3://{BUCKET}/restricted/")
    assert code == 2
    # The first listing denied is of the AWS layout's folder under the prefix: the message names it.
    assert err.strip() == (f"Error: cannot list s3://{BUCKET}/restricted/AWSLogs/: access denied: the credentials "
                           f"need s3:ListBucket on arn:aws:s3:::{BUCKET} (for the prefix 'restricted/AWSLogs/')")
    code, _, err = ingest(aws, lake, "s3://no-such-bucket/")
    assert (code, err.strip()) == (2, "Error: no such bucket: no-such-bucket")


def test_profile_role_in_another_account_and_endpoint_flag(aws: LocalAws, lake: Path) -> None:
    role = f"arn:aws:iam::{OTHER}:role/flowlake-reader"
    sts = aws.client("sts")
    other = sts.assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    owner = boto3.client("s3", endpoint_url=aws.moto.url, region_name="us-east-1",
                         aws_access_key_id=other["AccessKeyId"], aws_secret_access_key=other["SecretAccessKey"],
                         aws_session_token=other["SessionToken"])
    put(aws, {plain_key(27, 1, account=OTHER): [v2_line(i) for i in range(7)]}, bucket="other-account", client=owner)
    (aws.home / "credentials").write_text("[auditor]\naws_access_key_id = auditor-key\naws_secret_access_key = x\n")
    env = {k: v for k, v in aws.env.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_ACCESS", "AWS_SECRET"))}
    env["AWS_ENDPOINT_URL_STS"] = aws.proxy.url

    code, _, err = ingest(aws, lake, "s3://other-account/", "--profile", "auditor", "--endpoint-url", aws.proxy.url,
                          env=env)
    assert code == 2 and "access denied" in err
    code, stats, err = ingest(aws, lake, "s3://other-account/", "--profile", "auditor", "--role-arn", role,
                              "--endpoint-url", aws.proxy.url, env=env)
    assert code == 0, err
    assert stats["records"] == 7
    [assume] = aws.proxy.requests("AssumeRole")
    assert "Credential=auditor-key/" in assume.headers["Authorization"]
    signed = {e.headers["Authorization"].split("Credential=")[1].split("/")[0] for e in aws.proxy.requests("GetObject")}
    assert signed and "auditor-key" not in signed


def test_expired_credentials_are_read_again_from_the_chain(aws: LocalAws, lake: Path) -> None:
    """The credentials file holds keys that have expired; the first request refused renews the file
    (as `aws sso login` or a key rotation would), and the run goes on with the new keys."""
    put(aws, {plain_key(27, n): [v2_line(n * 10 + i) for i in range(10)] for n in range(5)})
    credentials = aws.home / "credentials"
    credentials.write_text("[default]\naws_access_key_id = old-key\naws_secret_access_key = x\n")

    def expired_and_renewed(exchange: Exchange) -> bool:
        if "Credential=old-key/" not in exchange.headers.get("Authorization", ""):
            return False
        credentials.write_text("[default]\naws_access_key_id = new-key\naws_secret_access_key = x\n")
        return True

    aws.proxy.inject("expired", when=expired_and_renewed)
    env = {k: v for k, v in aws.env.items() if not k.startswith(("AWS_ACCESS", "AWS_SECRET"))}
    code, stats, err = ingest(aws, lake, f"s3://{BUCKET}/", env=env)
    assert code == 0, err
    assert stats["records"] == 50
    assert [e.fault for e in aws.proxy.log if "Credential=old-key/" in e.headers["Authorization"]] == ["expired"]
