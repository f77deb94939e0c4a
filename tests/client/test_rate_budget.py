"""Issue 21: one rate-limit budget per session. A 429 (or RateLimit-Remaining: 0 with a reset
time) pauses every request of the session, not just the one that was throttled."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions, build_async_client
from glcr.transport.ratelimit import RateBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def budget(clock: Clock) -> RateBudget:
    return RateBudget(monotonic=lambda: clock.now, wall=lambda: clock.now, sleep=clock.sleep)


@pytest.mark.parametrize("status, headers, pause", [
    (429, {"Retry-After": "7"}, 7.0),
    (429, {"RateLimit-Reset": "1003"}, 3.0),
    (429, {}, 1.0),
    (200, {"RateLimit-Remaining": "0", "RateLimit-Reset": "1005"}, 5.0),
    (200, {"RateLimit-Remaining": "0"}, 0.0),  # spent, but no word on when: the 429 will say
    (200, {"RateLimit-Remaining": "3", "RateLimit-Reset": "1005"}, 0.0),
    (429, {"Retry-After": "600"}, 60.0),  # capped
])
def test_what_pauses_the_session(status, headers, pause):
    clock = Clock()
    b = budget(clock)
    b.observe(status, headers)
    assert b.pause_left() == pause


def test_a_429_on_one_client_pauses_the_other():
    clock = Clock()
    shared = budget(clock)
    seen: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, clock.now))
        if request.url.path == "/a" and len([s for s in seen if s[0] == "/a"]) == 1:
            return httpx.Response(429, headers={"Retry-After": "2"})
        return httpx.Response(200, json={})

    # No retries: only the shared budget can make the second client wait.
    options = HttpOptions(wire=httpx.MockTransport(handler), sleep=clock.sleep, budget=shared,
                          retry=RetryPolicy(max_attempts=1))

    async def go() -> None:
        first, second = build_async_client(options), build_async_client(options)
        async with first, second:
            assert (await first.get("http://gitlab.test/a")).status_code == 429
            assert (await second.get("http://gitlab.test/b")).status_code == 200

    asyncio.run(go())
    assert seen == [("/a", 1000.0), ("/b", 1002.0)]  # the other client waited out the pause
    assert clock.slept == [2.0] and shared.pauses == 1
