"""Byte-exact copies over a scripted registry (httpx.MockTransport under the real RegistryClient):
mounts move no bytes, a refused mount falls back to pull + push, a second run only checks, a tag
someone else pushed is never overwritten, and an OCI layout round trip keeps every digest."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest

from glcr.errors import StaleError
from glcr.migrate.copy import (
    LayoutDest, LayoutSource, OciLayout, RegistryDest, RegistrySource, copy_repository,
)
from glcr.migrate.inventory import node_from_manifest
from glcr.migrate.model import RepoInventory
from glcr.migrate.planner import copy_levels
from glcr.registry.client import CHUNK_SIZE
from glcr.models import MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST
from glcr.registry.client import RegistryClient
from glcr.registry.manifest import parse_manifest
from glcr.transport.factory import HttpOptions, build_async_client


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FakeRegistry:
    """distribution's rules that matter here: a manifest needs its blobs (and an index its
    children) in the same repository; a mount needs the blob in the source repository."""

    def __init__(self, *, mounts: bool = True, referrers_api: bool = False) -> None:
        self.referrers_api = referrers_api
        self.blobs: dict[str, bytes] = {}
        self.links: dict[str, set[str]] = {}  # repository -> blob digests
        self.manifests: dict[str, dict[str, tuple[bytes, str]]] = {}  # repository -> digest -> (raw, type)
        self.tags: dict[str, dict[str, str]] = {}
        self.uploads: dict[str, bytearray] = {}
        self.mounts = mounts
        self.uploaded_bytes = 0
        self.puts: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if "/blobs/uploads/" in path:
            return self._upload(request, path)
        if "/referrers/" in path:
            name, _, subject = path[len("/v2/"):].partition("/referrers/")
            if not self.referrers_api:
                return httpx.Response(404, text="404 page not found")
            found = []
            for digest, (raw, media_type) in self.manifests.get(name, {}).items():
                body = json.loads(raw)
                if (body.get("subject") or {}).get("digest") == subject:
                    found.append({"mediaType": media_type, "digest": digest, "size": len(raw),
                                  "artifactType": body.get("artifactType")})
            return httpx.Response(200, json={"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": found})
        name, _, rest = path[len("/v2/"):].partition("/manifests/")
        if rest:
            return self._manifest(request, name, rest)
        name, _, digest = path[len("/v2/"):].partition("/blobs/")
        if digest:
            if digest not in self.links.get(name, set()):
                return httpx.Response(404)
            return httpx.Response(200, content=b"" if request.method == "HEAD" else self.blobs[digest],
                                  headers={"Content-Length": str(len(self.blobs[digest]))})
        if path.endswith("/tags/list"):
            name = path[len("/v2/"):-len("/tags/list")]
            return httpx.Response(200, json={"name": name, "tags": sorted(self.tags.get(name, {}))})
        return httpx.Response(404)

    def _upload(self, request: httpx.Request, path: str) -> httpx.Response:
        name, _, session = path[len("/v2/"):].partition("/blobs/uploads/")
        if request.method == "POST":
            mount, source = request.url.params.get("mount"), request.url.params.get("from")
            if mount and self.mounts and mount in self.links.get(source or "", set()):
                self.links.setdefault(name, set()).add(mount)
                return httpx.Response(201)
            sid = uuid.uuid4().hex
            self.uploads[sid] = bytearray()
            return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{sid}?_state=x"})
        if request.method == "PATCH":
            self.uploads[session] += request.content
            self.uploaded_bytes += len(request.content)
            return httpx.Response(202, headers={"Location": f"/v2/{name}/blobs/uploads/{session}?_state=y"})
        if request.method == "DELETE":
            self.uploads.pop(session, None)
            return httpx.Response(204)
        data = bytes(self.uploads.pop(session)) + request.content
        self.uploaded_bytes += len(request.content)
        digest = request.url.params["digest"]
        if sha(data) != digest:
            return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})
        self.blobs[digest] = data
        self.links.setdefault(name, set()).add(digest)
        return httpx.Response(201)

    def _manifest(self, request: httpx.Request, name: str, ref: str) -> httpx.Response:
        repo = self.manifests.setdefault(name, {})
        tags = self.tags.setdefault(name, {})
        if request.method in ("GET", "HEAD"):
            digest = ref if ref.startswith("sha256:") else tags.get(ref)
            if digest not in repo:
                return httpx.Response(404)
            raw, media_type = repo[digest]
            return httpx.Response(200, content=b"" if request.method == "HEAD" else raw,
                                  headers={"Docker-Content-Digest": digest, "Content-Type": media_type,
                                           "Content-Length": str(len(raw))})
        raw = request.content
        manifest = parse_manifest(raw, request.headers["Content-Type"])
        needed = [b.digest for b in ((manifest.config,) if manifest.config else ()) + manifest.layers]
        if any(b not in self.links.get(name, set()) for b in needed):
            return httpx.Response(400, json={"errors": [{"code": "MANIFEST_BLOB_UNKNOWN"}]})
        if any(c.digest not in repo for c in manifest.children):
            return httpx.Response(400, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        digest = sha(raw)
        repo[digest] = (raw, request.headers["Content-Type"])
        if not ref.startswith("sha256:"):
            tags[ref] = digest
        self.puts.append(f"{name}:{ref}")
        return httpx.Response(201, headers={"Docker-Content-Digest": digest})

    # --- seeding, straight into the store --------------------------------------------------

    def blob(self, name: str, data: bytes) -> dict:
        self.blobs[sha(data)] = data
        self.links.setdefault(name, set()).add(sha(data))
        return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha(data), "size": len(data)}

    def manifest(self, name: str, body: dict, media_type: str, tag: str | None = None) -> str:
        raw = json.dumps(body, indent=3).encode()  # not canonical JSON: bytes must survive as they are
        self.manifests.setdefault(name, {})[sha(raw)] = (raw, media_type)
        if tag:
            self.tags.setdefault(name, {})[tag] = sha(raw)
        return sha(raw)

    def image(self, name: str, seed: str, tag: str | None = None, subject: str | None = None) -> str:
        config = self.blob(name, json.dumps({"seed": seed}).encode())
        layer = self.blob(name, seed.encode() * 100)
        body = {"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST, "config": config, "layers": [layer]}
        if subject:
            raw, media_type = self.manifests[name][subject]
            body["subject"] = {"mediaType": media_type, "digest": subject, "size": len(raw)}
        return self.manifest(name, body, MEDIA_OCI_MANIFEST, tag)

    def index(self, name: str, tag: str, *children: str) -> str:
        entries = [{"mediaType": self.manifests[name][c][1], "digest": c, "size": len(self.manifests[name][c][0])}
                   for c in children]
        return self.manifest(name, {"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": entries},
                             MEDIA_OCI_INDEX, tag)

    def inventory(self, name: str) -> RepoInventory:
        nodes = {}
        frontier = list(set(self.tags[name].values()))
        while frontier:
            digest = frontier.pop()
            raw, media_type = self.manifests[name][digest]
            node = node_from_manifest(parse_manifest(raw, media_type, digest))
            nodes[digest] = node
            frontier += [c for c in node.children if c not in nodes]
        return RepoInventory("", name, 1, dict(self.tags[name]), nodes)


def seeded() -> tuple[FakeRegistry, RepoInventory]:
    reg = FakeRegistry()
    one = reg.image("g/app", "one", "v1")
    reg.tags["g/app"]["latest"] = one
    amd, arm = reg.image("g/app", "amd"), reg.image("g/app", "arm")
    reg.index("g/app", "multi", amd, arm)
    sbom = reg.image("g/app", "sbom", subject=one)
    reg.index("g/app", one.replace(":", "-"), sbom)  # a referrers-tag index of an untagged artifact
    return reg, reg.inventory("g/app")


def client_for(reg: FakeRegistry) -> RegistryClient:
    http = build_async_client(HttpOptions(wire=httpx.MockTransport(reg.handler)), base_url="http://reg.test")
    return RegistryClient(http, "reg.test")


def run(coro):
    return asyncio.run(coro)


def test_registry_copy_mounts_every_blob_and_keeps_every_digest() -> None:
    reg, repo = seeded()
    client = client_for(reg)
    dest = RegistryDest(client, "g/hold/x")
    found = run(copy_repository(RegistrySource(client, "g/app"), dest, repo, jobs=4))
    assert found == repo.tags
    assert dest.stats.mounted == len(repo.unique_blobs) and dest.stats.uploaded_bytes == 0
    assert reg.uploaded_bytes == 0
    for digest, (raw, _) in reg.manifests["g/app"].items():
        assert reg.manifests["g/hold/x"][digest][0] == raw  # byte for byte

    again = RegistryDest(client, "g/hold/x")  # a resumed copy: no bytes, no tag rewritten
    puts = len(reg.puts)
    run(copy_repository(RegistrySource(client, "g/app"), again, repo, jobs=4))
    assert again.stats.uploaded_bytes == 0 and again.stats.manifests_present == len(repo.tags)
    assert not [p for p in reg.puts[puts:] if not p.split(":", 1)[1].startswith("sha256:")]


def test_a_refused_mount_falls_back_to_pull_and_push(tmp_path: Path) -> None:
    reg, repo = seeded()
    reg.mounts = False
    client = client_for(reg)
    dest = RegistryDest(client, "g/new", workdir=tmp_path)
    assert run(copy_repository(RegistrySource(client, "g/app"), dest, repo, jobs=2)) == repo.tags
    assert dest.stats.mounted == 0 and dest.stats.uploaded == len(repo.unique_blobs)
    assert dest.stats.uploaded_bytes == sum(b.size for b in repo.unique_blobs.values()) == reg.uploaded_bytes
    assert list(tmp_path.iterdir()) == []  # temporary files removed


def test_a_tag_pushed_by_someone_else_is_not_overwritten() -> None:
    reg, repo = seeded()
    other = reg.image("g/new", "someone-else", "v1")
    client = client_for(reg)
    with pytest.raises(StaleError):
        run(copy_repository(RegistrySource(client, "g/app"), RegistryDest(client, "g/new"), repo, jobs=2))
    assert reg.tags["g/new"]["v1"] == other


def test_oci_layout_round_trip(tmp_path: Path) -> None:
    reg, repo = seeded()
    client = client_for(reg)
    layout = OciLayout(tmp_path / "backup")
    layout.init()
    backup = LayoutDest(layout, repo.path)
    assert run(copy_repository(RegistrySource(client, "g/app"), backup, repo, jobs=4)) == repo.tags
    assert backup.stats.downloaded_bytes == sum(b.size for b in repo.unique_blobs.values())
    for blob in layout.blobs.iterdir():
        assert sha(blob.read_bytes()) == "sha256:" + blob.name
    index = json.loads((layout.root / "index.json").read_text())
    names = sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"])
    assert names == sorted(f"g/app:{t}" for t in repo.tags)
    assert json.loads((layout.root / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}

    dest = RegistryDest(client, "other/app")
    assert run(copy_repository(LayoutSource(layout), dest, repo, jobs=4)) == repo.tags
    for digest, (raw, _) in reg.manifests["g/app"].items():
        assert reg.manifests["other/app"][digest][0] == raw
    assert dest.stats.uploaded_bytes == sum(b.size for b in repo.unique_blobs.values())


def test_children_go_before_their_index() -> None:
    reg, repo = seeded()
    client = client_for(reg)
    run(copy_repository(RegistrySource(client, "g/app"), RegistryDest(client, "g/x"), repo, jobs=8))
    order = [p.split(":", 1)[1] for p in reg.puts if p.startswith("g/x:")]
    multi = order.index("multi")
    index = json.loads(reg.manifests["g/app"][reg.tags["g/app"]["multi"]][0])
    for child in index["manifests"]:
        assert order.index(child["digest"]) < multi


def test_large_blobs_go_in_chunks(tmp_path: Path) -> None:
    reg = FakeRegistry()
    data = b"x" * (CHUNK_SIZE + 10)
    file = tmp_path / "blob"
    file.write_bytes(data)
    sent = run(client_for(reg).upload_blob_file("g/app", sha(data), file))
    assert sent == len(data) and reg.blobs[sha(data)] == data


# --- the inventory -------------------------------------------------------------------------------


def read(reg: FakeRegistry, name: str, *, api: bool) -> tuple[RepoInventory, list[str]]:
    from types import SimpleNamespace

    from glcr.migrate.inventory import read_repository

    session = SimpleNamespace(settings=SimpleNamespace(jobs=4), tokens=None)
    problems: list[str] = []
    inv = run(read_repository(session, client_for(reg), name, name="", repository_id=1, status=None,
                              use_referrers_api=api, problems=problems))
    return inv, problems


def test_inventory_follows_children_and_referrer_tags() -> None:
    reg, expected = seeded()
    inv, problems = read(reg, "g/app", api=False)
    assert problems == [] and inv.tags == expected.tags
    assert set(inv.manifests) == set(reg.manifests["g/app"])  # children and the untagged artifact
    sbom = next(n for n in inv.manifests.values() if n.subject)
    assert sbom.subject == inv.tags["v1"]


def test_inventory_finds_untagged_referrers_through_the_api() -> None:
    reg = FakeRegistry(referrers_api=True)
    one = reg.image("g/app", "one", "v1")
    sig = reg.image("g/app", "sig", subject=one)  # untagged, in no index
    sig_of_sig = reg.image("g/app", "sig2", subject=sig)
    without, _ = read(reg, "g/app", api=False)
    assert set(without.manifests) == {one}
    found, problems = read(reg, "g/app", api=True)
    assert set(found.manifests) == {one, sig, sig_of_sig} and problems == []
    position = {d: n for n, level in enumerate(copy_levels(found)) for d in level}
    assert position[one] < position[sig] < position[sig_of_sig]


def test_inventory_reports_a_missing_child() -> None:
    reg = FakeRegistry()
    child = reg.image("g/app", "child")
    reg.index("g/app", "multi", child)
    del reg.manifests["g/app"][child]
    inv, problems = read(reg, "g/app", api=False)
    assert len(problems) == 1 and child[:19] in problems[0]
