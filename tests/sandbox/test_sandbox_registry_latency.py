"""The registry relay for benchmarks: repositories name it, and it passes requests through."""

from __future__ import annotations

import httpx
import pytest

from sandbox_fixtures import require_registry_binary
from glcr_sandbox.runtime import Sandbox

pytestmark = pytest.mark.e2e


def test_locations_name_the_relay_and_it_relays(tmp_path):
    require_registry_binary("gitlab")
    sandbox = Sandbox.start(tmp_path, registry_latency_ms=5, registry_kind="gitlab")
    try:
        assert sandbox.registry_host != sandbox.registry_process.host
        ping = httpx.get(f"http://{sandbox.registry_host}/v2/", timeout=10)
        assert ping.status_code == 401 and "Bearer" in ping.headers["WWW-Authenticate"]
        sandbox.create_project("relayed")
        project = httpx.get(f"{sandbox.url}/api/v4/projects/demo%2Frelayed",
                            headers={"PRIVATE-TOKEN": sandbox.token}).json()
        assert project["container_registry_image_prefix"].startswith(sandbox.registry_host + "/")
    finally:
        sandbox.stop()
