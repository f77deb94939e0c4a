"""GitLab's own registry (metadata database), over httpx.MockTransport: the sandbox's registry is
distribution 2.8, so these paths are checked here against the documented API shapes."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx

from glcr.models import RegistryKind
from glcr.registry.client import RegistryClient
from glcr.registry.delete import DeleteRequest, Outcome, TagDeleter, snapshot
from glcr.registry.details import gitlab_api_details
from glcr.transport.factory import HttpOptions, build_async_client


def digest_of(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


class GitLabRegistry:
    """Tags in GitLab's /gitlab/v1 list format, pages of `n` by name, and tag-only DELETE."""

    def __init__(self, tags: dict[str, str]) -> None:
        self.tags = dict(tags)
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200, headers={"Gitlab-Container-Registry-Version": "4.9.0-gitlab",
                                                "Gitlab-Container-Registry-Features": "tag_delete,gitlab_v1_api"})
        if path == "/gitlab/v1/":
            return httpx.Response(200, json={})
        if path.endswith("/tags/list/") and path.startswith("/gitlab/v1/repositories/"):
            n = int(request.url.params.get("n", "100"))
            last = request.url.params.get("last", "")
            names = sorted(t for t in self.tags if t > last)
            page = names[:n]
            body = [{"name": t, "digest": self.tags[t], "config_digest": digest_of("cfg" + t),
                     "media_type": "application/vnd.oci.image.manifest.v1+json", "size_bytes": 4096,
                     "created_at": "2026-01-02T03:04:05.678+00:00",
                     **({"updated_at": "2026-02-03T04:05:06.789+00:00"} if t.startswith("moved") else {})}
                    for t in page]
            headers = {}
            if len(names) > n:
                headers["Link"] = f'<http://registry.test{path}?n={n}&last={page[-1]}>; rel="next"'
            return httpx.Response(200, json=body, headers=headers)
        if request.method == "HEAD" and "/manifests/" in path:
            tag = path.rsplit("/", 1)[1]
            if tag in self.tags:
                return httpx.Response(200, headers={"Docker-Content-Digest": self.tags[tag],
                                                    "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
            return httpx.Response(404)
        if request.method == "DELETE" and "/manifests/" in path:
            tag = path.rsplit("/", 1)[1]
            return httpx.Response(202) if self.tags.pop(tag, None) else httpx.Response(404)
        if path.endswith("/tags/list"):
            return httpx.Response(200, json={"name": "g/p", "tags": sorted(self.tags)})
        return httpx.Response(404)


def client_for(registry: GitLabRegistry) -> RegistryClient:
    http = build_async_client(HttpOptions(wire=httpx.MockTransport(registry.handler)), base_url="http://registry.test")
    return RegistryClient(http, "registry.test")


def test_tag_details_come_in_pages_from_gitlabs_tag_list():
    tags = {f"t{i:04d}": digest_of(f"m{i}") for i in range(2500)}
    tags["moved-1"] = digest_of("moved")
    registry = GitLabRegistry(tags)
    details = asyncio.run(gitlab_api_details(client_for(registry), "g/p", "registry.test/g/p"))
    assert len(details) == 2501
    assert sum(1 for r in registry.requests if r.startswith("GET /gitlab/v1/repositories/")) == 3  # 1,000 a page
    first = next(d for d in details if d.name == "t0000")
    assert (first.digest, first.total_size, first.path) == (tags["t0000"], 4096, "g/p:t0000")
    assert first.short_revision == first.revision[:9] and len(first.revision) == 64
    moved = next(d for d in details if d.name == "moved-1")
    assert moved.pushed_at.month == 2 and moved.created_at.month == 1  # updated_at wins for cleanup


def test_kind_detection_and_tag_only_delete_keeps_siblings():
    shared = digest_of("shared")
    registry = GitLabRegistry({"v1": shared, "stable": shared, "v2": digest_of("v2")})
    client = client_for(registry)

    async def go():
        kind = await client.kind("g/p")
        before = await snapshot(client, "g/p", 4, kind=kind)
        deleter = TagDeleter(client, "g/p", kind, jobs=4)
        results = await deleter.delete([DeleteRequest("v1", shared)], before)
        return kind, before, await deleter.verify(results, before)

    kind, before, (results, damage) = asyncio.run(go())
    assert kind == RegistryKind(gitlab_api=True, tag_delete=True, gitlab_vendor=True)
    assert before == {"v1": shared, "stable": shared, "v2": digest_of("v2")}
    assert [(r.tag, r.outcome) for r in results] == [("v1", Outcome.DELETED)]
    assert damage == []
    assert sorted(registry.tags) == ["stable", "v2"]
    # a tag delete by name, never a DELETE by digest (which would take `stable` too)
    assert "DELETE /v2/g/p/manifests/v1" in registry.requests
    assert not any(r.startswith("DELETE") and "sha256:" in r for r in registry.requests)
    assert not any(r.startswith("PUT") for r in registry.requests)  # no placeholder on this registry
