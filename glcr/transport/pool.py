"""A connection pool whose cost per request does not grow with its size (issue 22).

httpcore's `AsyncConnectionPool` (1.0.x) re-plans the whole pool on every request and on every
response close (`_assign_requests_to_connections`): it calls `has_expired()` on every connection,
each a readability poll of the socket through anyio (`get_extra_info("is_readable")`), and, for
every idle connection, counts every connection again (`is_idle`, quadratic in the pool size).
Profiled on `glcr tags list` of 2,000 tags on distribution (2,109 registry requests, 16 jobs,
pool of 20): 10.2 of 25 s (cProfile) inside `_assign_requests_to_connections`, 152,769
`has_expired` calls (72 a request), 1.6 million `is_idle` calls; the command used 7.6 s of CPU,
3.5 ms a request, and 11.8 s with 64 jobs (pool of 68): more jobs, more CPU, slower.

This pool keeps httpcore's connections (`AsyncHTTPConnection`: connect, TLS, HTTP/1.1 keep-alive
and its expiry) and httpx on top of them; only the bookkeeping is replaced:
- at most `size` requests in flight (an asyncio semaphore, waited for under httpx's pool timeout);
  a request takes the most recently used idle connection to its origin, else opens one;
- only the connection about to be used is checked (`has_expired()`: keep-alive expiry, or the
  server closed it); nothing scans the pool;
- a closed response hands its connection back (or drops it when HTTP/1.1 could not keep it).

Callers that fan out bound their concurrency before httpx (RegistryClient's gate), to the same
size, so this semaphore never makes a request wait in practice; it is the pool's own guarantee.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from typing import AsyncIterator

import httpcore
import httpx

# httpx's default: a connection idle longer than this is closed rather than reused, since
# servers drop idle connections (nginx's keepalive_timeout defaults to 75 s, Go's to 3 min).
KEEPALIVE_EXPIRY = 5.0


class HostPool:
    """httpcore's request interface (`handle_async_request(httpcore.Request)`), over at most
    `size` connections, all in use by at most `size` requests."""

    def __init__(self, size: int, *, ssl_context: ssl.SSLContext | None = None,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY) -> None:
        self.size = max(1, size)
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(self.size)
        # idle connections by origin (scheme, host, port: httpcore's Origin is not hashable)
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._open = 0  # connections idle or in use
        self.in_flight = 0  # requests holding a slot (tests assert it never exceeds size)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout) if timeout else await self._slots.acquire()
        except asyncio.TimeoutError:
            raise httpcore.PoolTimeout(f"no connection free in {timeout} s") from None
        self.in_flight += 1
        connection = None
        try:
            while True:
                connection = await self._connection_for(request.url.origin)
                try:
                    response = await connection.handle_async_request(request)
                except httpcore.ConnectionNotAvailable:
                    stale, connection = connection, None  # unusable between the check and the use
                    await self._drop(stale)
                    continue
                break
        except BaseException:
            self._release()
            if connection is not None:
                await self._drop(connection)
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_HandBack(response.stream, self, connection, request.url.origin),
                                 extensions=response.extensions)

    async def _connection_for(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get(_key(origin))
        while idle:
            connection = idle.pop()  # the most recently used: least likely to have timed out
            if connection.is_idle() and not connection.has_expired():
                return connection
            await self._drop(connection)
        if self._open >= self.size:
            # Every slot but ours is in use or idle elsewhere (another origin: a redirect to object
            # storage): close one idle connection so the pool stays at `size`.
            for other in self._idle.values():
                if other:
                    await self._drop(other.pop(0))
                    break
        self._open += 1
        return httpcore.AsyncHTTPConnection(origin, ssl_context=self._ssl_context,
                                            keepalive_expiry=self._keepalive_expiry)

    async def _hand_back(self, connection: httpcore.AsyncHTTPConnection, origin: httpcore.Origin) -> None:
        # The slot is freed before any await: a cancellation while a connection closes must not
        # leak it.
        self._release()
        if connection.is_idle() and not connection.is_closed():
            self._idle.setdefault(_key(origin), []).append(connection)
        else:
            await self._drop(connection)

    async def _drop(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._open -= 1
        if not connection.is_closed():
            await connection.aclose()

    def _release(self) -> None:
        self.in_flight -= 1
        self._slots.release()

    async def __aenter__(self) -> "HostPool":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        idle, self._idle = [c for conns in self._idle.values() for c in conns], {}
        for connection in idle:
            await self._drop(connection)


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


class _HandBack:
    """The response body; closing it returns the connection to the pool, exactly once."""

    def __init__(self, stream, pool: HostPool, connection: httpcore.AsyncHTTPConnection,
                 origin: httpcore.Origin) -> None:
        self._stream = stream
        self._origin = origin
        self._pool = pool
        self._connection = connection
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()  # HTTP/1.1: idle again if the exchange completed
        finally:
            await self._pool._hand_back(self._connection, self._origin)  # noqa: SLF001


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response mapping, httpcore's exceptions mapped to httpx's)
    over a HostPool instead of httpcore's pool."""

    def __init__(self, size: int, *, verify: ssl.SSLContext | str | bool = True,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY) -> None:
        # No super().__init__(): it would build an httpcore pool only to discard it. The parent's
        # handle_async_request and aclose use nothing but `_pool`.
        self._pool = HostPool(size, ssl_context=_ssl_context(verify), keepalive_expiry=keepalive_expiry)

    @property
    def pool(self) -> HostPool:
        return self._pool


@functools.lru_cache(maxsize=None)
def _default_context(verify: bool) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=verify)


def _ssl_context(verify: ssl.SSLContext | str | bool) -> ssl.SSLContext:
    """Loading the CA bundle takes about 0.04 s of CPU (certifi's bundle, measured here): the
    default context is made once per process and shared by every client (GitLab, tokens, each
    registry), not once per client. A CA file or a context of the caller's is used as given."""
    if isinstance(verify, bool):
        return _default_context(verify)
    return httpx.create_ssl_context(verify=verify)
