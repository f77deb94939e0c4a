"""The connections under httpx: a pool whose cost per request does not grow with its size, and
HTTP/1.1 connections without anyio (issue 22).

httpcore's `AsyncConnectionPool` (1.0.x) re-plans the whole pool on every request and on every
response close (`_assign_requests_to_connections`): it calls `has_expired()` on every connection,
each a readability poll of the socket through anyio (`get_extra_info("is_readable")`), and, for
every idle connection, counts every connection again (`is_idle`, quadratic in the pool size).
Profiled on `glcr tags list` of 2,000 tags on distribution (2,109 registry requests, 16 jobs,
pool of 20): 10.2 of 25 s (cProfile) inside `_assign_requests_to_connections`, 152,769
`has_expired` calls (72 a request), 1.6 million `is_idle` calls; the command used 7.6 s of CPU,
3.5 ms a request, and 11.8 s with 64 jobs (pool of 68): more jobs, more CPU, slower.

HostPool replaces that bookkeeping:
- at most `size` requests in flight (an asyncio semaphore, waited for under httpx's pool timeout);
  a request takes the most recently used idle connection to its origin, else opens one;
- only the connection about to be used is checked (keep-alive expiry, or the server closed it:
  asyncio has seen the EOF); nothing scans the pool;
- a closed response hands its connection back (or drops it when HTTP/1.1 could not keep it).
With httpcore's own connections under it, CPU fell to 1.5-1.8 ms a request (2,000 manifest GETs,
same machine and minute); its connections still paid anyio's locks, cancel scopes and
checkpoints around every read and write. `Connection` below (h11, the parser httpcore uses, on
asyncio streams) brings it to 1.05-1.15 ms. What is left is mostly httpx's client itself: the
same requests answered by an httpx.MockTransport, no network at all, cost 0.42-0.46 ms each, so
httpx alone is most of the 0.5 ms budget (bench/bench_hotpath.py; the README has the figures).

Callers that fan out bound their concurrency before httpx (RegistryClient's gate) below the pool
size, so this semaphore never makes a request wait in practice; it is the pool's own guarantee.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import AsyncIterator

import h11
import httpcore
import httpx

# httpx's default: a connection idle longer than this is closed rather than reused, since
# servers drop idle connections (nginx's keepalive_timeout defaults to 75 s, Go's to 3 min).
KEEPALIVE_EXPIRY = 5.0
# Bytes read from the socket at a time, and buffered before waiting for the socket to drain.
READ_SIZE = 64 * 1024
WRITE_BUFFER = 64 * 1024


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
        self._idle: dict[tuple[bytes, bytes, int], list[Connection]] = {}
        self._open = 0  # connections idle or in use
        self.in_flight = 0  # requests holding a slot (tests assert it never exceeds size)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        timeout = request.extensions.get("timeout", {}).get("pool")
        # asyncio.timeout, not wait_for: Python 3.11's wait_for runs the acquire in a task of its
        # own and, when that task finishes as the caller is cancelled, returns instead of
        # raising: a Ctrl-C (asyncio.run cancels the main task once) would be lost.
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise httpcore.PoolTimeout(f"no connection free in {timeout} s") from None
        self.in_flight += 1
        connection = None
        try:
            connection = await self._connection_for(request.url.origin)
            response = await connection.handle_async_request(request)
        except BaseException:
            self._release()
            if connection is not None:
                await self._drop(connection)
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_HandBack(response.stream, self, connection),
                                 extensions=response.extensions)

    async def _connection_for(self, origin: httpcore.Origin) -> "Connection":
        idle = self._idle.get(_key(origin))
        while idle:
            connection = idle.pop()  # the most recently used: least likely to have timed out
            if connection.reusable():
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
        return Connection(origin, self._ssl_context, self._keepalive_expiry)

    async def _hand_back(self, connection: "Connection") -> None:
        # The slot is freed before any await: a cancellation while a connection closes must not
        # leak it.
        self._release()
        if connection.reusable():
            self._idle.setdefault(_key(connection.origin), []).append(connection)
        else:
            await self._drop(connection)

    async def _drop(self, connection: "Connection") -> None:
        self._open -= 1
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


class Connection:
    """One HTTP/1.1 connection: h11 (the parser httpcore uses) on asyncio streams: keep-alive,
    TLS, connect/read/write timeouts, HEAD, chunked and close-delimited bodies. It raises
    httpcore's exceptions, which httpx's transport maps to its own (ConnectError, ReadTimeout,
    RemoteProtocolError: what RetryTransport retries). A server that closed the connection while
    it was idle is seen by asyncio (EOF), so reuse checks no socket."""

    def __init__(self, origin: httpcore.Origin, ssl_context: ssl.SSLContext | None, keepalive_expiry: float) -> None:
        self.origin = origin
        self._ssl = ssl_context
        self._expiry = keepalive_expiry
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11 = h11.Connection(h11.CLIENT)
        self._idle_until = 0.0
        self.closed = False

    def reusable(self) -> bool:
        return (not self.closed and self._writer is not None and not self._writer.is_closing()
                and not self._reader.at_eof() and time.monotonic() < self._idle_until)

    async def _connect(self, timeout: float | None) -> None:
        host = self.origin.host.decode("ascii")
        tls = self.origin.scheme in (b"https", b"wss")
        if tls and self._ssl is None:
            raise httpcore.UnsupportedProtocol("https without an SSL context")
        try:
            async with asyncio.timeout(timeout):
                # happy eyeballs as anyio (httpcore's default backend) does: a host whose IPv6
                # address does not answer falls back to IPv4 after 0.25 s, not after a timeout
                self._reader, self._writer = await asyncio.open_connection(
                    host, self.origin.port, ssl=self._ssl if tls else None, server_hostname=host if tls else None,
                    happy_eyeballs_delay=0.25)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{self.origin.port}") from None
        except OSError as exc:  # ssl.SSLError too: kept as the cause, where RetryTransport looks for it
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        timeouts = request.extensions.get("timeout", {})
        if self._writer is None:
            await self._connect(timeouts.get("connect"))
        try:
            await self._send(request, timeouts.get("write"))
            while True:
                event = await self._next_event(timeouts.get("read"))
                if isinstance(event, h11.Response):
                    break
                if not isinstance(event, h11.InformationalResponse):
                    raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")
        except BaseException:
            await self.aclose()
            raise
        return httpcore.Response(status=event.status_code, headers=event.headers.raw_items(),  # as sent
                                 content=_Body(self, timeouts.get("read")),
                                 extensions={"http_version": b"HTTP/" + event.http_version,
                                             "reason_phrase": event.reason})

    async def _send(self, request: httpcore.Request, timeout: float | None) -> None:
        h = self._h11
        try:
            out = [h.send(h11.Request(method=request.method, target=request.url.target, headers=request.headers))]
            async for chunk in request.stream:
                if chunk:
                    out.append(h.send(h11.Data(data=chunk)))
                    if sum(map(len, out)) >= WRITE_BUFFER:
                        await self._write(out, timeout)
                        out = []
            out.append(h.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as exc:
            raise httpcore.LocalProtocolError(str(exc)) from None
        await self._write(out, timeout)

    async def _write(self, parts: list[bytes], timeout: float | None) -> None:
        try:
            self._writer.writelines(parts)
            if self._writer.transport.get_write_buffer_size() > WRITE_BUFFER:
                async with asyncio.timeout(timeout):
                    await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("writing the request") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from None

    async def _next_event(self, timeout: float | None):
        h = self._h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                raise httpcore.RemoteProtocolError(str(exc)) from None
            if event is not h11.NEED_DATA:
                return event
            try:
                async with asyncio.timeout(timeout):
                    data = await self._reader.read(READ_SIZE)
            except TimeoutError:
                raise httpcore.ReadTimeout("waiting for the response") from None
            except OSError as exc:
                raise httpcore.ReadError(str(exc) or type(exc).__name__) from None
            if not data and h.their_state is h11.SEND_RESPONSE:
                raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
            h.receive_data(data)

    async def _response_closed(self) -> None:
        h = self._h11
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
            self._idle_until = time.monotonic() + self._expiry
        else:
            await self.aclose()

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._writer is not None:
            self._writer.close()  # no wait for the peer: nothing more is read from it


class _Body:
    def __init__(self, connection: Connection, timeout: float | None) -> None:
        self._connection = connection
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            event = await connection._next_event(self._timeout)  # noqa: SLF001
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:
                raise httpcore.RemoteProtocolError(f"unexpected {type(event).__name__} in the body")

    async def aclose(self) -> None:
        await self._connection._response_closed()  # noqa: SLF001


def _key(origin: httpcore.Origin) -> tuple[bytes, bytes, int]:
    return origin.scheme, origin.host, origin.port


class _HandBack:
    """The response body; closing it returns the connection to the pool, exactly once."""

    def __init__(self, stream: "_Body", pool: HostPool, connection: Connection) -> None:
        self._stream = stream
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
            await self._stream.aclose()  # idle again if the exchange completed, else closed
        finally:
            await self._pool._hand_back(self._connection)  # noqa: SLF001


class PooledTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request/response mapping, httpcore's exceptions mapped to httpx's)
    over a HostPool instead of httpcore's pool."""

    def __init__(self, size: int, *, verify: ssl.SSLContext | str | bool = True,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY) -> None:
        # No super().__init__(): it would build an httpcore pool only to discard it. The parent's
        # handle_async_request and aclose use nothing but `_pool`.
        self._pool = HostPool(size, ssl_context=httpx.create_ssl_context(verify=verify),
                              keepalive_expiry=keepalive_expiry)

    @property
    def pool(self) -> HostPool:
        return self._pool
