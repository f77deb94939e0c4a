"""End-to-end fixtures: the GitLab API sandbox over a real registry, all three kinds.

Every test runs three times: on GitLab's own registry with its metadata database (`[gitlab]`),
on the same registry without it (`[gitlab-legacy]`: no /gitlab/v1 API, tag delete, dates from
the image configs) and on Debian's docker-registry (`[distribution]`), through the
session-scoped `registry_kind` parameter; tests that need to know which one ask for
`registry_kind`. `sandbox.backdate(repo, {tag: timedelta})` ages tags on any of them.
`sandbox` (session, one per kind), `project` (a fresh project per test in group demo), `registry` (a
full-access registry client for seeding) and `sandbox_env` (GITLAB_URL/GITLAB_TOKEN for running
glcr) come from tests/fixtures/sandbox_fixtures.py. Every test in this directory is marked `e2e`;
run only the fast layers with `pytest -m "not e2e"`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_fixtures import (  # noqa: F401 (fixtures)
    mark_e2e,
    project,
    registry,
    registry_kind,
    sandbox,
    sandbox_env,
)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_e2e(items, HERE)
