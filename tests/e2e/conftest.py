"""End-to-end fixtures: the GitLab API sandbox over the real docker-registry.

`sandbox` (session), `project` (a fresh project per test in group demo), `registry` (a
full-access registry client for seeding) and `sandbox_env` (GITLAB_URL/GITLAB_TOKEN for running
glcr) come from glcr.sandbox.pytest_fixtures. Every test in this directory is marked `e2e`;
run only the fast layers with `pytest -m "not e2e"`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glcr.sandbox.pytest_fixtures import mark_e2e, project, registry, sandbox, sandbox_env  # noqa: F401 (fixtures)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_e2e(items, HERE)
