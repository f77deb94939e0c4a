"""The connections under httpx: a pool whose cost per request does not grow with its size, and
HTTP/1.1 connections on asyncio streams (issue 22).

httpcore's `AsyncConnectionPool` (1.0.x) re-plans the whole pool on every request and on every
response close (`_assign_requests_to_connections`): it calls `has_expired()` on every connection,
each a readability poll of the socket through anyio (`get_extra_info("is_readable")`), and, for
every idle connection, counts every connection again (`is_idle`, quadratic in the pool size).
Profiled on `glcr tags list` of 2,000 tags on distribution (2,109 registry requests, 16 jobs,
pool of 20): 10.2 of 25 s (cProfile) inside `_assign_requests_to_connections`, 152,769
`has_expired` calls (72 a request), 1.6 million `is_idle` calls; the command used 7.6 s of CPU,
3.5 ms a request, and 11.8 s with 64 jobs (pool of 68): more jobs, more CPU, slower.

HostPool replaces that bookkeeping:
- at most `size` requests in flight (an asyncio semaphore, waited for under httpx's pool timeout
  only when no slot is free); a request takes the most recently used idle connection to its
  origin, else opens one;
- only the connection about to be used is checked (keep-alive expiry, or the server closed it:
  asyncio has seen the EOF); nothing scans the pool;
- a closed response hands its connection back (or drops it when HTTP/1.1 could not keep it).
With httpcore's own connections under it, CPU fell to 1.5-1.8 ms a request (2,000 manifest GETs,
same machine and minute); its connections still paid anyio's locks, cancel scopes and
checkpoints around every read and write, and h11 on asyncio streams brought it to 1.05-1.15 ms.

What was left then was the layering, measured with bench/bench_hotpath.py's client-only figure
(3,000 manifest HEADs at 16 jobs against a loopback server answering from memory, CPU time):
690 us a request. Its profile: httpx's URL parsing (a relative URL is parsed, merged onto
base_url and parsed again: about a third of httpx's client), httpx's cookie jar (urllib's cookie
code reads every response through a urllib Request, Response and email Message), the mapping of
httpx's Request and Response to httpcore's models and back (byte checks on every header), and
h11's per-event state machine. So the pool now takes httpx.Request itself and writes and parses
HTTP/1.1 by hand (below, what h11 enforced that matters: header values that cannot split a
request, RFC 9112's body framing, 1xx answers), RegistryClient builds its absolute URLs without
parsing them, and glcr's clients keep no cookies: 300-385 us a request, of which httpx's client
alone (the same client on httpx.MockTransport) is 130-190 us; the rest is asyncio's streams and
event loop and this module. httpx stays the client API (auth flow, retries, hooks, timeouts).

Callers that fan out bound their concurrency before httpx (RegistryClient's gate) below the pool
size, so this semaphore never makes a request wait in practice; it is the pool's own guarantee.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Protocol

import httpx

# httpx's default: a connection idle longer than this is closed rather than reused, since
# servers drop idle connections (nginx's keepalive_timeout defaults to 75 s, Go's to 3 min).
KEEPALIVE_EXPIRY = 5.0
# Bytes read from the socket at a time, and written before waiting for the socket to drain.
READ_SIZE = 64 * 1024
WRITE_BUFFER = 64 * 1024
# A response head (status line and headers) larger than this is refused, as h11 does.
MAX_HEAD = 64 * 1024

# RFC 9110 5.1 and 5.5: a field name is a token, a value holds no CR, LF or NUL. h11 checked the
# same: it keeps a header value from smuggling another header or request onto the wire.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: ([^\r\n]*))?")
_CONTENT_LENGTH = re.compile(rb"[0-9]+")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r\n")

Origin = tuple[str, str, int]


@dataclass(frozen=True)
class ProxyRoute:
    """Where a connection goes instead of its origin (glcr.transport.proxy decides which)."""

    host: str
    port: int
    authorization: bytes | None = field(default=None, repr=False)  # Proxy-Authorization, never logged

    @property
    def shown(self) -> str:
        """The proxy as messages and --debug show it: no user name, no password."""
        return f"http://{self.host}:{self.port}"


def _authority(host: bytes, port: int | None) -> bytes:
    """host[:port] as a request target names it (RFC 9112 3.2.2-3.2.3): an IPv6 literal in brackets."""
    named = b"[" + host + b"]" if b":" in host else host
    return named + (b":%d" % port if port else b"")


class ProxyConnectError(httpx.ConnectError):
    """The proxy itself did not answer: retried as any failed connect, said naming the proxy."""


class ProxyChooser(Protocol):
    def route(self, scheme: str, host: str, port: int) -> ProxyRoute | None: ...


class HostPool:
    """At most `size` connections, all in use by at most `size` requests."""

    def __init__(self, size: int, *, ssl_context: ssl.SSLContext | None = None,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY, proxies: ProxyChooser | None = None) -> None:
        self.size = max(1, size)
        self._ssl_context = ssl_context
        self._proxies = proxies  # None: every connection goes straight to its origin
        self._keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(self.size)
        self._idle: dict[Origin, list[Connection]] = {}  # idle connections by (scheme, host, port)
        self._open = 0  # connections idle or in use
        self.in_flight = 0  # requests holding a slot (tests assert it never exceeds size)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self._slots.locked():  # a free slot is taken without a timer
            timeout = request.extensions.get("timeout", {}).get("pool")
            # asyncio.timeout, not wait_for: Python 3.11's wait_for runs the acquire in a task
            # of its own and, when that task finishes as the caller is cancelled, returns
            # instead of raising: a Ctrl-C (asyncio.run cancels the main task once) would be lost.
            try:
                async with asyncio.timeout(timeout):
                    await self._slots.acquire()
            except TimeoutError:
                raise httpx.PoolTimeout(f"no connection free in {timeout} s", request=request) from None
        else:
            await self._slots.acquire()
        self.in_flight += 1
        connection = None
        try:
            url = request.url
            if url.scheme not in _DEFAULT_PORTS:
                raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
            # raw_host: the ASCII (IDNA-encoded) name, as it goes to DNS and to TLS's SNI
            connection = self._connection_for((url.scheme, url.raw_host.decode("ascii"),
                                               url.port or _DEFAULT_PORTS[url.scheme]))
            return await connection.exchange(request, self)
        except BaseException:
            self._release()
            if connection is not None:
                self._drop(connection)
            raise

    def _connection_for(self, origin: Origin) -> "Connection":
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()  # the most recently used: least likely to have timed out
            if connection.reusable():
                return connection
            self._drop(connection)
        if self._open >= self.size:
            # Every slot but ours is in use or idle elsewhere (another origin: a redirect to object
            # storage): close one idle connection so the pool stays at `size`.
            for other in self._idle.values():
                if other:
                    self._drop(other.pop(0))
                    break
        self._open += 1
        proxy = self._proxies.route(*origin) if self._proxies is not None else None
        return Connection(origin, self._ssl_context, self._keepalive_expiry, proxy)

    def hand_back(self, connection: "Connection") -> None:
        """The response is closed: its slot is free, its connection idle (or closed when it
        cannot carry another request)."""
        self._release()
        if connection.reusable():
            self._idle.setdefault(connection.origin, []).append(connection)
        else:
            self._drop(connection)

    def _drop(self, connection: "Connection") -> None:
        self._open -= 1
        connection.close()

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
            self._drop(connection)


_DEFAULT_PORTS = {"http": 80, "https": 443}


class Connection:
    """One HTTP/1.1 connection on asyncio streams: keep-alive, TLS, connect/read/write timeouts,
    HEAD, Content-Length, chunked and close-delimited bodies (RFC 9112 6.3). It raises httpx's
    transport errors (ConnectError, ReadTimeout, RemoteProtocolError: what RetryTransport
    retries). A server that closed the connection while it was idle is seen by asyncio (EOF),
    so reuse checks no socket."""

    def __init__(self, origin: Origin, ssl_context: ssl.SSLContext | None, keepalive_expiry: float,
                 proxy: ProxyRoute | None = None) -> None:
        self.origin = origin
        self._ssl = ssl_context
        # Through an http:// proxy: https by a CONNECT tunnel (TLS end to end with the origin),
        # plain http by absolute-form requests to the proxy (RFC 9112 3.2.2).
        self._proxy = proxy
        self._absolute_form = proxy is not None and origin[0] == "http"
        self._expiry = keepalive_expiry
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._idle_until = 0.0
        self._keep_alive = False  # the last exchange completed and both sides keep the connection
        self.closing = False  # the request asked to close the connection after its answer
        self.closed = False

    def reusable(self) -> bool:
        return (self._keep_alive and not self.closed and self._writer is not None
                and not self._writer.is_closing() and self._reader is not None and not self._reader.at_eof()
                and time.monotonic() < self._idle_until)

    async def _connect(self, request: httpx.Request, timeout: float | None) -> None:
        scheme, host, port = self.origin
        tls = scheme == "https"
        if tls and self._ssl is None:
            raise httpx.UnsupportedProtocol("https without an SSL context", request=request)
        proxy = self._proxy
        try:
            async with asyncio.timeout(timeout):
                if proxy is None:
                    # happy eyeballs as anyio (httpcore's default backend) does: a host whose IPv6
                    # address does not answer falls back to IPv4 after 0.25 s, not after a timeout
                    self._reader, self._writer = await asyncio.open_connection(
                        host, port, ssl=self._ssl if tls else None, server_hostname=host if tls else None,
                        happy_eyeballs_delay=0.25, limit=MAX_HEAD)
                else:
                    self._reader, self._writer = await asyncio.open_connection(
                        proxy.host, proxy.port, happy_eyeballs_delay=0.25, limit=MAX_HEAD)
                    if tls:
                        await self._tunnel(request, timeout)
                        assert self._ssl is not None  # checked above
                        await self._writer.start_tls(self._ssl, server_hostname=host)
        except TimeoutError:
            where = f"{host}:{port}" + (f" through the proxy {proxy.shown}" if proxy else "")
            raise httpx.ConnectTimeout(f"connecting to {where}", request=request) from None
        except OSError as exc:  # ssl.SSLError too: kept as the cause, where RetryTransport looks for it
            if proxy is not None and not isinstance(exc, ssl.SSLError):
                raise ProxyConnectError(f"the proxy {proxy.shown} cannot be reached for {host}:{port}: "
                                        f"{exc.strerror or type(exc).__name__}", request=request) from exc
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from exc

    async def _tunnel(self, request: httpx.Request, timeout: float | None) -> None:
        """CONNECT host:port through the proxy; any answer but 2xx is a ProxyError."""
        assert self._proxy is not None and self._writer is not None
        _, host, port = self.origin
        target = _authority(host.encode("ascii"), port)
        head = [b"CONNECT ", target, b" HTTP/1.1\r\nHost: ", target, b"\r\n"]
        if self._proxy.authorization:
            head += (b"Proxy-Authorization: ", self._proxy.authorization, b"\r\n")
        self._writer.write(b"".join([*head, b"\r\n"]))
        _, status, reason, _ = await self._read_head(request, timeout)
        if not 200 <= status < 300:
            raise httpx.ProxyError(f"the proxy {self._proxy.shown} answered {status} {reason.decode('latin-1')} "
                                   f"to CONNECT {host}:{port}", request=request)

    async def exchange(self, request: httpx.Request, pool: HostPool) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        self._keep_alive = self.closing = False
        try:
            if self._writer is None:
                await self._connect(request, timeouts.get("connect"))
            await self._send(request, timeouts.get("write"))
            version, status, reason, headers = await self._read_head(request, timeouts.get("read"))
        except BaseException:
            self.close()
            raise
        body = _Body(self, pool, request, timeouts.get("read"))
        body.frame(request, version, status, headers)
        extensions = {"http_version": b"HTTP/1." + version, "reason_phrase": reason}
        length = body.small()
        if length is None:
            return httpx.Response(status, headers=headers, stream=body, extensions=extensions)
        # A body of known, small length (a manifest, a config, an error, a HEAD's none) is read
        # here, usually from the bytes that came with the head, and the connection goes back to
        # the pool at once: no async iteration through httpx's stream layers for it.
        content = b""
        if length:
            assert self._reader is not None
            content = await self.read(request, timeouts.get("read"), self._reader.readexactly(length))
        body.completed()
        await body.aclose()
        return httpx.Response(status, headers=headers, content=content, extensions=extensions)

    async def _send(self, request: httpx.Request, timeout: float | None) -> None:
        url = request.url
        target = url.raw_path
        if self._absolute_form:
            assert self._proxy is not None
            target = b"http://" + _authority(url.raw_host, url.port) + url.raw_path
        head = [request.method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
        if self._absolute_form and self._proxy is not None and self._proxy.authorization:
            head += (b"Proxy-Authorization: ", self._proxy.authorization, b"\r\n")
        chunked = False
        for name, value in request.headers.raw:
            if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
                raise httpx.LocalProtocolError(f"illegal header {name!r}", request=request)
            lower = name.lower()
            if lower == b"transfer-encoding" and value.lower().endswith(b"chunked"):
                chunked = True
            elif lower == b"connection" and b"close" in value.lower():
                self.closing = True
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        out = [b"".join(head)]
        size = len(out[0])
        # httpx's async client always hands over an async stream (bytes content: one chunk).
        async for chunk in request.stream:  # type: ignore[union-attr]
            if chunk:
                out += (b"%x\r\n" % len(chunk), chunk, b"\r\n") if chunked else (chunk,)
                size += len(chunk)
                if size >= WRITE_BUFFER:
                    await self._write(request, out, timeout)
                    out, size = [], 0
        if chunked:
            out.append(b"0\r\n\r\n")
        await self._write(request, out, timeout)

    async def _write(self, request: httpx.Request, parts: list[bytes], timeout: float | None) -> None:
        writer = self._writer
        assert writer is not None  # connected before the first write
        try:
            writer.writelines(parts)
            if writer.transport.get_write_buffer_size() > WRITE_BUFFER:
                async with asyncio.timeout(timeout):
                    await writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("writing the request", request=request) from None
        except OSError as exc:
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None

    async def read(self, request: httpx.Request, timeout: float | None, read: Awaitable[bytes]) -> bytes:
        """One read from the socket under the read timeout, errors as httpx's."""
        try:
            async with asyncio.timeout(timeout):
                return await read
        except TimeoutError:
            raise httpx.ReadTimeout("waiting for the response", request=request) from None
        except asyncio.IncompleteReadError as exc:
            raise httpx.RemoteProtocolError("the server closed the connection in the middle of the response"
                                            if exc.partial else "Server disconnected without sending a response.",
                                            request=request) from None
        except asyncio.LimitOverrunError:
            raise httpx.RemoteProtocolError("the response head is too large", request=request) from None
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None

    async def _read_head(self, request: httpx.Request, timeout: float | None):
        reader = self._reader
        assert reader is not None
        while True:
            block = await self.read(request, timeout, reader.readuntil(b"\r\n\r\n"))
            lines = block[:-4].split(b"\r\n")
            match = _STATUS_LINE.fullmatch(lines[0])
            if match is None:
                raise httpx.RemoteProtocolError(f"not an HTTP/1.1 status line: {lines[0][:40]!r}", request=request)
            headers = []
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                # no obsolete line folding, no space before the colon (RFC 9112 5.1, 5.2)
                if not colon or not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
                    raise httpx.RemoteProtocolError(f"malformed header line {line[:40]!r}", request=request)
                headers.append((name, value.strip(b" \t")))
            status = int(match[2])
            if status >= 200 or status == 101:
                return match[1], status, match[3] or b"", headers
            # 1xx informational (100 Continue, 103 Early Hints): the real answer follows

    def finished(self, keep_alive: bool) -> None:
        if keep_alive:
            self._keep_alive = True
            self._idle_until = time.monotonic() + self._expiry
        else:
            self.close()

    def close(self) -> None:
        self._keep_alive = False
        if self.closed:
            return
        self.closed = True
        if self._writer is not None:
            self._writer.close()  # no wait for the peer: nothing more is read from it


class _Body(httpx.AsyncByteStream):
    """The response body, framed as RFC 9112 6.3 says. Closing it hands the connection back to
    the pool exactly once: idle when the body was read to its end and both sides keep the
    connection, else closed."""

    def __init__(self, connection: Connection, pool: HostPool, request: httpx.Request, timeout: float | None) -> None:
        self._connection = connection
        self._pool = pool
        self._request = request
        self._timeout = timeout
        self._length: int | None = 0  # bytes left; None: chunked or until the server closes
        self._chunked = False
        self._keep_alive = True
        self._complete = False
        self._handed_back = False

    def frame(self, request: httpx.Request, version: bytes, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        lengths: set[bytes] = set()
        encoding = connection = b""
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                lengths.update(v.strip() for v in value.split(b","))
            elif lower == b"transfer-encoding":
                encoding = value.lower()
            elif lower == b"connection":
                connection += b"," + value.lower()
        self._keep_alive = version == b"1" and b"close" not in connection and not self._connection.closing
        if request.method == "HEAD" or status < 200 or status in (204, 304):
            self._length = 0
        elif encoding:
            self._chunked = encoding.rsplit(b",", 1)[-1].strip() == b"chunked"
            self._length = None
            if not self._chunked:
                self._keep_alive = False  # read until the server closes
        elif lengths:
            if len(lengths) != 1 or not _CONTENT_LENGTH.fullmatch(next(iter(lengths))):
                raise httpx.RemoteProtocolError(f"bad Content-Length {sorted(lengths)}", request=request)
            self._length = int(lengths.pop())
        else:
            self._length, self._keep_alive = None, False  # read until the server closes
        if self._length == 0:
            self._complete = True

    def small(self) -> int | None:
        """The body's length when it is known and at most READ_SIZE."""
        return self._length if self._length is not None and self._length <= READ_SIZE else None

    def completed(self) -> None:
        self._length, self._complete = 0, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if self._chunked:
                async for part in self._chunks():
                    yield part
            else:
                while not self._complete:
                    part = await self._read_some()
                    if part:
                        yield part
        except BaseException:
            self._keep_alive = False
            await self.aclose()
            raise

    async def _read_some(self) -> bytes:
        connection, request, reader = self._connection, self._request, self._connection._reader  # noqa: SLF001
        assert reader is not None
        if self._length is None:  # until the server closes
            part = await connection.read(request, self._timeout, reader.read(READ_SIZE))
            if not part:
                self._complete = True
            return part
        size = min(self._length, READ_SIZE)
        part = await connection.read(request, self._timeout, reader.readexactly(size))
        self._length -= size
        self._complete = self._length == 0
        return part

    async def _chunks(self) -> AsyncIterator[bytes]:
        connection, request, reader = self._connection, self._request, self._connection._reader  # noqa: SLF001
        assert reader is not None
        while True:
            line = await connection.read(request, self._timeout, reader.readuntil(b"\r\n"))
            match = _CHUNK_SIZE.fullmatch(line)
            if match is None:
                raise httpx.RemoteProtocolError(f"bad chunk size line {line[:40]!r}", request=request)
            size = int(match[1], 16)
            if size == 0:
                while await connection.read(request, self._timeout, reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailer fields: not used
                self._complete = True
                return
            while size:
                step = min(size, READ_SIZE)
                yield await connection.read(request, self._timeout, reader.readexactly(step))
                size -= step
            if await connection.read(request, self._timeout, reader.readexactly(2)) != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF", request=request)

    async def aclose(self) -> None:
        if self._handed_back:
            return
        self._handed_back = True
        self._connection.finished(self._complete and self._keep_alive)
        self._pool.hand_back(self._connection)


class PooledTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over a HostPool."""

    def __init__(self, size: int, *, verify: ssl.SSLContext | bool = True,
                 keepalive_expiry: float = KEEPALIVE_EXPIRY, proxies: ProxyChooser | None = None) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._host_pool = HostPool(size, ssl_context=context, keepalive_expiry=keepalive_expiry, proxies=proxies)

    @property
    def pool(self) -> HostPool:
        return self._host_pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._host_pool.handle(request)

    async def aclose(self) -> None:
        await self._host_pool.aclose()
