"""Ages on the command line (`--older-than 30d`). Pure.

GitLab's own `older_than` (cleanup policy and bulk API) is parsed by glcr.policy, which
follows ChronicDuration; this is the simple form glcr's own filters take.
"""

from __future__ import annotations

import re
from datetime import timedelta

from glcr.errors import InvalidInputError

_AGE = re.compile(r"^\s*(\d+)\s*(h|d|w|month|months|y)\s*$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "month": 30 * 86400, "months": 30 * 86400, "y": 365 * 86400}


def parse_age(text: str, option: str = "age") -> timedelta:
    match = _AGE.match(text.lower())
    if not match:
        raise InvalidInputError(f"{option} {text!r} is not an age", hint="use a number and h, d, w, month or y, e.g. 30d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
