"""The tag-delete route on GitLab's registry (registry/delete.py, _delete_in_windows): each window
of names is re-read with one `/gitlab/v1` tag-list request right before its DELETEs, so a push
that lands before that read is kept and reported stale, and a delete costs about 1 + 1/window
requests instead of a HEAD and a DELETE. Over the scripted GitLab registry of
gitlab_registry_fake.py (httpx.MockTransport), whose tag list pages by name from `last`."""

from __future__ import annotations

import asyncio
import math
from typing import Callable

import httpx
import pytest

from glcr.credentials import Credentials, Secret, TokenKind
from glcr.models import RegistryKind
from glcr.registry.delete import DeleteRequest, Outcome, TagDeleter, snapshot
from glcr.session import Session
from glcr.settings import Settings
from glcr.transport.backoff import RetryPolicy
from glcr.transport.factory import HttpOptions

from gitlab_registry_fake import GITLAB, REGISTRY_HOST, TOKEN, FakeGitLab, digest_of

PATH = "group/app/api"
GITLAB_KIND = RegistryKind(gitlab_api=True, tag_delete=True)
Hook = Callable[[FakeGitLab, httpx.Request], None]


def world_with(n: int, keep: int = 10) -> FakeGitLab:
    names = {f"t{i:04d}": digest_of(f"m{i}") for i in range(n)}
    names.update({f"z-keep{i}": digest_of(f"k{i}") for i in range(keep)})
    return FakeGitLab(repos={PATH: names})


def run_delete(world: FakeGitLab, tags: list[str], *, jobs: int, kind: RegistryKind = GITLAB_KIND,
               hook: Hook | None = None, setup: Callable[[TagDeleter], None] | None = None):
    """Snapshot, then delete `tags` with the plan's digests; returns ({tag: result}, the registry
    requests the delete itself sent). `hook` runs before the registry answers each request."""
    def handler(request: httpx.Request) -> httpx.Response:
        if hook and request.url.host == REGISTRY_HOST:
            hook(world, request)
        return world.handler(request)

    creds = Credentials(GITLAB, Secret(TOKEN), TokenKind.PRIVATE, "env GITLAB_TOKEN")
    http = HttpOptions(wire=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=1))

    async def go():
        async with Session(creds, Settings(registry_jobs=jobs), http=http) as session:
            client = session.registry(REGISTRY_HOST)
            before = await snapshot(client, PATH, jobs, kind=GITLAB_KIND)
            deleter = TagDeleter(client, PATH, kind, jobs=jobs)
            if setup:
                setup(deleter)
            start = len(world.registry_calls)
            results = await deleter.delete([DeleteRequest(t, before[t]) for t in tags], before)
            return {r.tag: r for r in results}, world.registry_calls[start:]

    return asyncio.run(go())


def reads(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith(f"GET /gitlab/v1/repositories/{PATH}/tags/list/")]


def pusher(when: str, tag: str, digest: str) -> Hook:
    """Push `digest` to `tag` when the registry receives the request `when` (once)."""
    done = []

    def hook(world: FakeGitLab, request: httpx.Request) -> None:
        if not done and f"{request.method} {request.url.path}" == when:
            done.append(1)
            world.repos[PATH][tag] = digest
    return hook


def test_a_push_before_its_windows_read_is_kept_stale_and_requests_are_one_per_tag_plus_one_per_window(
        monkeypatch: pytest.MonkeyPatch):
    # Request counts, not stalls: a frozen clock, so a loaded machine's slow MockTransport never
    # makes a window's read look stale (the stall test below moves its own clock).
    monkeypatch.setattr(TagDeleter, "clock", staticmethod(lambda: 0.0))
    jobs, n = 4, 300
    window = TagDeleter.WINDOW_PER_JOB * jobs
    world = world_with(n)
    planned = [f"t{i:04d}" for i in range(n)]
    new = digest_of("pushed-meanwhile")
    # t0100 is in the 7th window; the push lands while the first window deletes, before that read.
    results, calls = run_delete(world, planned, jobs=jobs,
                                hook=pusher(f"DELETE /v2/{PATH}/manifests/t0000", "t0100", new))

    assert results["t0100"].outcome is Outcome.STALE and new[:19] in results["t0100"].detail
    assert world.repos[PATH]["t0100"] == new
    assert f"DELETE /v2/{PATH}/manifests/t0100" not in calls
    assert sum(r.outcome is Outcome.DELETED for r in results.values()) == n - 1
    assert sorted(world.repos[PATH]) == ["t0100"] + [f"z-keep{i}" for i in range(10)]

    deletes = [c for c in calls if c.startswith("DELETE ")]
    assert len(deletes) == n - 1
    assert not [c for c in calls if c.startswith("HEAD ")]  # no per-tag re-read
    assert len(reads(calls)) == math.ceil(n / window)
    # each window's read starts right after the name before it: t0015 for the window from t0016
    assert any("last=t0015" in c for c in reads(calls)), reads(calls)
    per_tag = len(calls) / n
    assert per_tag <= 1 + 1 / window + 0.01, per_tag  # not 2 (a HEAD and a DELETE each)


def test_a_registry_without_the_gitlab_api_still_re_reads_every_tag_with_a_head():
    world = world_with(40)
    planned = [f"t{i:04d}" for i in range(40)]
    new = digest_of("pushed-meanwhile")
    kind = RegistryKind(gitlab_api=False, tag_delete=True)
    results, calls = run_delete(world, planned, jobs=4, kind=kind,
                                hook=pusher(f"DELETE /v2/{PATH}/manifests/t0000", "t0030", new))
    assert results["t0030"].outcome is Outcome.STALE and world.repos[PATH]["t0030"] == new
    assert len([c for c in calls if c.startswith("HEAD ")]) == 40 and not reads(calls)


def test_a_tag_the_read_does_not_show_is_resolved_by_a_head_deleted_by_someone_else_is_absent():
    world = world_with(40)
    planned = [f"t{i:04d}" for i in range(40)]

    def someone_deletes(world: FakeGitLab, request: httpx.Request) -> None:
        if request.method == "DELETE" and request.url.path.endswith("/t0000"):
            world.repos[PATH].pop("t0020", None)

    results, calls = run_delete(world, planned, jobs=4, hook=someone_deletes)
    assert results["t0020"].outcome is Outcome.ALREADY_ABSENT
    assert [c for c in calls if c.startswith("HEAD ")] == [f"HEAD /v2/{PATH}/manifests/t0020"]
    assert sum(r.outcome is Outcome.DELETED for r in results.values()) == 39


def test_a_failing_window_read_falls_back_to_a_head_per_tag_and_still_keeps_a_push():
    world = world_with(20)
    planned = [f"t{i:04d}" for i in range(20)]
    new = digest_of("pushed-meanwhile")
    refuse = [True]

    def hook(world: FakeGitLab, request: httpx.Request) -> None:
        if request.method == "DELETE" and request.url.path.endswith("/t0000"):
            world.repos[PATH]["t0019"] = new

    original = world._gitlab_tags

    def flaky(request: httpx.Request, name: str) -> httpx.Response:
        # the snapshot's read (no `last`, n=1000) works; every window's read answers 503
        if refuse[0] and request.url.params.get("n") != "1000":
            return httpx.Response(503, json={"errors": [{"code": "UNAVAILABLE"}]})
        return original(request, name)

    world._gitlab_tags = flaky  # type: ignore[method-assign]
    results, calls = run_delete(world, planned, jobs=4, hook=hook)
    assert results["t0019"].outcome is Outcome.STALE and world.repos[PATH]["t0019"] == new
    assert sum(r.outcome is Outcome.DELETED for r in results.values()) == 19
    assert len([c for c in calls if c.startswith("HEAD ")]) == 20


def test_a_stall_after_a_windows_read_re_reads_the_rest_of_the_window_before_deleting_it():
    """The read is trusted for a few round trips only: a push during a stall (here: the first
    DELETE of the window takes "10 s" and the tag is pushed meanwhile) is caught by a re-read."""
    world = world_with(8)
    planned = [f"t{i:04d}" for i in range(8)]
    new = digest_of("pushed-meanwhile")
    now = [1000.0]

    def stall(world: FakeGitLab, request: httpx.Request) -> None:
        if request.method == "DELETE" and request.url.path.endswith("/t0000"):
            now[0] += 10
            world.repos[PATH]["t0005"] = new

    def setup(deleter: TagDeleter) -> None:
        deleter.clock = lambda: now[0]  # type: ignore[method-assign]

    results, calls = run_delete(world, planned, jobs=2, hook=stall, setup=setup)
    assert results["t0005"].outcome is Outcome.STALE and world.repos[PATH]["t0005"] == new
    assert f"DELETE /v2/{PATH}/manifests/t0005" not in calls
    window_reads = reads(calls)
    assert len(window_reads) == 2 and "last=t0001" in window_reads[1], window_reads  # the rest, after t0001
    assert sum(r.outcome is Outcome.DELETED for r in results.values()) == 7


def test_a_tag_left_on_a_delete_placeholder_is_finished_not_stale():
    from glcr.registry.manifest import dummy_config, dummy_manifest, sha256_digest

    world = world_with(4)
    config = dummy_config("killed-run")
    placeholder = sha256_digest(dummy_manifest(config))
    planned = [f"t{i:04d}" for i in range(4)]

    # The fake serves no manifest bodies, so the placeholder is recognised through a stand-in.
    async def many(digests):
        return {d for d in digests if d == placeholder}

    def setup(deleter: TagDeleter) -> None:
        world.repos[PATH]["t0002"] = placeholder  # an earlier run re-pointed it and was killed
        deleter.placeholders.many = many  # type: ignore[method-assign]

    results, _ = run_delete(world, planned, jobs=2, setup=setup)
    assert {t: r.outcome for t, r in results.items()} == {t: Outcome.DELETED for t in planned}


def test_reads_overlap_the_previous_windows_deletes_and_never_exceed_jobs_in_flight():
    """The next window's read goes out beside the last round of DELETEs and is answered while
    they still run, so no slot waits for it; reads, HEADs and DELETEs together stay within `jobs`."""
    jobs, n = 4, 64
    world = world_with(n)
    state = {"now": 0, "most": 0, "overlapped": 0, "reads": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        read = "/tags/list/" in request.url.path and request.url.params.get("n") != "1000"  # not the snapshot
        counted = read or (request.url.host == REGISTRY_HOST and "/manifests/" in request.url.path)
        state["now"] += counted
        state["most"] = max(state["most"], state["now"])
        try:
            await asyncio.sleep(0.002)  # the same for every request: rounds in lockstep
            return world.handler(request)
        finally:
            state["now"] -= counted
            if read:
                state["reads"] += 1
                state["overlapped"] += state["now"] > 0

    creds = Credentials(GITLAB, Secret(TOKEN), TokenKind.PRIVATE, "env GITLAB_TOKEN")
    http = HttpOptions(wire=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=1))

    async def go():
        async with Session(creds, Settings(registry_jobs=jobs), http=http) as session:
            client = session.registry(REGISTRY_HOST)
            before = await snapshot(client, PATH, jobs, kind=GITLAB_KIND)
            deleter = TagDeleter(client, PATH, GITLAB_KIND, jobs=jobs)
            return await deleter.delete([DeleteRequest(t, before[t]) for t in sorted(before)[:n]], before)

    results = asyncio.run(go())
    assert all(r.outcome is Outcome.DELETED for r in results) and len(results) == n
    windows = n // (TagDeleter.WINDOW_PER_JOB * jobs)
    assert state["reads"] == windows
    assert state["overlapped"] == windows - 1  # every read but the first answered beside DELETEs
    assert state["most"] == jobs
