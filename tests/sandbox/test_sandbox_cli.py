"""`glcr sandbox up/env/status/down` run the daemon in the background and print export lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox_fixtures import require_registry_binary

pytestmark = pytest.mark.e2e
RUN = [sys.executable, "-c", "from glcr.cli.sandbox_cmd import app; app()"]


def glcr_sandbox(*args: str, state_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RUN, *args, "--state-dir", str(state_dir)], capture_output=True, text=True, timeout=90)


def exports(stdout: str) -> dict[str, str]:
    return dict(line.removeprefix("export ").split("=", 1) for line in stdout.splitlines())


# gitlab-legacy is the gitlab binary with its database off: the command passes the kind through,
# and tests/sandbox/test_sandbox_gitlab_legacy.py starts that mode itself.
@pytest.mark.parametrize("kind", ["gitlab", "distribution"])
def test_up_env_status_down(tmp_path: Path, kind: str) -> None:
    require_registry_binary(kind)
    up = glcr_sandbox("up", "--no-seed", "--registry", kind, state_dir=tmp_path)
    try:
        assert up.returncode == 0, up.stderr
        env = exports(up.stdout)  # stdout holds only the export lines; talk goes to stderr
        assert set(env) == {"GITLAB_URL", "GITLAB_TOKEN"} and "sandbox at" in up.stderr
        user = httpx.get(f"{env['GITLAB_URL']}/api/v4/user", headers={"PRIVATE-TOKEN": env["GITLAB_TOKEN"]})
        assert user.json()["username"] == "maintainer"
        root = exports(glcr_sandbox("env", "--user", "root", state_dir=tmp_path).stdout)
        assert root["GITLAB_URL"] == env["GITLAB_URL"] and root["GITLAB_TOKEN"] != env["GITLAB_TOKEN"]
        again = glcr_sandbox("up", state_dir=tmp_path)
        assert exports(again.stdout) == env and "already running" in again.stderr
        status = glcr_sandbox("status", state_dir=tmp_path)
        assert status.returncode == 0 and env["GITLAB_URL"] in status.stdout and f"({kind})" in status.stdout
    finally:
        down = glcr_sandbox("down", state_dir=tmp_path)
    assert down.returncode == 0 and "stopped" in down.stderr
    assert glcr_sandbox("status", state_dir=tmp_path).returncode == 1
    # The state directory keeps the images of its registry: the other kind is refused, in one line.
    other = "distribution" if kind == "gitlab" else "gitlab"
    refused = glcr_sandbox("up", "--no-seed", "--registry", other, state_dir=tmp_path)
    assert refused.returncode == 1 and refused.stderr.strip() == (
        f"glcr: the state directory {tmp_path} holds images of the {kind} registry; "
        f"use --registry {kind}, or another --state-dir"
    )


def test_an_unknown_registry_kind_is_a_usage_error(tmp_path: Path) -> None:
    bad = glcr_sandbox("up", "--registry", "harbor", state_dir=tmp_path)
    said = " ".join(bad.stderr.replace("│", " ").split())  # rich wraps the message in a box
    assert bad.returncode == 2 and "gitlab, gitlab-legacy, distribution" in said
    assert not (tmp_path / "world.json").exists()
