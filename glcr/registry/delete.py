"""Deleting tags without ever removing a sibling tag.

Three ways, chosen by what the registry and the token allow:
- tag delete: GitLab's registry (16.4+) deletes a tag by `DELETE /v2/<name>/manifests/<tag>`;
  tags are independent, so they are deleted concurrently.
- placeholder batch: registries without a tag-only delete (distribution 2.8, most third-party
  ones). GitLab's documented workaround points the tag at a placeholder manifest and deletes the
  placeholder by digest. Run concurrently in one repository it races (two deletes share
  GitLab's one placeholder), so glcr does what GitLab does for a list: all tags of a batch point
  at ONE placeholder, deleted ONCE; and the placeholder is unique to the batch (see
  manifest.dummy_config), so a concurrent GitLab cleanup cannot collide with it.
- afterwards every requested tag must be gone and every other tag must still resolve to the
  digest it had before; anything else is reported, never ignored.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Sequence

from glcr.errors import GlcrError
from glcr.models import MEDIA_DOCKER_MANIFEST, Digest, RegistryKind
from glcr.registry.client import RegistryClient
from glcr.transport.concurrency import gather_bounded
from glcr.registry.manifest import dummy_config, dummy_manifest, is_dummy_manifest, sha256_digest


class Outcome(str, Enum):
    DELETED = "deleted"
    ALREADY_ABSENT = "already_absent"
    STALE = "stale"  # the tag now points at another digest than the plan expected: not touched
    FAILED = "failed"


@dataclass(frozen=True)
class DeleteRequest:
    tag: str
    expected_digest: Digest | None = None  # None: delete whatever the tag points at now


@dataclass(frozen=True)
class DeleteResult:
    tag: str
    outcome: Outcome
    digest: Digest | None = None  # what the tag pointed at before
    detail: str = ""


@dataclass(frozen=True)
class SiblingDamage:
    tag: str
    before: Digest
    after: Digest | None


Progress = Callable[[DeleteResult], None]


async def snapshot(client: RegistryClient, repository: str, jobs: int,
                   tags: Sequence[str] | None = None, *, kind: RegistryKind | None = None) -> dict[str, Digest]:
    """Every tag of the repository (or the given ones) → the digest it resolves to now.

    On GitLab's registry the whole repository comes from its tag list API (1 request per 1,000
    tags); elsewhere it takes one HEAD per tag.
    """
    if tags is None and kind is not None and kind.gitlab_api:
        from glcr.registry.details import gitlab_api_details

        return {d.name: d.digest for d in await gitlab_api_details(client, repository, "") if d.digest}
    names = list(tags) if tags is not None else await client.list_tags(repository)

    async def head(name: str):
        return name, await client.head_manifest(repository, name)

    pairs = await gather_bounded(jobs, [lambda n=n: head(n) for n in names])
    return {name: head.digest for name, head in pairs if head is not None}


class TagDeleter:
    """Deletes tags of one repository; see the module docstring for the strategy."""

    # Placeholder batches above this size are split. Each batch ends in one DELETE by digest,
    # for which distribution walks every tag of the repository (0.5 s at 1,000 tags here), so
    # batches are large; a batch that fails half-way leaves tags on its placeholder, which a
    # re-run recognises and finishes.
    BATCH_SIZE = 5000

    def __init__(self, client: RegistryClient, repository: str, kind: RegistryKind, *, jobs: int) -> None:
        self.client = client
        self.repository = repository
        self.kind = kind
        self.jobs = jobs

    async def _is_placeholder(self, digest: Digest) -> bool:
        try:
            manifest = await self.client.get_manifest(self.repository, digest)
        except GlcrError:
            return False
        return is_dummy_manifest(manifest)

    async def classify(self, requests: Sequence[DeleteRequest], before: dict[str, Digest]
                       ) -> tuple[list[DeleteRequest], list[DeleteResult]]:
        """Split requests into those to delete now and those already settled (absent/stale)."""
        todo, settled = [], []
        for request in requests:
            current = before.get(request.tag)
            if current is None:
                settled.append(DeleteResult(request.tag, Outcome.ALREADY_ABSENT, request.expected_digest))
            elif request.expected_digest and current != request.expected_digest:
                if await self._is_placeholder(current):  # an interrupted earlier delete: finish it
                    todo.append(request)
                else:
                    settled.append(DeleteResult(
                        request.tag, Outcome.STALE, current,
                        f"now points at {current[:19]}, the plan expected {request.expected_digest[:19]}"))
            else:
                todo.append(request)
        return todo, settled

    async def delete(self, requests: Sequence[DeleteRequest], before: dict[str, Digest],
                     progress: Progress | None = None) -> list[DeleteResult]:
        todo, results = await self.classify(requests, before)
        for result in results:
            if progress:
                progress(result)
        if self.kind.tag_delete:
            results += await self._delete_by_tag(todo, before, progress)
        else:
            for start in range(0, len(todo), self.BATCH_SIZE):
                results += await self._delete_batch(todo[start:start + self.BATCH_SIZE], before, progress)
        return results

    async def _delete_by_tag(self, todo: Sequence[DeleteRequest], before: dict[str, Digest],
                             progress: Progress | None) -> list[DeleteResult]:
        async def one(request: DeleteRequest) -> DeleteResult:
            try:
                gone = await self.client.delete_manifest(self.repository, request.tag)
                result = DeleteResult(request.tag, Outcome.DELETED if gone else Outcome.ALREADY_ABSENT,
                                      before.get(request.tag))
            except GlcrError as exc:
                result = DeleteResult(request.tag, Outcome.FAILED, before.get(request.tag), exc.one_line())
            if progress:
                progress(result)
            return result

        return await gather_bounded(self.jobs, [lambda r=r: one(r) for r in todo])

    async def _delete_batch(self, todo: Sequence[DeleteRequest], before: dict[str, Digest],
                            progress: Progress | None) -> list[DeleteResult]:
        if not todo:
            return []
        config = dummy_config(secrets.token_hex(8))
        try:
            await self.client.upload_blob(self.repository, config, sha256_digest(config))
        except GlcrError as exc:
            return self._all_failed(todo, before, f"could not upload the placeholder: {exc.one_line()}", progress)
        raw = dummy_manifest(config)
        placeholder = sha256_digest(raw)

        async def point(request: DeleteRequest) -> tuple[DeleteRequest, str | None]:
            try:
                await self.client.put_manifest(self.repository, request.tag, raw, MEDIA_DOCKER_MANIFEST)
                return request, None
            except GlcrError as exc:
                return request, exc.one_line()

        pointed = await gather_bounded(self.jobs, [lambda r=r: point(r) for r in todo])
        failed = [DeleteResult(r.tag, Outcome.FAILED, before.get(r.tag), f"re-pointing failed: {why}")
                  for r, why in pointed if why]
        moved = [r for r, why in pointed if not why]
        try:
            await self.client.delete_manifest(self.repository, placeholder)
        except GlcrError as exc:
            failed += self._all_failed(moved, before, f"deleting the placeholder failed: {exc.one_line()}", None)
            moved = []
        results = failed + [DeleteResult(r.tag, Outcome.DELETED, before.get(r.tag)) for r in moved]
        if progress:
            for result in results:
                progress(result)
        return results

    @staticmethod
    def _all_failed(todo: Sequence[DeleteRequest], before: dict[str, Digest], why: str,
                    progress: Progress | None) -> list[DeleteResult]:
        results = [DeleteResult(r.tag, Outcome.FAILED, before.get(r.tag), why) for r in todo]
        if progress:
            for result in results:
                progress(result)
        return results

    async def verify(self, results: Sequence[DeleteResult], before: dict[str, Digest]
                     ) -> tuple[list[DeleteResult], list[SiblingDamage]]:
        """Re-check: deleted tags are gone, every other tag resolves to its old digest.

        One tag list shows which tags remain; only those are resolved again (a deleted tag is no
        longer listed), so verifying 1,000 deletions costs 1 request, not 1,000.
        """
        listed = set(await self.client.list_tags(self.repository))
        deleted = {r.tag for r in results if r.outcome is Outcome.DELETED}
        remaining = [t for t in before if t in listed]
        after = await snapshot(self.client, self.repository, self.jobs, remaining)
        checked = []
        for result in results:
            if result.outcome is Outcome.DELETED and result.tag in after:
                checked.append(DeleteResult(result.tag, Outcome.FAILED, result.digest,
                                            f"still present afterwards (now {after[result.tag][:19]})"))
            else:
                checked.append(result)
        damage = [SiblingDamage(tag, digest, after.get(tag)) for tag, digest in before.items()
                  if tag not in deleted and after.get(tag) != digest]
        return checked, damage
