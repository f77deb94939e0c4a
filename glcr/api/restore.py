"""Undoing a delete: the manifests saved before it (glcr/plan/backup.py) PUT back under their tags.

Before every DELETE, the delete paths (`tags delete`, `tags apply`, `cleanup run`) call
`save_before_delete`; `glcr tags restore` calls `restore_tags`. A restore puts an index's child
manifests first (by digest), then the tagged manifest, and checks that the registry computed the
digest that was deleted. Nothing is put back over a tag that exists again on another digest
(stale), and a tag whose blobs the registry's garbage collection has removed is reported with
what is missing: the registry would refuse the manifest (MANIFEST_BLOB_UNKNOWN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from functools import partial
from pathlib import Path

from glcr.api.handle import RepositoryHandle, open_repository
from glcr.errors import GlcrError, NotFoundError, UsageError
from glcr.models import RegistryKind
from glcr.plan.backup import (COMMAND_ID, BackupWriter, SavedManifest, SavedTag, find_backup, last_command,
                              latest_per_tag, read_backup)
from glcr.registry.manifest import parse_manifest, sha256_digest
from glcr.session import Session
from glcr.transport.concurrency import gather_bounded


# --- before a delete ------------------------------------------------------------------------------


async def save_before_delete(session: Session, handle: RepositoryHandle, tags: dict[str, str],
                             writer: BackupWriter, *, run_id: str = "") -> None:
    """Read and save (durably) the manifest of each tag -> digest about to be deleted, an index
    with its children. One GET per distinct digest (plus one per child of an index)."""
    client, path = handle.client, handle.path

    async def fetch(digest: str) -> tuple[str, SavedManifest, tuple[SavedManifest, ...]] | None:
        try:
            manifest = await client.get_manifest(path, digest)
        except NotFoundError:
            return None  # already gone: the delete will say so
        children = []
        for child in manifest.children:
            try:
                got = await client.get_manifest(path, child.digest)
            except NotFoundError:
                continue  # a dangling child cannot be saved; restore reports it missing
            children.append(SavedManifest(got.digest, got.media_type, got.raw))
        return digest, SavedManifest(manifest.digest, manifest.media_type, manifest.raw), tuple(children)

    digests = sorted(set(tags.values()))
    fetched = await gather_bounded(session.settings.registry_jobs, [partial(fetch, d) for d in digests])
    by_digest = {f[0]: f[1:] for f in fetched if f}
    now = datetime.now(timezone.utc)
    repo = handle.repository
    writer.write([SavedTag(repo.path, repo.location, tag, *by_digest[digest], mode=handle.kind.mode,
                           command=COMMAND_ID, run_id=run_id, ts=now)
                  for tag, digest in sorted(tags.items()) if digest in by_digest])


def gc_note(kind: RegistryKind | None) -> str:
    """How long a deleted tag's manifest and blobs usually stay on this registry mode."""
    if kind is None:
        return "until the registry's garbage collection removes its blobs"
    if kind.gitlab_api:
        # container-registry docs/spec/gitlab/online-garbage-collection.md: review_after defaults
        # to 24 h after a manifest or blob loses its last reference.
        return "GitLab's registry (metadata database): online GC may remove them 24 h after the delete (default)"
    if kind.gitlab_vendor:
        return "GitLab's registry (legacy metadata): they stay until an administrator runs offline GC"
    return "third-party registry: they stay until an administrator runs its garbage collection"


def restore_line(backup: Path | None) -> str:
    """The command that puts back what a delete removed."""
    return f"glcr tags restore {backup}" if backup else "glcr tags restore --last"


# --- the restore ----------------------------------------------------------------------------------


class RestoreOutcome(str, Enum):
    RESTORED = "restored"
    WOULD_RESTORE = "would_restore"  # --dry-run: everything it needs is there
    PRESENT = "present"  # the tag is already on the saved digest
    STALE = "stale"  # the tag exists again on another digest: left alone
    MISSING = "missing"  # blobs or manifests the registry no longer has (garbage-collected)
    FAILED = "failed"


@dataclass(frozen=True)
class RestoreResult:
    repository: str
    tag: str
    digest: str
    outcome: RestoreOutcome
    detail: str = ""
    missing: tuple[str, ...] = ()  # digests of the absent blobs or manifests
    children: int = 0


@dataclass(frozen=True)
class RestorePlan:
    source: tuple[Path, ...]
    checked: tuple[RestoreResult, ...]  # what each tag needs, before anything is put

    @property
    def todo(self) -> int:
        return sum(1 for r in self.checked if r.outcome is RestoreOutcome.WOULD_RESTORE)


@dataclass(frozen=True)
class RestoreReport:
    plan: RestorePlan
    results: tuple[RestoreResult, ...]

    def count(self, outcome: RestoreOutcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> int:
        return self.count(RestoreOutcome.MISSING) + self.count(RestoreOutcome.FAILED)


def referenced_blobs(saved: SavedManifest) -> tuple[str, ...]:
    """The blobs a manifest needs in the repository: its config and layers (an index needs none)."""
    manifest = parse_manifest(saved.raw, saved.media_type, saved.digest)
    found = ([manifest.config.digest] if manifest.config else []) + [layer.digest for layer in manifest.layers]
    return tuple(dict.fromkeys(found))


def load_saved(source: str | None, *, last: bool, tags: Sequence[str] = (), env: Mapping[str, str] | None = None
               ) -> tuple[tuple[Path, ...], list[SavedTag]]:
    """The saved tags to restore: from a journal (or its side file), or the last delete command's."""
    if last:
        command, files = last_command(env)
        saved = [t for f in files if f.is_file() for t in read_backup(f, command=command).tags]
    elif source is None:
        raise UsageError("name a journal or ask for the last delete (one of them)")
    else:
        files = (find_backup(source),)
        saved = list(read_backup(files[0]).tags)
    chosen = latest_per_tag(saved)
    if tags:
        wanted = set(tags)
        unknown = sorted(wanted - {t.tag for t in chosen})
        if unknown:
            raise NotFoundError(f"no saved manifest for tag {', '.join(unknown[:3])}"
                                + (" (and more)" if len(unknown) > 3 else "") + "; nothing was restored")
        chosen = [t for t in chosen if t.tag in wanted]
    return files, chosen


async def _check(handle: RepositoryHandle, saved: SavedTag) -> RestoreResult:
    client, path = handle.client, handle.path
    base = partial(RestoreResult, repository=saved.repository, tag=saved.tag, digest=saved.digest,
                   children=len(saved.children))
    head = await client.head_manifest(path, saved.tag)
    if head is not None:
        if head.digest == saved.digest:
            return base(outcome=RestoreOutcome.PRESENT, detail="already on its digest")
        return base(outcome=RestoreOutcome.STALE,
                             detail=f"now points at {head.digest}; left alone")
    missing: list[str] = []
    saved_children = {c.digest for c in saved.children}
    index = parse_manifest(saved.manifest.raw, saved.manifest.media_type, saved.digest)
    for child in index.children:
        if child.digest not in saved_children and await client.head_manifest(path, child.digest) is None:
            missing.append(child.digest)  # neither saved nor in the registry
    for one in (*saved.children, saved.manifest):
        for blob in referenced_blobs(one):
            if blob not in missing and not await client.blob_exists(path, blob):
                missing.append(blob)
    if missing:
        return base(outcome=RestoreOutcome.MISSING, missing=tuple(missing),
                             detail=f"{len(missing)} blob(s) or manifest(s) no longer in the registry "
                                    "(garbage-collected)")
    return base(outcome=RestoreOutcome.WOULD_RESTORE)


async def _put(handle: RepositoryHandle, saved: SavedTag, checked: RestoreResult) -> RestoreResult:
    """Children by digest first (an index may only reference manifests the repository has), then
    the tag; every digest the registry answers must be the saved one."""
    client, path = handle.client, handle.path
    try:
        for child in saved.children:
            got = await client.put_manifest(path, child.digest, child.raw, child.media_type)
            if got != child.digest or sha256_digest(child.raw) != child.digest:
                raise GlcrError(f"child manifest came back as {got}, not {child.digest}")
        got = await client.put_manifest(path, saved.tag, saved.manifest.raw, saved.manifest.media_type)
        if got != saved.digest:
            raise GlcrError(f"the registry stored {got}, not {saved.digest}")
        head = await client.head_manifest(path, saved.tag)
        if head is None or head.digest != saved.digest:
            raise GlcrError(f"after the PUT the tag points at {head.digest if head else 'nothing'}")
    except GlcrError as exc:
        return RestoreResult(checked.repository, checked.tag, checked.digest, RestoreOutcome.FAILED,
                             exc.one_line(), children=checked.children)
    return RestoreResult(checked.repository, checked.tag, checked.digest, RestoreOutcome.RESTORED,
                         children=checked.children)


async def restore_tags(session: Session, source: str | None, *, last: bool = False, tags: Sequence[str] = (),
                       dry_run: bool = False, review: Callable[[RestorePlan], None],
                       confirm: Callable[[str], None], env: Mapping[str, str] | None = None) -> RestoreReport:
    """Put back the tags a glcr delete saved (`source`: a journal or its side file; `last`: the last
    delete command's). `review(plan)` shows what each tag needs; `confirm(question)` raises to stop."""
    from glcr.api.resolve import resolve_repository

    files, saved = load_saved(source, last=last, tags=tags, env=env)
    handles: dict[str, RepositoryHandle] = {}
    for repo_path in sorted({s.repository for s in saved}):
        handles[repo_path] = await open_repository(session, (await resolve_repository(session, repo_path)).repository)
    jobs = session.settings.registry_jobs
    checked = await gather_bounded(jobs, [partial(_check, handles[s.repository], s) for s in saved])
    plan = RestorePlan(files, tuple(checked))
    review(plan)
    if dry_run or plan.todo == 0:
        return RestoreReport(plan, plan.checked)
    confirm(f"Restore {plan.todo} tag(s)?")
    pairs = list(zip(saved, checked))
    done = await gather_bounded(jobs, [
        partial(_put, handles[s.repository], s, c) if c.outcome is RestoreOutcome.WOULD_RESTORE
        else partial(_same, c) for s, c in pairs])
    return RestoreReport(plan, tuple(done))


async def _same(result: RestoreResult) -> RestoreResult:
    return result
