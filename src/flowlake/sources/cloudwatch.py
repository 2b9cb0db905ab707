"""Flow-log records in a CloudWatch Logs group, read with FilterLogEvents.

`cloudwatch://GROUP` names the group as it is (`cloudwatch:///aws/vpc/flows` for one starting with
`/`). Each page of events becomes one object, `{"events": [...]}` JSON that the decoder reads with
the log stream as the interface id and the event timestamp as the start where a record lacks them.
A page can be empty while more remain: only a missing nextToken ends the search.

Runs are incremental and exactly-once. The resume point, the newest event timestamp committed and
the ids of the committed events within LATE of it, is stored in the ledger in the same transaction
as the page it follows (its `checkpoint`). The next run searches again from LATE before that
timestamp, for events CloudWatch received late, and drops the ids it already holds. An event that
arrives more than LATE behind the newest one already ingested is missed.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from flowlake.lake.store import Lake
from flowlake.sources.aws import Aws, AwsOptions, SourceError, error_code, explain
from flowlake.sources.keys import KeyInfo
from flowlake.sources.local import SourceObject
from flowlake.timerange import TimeRange

LATE = 3_600_000
"""Milliseconds searched again on every run: flow logs reach CloudWatch about 5 minutes after a
capture window of up to 10 minutes, and sometimes later."""


def cloudwatch_objects(url: str, lake: Lake, options: AwsOptions, when: TimeRange,
                       stream_prefix: str | None = None) -> Iterator[SourceObject]:
    """One object per page of new events, from where the lake's last run of this group stopped.

    The resume point is read when the listing starts, which ingest does under the lake's writer
    lock, so two runs into one lake never start from the same point."""
    group = url.removeprefix("cloudwatch://")
    if not group:
        raise SourceError(f"not a CloudWatch Logs location: {url} (cloudwatch://LOG_GROUP)")
    logs = Aws("logs", options)
    source = f"cloudwatch://{group}?region={logs.region}" + (f"&stream-prefix={stream_prefix}" if stream_prefix else "")
    with contextlib.closing(lake.reader()) as ledger:
        cursor = _Cursor(ledger.cursor(source))
    start = max((ms for ms in (cursor.resume, _ms(when.start)) if ms is not None), default=None)
    end = _ms(when.end) - 1 if when.end else None  # FilterLogEvents' endTime is inclusive
    if start is not None and end is not None and start > end:
        return  # --to lies before where the last run got to
    for events in _pages(logs, group, stream_prefix, start, end):
        # The prefix is checked here as well: not every CloudWatch-compatible server applies it.
        fresh = [e for e in events if e["eventId"] not in cursor.held
                 and e.get("logStreamName", "").startswith(stream_prefix or "")]
        if not fresh:
            continue
        body = json.dumps({"events": [{k: e.get(k) for k in ("logStreamName", "timestamp", "message")}
                                      for e in fresh]}).encode()
        yield SourceObject(
            location=f"{source}#{fresh[0]['eventId']}", size=len(body), mtime=fresh[-1]["timestamp"] / 1000,
            etag=None, key=KeyInfo(region=logs.region), read=(lambda body=body: body), replayable=False,
            checkpoint=(source, cursor.add(fresh)),
        )


def _pages(logs: Aws, group: str, stream_prefix: str | None, start: int | None,
           end: int | None) -> Iterator[list[dict]]:
    """The events of FilterLogEvents page by page, oldest first; each page is tried again on its own."""
    args: dict[str, Any] = {"logGroupName": group, "startFromHead": True}
    for name, value in (("logStreamNamePrefix", stream_prefix), ("startTime", start), ("endTime", end)):
        if value is not None:
            args[name] = value
    while True:
        try:
            page = logs.call(lambda client, args=dict(args): client.filter_log_events(**args))
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and error_code(exc) == "ResourceNotFoundException":
                raise SourceError(f"no such log group: {group} (in {logs.region})") from None
            why = explain(exc, "logs:FilterLogEvents", f"arn:aws:logs:{logs.region}:*:log-group:{group}:*")
            raise SourceError(f"cannot read log group {group}: {why}") from None
        yield page.get("events", [])
        if not page.get("nextToken"):
            return
        args["nextToken"] = page["nextToken"]


def _ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None


class _Cursor:
    """Where a group's next run resumes, as of each page handed to ingest.

    Events are noted in the order pages are handed out; `add` returns the checkpoint of that moment,
    which ingest calls, in the same order, when the page's batch commits (on its committer thread).
    What no later checkpoint can need is dropped then, so memory holds about one batch of ids."""

    def __init__(self, saved: str | None) -> None:
        state = json.loads(saved) if saved else {}
        self.through: int | None = state.get("through")
        self._events = [(int(ts), event_id) for ts, ids in state.get("seen", {}).items() for event_id in ids]
        self.held = {event_id for _, event_id in self._events}
        """Ids the lake already holds, of events the search window covers again."""
        self._base = 0
        """Past the events the last checkpoint kept, `_events[i]` is the (`_base` + i)-th event noted."""
        self._lock = threading.Lock()

    @property
    def resume(self) -> int | None:
        return self.through - LATE if self.through is not None else None

    def add(self, events: list[dict]) -> Callable[[], str]:
        """Note a page's new events; returns the resume point just after them, computed when called."""
        with self._lock:
            self._events += [(e["timestamp"], e["eventId"]) for e in events]
            self.through = max(self.through or 0, *(e["timestamp"] for e in events))
            return partial(self._checkpoint, self._base + len(self._events), self.through)

    def _checkpoint(self, noted: int, through: int) -> str:
        """The resume point after the first `noted` events: ids of those within LATE of `through`."""
        with self._lock:
            cut = noted - self._base
            kept = [(ts, event_id) for ts, event_id in self._events[:cut] if ts >= through - LATE]
            self._events[:cut] = kept
            self._base = noted - len(kept)
        seen: dict[int, list[str]] = {}
        for ts, event_id in kept:
            seen.setdefault(ts, []).append(event_id)
        return json.dumps({"through": through, "seen": seen}, separators=(",", ":"))
