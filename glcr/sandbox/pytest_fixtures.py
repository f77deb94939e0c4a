"""pytest fixtures for tests that need the sandbox; conftest files import them by name.

    from glcr.sandbox.pytest_fixtures import project, registry, registry_kind, sandbox  # noqa: F401

`registry_kind` (session): "gitlab" and "distribution", so every test that uses the sandbox
    runs on GitLab's own registry and on Debian's docker-registry (ids `[gitlab]`,
    `[distribution]`). A conftest that wants one kind defines its own `registry_kind`.
`sandbox` (session, one per kind): a running Sandbox in a temporary directory.
`project` (function): a fresh project `demo/<unique>` (maintainer: Maintainer, root: Owner via
    group demo), as a glcr.models.Project; tests never share repositories.
`registry` (function): a full-access RegistryClient for seeding (see glcr.sandbox.seed).
`sandbox_env` (function): os.environ plus GITLAB_URL and GITLAB_TOKEN (maintainer) for running
    `glcr` in a subprocess or CliRunner; nothing else from the user's setup leaks in.

Without /usr/bin/docker-registry the distribution tests are skipped, except in CI (CI=true),
where a missing registry must fail loudly instead of silently testing nothing. Without GitLab's
registry binary ($GLCR_GITLAB_REGISTRY, else ../shared/gitlab-registry/bin/registry) the gitlab
tests are skipped, in CI too: a clone without it cannot have it. With the binary but without
PostgreSQL or Redis they fail in CI like a missing docker-registry.
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
from glcr.sandbox.gitlab_registry_process import GitlabRegistryUnavailable
from glcr.sandbox.registry_kinds import DISTRIBUTION, GITLAB, KINDS, check_available
from glcr.sandbox.registry_process import RegistryBinaryMissing
from glcr.sandbox.runtime import Sandbox


def require_registry_binary(kind: str = DISTRIBUTION) -> None:
    """Skip (or, in CI, fail) when the registry of `kind` cannot run here; one line saying why."""
    try:
        check_available(kind)
    except RegistryBinaryMissing as exc:
        in_ci = os.environ.get("CI", "").lower() == "true"
        gitlab_binary_absent = kind == GITLAB and not isinstance(exc, GitlabRegistryUnavailable)
        if in_ci and not gitlab_binary_absent:
            pytest.fail(f"{exc} (CI=true: e2e tests must run in CI)", pytrace=False)
        pytest.skip(f"{kind} registry: {exc}")


def mark_e2e(items: list[pytest.Item], directory: Path, *, only_sandbox_users: bool = False) -> None:
    """Give tests under `directory` the `e2e` marker (for `-m "not e2e"`): all of them, or with
    `only_sandbox_users` those that use the `sandbox` fixture, directly or through another."""
    for item in items:
        if directory not in Path(str(item.fspath)).parents:
            continue
        if not only_sandbox_users or "sandbox" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", params=KINDS)
def registry_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sandbox(registry_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    require_registry_binary(registry_kind)
    started = Sandbox.start(tmp_path_factory.mktemp(f"glcr-sandbox-{registry_kind}"), registry_kind=registry_kind)
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
