"""Fixtures the CLI tests share: a counting loopback server (counting_server.py) that proves a
refused command sent nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from counting_server import CountingServer


@pytest.fixture(scope="module")
def running_server() -> Iterator[CountingServer]:
    with CountingServer() as running:
        yield running


@pytest.fixture
def server(running_server: CountingServer) -> CountingServer:
    """The module's server, its request log emptied for this test."""
    running_server.requests.clear()
    return running_server
