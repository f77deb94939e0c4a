"""Times as glcr reads and writes them. PURE.

Written: RFC 3339 in UTC with `Z`, seconds, or microseconds when there are any, so a time read
back is the time written (plans, journals, JSON output). Read: ISO 8601 with an offset, turned
into UTC. GitLab and registries report UTC; a time without an offset from them is taken as UTC,
as GitLab's cleanup takes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
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


# Ruby's DateTime.rfc3339 (date/date_parse.c, the pattern GitLab's third-party Tag#created_at
# goes through): a full date and time WITH a zone; `t` or a space between them; any case;
# surrounding blanks allowed. Anything else raises ArgumentError, which GitLab turns into nil.
_RFC3339 = re.compile(
    r"\A\s*(-?\d{4,})-(\d{2})-(\d{2})(?:t|\s)(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(z|[-+]\d{2}:\d{2})\s*\Z",
    re.IGNORECASE)


def rfc3339_time(value: object) -> datetime | None:
    """An image config's `created` as GitLab's third-party cleanup reads it
    (ContainerRegistry::Tag#created_at: `DateTime.rfc3339(config['created'])`, nil on
    ArgumentError): only a full RFC 3339 date-time with a zone dates an image. `2024-01-01`,
    a time without a zone, `+0100` or the basic format leave it undated, as in GitLab."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone.lower() == "z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        # Ruby accepts a leap second (:60) and carries it into the next minute.
        leap = int(second) == 60
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute),
                          59 if leap else int(second), micro, tzinfo=tz)
    except ValueError:
        return None
    if leap:
        moment += timedelta(seconds=1)
    return moment.astimezone(UTC)
