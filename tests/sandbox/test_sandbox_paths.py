"""Where the sandbox looks for GitLab's registry binary when $GLCR_GITLAB_REGISTRY is unset:
../shared/gitlab-registry/bin/registry beside this repository (README). A wrong guess would not
fail a test: the gitlab tests would be skipped, so the guess is checked here."""

from __future__ import annotations

from pathlib import Path

from glcr_sandbox.gitlab_registry_process import default_binary_path, repository_root

REPO = Path(__file__).resolve().parents[2]


def test_the_repository_root_is_this_checkout():
    assert repository_root() == REPO
    assert (repository_root() / "pyproject.toml").is_file()


def test_the_default_binary_is_beside_the_repository():
    assert default_binary_path() == REPO.parent / "shared" / "gitlab-registry" / "bin" / "registry"
