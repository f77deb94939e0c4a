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
