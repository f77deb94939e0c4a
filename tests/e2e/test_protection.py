"""Tag protection rules end to end: `glcr protection`, and every delete path keeps protected tags.

The real `glcr` command against the sandbox over a real registry; skopeo (an independent
client) is the witness of which tags exist afterwards.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from glcr.models import Project
from glcr.sandbox.registry_client import RegistryClient
from glcr.sandbox.runtime import Sandbox
from glcr.sandbox.seed import push_image
from glcr_runner import glcr, skopeo_tags

OLD = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60)
V1 = ["v1.0", "v1.1", "v1.2"]
OTHERS = ["v2.0", "feature-a", "main"]


def tags_now(sandbox: Sandbox, registry: RegistryClient, repo: str) -> list[str]:
    """skopeo's view when it is installed, else the seeding client's."""
    if shutil.which("skopeo"):
        return skopeo_tags(sandbox, repo)
    return sorted(registry.tags(repo) or [])


def seed(registry: RegistryClient, repo: str) -> None:
    for i, name in enumerate(V1 + OTHERS):
        push_image(registry, repo, name, created=OLD + dt.timedelta(minutes=i), seed=name)


def protect(env: dict, project: Project, pattern: str = r"^v1\.", push: str = "maintainer",
            delete: str = "owner") -> dict:
    added = glcr(env, "protection", "add", project.path_with_namespace, pattern, "--push", push, "--delete", delete,
                 "-o", "json")
    assert added.code == 0, added.stderr
    return added.json()


def test_protection_commands_manage_rules_validated_before_sending(sandbox_env: dict, project: Project) -> None:
    path = project.path_with_namespace
    assert glcr(sandbox_env, "protection", "list", path, "-o", "json").json() == []
    rule = protect(sandbox_env, project)
    assert rule["tag_name_pattern"] == r"^v1\." and rule["minimum_access_level_for_delete"] == "owner"
    listed = glcr(sandbox_env, "protection", "list", path)
    assert listed.code == 0 and r"^v1\." in listed.stdout and "owner" in listed.stdout
    # Refused before anything is sent: bad RE2, too long, an unknown role, a duplicate.
    for args in (["v(1"], ["a" * 101], ["^x", "--delete", "developer"], [r"^v1\."]):
        bad = glcr(sandbox_env, "protection", "add", path, *args)
        assert bad.code == 3, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    # update asks first; --yes sends it
    refused = glcr(sandbox_env, "protection", "update", path, str(rule["id"]), "--delete", "admin")
    assert refused.code == 10
    updated = glcr(sandbox_env, "protection", "update", path, str(rule["id"]), "--delete", "admin", "--yes",
                   "-o", "json")
    assert updated.code == 0, updated.stderr
    assert updated.json()["minimum_access_level_for_delete"] == "admin"
    for i in range(4):
        protect(sandbox_env, project, pattern=f"^p{i}")
    sixth = glcr(sandbox_env, "protection", "add", path, "^p9")
    assert sixth.code == 3 and "at most 5" in sixth.stderr
    removed = glcr(sandbox_env, "protection", "remove", path, r"^v1\.", "--yes", "-o", "json")
    assert removed.code == 0 and removed.json()["removed"]["id"] == rule["id"]
    assert len(glcr(sandbox_env, "protection", "list", path, "-o", "json").json()) == 4
