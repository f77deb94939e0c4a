"""The two registries the sandbox can run, and what differs between them at start-up.

`gitlab`: GitLab's own container registry with its metadata database (what GitLab.com and
every self-managed GitLab since 16.0 run): `/gitlab/v1/` API, tag-only deletes, rename.
`distribution`: Debian's docker-registry 2.8, a third-party registry (deprecated by GitLab
since 15.8): no GitLab API, tags deleted with the dummy-manifest workaround.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from glcr_sandbox.gitlab_registry_process import GitlabRegistryProcess, check_prerequisites
from glcr_sandbox.registry_process import RegistryProcess, find_binary

GITLAB, DISTRIBUTION = "gitlab", "distribution"
KINDS = (GITLAB, DISTRIBUTION)
DEFAULT_KIND = GITLAB
# Where each kind keeps its config, storage and log inside the state directory.
DIRECTORIES = {GITLAB: "gitlab-registry", DISTRIBUTION: "registry"}

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
    return find_binary(binary)


def make_process(
    kind: str, state_dir: Path, *, realm: str, cert_path: Path, port: int = 0, binary: str | None = None
) -> AnyRegistryProcess:
    cls = GitlabRegistryProcess if check_kind(kind) == GITLAB else RegistryProcess
    return cls(state_dir / DIRECTORIES[kind], realm=realm, cert_path=cert_path, port=port, binary=binary)


def registry_settings(kind: str) -> dict[str, Any]:
    """What GitLab stores from the registry's `GET /v2/` headers
    (ContainerRegistry::UpdateContainerRegistryInfoService), per kind."""
    if check_kind(kind) == GITLAB:
        return {
            "container_registry_vendor": "gitlab",
            "container_registry_version": "3.86.0-gitlab",
            "container_registry_features": ["tag_delete"],
            "container_registry_db_enabled": True,
        }
    return {
        "container_registry_vendor": "",
        "container_registry_version": "",
        "container_registry_features": [],
        "container_registry_db_enabled": False,
    }
