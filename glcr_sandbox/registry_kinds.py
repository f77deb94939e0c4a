"""The three registries the sandbox can run, and what differs between them at start-up.

`gitlab`: GitLab's own container registry with its metadata database (GitLab.com, and
self-managed installs that opted in): `/gitlab/v1/` API, push times, tag-only deletes, rename.
`gitlab-legacy`: the same binary without its database (the self-managed default: metadata as
files in the storage). It announces `tag_delete` but has no `/gitlab/v1` API, so GitLab runs
the third-party cleanup there (config `created`, the max_list_size sample) and deletes single
tags by tag. What it answers: glcr_sandbox/gitlab_legacy_registry.py.
`distribution`: Debian's docker-registry 2.8, a third-party registry (deprecated by GitLab
since 15.8): no GitLab API, tags deleted with the dummy-manifest workaround.

Only start-up differs by kind: the sandbox's GitLab side asks the running registry what it
supports, as GitLab does (SandboxContext.detect_registry).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from glcr_sandbox.gitlab_legacy_registry import GitlabLegacyRegistryProcess
from glcr_sandbox.gitlab_registry_process import GitlabRegistryProcess, check_prerequisites
from glcr_sandbox.gitlab_registry_process import find_binary as find_gitlab_binary
from glcr_sandbox.registry_process import RegistryProcess, find_binary

GITLAB, GITLAB_LEGACY, DISTRIBUTION = "gitlab", "gitlab-legacy", "distribution"
KINDS = (GITLAB, GITLAB_LEGACY, DISTRIBUTION)
DEFAULT_KIND = GITLAB
# The kinds that run GitLab's registry binary (skipped together when it is absent).
GITLAB_BINARY_KINDS = (GITLAB, GITLAB_LEGACY)
# Where each kind keeps its config, storage and log inside the state directory.
DIRECTORIES = {GITLAB: "gitlab-registry", GITLAB_LEGACY: "gitlab-registry-legacy", DISTRIBUTION: "registry"}
_PROCESSES: dict[str, type] = {
    GITLAB: GitlabRegistryProcess,
    GITLAB_LEGACY: GitlabLegacyRegistryProcess,
    DISTRIBUTION: RegistryProcess,
}

AnyRegistryProcess = Union[RegistryProcess, GitlabRegistryProcess]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown registry kind {kind!r}; choose one of {', '.join(KINDS)}")
    return kind


def check_available(kind: str, binary: str | None = None) -> str:
    """The binary of `kind`, or RegistryBinaryMissing (a subclass for PostgreSQL/Redis) saying
    what is missing and how to get it."""
    if check_kind(kind) == GITLAB:
        return check_prerequisites(binary)
    if kind == GITLAB_LEGACY:
        return find_gitlab_binary(binary)  # no PostgreSQL, no Redis
    return find_binary(binary)


def make_process(
    kind: str, state_dir: Path, *, realm: str, cert_path: Path, port: int = 0, binary: str | None = None
) -> AnyRegistryProcess:
    cls = _PROCESSES[check_kind(kind)]
    return cls(state_dir / DIRECTORIES[kind], realm=realm, cert_path=cert_path, port=port, binary=binary)


def registry_settings(kind: str) -> dict[str, Any]:
    """What GitLab stores from the registry's `GET /v2/` headers
    (ContainerRegistry::UpdateContainerRegistryInfoService), per kind: the headers the binary
    sends (see the module docstrings), the version without its build suffix."""
    if check_kind(kind) in GITLAB_BINARY_KINDS:
        return {
            "container_registry_vendor": "gitlab",
            "container_registry_version": "3.86.0-gitlab",
            "container_registry_features": ["tag_delete"],
            "container_registry_db_enabled": kind == GITLAB,
        }
    return {
        "container_registry_vendor": "",
        "container_registry_version": "",
        "container_registry_features": [],
        "container_registry_db_enabled": False,
    }
