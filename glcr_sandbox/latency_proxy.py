"""A TCP relay in front of the registry that delays every request, so benchmarks pay a network
round trip on registry calls too, not only on GitLab API calls (which the server delays itself).

Each burst of bytes from the client is held `latency_ms` before it is passed on: one delay per
request for the small requests glcr and the registry exchange. Answers pass straight through.
Loopback only.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Self

CHUNK = 65536


class LoopbackRelay:
    """A TCP server on 127.0.0.1 in a thread of its own, relaying to `target`; subclasses say how
    (`_handle`). The latency proxy and the sandbox's protection gate are both one."""

    what = "relay"  # how a failed start names it

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name=self.what.replace(" ", "-"), daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the {self.what} did not start")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class LatencyProxy(LoopbackRelay):
    what = "registry latency proxy"

    def __init__(self, target_host: str, target_port: int, latency_ms: int) -> None:
        super().__init__(target_host, target_port)
        self.latency = latency_ms / 1000.0

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(self._pipe(client_reader, upstream_writer, delay=True),
                             self._pipe(upstream_reader, client_writer, delay=False), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, delay: bool) -> None:
        try:
            while data := await reader.read(CHUNK):
                if delay and self.latency:
                    await asyncio.sleep(self.latency)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()
