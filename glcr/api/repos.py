"""Repositories: list (project or group), details, asynchronous delete with polling."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace

from glcr.errors import AuthError, NetworkError, PartialFailureError, PermissionDeniedError
from glcr.models import RegistryKind, Repository
from glcr.api.handle import open_repository
from glcr.api.resolve import resolve_repository
from glcr.registry.details import gitlab_repository_size
from glcr.session import Session
from glcr.transport.concurrency import gather_bounded

# GitLab's delete worker runs every few seconds; polling faster only adds load.
POLL_INTERVAL_SECONDS = 2.0


async def list_repositories(session: Session, *, project: str | None = None, group: str | None = None
                            ) -> list[Repository]:
    if project:
        return await session.api.project_repositories(project)
    repos = await session.api.group_repositories(group or "")
    # The group endpoint dropped tags_count in GitLab 15.0: ask each repository (concurrently).
    return await gather_bounded(session.settings.jobs, [lambda r=r: session.api.repository(r.id) for r in repos])


def sort_repositories(repos: list[Repository], key: str) -> list[Repository]:
    if key == "created":
        return sorted(repos, key=lambda r: (r.created_at is None, -(r.created_at.timestamp() if r.created_at else 0)))
    if key == "tags":
        return sorted(repos, key=lambda r: (-(r.tags_count or 0), r.path))
    return sorted(repos, key=lambda r: r.path)


@dataclass(frozen=True)
class RepositoryDetails:
    repository: Repository
    project_path: str
    kind: RegistryKind | None
    # Why GitLab's background delete would not finish (glcr.policy.repository_delete); filled
    # only for a delete's review.
    delete_warnings: tuple[str, ...] = ()


async def repository_details(session: Session, path: str) -> RepositoryDetails:
    resolved = await resolve_repository(session, path)
    repo = await session.api.repository(resolved.repository.id, tags_count=True, size=True)
    kind = None
    try:
        handle = await open_repository(session, repo)
        kind = handle.kind
        if kind.gitlab_api and repo.size is None:
            size = await gitlab_repository_size(handle.client, handle.path)
            if size is not None:
                repo = replace(repo, size=size)
    except (NetworkError, AuthError, PermissionDeniedError):
        pass  # shown as unknown: details from GitLab are still useful
    return RepositoryDetails(repo, resolved.project.path_with_namespace, kind)


async def delete_repository(session: Session, repo: Repository, *, wait: bool, timeout: float = 900) -> str:
    await session.api.delete_repository(repo)
    if not wait:
        return "delete scheduled (GitLab deletes it in the background)"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = await session.api.repository_status(repo.id)
        if current is None:
            return "deleted"
        if current.status == "delete_failed":
            raise PartialFailureError(f"GitLab could not delete {repo.path} (status delete_failed)",
                                      hint="see the registry logs; GitLab gave up after 10 attempts")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)
    raise NetworkError(f"{repo.path} was still not deleted after {timeout:.0f}s",
                       hint="GitLab keeps trying in the background; check with `glcr repos show`")


async def find_repositories(session: Session, *, project: str | None = None, group: str | None = None,
                            search: str | None = None, sort: str = "name") -> list[Repository]:
    """The repositories of a project or a group whose path contains `search`, sorted by `sort`."""
    repos = await list_repositories(session, project=project, group=group)
    if search:
        repos = [r for r in repos if search.lower() in r.path]
    return sort_repositories(repos, sort)


async def delete_repository_at(session: Session, path: str, *, review, confirm, wait: bool,
                               timeout: float = 900, waiting=None) -> tuple[Repository, str]:
    """Delete the repository at `path` after `review(details)` and `confirm(question)` (which
    raises to stop). `waiting(repository)`: a context manager open while GitLab removes it.
    Returns the repository and what became of it."""
    from contextlib import nullcontext

    details = await repository_details(session, path)
    details = replace(details, delete_warnings=tuple(await _delete_warnings(session, details)))
    repo = details.repository
    review(details)
    confirm(f"Delete repository {repo.path}?")
    if not wait:
        return repo, await delete_repository(session, repo, wait=False)
    with (waiting(repo) if waiting else nullcontext()):
        return repo, await delete_repository(session, repo, wait=True, timeout=timeout)


async def _delete_warnings(session: Session, details: RepositoryDetails) -> list[str]:
    """What would stop GitLab's delete worker: tags a protection rule keeps (every rule applies to
    it), or too many tags for its passes on a registry without GitLab's API."""
    from glcr.api.protection import for_project
    from glcr.policy.protection import Purpose
    from glcr.policy.repository_delete import repository_delete_warnings

    repo = details.repository
    protected: dict[str, str] = {}
    protection = await for_project(session, repo.project_id)
    if protection.rules and repo.tags_count:
        for tag in await session.api.tags(repo):
            rule = protection.rule_for_delete(tag.name, Purpose.POLICY)
            if rule is not None:
                protected[tag.name] = rule.pattern
    return repository_delete_warnings(gitlab_api=details.kind.gitlab_api if details.kind else None,
                                      tags_count=repo.tags_count, protected=protected)
