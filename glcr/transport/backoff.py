"""How long to wait before retrying a throttled or failing request. Pure.

GitLab's 429s do not always carry the same headers (gitlab-org/gitlab#365728, #199738), so
the wait is read in this order: Retry-After, RateLimit-ResetTime, RateLimit-Reset, then a capped
exponential backoff with full jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Mapping

# 429 is always safe to retry: the server rejected the request before doing anything.
# 502/503/504 come from proxies and overloaded Pumas; retried only for idempotent methods.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    # Five attempts ride out a GitLab.com rate-limit window (60 s) when the server says how
    # long to wait, and give up within about a minute when it does not.
    max_attempts: int = 5
    base_delay: float = 0.5
    # No single wait longer than this; a Retry-After above it is a sign to stop and report.
    max_delay: float = 60.0

    def should_retry(self, method: str, status: int, attempt: int) -> bool:
        if attempt >= self.max_attempts or status not in RETRY_STATUSES:
            return False
        return status == 429 or method.upper() in IDEMPOTENT_METHODS

    def delay(self, attempt: int, headers: Mapping[str, str], now: float, rng: random.Random) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempt counts from 1)."""
        told = server_wait(headers, now)
        if told is not None:
            return min(max(told, 0.0), self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


def server_wait(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asked for, in seconds, or None when it did not say."""
    lower = {k.lower(): v for k, v in headers.items()}
    retry_after = lower.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            return parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError):
            pass
    reset_time = lower.get("ratelimit-resettime")
    if reset_time:
        try:
            return parsedate_to_datetime(reset_time).timestamp() - now
        except (TypeError, ValueError):
            pass
    reset = lower.get("ratelimit-reset")
    if reset and reset.strip().isdigit():
        return float(reset) - now
    return None
