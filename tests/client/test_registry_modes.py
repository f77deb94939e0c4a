"""The three registries behind a GitLab, told apart the way GitLab tells them apart, over
httpx.MockTransport (the real registries are in tests/e2e): GitLab's registry with its metadata
database, the same registry without it (legacy), and a third-party registry."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import pytest

from glcr.models import MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, RegistryKind
from glcr.registry.client import RegistryClient
from glcr.registry.details import third_party_details
from glcr.transport.factory import HttpOptions, build_async_client


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """`/v2/` headers and the `/gitlab/v1/` answer of each mode, and what was asked."""

    def __init__(self, v2_headers: dict[str, str], v1: int | None) -> None:
        self.v2_headers = v2_headers
        self.v1 = v1  # None: the connection is dropped
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(f"{request.method} {request.url.path}")
        if request.url.path == "/v2/":
            return httpx.Response(200, headers=self.v2_headers)
        if request.url.path == "/gitlab/v1/":
            if self.v1 is None:
                raise httpx.RemoteProtocolError("server disconnected", request=request)
            return httpx.Response(self.v1, json={})
        return httpx.Response(404)


def detect(registry: Registry) -> RegistryKind:
    http = build_async_client(HttpOptions(wire=httpx.MockTransport(registry.handler)), base_url="http://r.test")
    client = RegistryClient(http, "r.test")

    async def go() -> RegistryKind:
        kinds = await asyncio.gather(client.kind("g/p"), client.kind("g/p"))  # probed once
        assert kinds[0] is kinds[1]
        return kinds[0]

    return asyncio.run(go())


GITLAB_FEATURES = {"Gitlab-Container-Registry-Version": "4.32.0-gitlab",
                   "Gitlab-Container-Registry-Features": "tag_delete"}


@pytest.mark.parametrize(
    "headers, v1, expected, mode, probes_v1",
    [
        # GitLab's registry says which in the authenticated /v2/: no second request
        ({**GITLAB_FEATURES, "Gitlab-Container-Registry-Database-Enabled": "true"}, 200,
         RegistryKind(True, True, True), "gitlab", False),
        ({**GITLAB_FEATURES, "Gitlab-Container-Registry-Database-Enabled": "false"}, 404,
         RegistryKind(False, True, True), "gitlab-legacy", False),
        # an older GitLab registry without the header: GitLab's own probe, with the token
        (GITLAB_FEATURES, 200, RegistryKind(True, True, True), "gitlab", True),
        (GITLAB_FEATURES, 401, RegistryKind(True, True, True), "gitlab", True),  # GitLab counts 401 as yes
        (GITLAB_FEATURES, 404, RegistryKind(False, True, True), "gitlab-legacy", True),
        (GITLAB_FEATURES, None, RegistryKind(False, True, True), "gitlab-legacy", True),  # v3.86's dropped line
        # distribution: no GitLab headers, no /gitlab/v1 route
        ({}, 404, RegistryKind(False, False, False), "third-party", True),
    ],
)
def test_the_mode_is_gitlabs_answer_with_a_token(headers, v1, expected, mode, probes_v1):
    registry = Registry(headers, v1)
    kind = detect(registry)
    assert kind == expected and kind.mode == mode
    assert ("GET /gitlab/v1/" in registry.requests) == probes_v1
    assert registry.requests.count("GET /v2/") == 1


def test_each_mode_is_named_for_people():
    assert "with its metadata database" in RegistryKind(True, True, True).label
    assert "without its metadata database" in RegistryKind(False, True, True).label
    assert RegistryKind(False, False).label == "third-party registry"
    assert RegistryKind(True, True, True).dates == "push times"
    assert RegistryKind(False, True, True).dates == "the images' created times"


# --- a Docker manifest list is dated by its linux/amd64 image, as GitLab sees it -------------

def image(created: str, arch: str) -> tuple[bytes, bytes]:
    config = json.dumps({"architecture": arch, "os": "linux", "created": created,
                         "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_DOCKER_MANIFEST,
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                       "digest": sha(arch.encode()), "size": 100}]}).encode()
    return manifest, config


def test_a_docker_manifest_list_gets_its_amd64_images_date_and_an_oci_index_none():
    arm_manifest, arm_config = image("2020-01-01T00:00:00Z", "arm64")
    amd_manifest, amd_config = image("2021-06-01T12:00:00Z", "amd64")
    children = [
        {"mediaType": MEDIA_DOCKER_MANIFEST, "digest": sha(arm_manifest), "size": len(arm_manifest),
         "platform": {"os": "linux", "architecture": "arm64"}},
        {"mediaType": MEDIA_DOCKER_MANIFEST, "digest": sha(amd_manifest), "size": len(amd_manifest),
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]
    docker_list = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_DOCKER_LIST, "manifests": children}).encode()
    oci_index = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_OCI_INDEX, "manifests": children}).encode()
    arm_only = json.dumps({"schemaVersion": 2, "mediaType": MEDIA_DOCKER_LIST, "manifests": children[:1]}).encode()
    by_ref = {"multi": docker_list, "oci": oci_index, "armonly": arm_only,
              sha(arm_manifest): arm_manifest, sha(amd_manifest): amd_manifest}
    blobs = {sha(arm_config): arm_config, sha(amd_config): amd_config}

    def handler(request: httpx.Request) -> httpx.Response:
        ref = request.url.path.rsplit("/", 1)[1]
        if "/manifests/" in request.url.path and ref in by_ref:
            body = by_ref[ref]
            return httpx.Response(200, content=body, headers={"Content-Type": json.loads(body)["mediaType"],
                                                              "Docker-Content-Digest": sha(body)})
        if "/blobs/" in request.url.path and ref in blobs:
            return httpx.Response(200, content=blobs[ref])
        return httpx.Response(404)

    http = build_async_client(HttpOptions(wire=httpx.MockTransport(handler)), base_url="http://r.test")
    client = RegistryClient(http, "r.test")
    details = asyncio.run(third_party_details(client, "g/p", "r.test/g/p", ["multi", "oci", "armonly"], jobs=4))
    dated = {d.name: d.created_at for d in details}
    assert dated["multi"] is not None and dated["multi"].isoformat() == "2021-06-01T12:00:00+00:00"
    assert dated["oci"] is None  # GitLab's registry answers MANIFEST_UNKNOWN for an index it cannot rewrite
    assert dated["armonly"] is None  # no linux/amd64 image to rewrite to
    assert next(d for d in details if d.name == "multi").digest == sha(docker_list)  # the tag's own digest
