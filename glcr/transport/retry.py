"""An httpx transport that retries throttled and failing requests (see backoff.py for when)."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Awaitable, Callable

import httpx

from glcr.errors import NetworkError
from glcr.transport.backoff import RetryPolicy

Sleep = Callable[[float], Awaitable[None]]

# A refused or reset connection is tried once more, not max_attempts times: a wrong URL or a
# stopped server does not heal in seconds, and the user should hear about it at once.
CONNECT_ATTEMPTS = 2

CA_HINT = ("if a private CA signed it, give that CA's certificate with SSL_CERT_FILE=/path/ca.pem "
           "or --ca-file /path/ca.pem")


def certificate_problem(exc: BaseException | None) -> str | None:
    """Why a TLS certificate was not accepted (`self-signed certificate`, `Hostname mismatch`,
    ...), found anywhere in the chain of `exc`'s causes; None for any other error. Such a
    failure is never transient: retrying only makes the user wait for the same answer."""
    import ssl

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc.verify_message or exc.reason or "certificate verify failed"
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return str(exc).split("certificate verify failed:", 1)[-1].split("(_ssl", 1)[0].strip() or \
                "certificate verify failed"
        exc = exc.__cause__ or exc.__context__
    return None


class RetryTransport(httpx.AsyncBaseTransport):
    """Wraps the wire transport; only the wire is swapped in tests (httpx.MockTransport)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        on_retry: Callable[[httpx.Request, int, float], None] | None = None,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_retry = on_retry

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 1
        while True:
            try:
                response = await self._inner.handle_async_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                problem = certificate_problem(exc)
                if problem is not None:  # not transient: one line now, no retry
                    raise NetworkError(f"the TLS certificate of {request.url.host} cannot be verified: {problem}",
                                       hint=CA_HINT) from None
                # Nothing reached the server (or the connection was reset before an answer):
                # safe to retry idempotent methods.
                if attempt >= CONNECT_ATTEMPTS or request.method not in ("GET", "HEAD", "OPTIONS"):
                    raise
                wait = self._policy.delay(attempt, {}, self._clock(), self._rng)
                if self._on_retry:
                    self._on_retry(request, 0, wait)
                await self._sleep(wait)
                attempt += 1
                continue
            if not self._policy.should_retry(request.method, response.status_code, attempt):
                return response
            wait = self._policy.delay(attempt, response.headers, self._clock(), self._rng)
            await response.aread()
            await response.aclose()
            if self._on_retry:
                self._on_retry(request, response.status_code, wait)
            await self._sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()
