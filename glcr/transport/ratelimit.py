"""One rate-limit budget per session, shared by every client and every concurrent request.

RetryTransport makes the one request that got a 429 wait. Without a shared budget the other
requests in flight (a group run has --project-jobs x --jobs of them) keep hitting GitLab's
throttle and each collects its own 429. So: a 429, or `RateLimit-Remaining: 0` on any answer,
pauses every request of the session until the time the server named (Retry-After,
RateLimit-ResetTime, RateLimit-Reset: the order backoff.server_wait reads them in), or a short
backoff when it named none. GitLab sends RateLimit-* on throttled answers and, where
`rate_limiting_response_headers_enabled` is on (GitLab.com), on every API answer
(Gitlab::RackAttack, lib/gitlab/rack_attack.rb).
"""

from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Mapping

import httpx

from glcr.transport.backoff import server_wait

# A 429 that names no wait: everyone pauses this long (RetryTransport's own backoff follows).
DEFAULT_PAUSE = 1.0
# Never pause the whole session longer than this on one answer's word (RetryPolicy.max_delay).
MAX_PAUSE = 60.0


class RateBudget:
    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._resume_at = 0.0  # monotonic time before which no request starts
        self.pauses = 0  # how often the session was paused (for the debug log and tests)

    def pause_left(self) -> float:
        return max(0.0, self._resume_at - self._monotonic())

    async def wait(self) -> None:
        # One sleep, not a loop: a pause that grows meanwhile is met by the next request, and a
        # test's instant fake sleep must not spin against the real clock.
        left = self.pause_left()
        if left > 0:
            await self._sleep(left)

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        lower = {k.lower(): v for k, v in headers.items()}
        remaining = lower.get("ratelimit-remaining", "").strip()
        if status != 429 and not (remaining.isdigit() and int(remaining) == 0):
            return
        told = server_wait(headers, self._wall())
        pause = DEFAULT_PAUSE if told is None else min(max(told, 0.0), MAX_PAUSE)
        if status != 429 and told is None:
            return  # the budget is spent but the server did not say until when: let 429s tell
        until = self._monotonic() + pause
        if until > self._resume_at:
            self._resume_at = until
            self.pauses += 1


class BudgetTransport(httpx.AsyncBaseTransport):
    """Wraps the wire, inside RetryTransport: every attempt waits for the shared budget."""

    def __init__(self, inner: httpx.AsyncBaseTransport, budget: RateBudget) -> None:
        self._inner = inner
        self._budget = budget

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._budget.wait()
        response = await self._inner.handle_async_request(request)
        # Most answers say nothing about the budget: skip reading every header of each of them.
        if response.status_code == 429 or "ratelimit-remaining" in response.headers:
            self._budget.observe(response.status_code, response.headers)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
