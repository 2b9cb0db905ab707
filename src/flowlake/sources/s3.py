"""Delivery objects in S3 and S3-compatible stores, and the AWS access both AWS sources share.

`s3://bucket/prefix` is read like a folder (or one object, when it names one). With no time,
account or region bound, everything under it is listed. With one, the listing follows AWS's key
layouts instead of walking the whole bucket: a delimiter listing of `AWSLogs/` finds the accounts
(and organisation folders), another each account's regions unless `--region` names them, and then
each account and region is listed from its first requested day (`StartAfter`) and no further than
its last, so a day out of a year of logs costs a few requests, not a year of pages. Listed keys are
matched against the bounds again by what `parse_key` reads from them, down to the hour.

Objects are downloaded by the ingest worker threads through one thread-safe client whose
connection pool matches them. Retries: botocore's standard mode retries each request (throttling,
5xx, resets, timeouts, with backoff and jitter); `Aws.call` retries what botocore does not, a
response body cut short (a download resumes where it stopped) and expired credentials.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from flowlake.sources.aws import CHUNK, Aws, AwsOptions, ReadError, SourceError, error_code, explain
from flowlake.sources.keys import KeyInfo, parse_key, prefix_for
from flowlake.sources.local import SourceObject
from flowlake.timerange import TimeRange

_ORG = re.compile(r"o-[a-z0-9]{10,32}/")
_ACCOUNT = re.compile(r"(?P<hive>aws-account-id=)?(?P<account>\d{12})/")

def s3_objects(url: str, options: AwsOptions, when: TimeRange, accounts: tuple[str, ...] = (),
               regions: tuple[str, ...] = (), connections: int = 10) -> Iterator[SourceObject]:
    """The objects under `s3://bucket/prefix` within the bounds, listed as lazily as they are ingested."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise SourceError(f"not an S3 location: {url} (s3://bucket/prefix)")
    yield from _Bucket(bucket, Aws("s3", options, connections), when, accounts, regions).objects(prefix)


class _Bucket:
    def __init__(self, name: str, aws: Aws, when: TimeRange, accounts: tuple[str, ...],
                 regions: tuple[str, ...]) -> None:
        self.name, self.aws, self.when = name, aws, when
        self.accounts, self.regions = set(accounts), tuple(regions)
        first, last = when.dates
        self.first = dt.date.fromisoformat(first) if first else None
        last_day = dt.date.fromisoformat(last) if last else (dt.datetime.now(dt.UTC).date() if first else None)
        self.beyond = last_day + dt.timedelta(days=1) if last_day else None
        """The first day after the range: listing stops at its prefix."""

    def objects(self, prefix: str) -> Iterator[SourceObject]:
        folder = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        # A folder is listed account by account and region by region (merged by day); a bare key as itself.
        whole_folder = not prefix or prefix.endswith("/")
        listed = self._bounded(folder) if self.when or self.accounts or self.regions or whole_folder else None
        items = listed if listed is not None else (
            item for item in self._list(prefix) if item["Key"] == prefix or item["Key"].startswith(folder))
        for item in items:
            obj = self._object(item)
            if self._wanted(obj.key):
                yield obj

    def _bounded(self, folder: str) -> Iterator[dict] | None:
        """Listings of only the accounts, regions and days asked for; None when `folder` holds no AWSLogs/."""
        head, found, _ = folder.partition("AWSLogs/")
        root = f"{head}AWSLogs/" if found else f"{folder}AWSLogs/"
        top = self._children(root)
        if not top:
            return None
        accounts = list(self._accounts(root, top, folder))
        # Each account and region lists in day order; merged, a batch holds one day of every account and
        # region and writes one file per partition (in key order it would cut every day into pieces that
        # compaction then rewrites: half the speed). One page per listing is held at a time.
        listings = [listing for scope in accounts for listing in self._region_listings(root, folder, *scope)]
        return heapq.merge(*listings, key=_time_order)

    def _accounts(self, base: str, children: list[str], folder: str,
                  org: str | None = None) -> Iterator[tuple[str, str, bool, str | None]]:
        """(prefix, account, hive layout, organisation id) of each wanted account among `children` of `base`."""
        for child in children:
            if not _within(child, folder):
                continue
            segment = child[len(base):]
            if org is None and _ORG.fullmatch(segment):
                yield from self._accounts(child, self._children(child), folder, segment[:-1])
            elif (match := _ACCOUNT.fullmatch(segment)) and (not self.accounts or match["account"] in self.accounts):
                yield child, match["account"], bool(match["hive"]), org

    def _region_listings(self, root: str, folder: str, prefix: str, account: str, hive: bool,
                         org: str | None) -> list[Iterator[dict]]:
        """One lazy listing per region of the account, each in day order."""
        service = f"{prefix}{'aws-service=' if hive else ''}vpcflowlogs/"
        region_key = "aws-region=" if hive else ""
        found = [f"{service}{region_key}{r}/" for r in self.regions] or self._children(service)
        head = root.removesuffix("AWSLogs/")
        listings = []
        for region_prefix in found:
            if not _within(region_prefix, folder):
                continue
            region = region_prefix[len(service):-1].removeprefix(region_key)
            after = head + prefix_for(account, region, self.first, hive, org) if self.first else None
            stop = head + prefix_for(account, region, self.beyond, hive, org) if self.beyond else None
            listings.append(self._region(max(region_prefix, folder, key=len), after, stop))
        return listings

    def _region(self, prefix: str, after: str | None, stop: str | None) -> Iterator[dict]:
        for item in self._list(prefix, start_after=after):
            if stop and item["Key"] >= stop:
                break
            yield item

    def _wanted(self, key: KeyInfo) -> bool:
        """Whether an object's key is within the bounds; what a key does not say never excludes it."""
        if self.accounts and key.account_id and key.account_id not in self.accounts:
            return False
        if self.regions and key.region and key.region not in self.regions:
            return False
        if key.date is None or not self.when:
            return True
        begins = dt.datetime.combine(key.date, dt.time(key.hour or 0), dt.UTC)
        ends = begins + (dt.timedelta(hours=1) if key.hour is not None else dt.timedelta(days=1))
        return (self.when.start is None or ends > self.when.start) and (self.when.end is None or begins < self.when.end)

    def _object(self, item: dict) -> SourceObject:
        key, etag, size = item["Key"], item["ETag"].strip('"'), item["Size"]
        return SourceObject(location=f"s3://{self.name}/{key}", size=size, mtime=item["LastModified"].timestamp(),
                            etag=etag, key=parse_key(key), read=partial(self._download, key, etag, size))

    def _pages(self, prefix: str, **args: Any) -> Iterator[dict]:
        """ListObjectsV2 pages, each one tried again on its own."""
        args = {"Bucket": self.name, "Prefix": prefix, **args}
        while True:
            try:
                page = self.aws.call(lambda client, args=dict(args): client.list_objects_v2(**args))
            except (ClientError, BotoCoreError) as exc:
                if isinstance(exc, ClientError) and error_code(exc) == "NoSuchBucket":
                    raise SourceError(f"no such bucket: {self.name}") from None
                where = f"s3://{self.name}/{prefix}"
                why = explain(exc, "s3:ListBucket", f"arn:aws:s3:::{self.name} (for the prefix '{prefix}')")
                raise SourceError(f"cannot list {where}: {why}") from None
            yield page
            if not page.get("IsTruncated"):
                return
            args["ContinuationToken"] = page["NextContinuationToken"]

    def _list(self, prefix: str, start_after: str | None = None) -> Iterator[dict]:
        args = {"StartAfter": start_after} if start_after else {}
        for page in self._pages(prefix, **args):
            yield from page.get("Contents", [])

    def _children(self, prefix: str) -> list[str]:
        """The "folders" directly under `prefix`."""
        return [p["Prefix"] for page in self._pages(prefix, Delimiter="/") for p in page.get("CommonPrefixes", [])]

    def _download(self, key: str, etag: str, size: int) -> bytes:
        """The object's bytes. A body cut short resumes where it stopped; If-Match makes sure every
        piece is of the version listed."""
        chunks: list[bytes] = []

        def fetch(client: BaseClient) -> bytes:
            done = sum(map(len, chunks))
            if done < size or size == 0:
                args = {"Bucket": self.name, "Key": key, "IfMatch": etag}
                if done:
                    args["Range"] = f"bytes={done}-"
                for chunk in client.get_object(**args)["Body"].iter_chunks(CHUNK):
                    chunks.append(chunk)  # kept when the body breaks off: the next try resumes after it
            return b"".join(chunks)

        try:
            return self.aws.call(fetch)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("PreconditionFailed", "NoSuchKey"):
                raise ReadError(f"{code}: the object changed while it was read (the next run reads it)") from None
            raise ReadError(explain(exc, "s3:GetObject", f"arn:aws:s3:::{self.name}/{key}")) from None
        except (BotoCoreError, SourceError) as exc:  # SourceError: the credential chain broke while renewing
            raise ReadError(str(exc)) from None


def _time_order(item: dict) -> tuple:
    key = parse_key(item["Key"])
    return (key.date or dt.date.min, key.hour or 0, item["Key"])


def _within(prefix: str, folder: str) -> bool:
    """Whether a listing of `prefix` can hold keys under `folder` (one of them lies inside the other)."""
    return prefix.startswith(folder) or folder.startswith(prefix)
