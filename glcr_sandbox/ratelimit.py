"""A token bucket that answers like GitLab's Rack::Attack throttle (fact sheet §11).

Over budget: 429, plain-text body "Retry later\\n", `Retry-After` in seconds and the
`RateLimit-*` headers GitLab sends on throttled responses.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from dataclasses import dataclass

from glcr_sandbox.web import Response

RETRY_LATER = b"Retry later\n"  # Gitlab::Throttle::DEFAULT_RATE_LIMITING_RESPONSE_TEXT


@dataclass
class RateLimitConfig:
    enabled: bool = False
    requests_per_period: int = 60
    period_seconds: float = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self.config = RateLimitConfig()
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def configure(self, config: RateLimitConfig) -> None:
        with self._lock:
            self.config = config
            self._tokens = float(config.requests_per_period)  # a full bucket: bursts allowed at once
            self._stamp = time.monotonic()

    def check(self) -> Response | None:
        """None when the request may go on, else the 429 to send."""
        with self._lock:
            cfg = self.config
            if not cfg.enabled:
                return None
            rate = cfg.requests_per_period / cfg.period_seconds
            now = time.monotonic()
            self._tokens = min(float(cfg.requests_per_period), self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            retry_after = max(1, math.ceil((1.0 - self._tokens) / rate))
        reset_at = time.time() + retry_after
        per_minute = round(cfg.requests_per_period * 60 / cfg.period_seconds)  # normalised like GitLab
        headers = {
            "Retry-After": str(retry_after),
            "RateLimit-Name": "throttle_authenticated_api",
            "RateLimit-Limit": str(per_minute),
            "RateLimit-Observed": str(cfg.requests_per_period + 1),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(int(reset_at)),
            "RateLimit-ResetTime": email.utils.formatdate(reset_at, usegmt=True),
        }
        return Response(429, RETRY_LATER, headers, content_type="text/plain")
