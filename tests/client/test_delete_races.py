"""The placeholder route's race handling (registry/delete.py) over a scripted distribution-like
registry (httpx.MockTransport): the cases a real registry cannot be made to hit on demand, such
as a copy of the placeholder under a new name when the image it was meant to get is ambiguous."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Callable

import httpx
import pytest

from glcr.models import RegistryKind
from glcr.registry.client import RegistryClient
from glcr.registry.delete import DeleteRequest, Outcome, TagDeleter, finish_placeholders, snapshot
from glcr.registry.manifest import dummy_config, dummy_manifest, sha256_digest
from glcr.transport.factory import HttpOptions, build_async_client

MEDIA = "application/vnd.docker.distribution.manifest.v2+json"
REPO = "g/p"


def image(seed: str) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MEDIA,
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 300,
                                  "digest": sha256_digest(seed.encode())},
                       "layers": [{"mediaType": "x", "size": 5, "digest": sha256_digest(b"l" + seed.encode())}]}).encode()


class Distribution:
    """Tags, manifests by digest, blobs; DELETE by digest removes the manifest and its tags."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}
        self.manifests: dict[str, bytes] = {}
        self.blobs: dict[str, bytes] = {}
        self.after_put: Callable[["Distribution", str], None] | None = None
        self.puts = 0
        self.calls: Counter[str] = Counter()  # method -> requests, for the request budget

    def push(self, tag: str, raw: bytes) -> str:
        digest = sha256_digest(raw)
        self.manifests[digest] = raw
        self.tags[tag] = digest
        return digest

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[request.method] += 1
        if path == "/v2/":
            return httpx.Response(200)
        if path.startswith("/gitlab/"):
            return httpx.Response(404)
        if path == f"/v2/{REPO}/tags/list":
            return httpx.Response(200, json={"name": REPO, "tags": sorted(self.tags)})
        if path.startswith(f"/v2/{REPO}/manifests/"):
            ref = path.rsplit("/", 1)[1]
            digest = ref if ref.startswith("sha256:") else self.tags.get(ref)
            if request.method in ("GET", "HEAD"):
                if digest not in self.manifests:
                    return httpx.Response(404)
                raw = self.manifests[digest]
                headers = {"Docker-Content-Digest": digest, "Content-Type": MEDIA}
                return httpx.Response(200, headers=headers, content=b"" if request.method == "HEAD" else raw)
            if request.method == "PUT":
                self.push(ref, request.content)
                self.puts += 1
                if self.after_put:
                    self.after_put(self, ref)
                return httpx.Response(201, headers={"Docker-Content-Digest": sha256_digest(request.content)})
            if request.method == "DELETE":
                if not ref.startswith("sha256:"):
                    return httpx.Response(400, json={"errors": [{"code": "UNSUPPORTED"}]})
                if ref not in self.manifests:
                    return httpx.Response(404)
                del self.manifests[ref]
                self.tags = {t: d for t, d in self.tags.items() if d != ref}
                return httpx.Response(202)
        if path == f"/v2/{REPO}/blobs/uploads/" and request.method == "POST":
            return httpx.Response(202, headers={"Location": f"/v2/{REPO}/blobs/uploads/u1?state=x"})
        if path.startswith(f"/v2/{REPO}/blobs/uploads/") and request.method == "PUT":
            self.blobs[request.url.params["digest"]] = request.content
            return httpx.Response(201)
        if path.startswith(f"/v2/{REPO}/blobs/"):
            digest = path.rsplit("/", 1)[1]
            return httpx.Response(200, content=self.blobs[digest]) if digest in self.blobs else httpx.Response(404)
        return httpx.Response(500)


def run_delete(registry: Distribution, tags: list[str] | dict[str, str]):
    """Delete `tags` (a dict: each with the digest the plan expects; else the snapshot's) after a
    snapshot; `registry.calls` counts the delete's requests only."""
    async def go():
        http = build_async_client(HttpOptions(wire=httpx.MockTransport(registry.handler)), base_url="http://reg")
        async with http:
            client = RegistryClient(http, "reg")
            deleter = TagDeleter(client, REPO, RegistryKind(gitlab_api=False, tag_delete=False), jobs=4)
            before = await snapshot(client, REPO, 4)
            registry.calls.clear()
            expected = tags if isinstance(tags, dict) else {t: before[t] for t in tags}
            results = await deleter.delete([DeleteRequest(t, d) for t, d in expected.items()], before)
            return before, {r.tag: r for r in results}

    return asyncio.run(go())


def placeholder_copier(copies: dict[str, str]):
    """After the last re-pointing PUT of a planned tag, copy that tag (now the placeholder) to
    other names, as `skopeo copy` would."""
    def after_put(registry: Distribution, tag: str) -> None:
        if tag in copies.values() and registry.after_put is not None:
            registry.after_put = None
            for name, source in copies.items():
                registry.push(name, registry.manifests[registry.tags[source]])
    return after_put


def test_a_copy_whose_image_is_ambiguous_stops_the_delete_before_it_deletes_anything():
    registry = Distribution()
    a = registry.push("old-a", image("a"))
    b = registry.push("old-b", image("b"))
    registry.after_put = lambda reg, tag: reg.push("copy", reg.manifests[reg.tags[tag]]) if tag == "old-b" else None
    before, results = run_delete(registry, ["old-a", "old-b"])
    assert {r.outcome for r in results.values()} == {Outcome.FAILED}
    assert "copy" in results["old-a"].detail and "unknown" in results["old-a"].detail
    # The placeholder was not deleted: "copy" still resolves (to the placeholder), nothing lost.
    assert "copy" in registry.tags and a in registry.manifests and b in registry.manifests


def test_a_copy_onto_an_existing_tag_goes_back_to_its_image_and_survives():
    registry = Distribution()
    a = registry.push("old-a", image("a"))
    b = registry.push("keep", image("b"))
    registry.after_put = placeholder_copier({"keep": "old-a"})
    _, results = run_delete(registry, ["old-a"])
    assert results["old-a"].outcome is Outcome.DELETED
    assert registry.tags == {"keep": b}
    assert len(registry.manifests) == 2  # the images; no placeholder left
    assert a in registry.manifests


def test_a_tag_pushed_again_after_re_pointing_is_stale_and_kept():
    registry = Distribution()
    registry.push("old-a", image("a"))
    registry.push("old-b", image("a"))
    registry.after_put = lambda reg, tag: reg.push("old-b", image("new")) if tag == "old-b" else None
    _, results = run_delete(registry, ["old-a", "old-b"])
    assert results["old-a"].outcome is Outcome.DELETED
    assert results["old-b"].outcome is Outcome.STALE and "pushed again" in results["old-b"].detail
    assert registry.tags == {"old-b": sha256_digest(image("new"))}


def test_a_batch_reads_each_of_its_tags_once_and_only_the_others_after_re_pointing():
    """The budget of the placeholder route: a HEAD and a PUT for each deleted tag, a HEAD for
    each tag that stays (anyone else on the placeholder?), one DELETE; the batch's own tags are
    not read again after their PUT (a tag list after the DELETE shows any that survived)."""
    registry = Distribution()
    for i in range(20):
        registry.push(f"old-{i:02d}", image(str(i % 3)))
    for i in range(5):
        registry.push(f"keep-{i}", image(f"k{i}"))

    _, results = run_delete(registry, [f"old-{i:02d}" for i in range(20)])
    assert {r.outcome for r in results.values()} == {Outcome.DELETED}
    assert sorted(registry.tags) == [f"keep-{i}" for i in range(5)]
    assert registry.calls["HEAD"] == 20 + 5
    assert registry.calls["PUT"] == 20 + 1  # and the placeholder's config blob
    assert registry.calls["DELETE"] == 1
    assert registry.calls["GET"] <= 4  # tag lists: before the DELETE, again, and after it


def test_a_resume_finishes_the_old_placeholder_and_leaves_none():
    registry = Distribution()
    a = registry.push("old-a", image("a"))
    keep = registry.push("keep", image("k"))
    config = dummy_config("killed-run")
    registry.blobs[sha256_digest(config)] = config
    old_placeholder = registry.push("old-b", dummy_manifest(config))  # left by a killed run
    registry.push("old-c", dummy_manifest(config))

    plan = {"old-a": a, "old-b": sha256_digest(image("b")), "old-c": sha256_digest(image("c"))}
    outcomes = {tag: r.outcome for tag, r in run_delete(registry, plan)[1].items()}
    assert outcomes == {"old-a": Outcome.DELETED, "old-b": Outcome.DELETED, "old-c": Outcome.DELETED}
    assert registry.tags == {"keep": keep}
    assert old_placeholder not in registry.manifests and set(registry.manifests) == {a, keep}


def test_finish_placeholders_refuses_when_a_tag_outside_the_plan_is_on_one():
    from glcr.errors import StaleError

    registry = Distribution()
    config = dummy_config("killed-run")
    registry.blobs[sha256_digest(config)] = config
    registry.push("v1", dummy_manifest(config))
    registry.push("stranger", dummy_manifest(config))

    async def go(planned):
        http = build_async_client(HttpOptions(wire=httpx.MockTransport(registry.handler)), base_url="http://reg")
        async with http:
            return await finish_placeholders(RegistryClient(http, "reg"), REPO, 4, planned)

    with pytest.raises(StaleError, match="stranger"):
        asyncio.run(go({"v1": sha256_digest(image("v1"))}))
    assert set(registry.tags) == {"v1", "stranger"}
    assert asyncio.run(go({"v1": "x", "stranger": "y"})) == 2
    assert registry.tags == {}


@pytest.mark.parametrize("cancel_after_puts", [1, 3])
def test_ctrl_c_while_re_pointing_finishes_the_batch_and_leaves_no_tag_on_the_placeholder(cancel_after_puts):
    """Ctrl-C (a cancellation of the task) after some tags are re-pointed: no more are, the
    re-pointed ones are deleted and journaled, the rest stay on their image, none sits on the
    placeholder; then the cancellation goes on (exit 130 in the CLI)."""
    from glcr.registry.delete import BatchInterrupted

    registry = Distribution()
    old = registry.push("old-0", image("old"))
    names = [f"old-{i}" for i in range(8)]
    for name in names[1:]:
        registry.tags[name] = old
    keep = registry.push("keep", image("keep"))
    reported: list = []
    state: dict = {}

    def after_put(reg: Distribution, tag: str) -> None:
        if reg.puts == cancel_after_puts:
            state["task"].cancel()

    registry.after_put = after_put

    async def go():
        state["task"] = asyncio.current_task()
        http = build_async_client(HttpOptions(wire=httpx.MockTransport(registry.handler)), base_url="http://reg")
        async with http:
            client = RegistryClient(http, "reg")
            deleter = TagDeleter(client, REPO, RegistryKind(gitlab_api=False, tag_delete=False), jobs=1)
            before = await snapshot(client, REPO, 4)
            await deleter.delete([DeleteRequest(t, before[t]) for t in names], before, progress=reported.append)

    with pytest.raises(BatchInterrupted):
        asyncio.run(go())
    deleted = {r.tag for r in reported if r.outcome is Outcome.DELETED}
    assert len(deleted) == cancel_after_puts  # the batch in flight: re-pointed, then finished
    assert all(registry.tags[t] == old for t in names if t not in deleted)  # the rest untouched
    assert not deleted & set(registry.tags)
    assert registry.tags["keep"] == keep
    assert set(registry.manifests) == {old, keep}  # no placeholder left


def _result(tag, outcome, error=None):
    from glcr.registry.delete import DeleteResult

    return DeleteResult(tag, outcome, "sha256:" + "0" * 64, "x" if error else "", error)


@pytest.mark.parametrize("outcomes, expected", [
    # every failure a 401, some deleted before the token went: authentication (5), not partial (9)
    ([("a", Outcome.DELETED, None), ("b", Outcome.FAILED, "auth"), ("c", Outcome.FAILED, "auth")], "AuthError"),
    ([("b", Outcome.FAILED, "auth")], "AuthError"),
    # every failure a 403 and nothing deleted: permission (6)
    ([("b", Outcome.FAILED, "perm"), ("c", Outcome.FAILED, "perm")], "PermissionDeniedError"),
    # mixed causes, or a network failure: a genuinely partial run, left to the caller (9)
    ([("b", Outcome.FAILED, "auth"), ("c", Outcome.FAILED, "net")], None),
    ([("a", Outcome.DELETED, None), ("b", Outcome.FAILED, "perm")], None),
    ([("a", Outcome.DELETED, None)], None),
])
def test_a_run_whose_every_failure_is_auth_is_an_auth_error(outcomes, expected):
    from glcr.errors import AuthError, NetworkError, PermissionDeniedError
    from glcr.registry.delete import raise_if_all_refused

    kinds = {"auth": AuthError("401 Unauthorized"), "perm": PermissionDeniedError("403 Forbidden"),
             "net": NetworkError("timed out")}
    results = [_result(tag, outcome, kinds.get(kind)) for tag, outcome, kind in outcomes]
    if expected is None:
        raise_if_all_refused(results, "g/p")
        return
    with pytest.raises((AuthError, PermissionDeniedError)) as caught:
        raise_if_all_refused(results, "g/p")
    assert type(caught.value).__name__ == expected
    assert "\n" not in caught.value.one_line()
