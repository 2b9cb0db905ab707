"""What AWS's S3 key layouts say about the records in an object.

Recognised (with any prefix before `AWSLogs/`, and an optional organisation-id segment):

    AWSLogs/{account}/vpcflowlogs/{region}/YYYY/MM/DD/[HH/]{file}
    AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/
        year=YYYY/month=MM/day=DD/[hour=HH/]{file}

and the file name `{account}_vpcflowlogs_{region}_{fl-id}_{YYYYMMDDTHHmmZ}_{hash}.log.gz`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_ORG = r"(?:o-[a-z0-9]{10,32}/)?"
_PLAIN = re.compile(
    rf"AWSLogs/{_ORG}(?P<account>\d{{12}})/vpcflowlogs/(?P<region>[a-z0-9-]+)/"
    r"(?P<year>\d{4})/(?P<month>\d{2})/(?P<day>\d{2})/(?:(?P<hour>\d{2})/)?[^/]+$"
)
_HIVE = re.compile(
    rf"AWSLogs/{_ORG}aws-account-id=(?P<account>\d{{12}})/aws-service=vpcflowlogs/aws-region=(?P<region>[a-z0-9-]+)/"
    r"year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/(?:hour=(?P<hour>\d{2})/)?[^/]+$"
)
_NAME = re.compile(
    r"(?P<account>\d{12})_vpcflowlogs_(?P<region>[a-z0-9-]+)_(?P<flow_log_id>fl-[0-9a-z]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_[0-9a-z]+\.log(?:\.gz|\.parquet)?$"
)


@dataclass(frozen=True)
class KeyInfo:
    account_id: str | None = None
    region: str | None = None
    date: dt.date | None = None
    hour: int | None = None
    flow_log_id: str | None = None
    hive: bool = False


def parse_key(key: str) -> KeyInfo:
    """Account, region, date, hour and flow-log id from an S3 key or a local path; None where absent."""
    key = key.replace("\\", "/")
    match = _HIVE.search(key) or _PLAIN.search(key)
    name = _NAME.search(key.rsplit("/", 1)[-1])
    fields: dict = {}
    if name:
        stamp = dt.datetime.strptime(name["stamp"], "%Y%m%dT%H%MZ")
        fields.update(account_id=name["account"], region=name["region"], flow_log_id=name["flow_log_id"],
                      date=stamp.date(), hour=stamp.hour)
    if match:
        try:
            date = dt.date(int(match["year"]), int(match["month"]), int(match["day"]))
        except ValueError:
            date = None
        fields.update(account_id=match["account"], region=match["region"], hive=match.re is _HIVE)
        if date:
            fields["date"] = date
        if match["hour"] is not None:
            fields["hour"] = int(match["hour"])
    return KeyInfo(**fields)


def prefix_for(account: str, region: str, date: dt.date, hive: bool = False, org: str | None = None) -> str:
    """The key prefix of one account, region and day (what S3 listing is bounded to)."""
    head = f"AWSLogs/{org + '/' if org else ''}"
    if hive:
        return (f"{head}aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/"
                f"year={date:%Y}/month={date:%m}/day={date:%d}/")
    return f"{head}{account}/vpcflowlogs/{region}/{date:%Y}/{date:%m}/{date:%d}/"
