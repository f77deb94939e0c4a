"""`glcr doctor` without a PATH, as a real process against the GitLab API sandbox: it finds the
registry through one of the user's projects (GET /projects?membership=true&order_by=last_activity_at)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glcr.models import Project
from sandbox_fixtures import project, sandbox, sandbox_env  # noqa: F401 (fixtures)
import sandbox_fixtures as _fixtures

if hasattr(_fixtures, "registry_kind"):  # the sandbox runs once per registry kind
    registry_kind = _fixtures.registry_kind
from glcr_sandbox.runtime import Sandbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_doctor_without_a_path_finds_the_registry_through_a_project(
    sandbox: Sandbox, sandbox_env: dict[str, str], project: Project, tmp_path: Path  # noqa: F811
) -> None:
    env = {**sandbox_env, "HOME": str(tmp_path), "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "glcr", "doctor", "-o", "json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = json.loads(result.stdout)["checks"]
    registry = [c for c in checks if c["check"] == "registry"]
    assert [c["status"] for c in registry] == ["ok"], registry
    # The most recently active project of the token's user names the registry host.
    assert f"registry {sandbox.registry_host} (from project {project.path_with_namespace})" in registry[0]["message"]
    assert any(c["check"] == "token-flow" and c["status"] == "ok" for c in checks)
    assert sandbox.token not in result.stdout + result.stderr
