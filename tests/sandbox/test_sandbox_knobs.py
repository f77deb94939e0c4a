"""Injected latency, GitLab-like rate limiting, job tokens, and the seeded image shapes."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx

from glcr.models import MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST, Project
from glcr_sandbox.media_types import MEDIA_DOCKER_LIST
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_artifact, push_image, push_index
from sandbox_helpers import repository_id


def test_rate_limit_answers_429_like_rack_attack(sandbox: Sandbox, api: httpx.Client) -> None:
    control = f"{sandbox.url}/-/sandbox/config"
    httpx.put(control, json={"rate_limit": {"enabled": True, "requests_per_period": 3, "period_seconds": 60}}).raise_for_status()
    try:
        statuses = [api.get("/version").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        throttled = api.get("/version")
        assert throttled.text == "Retry later\n" and throttled.headers["content-type"].startswith("text/plain")
        assert int(throttled.headers["Retry-After"]) >= 1
        assert throttled.headers["RateLimit-Limit"] == "3" and throttled.headers["RateLimit-Remaining"] == "0"
        assert int(throttled.headers["RateLimit-Reset"]) > time.time()
        assert httpx.get(f"{sandbox.url}/-/sandbox/info").status_code == 200  # control is never throttled
    finally:
        httpx.put(control, json={"rate_limit": {"enabled": False}}).raise_for_status()


def test_latency_is_injected(sandbox: Sandbox, api: httpx.Client) -> None:
    sandbox.set_latency(150)
    try:
        start = time.monotonic()
        api.get("/version")
        assert time.monotonic() - start >= 0.15
    finally:
        sandbox.set_latency(0)


def test_job_token_reaches_only_its_project(sandbox: Sandbox, project: Project, registry: RegistryClient) -> None:
    push_image(registry, project.path_with_namespace, "v1")
    job = sandbox.create_job_token("developer", project.id)
    with httpx.Client(base_url=f"{sandbox.url}/api/v4", headers={"JOB-TOKEN": job}) as client:
        assert client.get(f"/projects/{project.id}/registry/repositories").status_code == 200
        assert client.get("/projects/demo%2Fother/registry/repositories").status_code in (401, 404)
        assert client.get("/user").status_code == 401
    granted = httpx.get(
        f"{sandbox.url}/jwt/auth",
        params={"service": "container_registry", "scope": f"repository:{project.path_with_namespace}:pull,push,delete"},
        auth=("gitlab-ci-token", job),
    )
    from glcr_sandbox.keys import decode_unverified

    claims = decode_unverified(granted.json()["token"])
    assert claims["access"][0]["actions"] == ["pull", "push", "delete"] and claims["auth_type"] == "build"


def test_index_children_untagged_and_artifact_subject(
    api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace
    index_digest = push_index(registry, repo, "multi")
    image_digest = push_image(registry, repo, "app", oci=True)
    artifact_digest = push_artifact(registry, repo, image_digest, tag="app.sbom")
    assert registry.tags(repo) == ["app", "app.sbom", "multi"]
    index = registry.manifest(repo, index_digest)
    assert index is not None and index.media_type == MEDIA_OCI_INDEX
    children = json.loads(index.raw)["manifests"]
    assert {c["platform"]["architecture"] for c in children} == {"amd64", "arm64"}
    assert all(registry.manifest(repo, c["digest"]) is not None for c in children)
    artifact = registry.manifest(repo, artifact_digest)
    assert artifact is not None and artifact.media_type == MEDIA_OCI_MANIFEST
    body = json.loads(artifact.raw)
    assert body["artifactType"] and body["subject"]["digest"] == image_digest
    rid = repository_id(api, project)
    # GitLab reads a tag's manifest accepting image manifests only: the registry answers 404
    # MANIFEST_UNKNOWN for an OCI index, so the tag is not `valid?` and the API says so.
    details = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/multi")
    assert (details.status_code, details.json()) == (404, {"message": "404 Tag Not Found"})


def test_a_docker_manifest_list_is_its_amd64_image_to_gitlab(
    api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    """The registry rewrites a Docker manifest list fetched by tag with GitLab's Accept to its
    linux/amd64 image: GitLab shows (and its cleanup dates) that image."""
    repo = project.path_with_namespace
    built = dt.datetime(2024, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)
    push_index(registry, repo, "multi", docker=True, created=built, platforms=(("linux", "arm64"), ("linux", "amd64")))
    listed = registry.manifest(repo, "multi")
    assert listed is not None and listed.media_type == MEDIA_DOCKER_LIST
    amd64 = next(c["digest"] for c in json.loads(listed.raw)["manifests"] if c["platform"]["architecture"] == "amd64")
    rid = repository_id(api, project)
    details = api.get(f"/projects/{project.id}/registry/repositories/{rid}/tags/multi").json()
    assert (details["digest"], details["created_at"], details["total_size"]) == (
        amd64, "2024-03-04T05:06:07.000+00:00", 1024
    )


def test_seed_signed_image_and_index_cosign_style_with_an_sbom_by_subject(
    project: Project, registry: RegistryClient
) -> None:
    from glcr_sandbox.seed import COSIGN_SIGNATURE_LAYER, cosign_tag, seed_signed

    repo = project.path_with_namespace
    image = seed_signed(registry, repo, "v1", sbom=True)
    index = seed_signed(registry, repo, "multi", index=True)
    signature = cosign_tag(image["v1"])
    assert signature == "sha256-" + image["v1"].split(":")[1] + ".sig"
    assert registry.tags(repo) == sorted(["v1", "multi", signature, cosign_tag(index["multi"])])
    body = json.loads(registry.manifest(repo, signature).raw)
    assert body["layers"][0]["mediaType"] == COSIGN_SIGNATURE_LAYER and "subject" not in body
    assert json.loads(registry.manifest(repo, image["@sbom"]).raw)["subject"]["digest"] == image["v1"]
