"""Fixtures for the tests of the sandbox itself (see tests/fixtures/sandbox_fixtures.py).

Tests that start the sandbox are marked `e2e`; the pure ones (cleanup rules) are not.
Most of these tests pin down GitLab's behaviour with a third-party registry, so `sandbox` runs
on distribution here; a test module on other registries says so with
`pytestmark = pytest.mark.parametrize("registry_kind", ["gitlab"], indirect=True)` (kinds:
gitlab, gitlab-legacy, distribution).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import httpx
import pytest

from sandbox_fixtures import mark_e2e, project, registry, sandbox, sandbox_env  # noqa: F401 (fixtures)
from glcr_sandbox.runtime import Sandbox
from sandbox_helpers import api_client

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def registry_kind(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "distribution"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_e2e(items, HERE, only_sandbox_users=True)


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """The REST API as `maintainer` (Maintainer of group demo)."""
    with api_client(sandbox, sandbox.token) as client:
        yield client


@pytest.fixture
def root_api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """The REST API as `root` (instance admin, Owner of group demo)."""
    with api_client(sandbox, sandbox.root_token) as client:
        yield client
