"""Listing tags with details, and deleting tags safely (see registry/delete.py)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, TypeAlias

from glcr.api.handle import RepositoryHandle, open_repository, registry_path, repository_of
from glcr.errors import AuthError, GlcrError, NetworkError, NotFoundError, PermissionDeniedError
from glcr.registry.details import registry_tag_details
from glcr.models import Digest, Manifest, RegistryKind, Repository, TagDetails
from glcr.registry.delete import (DeleteRequest, DeleteResult, Outcome, SiblingDamage, TagDeleter, raise_if_all_refused,
                                  snapshot)
from glcr.session import Session

if TYPE_CHECKING:
    from glcr.policy.protection import Protection, TagRule


class Counts(Protocol):
    """A progress bar told its total once, then one step per tag read."""

    def set_total(self, total: int) -> None: ...

    def advance(self) -> None: ...


# `progress(repository)`: a context manager (a progress bar) open while the tags are read.
Reading: TypeAlias = Callable[[Repository], AbstractContextManager[Counts]]


async def list_tag_details(session: Session, repo: Repository | RepositoryHandle,
                           on_total: Callable[[int], None] | None = None,
                           on_one: Callable[[], None] | None = None) -> list[TagDetails]:
    """Every tag with GitLab's TagDetails fields.

    From the registry when this token may pull there (see registry/details.py: 1 request per tag
    at most, none per tag on GitLab's registry); otherwise GitLab's tag-details API, one call per
    tag, concurrently.
    """
    repo = repository_of(repo)
    try:
        handle = await open_repository(session, repo)
        if await session.registry_grants(repo.registry_host, handle.path, "pull"):
            return await registry_tag_details(handle.client, handle.path, repo.location, handle.kind,
                                              jobs=session.settings.registry_jobs, on_total=on_total, progress=on_one)
    except (NetworkError, PermissionDeniedError, AuthError):
        pass  # the registry is not reachable or not ours to read: ask GitLab instead
    tags = await session.api.tags(repo)
    if on_total:
        on_total(len(tags))
    return await session.api.all_tag_details(repo, [t.name for t in tags], on_one)


__all__ = ["registry_path"]  # also importable from here (its home is glcr.api.handle)


@dataclass(frozen=True)
class DeletePreview:
    """What a delete will do, shown before it is confirmed."""

    handle: RepositoryHandle
    current: dict[str, Digest]  # every tag of the repository → digest now
    requested: list[DeleteRequest]
    missing: list[str] = field(default_factory=list)
    protected: dict[str, TagRule] = field(default_factory=dict)  # tag -> the protection rule that keeps it (not requested)

    @property
    def repository(self) -> Repository:
        return self.handle.repository

    @property
    def kind(self) -> RegistryKind:
        return self.handle.kind

    @property
    def todo(self) -> int:
        """How many requested tags exist (protected tags are not requested)."""
        return len(self.requested) - len(self.missing)

    def siblings(self) -> dict[str, list[str]]:
        """For each requested tag, the OTHER tags that share its digest (they stay)."""
        wanted = {r.tag for r in self.requested}
        by_digest: dict[Digest, list[str]] = {}
        for tag, tag_digest in self.current.items():
            by_digest.setdefault(tag_digest, []).append(tag)
        out = {}
        for request in self.requested:
            digest = self.current.get(request.tag)
            if digest:
                others = sorted(t for t in by_digest[digest] if t not in wanted)
                if others:
                    out[request.tag] = others
        return out


async def current_digests(session: Session, repo: Repository | RepositoryHandle) -> dict[str, Digest]:
    """Every tag of the repository → its digest now, straight from the registry."""
    handle = await open_repository(session, repo)
    return await snapshot(handle.client, handle.path, session.settings.registry_jobs, kind=handle.kind)


async def preview_delete(session: Session, repo: Repository | RepositoryHandle, requests: Sequence[DeleteRequest],
                         current: dict[str, Digest] | None = None) -> DeletePreview:
    """`current`: a snapshot the caller took moments ago (saves resolving every tag twice)."""
    handle = await open_repository(session, repo)
    if current is None:
        current = await snapshot(handle.client, handle.path, session.settings.registry_jobs, kind=handle.kind)
    from glcr.api.protection import guard_requests

    _, protected = await guard_requests(session, handle.repository, [r for r in requests if r.tag in current])
    requests = [r for r in requests if r.tag not in protected]
    missing = [r.tag for r in requests if r.tag not in current]
    return DeletePreview(handle, current, list(requests), missing, protected)


@dataclass(frozen=True)
class DeleteReport:
    results: list[DeleteResult]
    damage: list[SiblingDamage]
    method: str
    protected: dict[str, TagRule] = field(default_factory=dict)  # tag -> the protection rule that kept it
    backup: Path | None = None  # the saved manifests (`glcr tags restore`), where this call wrote one
    kind: RegistryKind | None = None  # the registry's mode: how long a restore stays possible

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)


async def execute_delete(session: Session, preview: DeletePreview,
                         progress: Callable[[DeleteResult], None] | None = None) -> DeleteReport:
    """Delete on the registry when the token may; otherwise through GitLab's tag API."""
    handle = preview.handle
    repo = handle.repository
    deleter = TagDeleter(handle.client, handle.path, handle.kind, jobs=session.settings.registry_jobs)
    actions = "delete" if handle.kind.tag_delete else "pull,push,delete"
    if await session.registry_grants(repo.registry_host, handle.path, actions):
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
    return DeleteReport(checked, damage, method, preview.protected, kind=handle.kind)


async def _delete_via_gitlab(session: Session, preview: DeletePreview,
                             progress: Callable[[DeleteResult], None] | None) -> list[DeleteResult]:
    handle = preview.handle
    deleter = TagDeleter(handle.client, handle.path, handle.kind, jobs=session.settings.registry_jobs)
    todo, results = await deleter.classify(preview.requested, preview.current)
    for result in results:
        if progress:
            progress(result)
    for request in todo:  # sequential: see the docstring of registry/delete.py
        # Read again right before deleting: a tag pushed since the snapshot is kept (stale).
        settled, digest = await deleter.recheck(request, preview.current)
        if settled is not None:
            result = settled
        else:
            try:
                gone = await session.api.delete_tag(preview.repository, request.tag)
                result = DeleteResult(request.tag, Outcome.DELETED if gone else Outcome.ALREADY_ABSENT, digest)
            except GlcrError as exc:
                result = DeleteResult(request.tag, Outcome.FAILED, digest, exc.one_line(), exc)
        results.append(result)
        if progress:
            progress(result)
    return results


@dataclass(frozen=True)
class TagView:
    """One tag: its details, the other tags on its digest, its manifest."""

    details: TagDetails
    siblings: tuple[str, ...]
    manifest: Manifest


async def tag_with_siblings(session: Session, repo: Repository | RepositoryHandle, name: str) -> TagView | None:
    """The tag with its sibling tags (same digest) and manifest; None when the tag is absent."""
    details = await session.api.tag_details(repository_of(repo), name)
    if details is None:
        return None
    handle = await open_repository(session, repo)
    current = await snapshot(handle.client, handle.path, session.settings.registry_jobs, kind=handle.kind)
    siblings = tuple(sorted(t for t, d in current.items() if d == details.digest and t != name))
    manifest = await handle.client.get_manifest(handle.path, details.digest or name)
    return TagView(details, siblings, manifest)


async def index_children(session: Session, repo: Repository | RepositoryHandle,
                         digests: Sequence[Digest]) -> dict[Digest, frozenset[Digest]]:
    """For every index among `digests`: the digests of its child manifests (for multi-arch safety)."""
    from glcr.models import INDEX_MEDIA_TYPES
    from glcr.transport.concurrency import gather_bounded

    handle = await open_repository(session, repo)
    client, path = handle.client, handle.path

    async def one(digest: Digest) -> tuple[Digest, frozenset[Digest]] | None:
        head = await client.head_manifest(path, digest)
        if head is None or head.media_type not in INDEX_MEDIA_TYPES:
            return None
        manifest = await client.get_manifest(path, digest)
        return digest, frozenset(c.digest for c in manifest.children)

    found = await gather_bounded(session.settings.registry_jobs, [partial(one, d) for d in sorted(set(digests))])
    return dict(f for f in found if f)


# --- what the `tags` commands call: one function each ------------------------------------------


@dataclass(frozen=True)
class TagListing:
    repository: Repository
    tags: tuple[TagDetails, ...]
    protection: Protection  # the project's rules, to mark protected tags
    kind: RegistryKind | None = None  # the registry's mode; None when it could not be asked


async def list_tags(session: Session, path: str, *,
                    progress: Reading | None = None) -> TagListing:
    """Every tag of the repository at `path` (as a user types it) with its details, and the
    project's protection rules. `progress(repository)` may return a context manager with
    `set_total(n)` and `advance()` (a progress bar) that is open while the tags are read."""
    from contextlib import nullcontext

    from glcr.api.protection import for_project
    from glcr.api.resolve import resolve_repository

    repo = (await resolve_repository(session, path)).repository
    with (progress(repo) if progress else nullcontext()) as bar:
        found = await list_tag_details(session, repo, bar.set_total if bar else None, bar.advance if bar else None)
    try:
        kind: RegistryKind | None = await session.registry(repo.registry_host).kind(registry_path(repo))
    except (NetworkError, PermissionDeniedError, AuthError):
        kind = None  # listed through GitLab's API: the registry's mode is not known
    return TagListing(repo, tuple(found), await for_project(session, repo.project_id), kind)


async def show_tag(session: Session, ref: str) -> TagView:
    """The tag `ref` (PATH:TAG) names; NotFoundError when it is absent."""
    from glcr.api.resolve import resolve_repository

    from glcr.errors import InvalidInputError

    resolved = await resolve_repository(session, ref)
    tag = resolved.ref.tag
    if not tag:
        raise InvalidInputError(f"{ref!r} names no tag", hint="write PATH:TAG, e.g. mygroup/app:v1.0")
    found = await tag_with_siblings(session, resolved.repository, tag)
    if found is None:
        raise NotFoundError(f"no tag {tag} in {resolved.repository.path}")
    return found


async def delete_tags(session: Session, path: str, names: Sequence[str], *,
                      review: Callable[[DeletePreview], None], confirm: Callable[[str], None],
                      dry_run: bool = False) -> DeleteReport | None:
    """Delete the named tags of `path`, and only them.

    `review(preview)` shows what will happen; `confirm(question)` raises to stop (it runs inside
    this call, so the read and the delete share one session). Returns None when nothing was to
    be deleted (or `dry_run`); NotFoundError when none of the names exists.
    """
    from glcr.api.resolve import resolve_repository

    resolved = await resolve_repository(session, path)
    preview = await preview_delete(session, resolved.repository, [DeleteRequest(n) for n in names])
    review(preview)
    repo_path = preview.repository.path
    if preview.missing and preview.todo == 0 and not preview.protected:
        raise NotFoundError(f"{repo_path} has no tag {', '.join(sorted(preview.missing)[:3])}"
                            + (" (and more)" if len(preview.missing) > 3 else "") + "; nothing was deleted",
                            hint=f"see `glcr tags list {repo_path}`")
    if dry_run:
        return None
    if preview.todo == 0:
        return DeleteReport([], [], "none", preview.protected) if preview.protected else None
    confirm(f"Delete {preview.todo} tag(s) from {repo_path}?")
    from dataclasses import replace

    from glcr.plan.backup import delete_backup_path
    from glcr.plan.journal import new_run_id

    run_id = new_run_id(datetime.now(timezone.utc))
    backup = delete_backup_path(run_id)
    await save_for_restore(session, preview, backup, run_id)  # before any DELETE, for `glcr tags restore`
    report = await execute_delete(session, preview)
    return replace(report, backup=backup if backup.exists() else None)


async def save_for_restore(session: Session, preview: DeletePreview, path: Path, run_id: str) -> None:
    """Save the manifest of every tag the preview will delete (at the digest it will delete),
    durably, in `path` (glcr.api.restore)."""
    from glcr.api.restore import save_before_delete
    from glcr.durable import private_dir
    from glcr.plan.backup import BackupWriter

    tags = {r.tag: preview.current[r.tag] for r in preview.requested
            if r.tag in preview.current and r.expected_digest in (None, preview.current[r.tag])}
    if tags:
        try:
            private_dir(path.parent)
        except OSError as exc:
            from glcr.errors import InvalidInputError

            raise InvalidInputError(f"cannot save the manifests to delete in {path.parent}: {exc.strerror}; "
                                    "nothing was deleted", hint="set XDG_STATE_HOME to a writable directory") from None
        await save_before_delete(session, preview.handle, tags, BackupWriter(path), run_id=run_id)
