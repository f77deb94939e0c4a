"""The part of ChronicDuration.parse that GitLab's `older_than` values use.

GitLab patches ChronicDuration so a month is 30 days (Gitlab::Patch::ChronicDuration); a bare
number means seconds; anything unparseable is None (the cleanup then deletes nothing).
"""

from __future__ import annotations

import re

_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "wks": 604800, "week": 604800, "weeks": 604800,
    "mo": 2592000, "mon": 2592000, "mos": 2592000, "month": 2592000, "months": 2592000,
    "y": 31536000, "yr": 31536000, "yrs": 31536000, "year": 31536000, "years": 31536000,
}  # fmt: skip
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*,?", re.IGNORECASE)


def parse_duration(text: str | None) -> float | None:
    """Seconds, or None when the text is not a duration."""
    if text is None or not text.strip():
        return None
    total, pos, source = 0.0, 0, text.strip().lower().replace(" and ", " ")
    while pos < len(source):
        match = _PART.match(source, pos)
        if not match or match.end() == pos:
            return None
        number, unit = float(match.group(1)), match.group(2)
        if unit and unit not in _UNITS:
            return None
        total += number * _UNITS.get(unit, 1)
        pos = match.end()
    return total
