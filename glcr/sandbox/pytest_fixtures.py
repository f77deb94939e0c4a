"""pytest fixtures for tests that need the sandbox; conftest files import them by name.

    from glcr.sandbox.pytest_fixtures import project, registry, sandbox  # noqa: F401

`sandbox` (session): one running Sandbox in a temporary directory.
`project` (function): a fresh project `demo/<unique>` (maintainer: Maintainer, root: Owner via
    group demo), as a glcr.models.Project; tests never share repositories.
`registry` (function): a full-access RegistryClient for seeding (see glcr.sandbox.seed).
`sandbox_env` (function): os.environ plus GITLAB_URL and GITLAB_TOKEN (maintainer) for running
    `glcr` in a subprocess or CliRunner; nothing else from the user's setup leaks in.

Without /usr/bin/docker-registry the tests are skipped, except in CI (CI=true), where a
missing registry must fail loudly instead of silently testing nothing.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from glcr.models import Project
from glcr.sandbox.registry_client import RegistryClient
from glcr.sandbox.registry_process import RegistryBinaryMissing, find_binary
from glcr.sandbox.runtime import Sandbox


def require_registry_binary() -> None:
    try:
        find_binary()
    except RegistryBinaryMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{exc} (CI=true: e2e tests must run in CI)", pytrace=False)
        pytest.skip(str(exc))


def mark_e2e(items: list[pytest.Item], directory: Path, *, only_sandbox_users: bool = False) -> None:
    """Give tests under `directory` the `e2e` marker (for `-m "not e2e"`): all of them, or with
    `only_sandbox_users` those that use the `sandbox` fixture, directly or through another."""
    for item in items:
        if directory not in Path(str(item.fspath)).parents:
            continue
        if not only_sandbox_users or "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    require_registry_binary()
    started = Sandbox.start(tmp_path_factory.mktemp("glcr-sandbox"), registry_kind="distribution")
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def project(sandbox: Sandbox, request: pytest.FixtureRequest) -> Project:
    # A readable, valid, unique path: the test name, cut short, plus a random suffix.
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:30].strip("-") or "p"
    created = sandbox.create_project(f"{stem}-{uuid.uuid4().hex[:6]}")
    full_path = sandbox.world.project_full_path(created)
    return Project(
        id=created.id,
        path_with_namespace=full_path,
        name=created.name,
        path=created.path,
        container_registry_image_prefix=f"{sandbox.registry_host}/{full_path.lower()}",
        container_registry_access_level=created.container_registry_access_level,
        web_url=f"{sandbox.url}/{full_path}",
    )


@pytest.fixture
def sandbox_env(sandbox: Sandbox) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_", "GLCR_"))}
    return {**env, "GITLAB_URL": sandbox.url, "GITLAB_TOKEN": sandbox.token}


@pytest.fixture
def registry(sandbox: Sandbox) -> Iterator[RegistryClient]:
    client = sandbox.registry_client()
    try:
        yield client
    finally:
        client.close()
