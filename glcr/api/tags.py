"""Listing tags with details, and deleting tags safely (see registry/delete.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from glcr.errors import AuthError, GlcrError, NetworkError, PermissionDeniedError
from glcr.registry.details import registry_tag_details
from glcr.models import Digest, RegistryKind, Repository, TagDetails
from glcr.registry.delete import (DeleteRequest, DeleteResult, Outcome, SiblingDamage, TagDeleter, raise_if_all_refused,
                                  snapshot)
from glcr.session import Session


async def list_tag_details(session: Session, repo: Repository,
                           on_total: Callable[[int], None] | None = None,
                           on_one: Callable[[], None] | None = None) -> list[TagDetails]:
    """Every tag with GitLab's TagDetails fields.

    From the registry when this token may pull there (see registry/details.py: 1 request per tag
    at most, none per tag on GitLab's registry); otherwise GitLab's tag-details API, one call per
    tag, concurrently.
    """
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    try:
        kind = await client.kind(path)
        if await session.registry_grants(repo.registry_host, path, "pull"):
            return await registry_tag_details(client, path, repo.location, kind,
                                              jobs=session.options.registry_jobs, on_total=on_total, progress=on_one)
    except (NetworkError, PermissionDeniedError, AuthError):
        pass  # the registry is not reachable or not ours to read: ask GitLab instead
    tags = await session.api.tags(repo)
    if on_total:
        on_total(len(tags))
    return await session.api.all_tag_details(repo, [t.name for t in tags], on_one)


def registry_path(repo: Repository) -> str:
    """The repository's name on the registry: the location without its host."""
    return repo.location.split("/", 1)[1] if "/" in repo.location else repo.path


@dataclass
class DeletePreview:
    """What a delete will do, shown before it is confirmed."""

    repository: Repository
    kind: RegistryKind
    current: dict[str, Digest]  # every tag of the repository → digest now
    requested: list[DeleteRequest]
    missing: list[str] = field(default_factory=list)
    protected: dict = field(default_factory=dict)  # tag -> the protection rule that keeps it (not requested)

    def siblings(self) -> dict[str, list[str]]:
        """For each requested tag, the OTHER tags that share its digest (they stay)."""
        wanted = {r.tag for r in self.requested}
        by_digest: dict[Digest, list[str]] = {}
        for tag, digest in self.current.items():
            by_digest.setdefault(digest, []).append(tag)
        out = {}
        for request in self.requested:
            digest = self.current.get(request.tag)
            if digest:
                others = sorted(t for t in by_digest[digest] if t not in wanted)
                if others:
                    out[request.tag] = others
        return out


async def current_digests(session: Session, repo: Repository) -> dict[str, Digest]:
    """Every tag of the repository → its digest now, straight from the registry."""
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    return await snapshot(client, path, session.options.registry_jobs, kind=await client.kind(path))


async def preview_delete(session: Session, repo: Repository, requests: Sequence[DeleteRequest],
                         current: dict[str, Digest] | None = None) -> DeletePreview:
    """`current`: a snapshot the caller took moments ago (saves resolving every tag twice)."""
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    kind = await client.kind(path)
    if current is None:
        current = await snapshot(client, path, session.options.registry_jobs, kind=kind)
    from glcr.api.protection import guard_requests

    _, protected = await guard_requests(session, repo, [r for r in requests if r.tag in current])
    requests = [r for r in requests if r.tag not in protected]
    missing = [r.tag for r in requests if r.tag not in current]
    return DeletePreview(repo, kind, current, list(requests), missing, protected)


@dataclass
class DeleteReport:
    results: list[DeleteResult]
    damage: list[SiblingDamage]
    method: str
    protected: dict = field(default_factory=dict)  # tag -> the protection rule that kept it

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


async def execute_delete(session: Session, preview: DeletePreview,
                         progress: Callable[[DeleteResult], None] | None = None) -> DeleteReport:
    """Delete on the registry when the token may; otherwise through GitLab's tag API."""
    repo = preview.repository
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    deleter = TagDeleter(client, path, preview.kind, jobs=session.options.registry_jobs)
    actions = "delete" if preview.kind.tag_delete else "pull,push,delete"
    if await session.registry_grants(repo.registry_host, path, actions):
        results = await deleter.delete(preview.requested, preview.current, progress)
        method = "registry tag delete" if preview.kind.tag_delete else "registry placeholder batch"
    else:
        # No push/delete on the registry for this token (e.g. a Developer): GitLab's own tag-delete
        # API, one tag at a time on registries without tag delete (concurrent ones race there).
        results = await _delete_via_gitlab(session, preview, progress)
        method = "GitLab tag API"
    from glcr.api.protection import explain_refusals

    results = await explain_refusals(session, repo, results)
    raise_if_all_refused(results, repo.path)
    checked, damage = await deleter.verify(results, preview.current)
    return DeleteReport(checked, damage, method, preview.protected)


async def _delete_via_gitlab(session: Session, preview: DeletePreview,
                             progress: Callable[[DeleteResult], None] | None) -> list[DeleteResult]:
    deleter = TagDeleter(session.registry(preview.repository.registry_host), registry_path(preview.repository),
                         preview.kind, jobs=session.options.registry_jobs)
    todo, results = await deleter.classify(preview.requested, preview.current)
    for result in results:
        if progress:
            progress(result)
    for request in todo:  # sequential: see the docstring of registry/delete.py
        # Read again right before deleting: a tag pushed since the snapshot is kept (stale).
        result, digest = await deleter.recheck(request, preview.current)
        if result is None:
            try:
                gone = await session.api.delete_tag(preview.repository, request.tag)
                result = DeleteResult(request.tag, Outcome.DELETED if gone else Outcome.ALREADY_ABSENT, digest)
            except GlcrError as exc:
                result = DeleteResult(request.tag, Outcome.FAILED, digest, exc.one_line(), exc)
        results.append(result)
        if progress:
            progress(result)
    return results


async def tag_with_siblings(session: Session, repo: Repository, name: str):
    """(details, sibling tags with the same digest, manifest) or None when the tag is absent."""
    details = await session.api.tag_details(repo, name)
    if details is None:
        return None
    client = session.registry(repo.registry_host)
    path = registry_path(repo)
    current = await snapshot(client, path, session.options.registry_jobs, kind=await client.kind(path))
    siblings = sorted(t for t, d in current.items() if d == details.digest and t != name)
    manifest = await client.get_manifest(path, details.digest or name)
    return details, siblings, manifest


async def index_children(session: Session, repo: Repository, digests: Sequence[Digest]) -> dict[Digest, frozenset[Digest]]:
    """For every index among `digests`: the digests of its child manifests (for multi-arch safety)."""
    from glcr.models import INDEX_MEDIA_TYPES
    from glcr.transport.concurrency import gather_bounded

    client = session.registry(repo.registry_host)
    path = registry_path(repo)

    async def one(digest: Digest):
        head = await client.head_manifest(path, digest)
        if head is None or head.media_type not in INDEX_MEDIA_TYPES:
            return None
        manifest = await client.get_manifest(path, digest)
        return digest, frozenset(c.digest for c in manifest.children)

    found = await gather_bounded(session.options.registry_jobs, [lambda d=d: one(d) for d in sorted(set(digests))])
    return dict(f for f in found if f)
