"""The registry hot path's pool (issue 22): requests never queue inside httpx's pool, the pool
never holds more connections than its size, and connections are reused, not reopened.

No timing: what is asserted is counted (requests in flight, connections the server saw)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from glcr.registry.client import RegistryClient
from glcr.transport.factory import HttpOptions, build_async_client
from glcr.transport.pool import PooledTransport
from loopback_http import ScriptedServer

MANIFEST = (b'{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
            b'"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,'
            b'"digest":"sha256:' + b"a" * 64 + b'"},"layers":[]}')


class LoopbackServer:
    """HTTP/1.1 on 127.0.0.1 with keep-alive; counts connections and requests in progress.
    `close_every`: answer every n-th request on a connection with `Connection: close`."""

    def __init__(self, close_every: int = 0) -> None:
        self.close_every = close_every
        self.connections = 0
        self.open = self.max_open = 0
        self.busy = self.max_busy = 0
        self.requests = 0

    async def __aenter__(self) -> "LoopbackServer":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        served = 0
        try:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                self.busy += 1
                self.max_busy = max(self.max_busy, self.busy)
                await asyncio.sleep(0.001)  # overlap: the next requests arrive meanwhile
                self.busy -= 1
                self.requests += 1
                served += 1
                closing = bool(self.close_every) and served % self.close_every == 0
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v2+json"
                             b"\r\nContent-Length: %d\r\n%s\r\n%s"
                             % (len(MANIFEST), b"Connection: close\r\n" if closing else b"", MANIFEST))
                await writer.drain()
                if closing:
                    return
        finally:
            self.open -= 1
            writer.close()


async def _burst(client: httpx.AsyncClient, n: int) -> list[int]:
    # asyncio.gather with no bound of its own: only the pool limits what is in flight
    responses = await asyncio.gather(*(client.get(f"/v2/r/manifests/t{i}") for i in range(n)))
    return [r.status_code for r in responses]


def test_the_pool_holds_at_most_its_size_and_reuses_connections():
    async def run():
        async with LoopbackServer() as server:
            transport = PooledTransport(4)
            async with httpx.AsyncClient(base_url=server.url, transport=transport) as client:
                assert await _burst(client, 100) == [200] * 100
                assert transport.pool.in_flight == 0  # every slot handed back
            return server

    server = asyncio.run(run())
    assert server.requests == 100
    assert server.max_busy <= 4 and server.max_open <= 4
    assert server.connections == 4  # kept alive and reused, not one connection per request


def test_a_connection_the_server_closes_is_replaced_not_reused():
    async def run():
        async with LoopbackServer(close_every=3) as server:
            async with httpx.AsyncClient(base_url=server.url, transport=PooledTransport(2)) as client:
                assert await _burst(client, 60) == [200] * 60
            return server

    server = asyncio.run(run())
    assert server.requests == 60
    assert server.max_open <= 2
    assert server.connections == 20  # three requests a connection, then a new one


def test_a_failed_connect_frees_its_slot():
    async def run():
        transport = PooledTransport(1)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):  # one slot: a leaked slot would hang the second attempt
                with pytest.raises(httpx.ConnectError):
                    await asyncio.wait_for(client.get("http://127.0.0.1:9/"), 5)
        return transport.pool

    pool = asyncio.run(run())
    assert pool.in_flight == 0


def test_registry_requests_wait_before_httpx_never_in_its_pool():
    """Fan-outs beside gather_bounded (config reads per digest, probes) still see at most `jobs`
    requests in flight: RegistryClient's gate holds them before httpx."""
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        return httpx.Response(200, content=MANIFEST,
                              headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})

    async def run():
        http = build_async_client(HttpOptions(jobs=3, wire=httpx.MockTransport(handler)), base_url="http://r")
        client = RegistryClient(http, "r", jobs=3)
        async with http:
            found = await asyncio.gather(*(client.get_manifest("g/p", f"t{i}") for i in range(50)))
        return found

    assert len(asyncio.run(run())) == 50
    assert peak == 3


def _fetch(server_args, requests, *, verify=True, timeout=5.0):
    """Run `requests(client)` against a ScriptedServer; returns (its result, the server)."""
    async def run():
        async with ScriptedServer(*server_args) as server:
            async with httpx.AsyncClient(base_url=server.url, transport=PooledTransport(2, verify=verify),
                                         timeout=timeout) as client:
                return await requests(client), server

    return asyncio.run(run())


def test_head_chunked_and_close_delimited_bodies():
    async def answer(head: bytes):
        if head.startswith(b"HEAD"):  # a HEAD answer's Content-Length describes a body never sent
            return b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:x\r\n\r\n"
        if b"/chunked" in head:
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        return b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-close"

    async def requests(client: httpx.AsyncClient):
        head = await client.head("/m")
        chunked = await client.get("/chunked")
        again = await client.head("/m")  # the same connection, reused after a chunked body
        closing = await client.get("/close")
        return head, chunked, again, closing

    (head, chunked, again, closing), server = _fetch((answer,), requests)
    assert head.headers["docker-content-digest"] == "sha256:x" and head.content == b""
    assert chunked.content == b"abcde" and again.status_code == 200
    assert closing.content == b"until-close"
    assert server.connections == 1


def test_a_connection_the_server_dropped_while_idle_is_not_reused():
    async def answer(head: bytes):
        # a keep-alive answer, then the server drops the idle connection (its keep-alive timeout)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", True

    async def requests(client: httpx.AsyncClient):
        first = await client.get("/a")
        await asyncio.sleep(0.05)  # the EOF reaches the client's event loop
        second = await client.get("/b")
        return first, second

    (first, second), server = _fetch((answer,), requests)
    assert first.status_code == second.status_code == 200
    assert server.connections == 2


def test_a_server_that_answers_nothing_is_a_read_timeout_and_closing_is_a_protocol_error():
    async def answer(head: bytes):
        if b"/silent" in head:
            await asyncio.sleep(10)
        return None  # closes without an answer

    async def silent(client: httpx.AsyncClient):
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/silent")

    async def hang_up(client: httpx.AsyncClient):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/bye")

    _fetch((answer,), silent, timeout=0.2)
    _fetch((answer,), hang_up)


def test_tls_with_the_callers_ca_and_a_refusal_without_it(tmp_path):
    import datetime as dt
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    async def answer(head: bytes):
        return b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure"

    async def get(client: httpx.AsyncClient):
        return (await client.get("/v2/")).content

    ca = ssl.create_default_context(cafile=tmp_path / "cert.pem")
    assert _fetch((answer, server_ctx), get, verify=ca)[0] == b"secure"

    async def refused(client: httpx.AsyncClient):
        with pytest.raises(httpx.ConnectError):
            await client.get("/v2/")

    _fetch((answer, server_ctx), refused)  # the default CA bundle does not know this certificate


def test_informational_answers_big_bodies_and_bad_framing():
    big = bytes(range(256)) * 1024  # 256 KiB: more than one read, streamed, not read with the head

    async def answer(head: bytes):
        if b"/continue" in head:
            return b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        if b"/big" in head:
            return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", False  # the server would go on

    async def requests(client: httpx.AsyncClient):
        continued = await client.get("/continue")
        async with client.stream("GET", "/big") as response:
            parts = [part async for part in response.aiter_raw()]
        again = await client.get("/continue")  # the same connection, after a streamed body
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/bad-length")
        await client.get("/continue")
        return continued, parts, again

    (continued, parts, again), server = _fetch((answer,), requests)
    assert continued.content == b"ok" and again.content == b"ok"
    assert b"".join(parts) == big and len(parts) > 1
    assert server.connections == 2  # the bad answer's connection is not reused


def test_a_header_that_would_split_the_request_is_refused_before_sending():
    seen: list[bytes] = []

    async def answer(head: bytes):
        seen.append(head)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    async def requests(client: httpx.AsyncClient):
        with pytest.raises(httpx.LocalProtocolError):
            await client.get("/a", headers={"X-Tag": "v1\r\nX-Injected: 1"})
        return await client.get("/b")

    response, _ = _fetch((answer,), requests)
    assert response.status_code == 200
    assert len(seen) == 1 and b"X-Injected" not in seen[0]


def test_registry_urls_built_without_parsing_equal_httpx_s():
    for base in ("http://127.0.0.1:5000", "https://registry.example.com", "https://[::1]:5000"):
        client = RegistryClient(httpx.AsyncClient(base_url=base), "h")
        for path in ("/v2/", "/v2/group/sub/image/manifests/v1.2_rc-3", "/v2/a/blobs/sha256:" + "0" * 64):
            url = client.url(path)
            assert isinstance(url, httpx.URL)
            assert url == httpx.URL(base + path) and url.raw_path == httpx.URL(base + path).raw_path
        assert client.url("/v2/a b/tags/list") == "/v2/a b/tags/list"  # needs encoding: httpx's own parse


def test_glcr_clients_keep_no_cookies():
    def handler(request: httpx.Request) -> httpx.Response:
        assert "cookie" not in request.headers
        return httpx.Response(200, headers={"Set-Cookie": "session=abc; Path=/"})

    async def run():
        async with build_async_client(HttpOptions(wire=httpx.MockTransport(handler)), base_url="http://r") as client:
            await client.get("/v2/")
            await client.get("/v2/")  # the handler asserts no cookie comes back
            return len(client.cookies)

    assert asyncio.run(run()) == 0
