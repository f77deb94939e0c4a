"""Times as glcr reads and writes them. PURE.

Written: RFC 3339 in UTC with `Z`, seconds, or microseconds when there are any, so a time read
back is the time written (plans, journals, JSON output). Read: ISO 8601 with an offset, turned
into UTC. GitLab and registries report UTC; a time without an offset from them is taken as UTC,
as GitLab's cleanup takes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (GitLab reports UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z`; seconds, or microseconds when there are any (round trip)."""
    moment = as_utc(moment)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_time(text: str, *, naive_is_utc: bool = False) -> datetime:
    """Inverse of `format_time`; accepts any offset. ValueError when `text` is not a timestamp,
    or has no offset (unless `naive_is_utc`: what GitLab and registries report)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None and not naive_is_utc:
        raise ValueError("no time zone")
    return as_utc(moment)


def optional_time(value: Any) -> datetime | None:
    """A time from GitLab's or a registry's JSON: None when missing or not a timestamp."""
    if not value or not isinstance(value, str):
        return None
    try:
        return parse_time(value, naive_is_utc=True)
    except ValueError:
        return None
