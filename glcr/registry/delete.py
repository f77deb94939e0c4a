"""Deleting tags without ever removing a sibling tag, or an image pushed while glcr works.

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

Concurrent pushes. The registry API has no conditional write (no If-Match on a manifest PUT or
DELETE), so no client can make "delete this tag if it still points at D" atomic. What glcr does
instead, and the windows that remain:
- every tag is read again right before it is touched, and left alone as `stale` when it no
  longer points at the digest the plan (or the snapshot the user confirmed) expected. A push that
  lands between that read and the DELETE (tag delete) or the PUT of the placeholder (batch) is
  still lost as a tag (its manifest stays, untagged). How long that window is depends on the route:
- tag delete on GitLab's registry (which has the `/gitlab/v1` API): the tags go in name order, in
  windows of WINDOW_PER_JOB x jobs names (64 at the default 16 jobs). Right before a window, ONE
  request, `/gitlab/v1/repositories/<p>/tags/list/?n=...&last=<the name before the window>`,
  reads the current digest of exactly that slice of names (the registry lists names in order
  from `last`); then the window's DELETEs go concurrently. About 1 + 1/64 requests a tag instead
  of 2 (a HEAD and a DELETE): the DELETE phase takes half as long (bench/bench_bulk_delete.py
  measures both in one run). The price is a longer window of exposure: the next window's read
  goes out while this window's last round of DELETEs is still to be sent (so no slot waits for
  it), hence a tag's DELETE follows the read that cleared it by at most about
  READ_AHEAD + WINDOW_PER_JOB + 1 = 6 round trips (about 120 ms at 20 ms a request), where the
  HEAD before each DELETE left one. Both are far shorter than the seconds to minutes between the
  snapshot a user confirms and the delete, which is the window the re-read exists to close; and
  the protocol allows no window of zero. The bound holds in time too: a read older than
  max(FRESH_MIN_SECONDS, FRESH_ROUND_TRIPS x its own duration) when a DELETE is due (a stall:
  retries, a throttled registry, a suspended laptop) is made again for the window's rest first.
  Names the read does not show (deleted meanwhile, or ordered differently by the registry
  database's collation) are read with a HEAD each, and a read that fails falls back to a HEAD per
  tag: the order decides how many requests a window takes, never an outcome;
- tag delete on other registries (tag delete but no GitLab API): a HEAD right before each
  tag's DELETE, one round trip, the smallest window the protocol allows;
- placeholder batch: after re-pointing, one tag list and a HEAD of every listed tag that is not
  the batch's own show whether anyone else is on the placeholder. Such a tag (copied from a
  re-pointed tag) is first put back on the image it had, from the snapshot; when that image is
  unknown, the placeholder is not deleted and the tags are reported failed. What remains: a tag
  copied onto the placeholder between that check and the DELETE (the duration of the check's
  last requests plus one round trip); the tag list is read again right before the DELETE to keep
  that window to one round trip for new tags. The batch's own tags are not read again before
  the DELETE: the DELETE by digest only removes tags that are on the placeholder, so one of ours
  pushed again meanwhile survives it on its own. One tag list after the DELETE finds such a
  tag (still listed), and a HEAD of it reports it `stale`, kept. That saves one HEAD a deleted
  tag (a third of the route's requests) without widening any window: a tag that holds the
  placeholder holds no image, so the DELETE can only ever remove the placeholder itself.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from pathlib import Path
from typing import Callable, Mapping, Sequence

from glcr.errors import AuthError, GlcrError, PermissionDeniedError, for_status
from glcr.models import MEDIA_DOCKER_MANIFEST, Digest, RegistryKind
from glcr.registry.client import RegistryClient
from glcr.transport.concurrency import cancel_and_wait, gather_bounded
from glcr.transport.pagination import check_same_origin, error_detail, next_link
from glcr.registry.manifest import dummy_config, dummy_manifest, is_dummy_manifest, sha256_digest

# Test hook: GLCR_TEST_PAUSE="<point>[,<point>]=<directory>" makes glcr stop at each named point,
# create <directory>/<point>.ready and wait (up to PAUSE_TIMEOUT) until <directory>/<point>.go
# exists. The end-to-end tests use it to push an image, or kill glcr, at a known moment. Points:
# `snapshot` (the tags were read, nothing changed yet), `repointed` (a batch's tags are on the
# placeholder, which is not yet checked or deleted) and `deleted` (the registry has deleted them;
# the outcomes are not yet journaled).
PAUSE_ENV = "GLCR_TEST_PAUSE"
PAUSE_TIMEOUT = 60.0


async def test_pause(point: str) -> None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec or "=" not in spec:
        return
    points, _, directory = spec.partition("=")
    if point not in points.split(","):
        return
    folder = Path(directory)
    (folder / f"{point}.ready").write_text(str(os.getpid()))
    deadline = time.monotonic() + PAUSE_TIMEOUT
    while not (folder / f"{point}.go").exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


class Outcome(str, Enum):
    DELETED = "deleted"
    ALREADY_ABSENT = "already_absent"
    STALE = "stale"  # the tag points at another digest than expected: not touched
    FAILED = "failed"


@dataclass(frozen=True)
class DeleteRequest:
    tag: str
    expected_digest: Digest | None = None  # None: the digest in the snapshot the caller showed


@dataclass(frozen=True)
class DeleteResult:
    tag: str
    outcome: Outcome
    digest: Digest | None = None  # what the tag pointed at before
    detail: str = ""
    error: GlcrError | None = field(default=None, compare=False, repr=False)  # why it failed


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

    pairs = await gather_bounded(jobs, [partial(head, n) for n in names])
    return {name: head.digest for name, head in pairs if head is not None}


def raise_if_all_refused(results: Sequence[DeleteResult], path: str) -> None:
    """Every delete refused with 403 and none done: a permission problem (exit 6), not a partial
    failure (9). Every failure an authentication failure (a token revoked or expired mid-run),
    whatever was deleted before: exit 5, since a new token, not a retry, is what finishes it.
    A journal, where one is kept, already has each outcome."""
    failed = [r for r in results if r.outcome is Outcome.FAILED]
    if failed and all(isinstance(r.error, AuthError) for r in failed):
        deleted = sum(1 for r in results if r.outcome is Outcome.DELETED)
        raise AuthError(
            f"deleting tags of {path}: the token was refused (401) for {len(failed)} tag(s)"
            + (f" after {deleted} were deleted" if deleted else "; nothing was deleted"),
            hint="check the token with `glcr auth status` (expired or revoked?), then run the same command again")
    if failed and not any(r.outcome is Outcome.DELETED for r in results) and all(
            isinstance(r.error, PermissionDeniedError) for r in failed):
        raise PermissionDeniedError(
            f"deleting tags of {path}: every delete was refused (403), {len(failed)} tag(s); nothing was deleted",
            hint="deleting tags needs the Developer role through GitLab, Maintainer on the registry; "
                 "use such a token and run the same command again")


def is_placeholder_config(config: bytes) -> bool:
    """The config of a tag-delete placeholder: glcr's (`{"config":{},"glcr_delete_batch":…}`) or
    GitLab's fixed `{"config":{}}`. A real image's config has an architecture, os and rootfs."""
    try:
        body = json.loads(config)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("config") == {} and set(body) <= {"config", "glcr_delete_batch"}


class PlaceholderCheck:
    """Which digests are tag-delete placeholders (glcr's or GitLab's), read once per digest.

    A placeholder is recognised by its config blob, not by its shape alone: an image with no
    layers and a small config could be someone's real artifact.
    """

    def __init__(self, client: RegistryClient, repository: str, jobs: int) -> None:
        self.client = client
        self.repository = repository
        self.jobs = jobs
        self._known: dict[Digest, bool] = {}

    async def _check(self, digest: Digest) -> bool:
        try:
            manifest = await self.client.get_manifest(self.repository, digest)
            if not is_dummy_manifest(manifest) or manifest.config is None:
                return False
            return is_placeholder_config(await self.client.get_blob(self.repository, manifest.config.digest))
        except GlcrError:
            return False

    async def many(self, digests: Sequence[Digest]) -> set[Digest]:
        """The placeholders among `digests` (distinct ones are read concurrently)."""
        unknown = sorted({d for d in digests if d not in self._known})
        found = await gather_bounded(self.jobs, [partial(self._check, d) for d in unknown])
        self._known.update(zip(unknown, found))
        return {d for d in digests if self._known.get(d)}

    async def one(self, digest: Digest) -> bool:
        return digest in await self.many([digest])

    def known(self, digest: Digest) -> bool:
        """Already recognised as a placeholder (no request)."""
        return self._known.get(digest, False)

    def remember(self, digest: Digest) -> None:
        self._known[digest] = True


class BatchInterrupted(asyncio.CancelledError):
    """A Ctrl-C (cancellation) that arrived during a placeholder batch, raised once the batch
    in flight is finished; `results` are its outcomes, for the journal."""

    def __init__(self, results: Sequence[DeleteResult]) -> None:
        super().__init__()
        self.results = list(results)


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
        self.placeholders = PlaceholderCheck(client, repository, jobs)
        # What the placeholder route's last check read (tag -> digest), for tags that were on no
        # placeholder: the DELETE by digest cannot have changed them, so `verify` need not read
        # them again (on distribution that is one HEAD per tag of the repository).
        self._unaffected: dict[str, Digest] = {}

    async def classify(self, requests: Sequence[DeleteRequest], before: dict[str, Digest]
                       ) -> tuple[list[DeleteRequest], list[DeleteResult]]:
        """Split requests into those to delete now and those already settled (absent/stale).

        A tag that moved onto a delete placeholder (an interrupted earlier delete) is finished,
        not reported stale; the placeholders are recognised with one read per distinct digest.
        """
        moved = [before[r.tag] for r in requests
                 if r.tag in before and r.expected_digest and before[r.tag] != r.expected_digest]
        placeholders = await self.placeholders.many(moved)
        todo, settled = [], []
        for request in requests:
            current = before.get(request.tag)
            if current is None:
                settled.append(DeleteResult(request.tag, Outcome.ALREADY_ABSENT, request.expected_digest))
            elif request.expected_digest and current != request.expected_digest and current not in placeholders:
                settled.append(DeleteResult(
                    request.tag, Outcome.STALE, current,
                    f"now points at {current[:19]}, the plan expected {request.expected_digest[:19]}"))
            else:
                todo.append(request)
        return todo, settled

    async def recheck(self, request: DeleteRequest, before: dict[str, Digest]) -> tuple[DeleteResult | None, Digest | None]:
        """Read the tag again right before touching it.

        (a settled result, None) when it is gone or moved; (None, digest now) when it may go.
        """
        expected = request.expected_digest or before.get(request.tag)
        try:
            head = await self.client.head_manifest(self.repository, request.tag)
        except GlcrError as exc:
            return DeleteResult(request.tag, Outcome.FAILED, expected, exc.one_line(), exc), None
        if head is None:
            return DeleteResult(request.tag, Outcome.ALREADY_ABSENT, expected), None
        if expected and head.digest != expected and not await self.placeholders.one(head.digest):
            return DeleteResult(request.tag, Outcome.STALE, head.digest,
                                f"pushed again meanwhile: now {head.digest[:19]}, expected {expected[:19]}; kept"), None
        return None, head.digest

    async def delete(self, requests: Sequence[DeleteRequest], before: dict[str, Digest],
                     progress: Progress | None = None) -> list[DeleteResult]:
        todo, results = await self.classify(requests, before)
        for result in results:
            if progress:
                progress(result)
        await test_pause("snapshot")
        if self.kind.tag_delete and self.kind.gitlab_api:
            results += await self._delete_in_windows(todo, before, progress)
        elif self.kind.tag_delete:
            results += await self._delete_by_tag(todo, before, progress)
        else:
            for start in range(0, len(todo), self.BATCH_SIZE):
                results += await self._delete_batch(todo[start:start + self.BATCH_SIZE], before, progress)
        return results

    async def _delete_by_tag(self, todo: Sequence[DeleteRequest], before: dict[str, Digest],
                             progress: Progress | None) -> list[DeleteResult]:
        async def one(request: DeleteRequest) -> DeleteResult:
            result, digest = await self.recheck(request, before)
            if result is None:
                # A push between the HEAD above and this DELETE is lost as a tag: one round trip,
                # since the registry offers no "delete if it still points at D".
                try:
                    gone = await self.client.delete_manifest(self.repository, request.tag)
                    result = DeleteResult(request.tag, Outcome.DELETED if gone else Outcome.ALREADY_ABSENT, digest)
                except GlcrError as exc:
                    result = DeleteResult(request.tag, Outcome.FAILED, digest, exc.one_line(), exc)
            if progress:
                progress(result)
            return result

        results = await gather_bounded(self.jobs, [partial(one, r) for r in todo])
        await test_pause("deleted")
        return results

    # Windows of the tag-delete route on GitLab's registry: WINDOW_PER_JOB x jobs names are read
    # with one tag-list request, then deleted. Larger windows save requests (1 + 1/window per
    # tag) but widen the time between the read and the last DELETE of the window (see the module
    # docstring); four rounds of DELETEs per read keep the reads under 2% of the requests.
    WINDOW_PER_JOB = 4
    # A window's read is trusted for at most max(FRESH_MIN_SECONDS, FRESH_ROUND_TRIPS x the read's
    # own duration): a stall (retries, a throttled registry) re-reads the window's rest before
    # more DELETEs go out, so the window of exposure stays a few round trips even then.
    FRESH_MIN_SECONDS = 0.25
    FRESH_ROUND_TRIPS = 10
    # The next window's read goes out when this many rounds (x jobs) of this window's DELETEs are
    # still to be sent, so it is answered by the time they are: no slot waits for it.
    READ_AHEAD = 1
    WINDOW_MAX_PAGES = 3  # a window spread over more names than this many pages reads the rest by HEAD
    clock = staticmethod(time.monotonic)  # tests stand in a clock to simulate a stall

    async def _read_window(self, names: Sequence[str], after: str | None, span: int) -> dict[str, Digest]:
        """The current digest of each of `names` (sorted) that the registry's tag list shows,
        from one request starting after `after` (more only when the names lie beyond the page).

        Names it does not show are left out: gone, or placed elsewhere by the registry's
        collation (the database's; byte order on GitLab's own installs). The caller reads those
        one by one, so the order only decides how many requests a window takes, never an outcome.
        """
        from glcr.registry.details import GITLAB_TAGS_PAGE

        doing = f"reading tags of {self.repository} before deleting them (GitLab registry API)"
        url = f"/gitlab/v1/repositories/{self.repository}/tags/list/"
        # `span`: the snapshot's names from `after` to the window's last; some slack for tags
        # pushed in between since, so one page usually covers the window.
        first: dict[str, int | str] = {"n": min(GITLAB_TAGS_PAGE, span + max(8, span // 8))}
        if after is not None:
            first["last"] = after
        params: dict[str, int | str] | None = first
        wanted, found = set(names), {}
        for _ in range(self.WINDOW_MAX_PAGES):
            response = await self.client.request("GET", url, doing, params=params)
            if response.status_code == 404:
                break
            if response.status_code != 200:
                raise for_status(response.status_code, doing, error_detail(response))
            items = response.json()
            for item in items:
                if item.get("name") in wanted and item.get("digest"):
                    found[item["name"]] = item["digest"]
            missing = wanted - set(found)
            link = next_link(response)
            if not missing or not items or not link or items[-1].get("name", "") >= max(missing):
                break
            url, params = str(check_same_origin(response.request.url, link)), None
        return found

    async def _delete_in_windows(self, todo: Sequence[DeleteRequest], before: dict[str, Digest],
                                 progress: Progress | None) -> list[DeleteResult]:
        """Tag-only deletes on GitLab's registry, each window of names re-read with one request
        (see the module docstring). Reads and HEADs take a slot like a DELETE: at most `jobs`
        requests in flight."""
        order = sorted(range(len(todo)), key=lambda i: todo[i].tag)
        size = max(1, self.WINDOW_PER_JOB * self.jobs)
        windows = [order[start:start + size] for start in range(0, len(order), size)]
        known = sorted(before)
        results: list[DeleteResult | None] = [None] * len(todo)
        slots = asyncio.Semaphore(max(1, self.jobs))
        inflight: list[asyncio.Task] = []

        def settle(index: int, result: DeleteResult) -> None:
            results[index] = result
            if progress:
                progress(result)

        async def read(indexes: Sequence[int]) -> tuple[dict[str, Digest] | None, float, float]:
            """(tag -> digest now or None when the read failed, when it was sent, how long it took)."""
            names = sorted({todo[i].tag for i in indexes})
            at = bisect.bisect_left(known, names[0])
            after = known[at - 1] if at else None
            span = bisect.bisect_right(known, names[-1]) - at
            async with slots:
                sent = self.clock()
                try:
                    seen = await self._read_window(names, after, max(span, len(names)))
                except GlcrError:
                    seen = None  # this window is re-read tag by tag (HEAD), as on other registries
                return seen, sent, self.clock() - sent

        async def decide(indexes: Sequence[int], seen: dict[str, Digest] | None,
                         sent: float) -> list[tuple[int, Digest, float]]:
            """Settle what is gone or moved; return (index, digest now, when that was read) of
            what may go. `seen`: what the window's read (sent at `sent`) showed."""
            def expected(i: int) -> Digest | None:
                return todo[i].expected_digest or before.get(todo[i].tag)

            async def head(i: int):
                async with slots:
                    at = self.clock()
                    return *await self.recheck(todo[i], before), at

            # Names the read did not show: one HEAD each (gone, or ordered elsewhere).
            unread = [i for i in indexes if seen is None or todo[i].tag not in seen]
            reheads = dict(zip(unread, await asyncio.gather(*(head(i) for i in unread))))
            listed = {i: seen[todo[i].tag] for i in indexes if i not in reheads} if seen is not None else {}
            # A tag on a delete placeholder (an interrupted earlier delete) is finished, not stale.
            placeholders = await self.placeholders.many([d for i, d in listed.items() if d != expected(i)])
            go = []
            for i in indexes:
                if i in reheads:
                    result, digest, at = reheads[i]
                    if result is None:
                        go.append((i, digest, at))
                    else:
                        settle(i, result)
                    continue
                digest, want = listed[i], expected(i)
                if want and digest != want and digest not in placeholders:
                    settle(i, DeleteResult(todo[i].tag, Outcome.STALE, digest,
                                           f"pushed again meanwhile: now {digest[:19]}, expected {want[:19]}; kept"))
                else:
                    go.append((i, digest, sent))
            return go

        async def delete(i: int, digest: Digest) -> None:
            request = todo[i]
            try:
                gone = await self.client.delete_manifest(self.repository, request.tag)
                result = DeleteResult(request.tag, Outcome.DELETED if gone else Outcome.ALREADY_ABSENT, digest)
            except GlcrError as exc:
                result = DeleteResult(request.tag, Outcome.FAILED, digest, exc.one_line(), exc)
            finally:
                slots.release()
            settle(i, result)

        try:
            pending = asyncio.ensure_future(read(windows[0])) if windows else None
            for number, window in enumerate(windows):
                assert pending is not None
                seen, sent, took = await pending
                pending = None
                remaining = list(window)
                while remaining:
                    go = await decide(remaining, seen, sent)
                    remaining = []
                    fresh_for = max(self.FRESH_MIN_SECONDS, self.FRESH_ROUND_TRIPS * took)
                    for position, (i, digest, read_at) in enumerate(go):
                        if pending is None and number + 1 < len(windows) and \
                                len(go) - position <= self.READ_AHEAD * self.jobs:
                            pending = asyncio.ensure_future(read(windows[number + 1]))
                        await slots.acquire()
                        if self.clock() - read_at > fresh_for:
                            # Stalled since the read: read the window's rest again first. This
                            # ends: once the DELETEs in flight are answered, a read is followed
                            # at once by its first DELETE.
                            slots.release()
                            remaining = [j for j, _, _ in go[position:]]
                            seen, sent, took = await read(remaining)
                            break
                        inflight.append(asyncio.ensure_future(delete(i, digest)))
                if pending is None and number + 1 < len(windows):
                    pending = asyncio.ensure_future(read(windows[number + 1]))
            await asyncio.gather(*inflight)
        finally:
            # An error or a cancellation (Ctrl-C) half-way: no request is left running unseen.
            await cancel_and_wait([*inflight, *([pending] if pending else [])])
        await test_pause("deleted")
        assert all(r is not None for r in results)  # every index is settled, dispatched or re-read
        return results  # type: ignore[return-value]

    async def _delete_batch(self, todo: Sequence[DeleteRequest], before: dict[str, Digest],
                            progress: Progress | None) -> list[DeleteResult]:
        if not todo:
            return []
        try:
            results = await self._placeholder_batch(todo, before)
        except BatchInterrupted as stop:
            # The batch in flight was finished: its outcomes are reported (journaled) before
            # the interrupt goes on, so the resume finds them done.
            if progress:
                for result in stop.results:
                    progress(result)
            raise
        if progress:
            for result in results:
                progress(result)
        return results

    async def _placeholder_batch(self, todo: Sequence[DeleteRequest], before: dict[str, Digest]) -> list[DeleteResult]:
        """One placeholder batch. A Ctrl-C (cancellation) while it runs stops re-pointing more
        tags, then finishes the ones already on the placeholder (delete them, put any other tag
        back) before raising BatchInterrupted: no tag is left on the placeholder until a resume."""
        config = dummy_config(secrets.token_hex(8))
        try:
            await self.client.upload_blob(self.repository, config, sha256_digest(config))
        except GlcrError as exc:
            return self._all_failed(todo, before, f"could not upload the placeholder: {exc.one_line()}", exc)
        raw = dummy_manifest(config)
        placeholder = sha256_digest(raw)
        self.placeholders.remember(placeholder)

        # 1. Re-read each tag and re-point it at once.
        early: dict[str, DeleteResult] = {}  # tag -> settled before the placeholder (gone, moved, failed)
        repointed: dict[str, Digest | None] = {}  # tag -> the digest it had, once its PUT succeeded

        async def point(request: DeleteRequest) -> None:
            result, digest = await self.recheck(request, before)
            if result is not None:
                early[request.tag] = result
                return
            try:
                await self.client.put_manifest(self.repository, request.tag, raw, MEDIA_DOCKER_MANIFEST)
            except GlcrError as exc:
                early[request.tag] = DeleteResult(request.tag, Outcome.FAILED, digest,
                                                  f"re-pointing failed: {exc.one_line()}", exc)
                return
            repointed[request.tag] = digest

        interrupted = False
        try:
            await gather_bounded(self.jobs, [partial(point, r) for r in todo])
            await test_pause("repointed")
        except asyncio.CancelledError:
            # Ctrl-C while re-pointing: the tags not re-pointed yet stay as they are. A PUT cut
            # off in flight may still have landed: step 2 sees that tag on the placeholder and
            # step 3 puts it back on its image, as any other tag found there.
            if not repointed:
                raise
            interrupted = True
        settled = [early[r.tag] for r in todo if r.tag in early]
        ours = {r.tag: repointed[r.tag] for r in todo if r.tag in repointed}
        if not ours:
            return settled
        finish = asyncio.ensure_future(self._finish_batch(todo, before, placeholder, settled, ours))
        try:
            results = await asyncio.shield(finish)
        except asyncio.CancelledError:
            # Ctrl-C while tags sit on the placeholder: finish this batch first (a second
            # Ctrl-C stops at once; a re-run then finishes it, as after a kill).
            interrupted = True
            try:
                results = await finish
            except GlcrError:
                results = []
        if interrupted:
            raise BatchInterrupted(results)
        return results

    async def _finish_batch(self, todo: Sequence[DeleteRequest], before: dict[str, Digest], placeholder: Digest,
                            settled: list[DeleteResult], ours: dict[str, Digest | None]) -> list[DeleteResult]:
        """Steps 2 to 4 of a placeholder batch, for the tags re-pointed (`ours`: tag -> the digest it had)."""
        mine = [r for r in todo if r.tag in ours]
        # The image each of our tags had (the plan's digest, else the snapshot's).
        images = {r.tag: r.expected_digest or before.get(r.tag) for r in mine}
        # Older placeholders our tags were on (an interrupted run): deleted too, or they would
        # stay behind as untagged manifests.
        older = {d for d in ours.values() if d and d != placeholder and self.placeholders.known(d)}

        # 2. Who else is on the placeholders now? Our own tags are not read: see step 5.
        try:
            heads = await self._heads(skip=set(ours))
        except GlcrError as exc:
            return settled + self._all_failed(mine, images, f"not deleted: checking the tags failed: {exc.one_line()}",
                                              exc)
        doomed = {placeholder} | older

        # 3. Every other tag on a placeholder goes back to the image it had first.
        single = {d for d in images.values() if d and d not in doomed}
        keep: set[Digest] = set()  # older placeholders that still carry another run's tags
        for digest in sorted(doomed):
            foreign = sorted(t for t, d in heads.items() if d == digest and t not in ours)
            # A tag copied from one of ours after it was re-pointed got our placeholder: when all
            # of ours had one image, that is the image the copy was meant to get.
            guess = next(iter(single)) if digest == placeholder and len(single) == 1 else None
            unknown = await self._restore(foreign, before, doomed, guess)
            if unknown and digest == placeholder:
                why = (f"not deleted: tag {unknown[0]} (not in this delete) also points at the placeholder and "
                       f"the image it had is unknown; point it at its image, then re-run")
                return settled + self._all_failed(mine, images, why)
            if unknown:
                keep.add(digest)

        self._unaffected.update({t: d for t, d in heads.items() if d not in doomed})
        # 4. Delete the placeholder(s): every tag still on one goes with it. Older ones first:
        # none of our tags is on them any more, so a kill between the DELETEs leaves only this
        # batch's placeholder, whose tags a resume finds (an untagged one it could not find).
        for digest in sorted(doomed - keep, key=lambda d: d == placeholder):
            try:
                await self.client.delete_manifest(self.repository, digest)
            except GlcrError as exc:
                if digest != placeholder:
                    continue  # an older placeholder that stays is only clutter; ours are off it
                return settled + self._all_failed(mine, images, f"deleting the placeholder failed: {exc.one_line()}",
                                                  exc)
        await test_pause("deleted")
        # 5. Which of ours survived the DELETE? Only one that was not on a placeholder any more:
        # pushed again since its PUT. One tag list finds them, a HEAD each says where they point.
        try:
            survivors = await self._survivors(sorted(ours))
        except GlcrError:
            # The DELETE went through; `verify` reads the tags again and reports what is left.
            survivors = {}
        results = []
        for tag in ours:
            now = survivors.get(tag)
            if now is None:
                results.append(DeleteResult(tag, Outcome.DELETED, images[tag]))
            elif now in doomed:
                results.append(DeleteResult(tag, Outcome.FAILED, images[tag],
                                            f"still present afterwards (on the placeholder {now[:19]})"))
            else:
                self._unaffected[tag] = now
                results.append(DeleteResult(tag, Outcome.STALE, now,
                                            f"pushed again while being deleted: now {now[:19]}; kept"))
        return settled + results

    async def _heads(self, skip: set[str]) -> dict[str, Digest]:
        """Every tag of the repository but `skip` → its digest now; tags listed since are read too."""
        names = [t for t in await self.client.list_tags(self.repository) if t not in skip]
        heads = await snapshot(self.client, self.repository, self.jobs, names)
        # Read the list again just before the DELETE: a tag created during the HEADs above.
        late = [t for t in await self.client.list_tags(self.repository) if t not in heads and t not in skip]
        if late:
            heads.update(await snapshot(self.client, self.repository, self.jobs, late))
        return heads

    async def _survivors(self, ours: Sequence[str]) -> dict[str, Digest]:
        """Those of `ours` the registry still lists → their digest now."""
        listed = set(await self.client.list_tags(self.repository))
        return await snapshot(self.client, self.repository, self.jobs, [t for t in ours if t in listed])

    async def _restore(self, foreign: Sequence[str], before: dict[str, Digest], doomed: set[Digest],
                       guess: Digest | None) -> list[str]:
        """Point each foreign tag back at its image (from the snapshot, else `guess`); return the
        tags whose image is unknown or could not be put back."""
        unknown = []
        for tag in foreign:
            image = before.get(tag)
            if image in doomed or (image is not None and await self.placeholders.one(image)):
                image = None
            image = image or guess
            if image is None:
                unknown.append(tag)
                continue
            try:
                manifest = await self.client.get_manifest(self.repository, image)
                await self.client.put_manifest(self.repository, tag, manifest.raw, manifest.media_type)
                head = await self.client.head_manifest(self.repository, tag)
            except GlcrError:
                unknown.append(tag)
                continue
            if head is None or head.digest in doomed:
                unknown.append(tag)
        return unknown

    @staticmethod
    def _all_failed(todo: Sequence[DeleteRequest], before: Mapping[str, Digest | None], why: str,
                    error: GlcrError | None = None) -> list[DeleteResult]:
        return [DeleteResult(r.tag, Outcome.FAILED, r.expected_digest or before.get(r.tag), why, error) for r in todo]

    async def verify(self, results: Sequence[DeleteResult], before: dict[str, Digest]
                     ) -> tuple[list[DeleteResult], list[SiblingDamage]]:
        """Re-check: deleted tags are gone, every other tag resolves to its old digest.

        One tag list shows which tags remain; only those are resolved again (a deleted tag is no
        longer listed), so verifying 1,000 deletions costs 1 request, not 1,000. A "deleted" tag
        that is back with another digest was pushed again meanwhile: reported stale, kept.
        """
        listed = set(await self.client.list_tags(self.repository))
        deleted = {r.tag for r in results if r.outcome is Outcome.DELETED}
        touched = {r.tag for r in results}
        remaining = [t for t in before if t in listed]
        remaining += [t for t in deleted if t in listed and t not in before]
        known = {t: self._unaffected[t] for t in remaining if t in self._unaffected and t not in deleted}
        after = {**known, **await snapshot(self.client, self.repository, self.jobs,
                                           [t for t in remaining if t not in known])}
        checked = []
        for result in results:
            now = after.get(result.tag)
            if result.outcome is Outcome.DELETED and now is not None:
                if now != result.digest and not await self.placeholders.one(now):
                    checked.append(DeleteResult(result.tag, Outcome.STALE, now,
                                                f"pushed again meanwhile: now {now[:19]}; kept"))
                else:
                    checked.append(DeleteResult(result.tag, Outcome.FAILED, result.digest,
                                                f"still present afterwards (now {now[:19]})"))
            else:
                checked.append(result)
        damage = [SiblingDamage(tag, digest, after.get(tag)) for tag, digest in before.items()
                  if tag not in touched and after.get(tag) != digest]
        return checked, damage


async def finish_placeholders(client: RegistryClient, repository: str, jobs: int,
                              planned: dict[str, Digest]) -> int:
    """Finish deletes a killed run left half-done: delete every placeholder (glcr's or GitLab's)
    that only planned tags point at. Returns how many tags went with them.

    Used before images are put back under a path (an aborted migration): a planned tag still on
    a placeholder serves an empty image and would block the restore. A placeholder that a tag
    outside the plan points at is left alone, and said.
    """
    from glcr.errors import StaleError

    heads = await snapshot(client, repository, jobs)
    checker = PlaceholderCheck(client, repository, jobs)
    real = set(planned.values())
    found = await checker.many([d for d in set(heads.values()) if d not in real])
    removed = 0
    for digest in sorted(found):
        on_it = sorted(t for t, d in heads.items() if d == digest)
        foreign = [t for t in on_it if t not in planned]
        if foreign:
            raise StaleError(f"{repository}:{foreign[0]} points at a delete placeholder and was not part of the plan; "
                             "nothing was deleted", hint="point it at its image (or delete it), then re-run")
        await client.delete_manifest(repository, digest)
        removed += len(on_it)
    return removed
