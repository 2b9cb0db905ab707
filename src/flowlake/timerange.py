"""The time options every command shares: `--since 24h`, `--from`, `--to` (UTC)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class TimeRange:
    """A half-open UTC interval [start, end); either side may be open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    @classmethod
    def from_options(cls, since: str | None = None, from_: str | None = None, to: str | None = None,
                     now: dt.datetime | None = None) -> TimeRange:
        if since and from_:
            raise ValueError("use --since or --from, not both")
        now = now or dt.datetime.now(dt.UTC)
        start = now - parse_duration(since) if since else (parse_instant(from_) if from_ else None)
        end = parse_instant(to, end_of_day=True) if to else None
        if start and end and start >= end:
            raise ValueError(f"--from {start.isoformat()} is not before --to {end.isoformat()}")
        return cls(start, end)

    @property
    def dates(self) -> tuple[str | None, str | None]:
        """The partition dates the range touches (inclusive), for pruning."""
        first = self.start.date().isoformat() if self.start else None
        last = (self.end - dt.timedelta(microseconds=1)).date().isoformat() if self.end else None
        return first, last

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None


def parse_duration(text: str) -> dt.timedelta:
    """`90s`, `15m`, `24h`, `7d`, `2w`."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (try 15m, 24h, 7d, 2w)")
    return dt.timedelta(seconds=float(match[1]) * _UNITS[match[2].lower()])


def parse_instant(text: str, end_of_day: bool = False) -> dt.datetime:
    """A date (`2026-11-27`) or a timestamp (`2026-11-27T14:00`, `... 14:00:00Z`), as UTC.

    A bare date given as an end means the end of that day, so `--to 2026-11-27` includes it.
    """
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
            return day + dt.timedelta(days=1) if end_of_day else day
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"not a date or timestamp: {text!r} (try 2026-11-27 or 2026-11-27T14:00Z)") from None
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)
