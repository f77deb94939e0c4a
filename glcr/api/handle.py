"""A registry repository opened for work: the handle every library call passes around."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from glcr.models import RegistryKind, Repository
from glcr.registry.client import RegistryClient

if TYPE_CHECKING:
    from glcr.session import Session


@dataclass(frozen=True)
class RepositoryHandle:
    """A repository with what talking to its registry needs: the session's client for its host,
    its name on that registry, and the registry's kind (detected once per client)."""

    repository: Repository
    client: RegistryClient
    path: str  # the name on the registry: the location without its host
    kind: RegistryKind

    @property
    def location(self) -> str:
        return self.repository.location


def registry_path(repo: Repository) -> str:
    """The repository's name on the registry: the location without its host."""
    return repo.location.split("/", 1)[1] if "/" in repo.location else repo.path


async def open_repository(session: Session, repo: Repository | RepositoryHandle) -> RepositoryHandle:
    """The handle for `repo` (a handle is returned as it is). Asks the registry its kind, so it
    may raise NetworkError, AuthError or PermissionDeniedError."""
    if isinstance(repo, RepositoryHandle):
        return repo
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    return RepositoryHandle(repo, client, path, await client.kind(path))


def repository_of(repo: Repository | RepositoryHandle) -> Repository:
    return repo.repository if isinstance(repo, RepositoryHandle) else repo
