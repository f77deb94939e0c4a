"""Push images straight through the registry HTTP API (no docker): for tests, benchmarks, the demo.

Layers are random bytes (the registry never looks inside), configs carry a chosen `created`
time (what GitLab's third-party cleanup sorts by), manifests are Docker v2 or OCI. Content is
derived from a seed string, so pushing the same thing twice gives the same digests.

    with sandbox.registry_client() as reg:
        digest = push_image(reg, "demo/app", "v1", created=datetime(2024, 1, 1, tzinfo=UTC))
        tag_existing(reg, "demo/app", "stable", digest)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable
from urllib.parse import quote

import httpx

from glcr_sandbox.media_types import (
    MEDIA_DOCKER_CONFIG,
    MEDIA_DOCKER_LIST,
    MEDIA_DOCKER_MANIFEST,
    MEDIA_OCI_CONFIG,
    MEDIA_OCI_INDEX,
    MEDIA_OCI_MANIFEST,
)
from glcr_sandbox.registry_client import RegistryClient, RegistryError, sha256_digest

MEDIA_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MEDIA_OCI_EMPTY = "application/vnd.oci.empty.v1+json"  # OCI 1.1 empty descriptor: the 2-byte "{}"
SBOM_ARTIFACT_TYPE = "application/spdx+json"
PUSH_CONCURRENCY = 8  # distribution on loopback keeps up with 8 writers; more just queues
UTC = dt.timezone.utc


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256("|".join(map(str, parts)).encode()).digest())


def _json(obj: Any) -> bytes:
    return json.dumps(obj, indent=3).encode()  # the indentation docker itself uses


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "size": len(data), "digest": sha256_digest(data), **extra}


def image_config(created: dt.datetime | None, diff_ids: list[str], *, arch: str = "amd64", os: str = "linux") -> bytes:
    config: dict[str, Any] = {
        "architecture": arch,
        "os": os,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/app"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    if created is not None:  # an image without `created` has no date in GitLab (kept by older_than)
        config["created"] = _rfc3339(created)
        config["history"] = [{"created": _rfc3339(created), "created_by": "glcr sandbox seed"}]
    return _json(config)


def build_image(
    registry: RegistryClient,
    repo: str,
    *,
    created: dt.datetime | None,
    layers: int = 1,
    size: int = 1024,
    oci: bool = False,
    arch: str = "amd64",
    seed: str = "",
) -> tuple[bytes, str]:
    """Upload layers and config; return the manifest bytes and media type (not pushed yet)."""
    rng = _rng(repo, seed, created, layers, size, arch)
    layer_descs, diff_ids = [], []
    for _ in range(layers):
        blob = rng.randbytes(size)
        registry.upload_blob(repo, blob, skip_existing=True)
        layer_descs.append(_descriptor(MEDIA_OCI_LAYER if oci else MEDIA_DOCKER_LAYER, blob))
        diff_ids.append(sha256_digest(blob))  # not a real diff id; nothing checks it
    config = image_config(created, diff_ids, arch=arch)
    registry.upload_blob(repo, config, skip_existing=True)
    media_type = MEDIA_OCI_MANIFEST if oci else MEDIA_DOCKER_MANIFEST
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": _descriptor(MEDIA_OCI_CONFIG if oci else MEDIA_DOCKER_CONFIG, config),
        "layers": layer_descs,
    }
    return _json(manifest), media_type


def push_image(
    registry: RegistryClient,
    repo: str,
    tag: str | None,
    *,
    created: dt.datetime | None = None,
    layers: int = 1,
    size: int = 1024,
    oci: bool = False,
    arch: str = "amd64",
    seed: str = "",
    undated: bool = False,
) -> str:
    """Push one image; tagged when `tag` is given, else by digest only. Returns the digest.

    `created` defaults to now; `undated=True` leaves it out of the config (GitLab: no date)."""
    created = None if undated else (created or dt.datetime.now(UTC))
    raw, media_type = build_image(
        registry, repo, created=created, layers=layers, size=size, oci=oci, arch=arch, seed=seed
    )
    return registry.put_manifest(repo, tag or sha256_digest(raw), raw, media_type)


def tag_existing(registry: RegistryClient, repo: str, tag: str, digest: str) -> str:
    """Point `tag` at an existing manifest (the same bytes, so the same digest)."""
    return tag_existing_many(registry, repo, [tag], digest)


def tag_existing_many(registry: RegistryClient, repo: str, tags: Iterable[str], digest: str) -> str:
    """Point every one of `tags` at an existing manifest: one GET, then a PUT a tag (seeding
    hundreds of tags: distribution 2.8 spends milliseconds of CPU on every request, rebuilding
    its URL router each time, so a GET per tag doubled its work). Returns the digest."""
    fetched = registry.manifest(repo, digest)
    if fetched is None:
        raise LookupError(f"{repo}@{digest} does not exist")
    for tag in tags:
        registry.put_manifest(repo, tag, fetched.raw, fetched.media_type)
    return fetched.digest


def redate_tag(registry: RegistryClient, repo: str, tag: str, created: dt.datetime) -> str:
    """Point `tag` at a copy of its image whose config says `created` (RFC 3339, UTC); returns
    the new digest.

    On registries without push times (GitLab's without its database, distribution) the image
    config's `created` is all GitLab dates a tag by, so this is how a tag gets older there.
    The copy has the same layers and a new config, so a new digest: other tags on the old
    digest keep the old image and date. A Docker manifest list or OCI index is copied with
    every child re-dated (GitLab dates a Docker list by its linux/amd64 child; an OCI index it
    cannot date at all)."""
    fetched = registry.manifest(repo, tag)
    if fetched is None:
        raise LookupError(f"{repo}:{tag} does not exist")
    raw, media_type = _redated(registry, repo, fetched.raw, fetched.media_type, created)
    return registry.put_manifest(repo, tag, raw, media_type)


def _redated(registry: RegistryClient, repo: str, raw: bytes, media_type: str, created: dt.datetime) -> tuple[bytes, str]:
    manifest = json.loads(raw)
    media_type = media_type or manifest.get("mediaType", "")
    if "manifests" in manifest:  # a list or index: re-date each child, push it by digest
        for entry in manifest["manifests"]:
            child = registry.manifest(repo, entry["digest"])
            if child is None:
                raise LookupError(f"{repo}@{entry['digest']} does not exist")
            child_raw, child_type = _redated(registry, repo, child.raw, child.media_type, created)
            registry.put_manifest(repo, sha256_digest(child_raw), child_raw, child_type)
            entry.update(size=len(child_raw), digest=sha256_digest(child_raw))
        return _json(manifest), media_type
    descriptor = manifest.get("config") or {}
    blob = registry.blob(repo, descriptor["digest"]) if descriptor.get("digest") else None
    config = json.loads(blob) if blob else None
    if not isinstance(config, dict) or "rootfs" not in config:
        raise ValueError(f"{repo}: not an image (its config has no rootfs), so it has no date to change")
    config["created"] = _rfc3339(created)
    new_config = _json(config)
    registry.upload_blob(repo, new_config, skip_existing=True)
    manifest["config"] = {**descriptor, "size": len(new_config), "digest": sha256_digest(new_config)}
    return _json(manifest), media_type


def push_index(
    registry: RegistryClient,
    repo: str,
    tag: str,
    *,
    created: dt.datetime | None = None,
    platforms: Iterable[tuple[str, str]] = (("linux", "amd64"), ("linux", "arm64")),
    docker: bool = False,
    size: int = 1024,
) -> str:
    """A multi-arch index whose child manifests are pushed by digest only (untagged)."""
    created = created or dt.datetime.now(UTC)
    entries = []
    for os_name, arch in platforms:
        raw, media_type = build_image(
            registry, repo, created=created, oci=not docker, arch=arch, size=size, seed=f"{tag}/{arch}"
        )
        registry.put_manifest(repo, sha256_digest(raw), raw, media_type)
        entries.append(_descriptor(media_type, raw, platform={"architecture": arch, "os": os_name}))
    media_type = MEDIA_DOCKER_LIST if docker else MEDIA_OCI_INDEX
    index = _json({"schemaVersion": 2, "mediaType": media_type, "manifests": entries})
    return registry.put_manifest(repo, tag, index, media_type)


def push_artifact(
    registry: RegistryClient,
    repo: str,
    subject_digest: str,
    *,
    tag: str | None = None,
    artifact_type: str = SBOM_ARTIFACT_TYPE,
    payload: bytes | None = None,
) -> str:
    """An OCI 1.1 artifact (artifactType, empty config, `subject` = the image it describes).

    A registry that predates OCI 1.1 (GitLab's v3.86 refuses the empty config's media type)
    gets what ORAS falls back to there: the same manifest with a `{}` image config."""
    subject = registry.manifest(repo, subject_digest)
    if subject is None:
        raise LookupError(f"{repo}@{subject_digest} does not exist")
    if payload is None:
        payload = _json({"spdxVersion": "SPDX-2.3", "name": repo, "subject": subject_digest})
    empty = b"{}"
    registry.upload_blob(repo, empty, skip_existing=True)
    registry.upload_blob(repo, payload, skip_existing=True)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": _descriptor(MEDIA_OCI_EMPTY, empty),
        "layers": [_descriptor(artifact_type, payload)],
        "subject": _descriptor(subject.media_type, subject.raw),
        "annotations": {"org.opencontainers.image.created": _rfc3339(dt.datetime.now(UTC))},
    }
    raw = _json(manifest)
    try:
        return registry.put_manifest(repo, tag or sha256_digest(raw), raw, MEDIA_OCI_MANIFEST)
    except RegistryError as exc:
        if exc.status != 400 or MEDIA_OCI_EMPTY not in str(exc):
            raise
    manifest["config"] = _descriptor(MEDIA_OCI_CONFIG, empty)
    raw = _json(manifest)
    return registry.put_manifest(repo, tag or sha256_digest(raw), raw, MEDIA_OCI_MANIFEST)


COSIGN_SIGNATURE_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"


def cosign_tag(subject_digest: str, suffix: str = "sig") -> str:
    """cosign's tag for what it attaches to an image: `sha256-<hex>.sig` (`.att`, `.sbom`)."""
    return subject_digest.replace(":", "-") + "." + suffix


def push_signature(registry: RegistryClient, repo: str, subject_digest: str, *, suffix: str = "sig",
                   created: dt.datetime | None = None) -> str:
    """A cosign-style signature: an OCI image manifest tagged `sha256-<hex>.sig` whose one layer
    is the simple-signing payload naming the subject, signed in an annotation. It has no `subject`
    field: cosign ties it to its image by the tag name alone. cosign's config has no `created`
    (GitLab's third-party cleanup then never finds it old); `created` adds one, for tests of a
    policy that does."""
    payload = _json({"critical": {"identity": {"docker-reference": repo}, "image": {"docker-manifest-digest":
                     subject_digest}, "type": "cosign container image signature"}, "optional": None})
    config_doc: dict[str, Any] = {"architecture": "", "os": "", "config": {},
                                  "rootfs": {"type": "layers", "diff_ids": [sha256_digest(payload)]}}
    if created is not None:
        config_doc["created"] = _rfc3339(created)
    config = _json(config_doc)
    registry.upload_blob(repo, payload, skip_existing=True)
    registry.upload_blob(repo, config, skip_existing=True)
    signature = hashlib.sha256(b"sandbox-key" + payload).hexdigest()  # not a real signature; nothing checks it
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_OCI_MANIFEST,
                "config": _descriptor(MEDIA_OCI_CONFIG, config),
                "layers": [_descriptor(COSIGN_SIGNATURE_LAYER, payload,
                                       annotations={"dev.cosignproject.cosign/signature": signature})]}
    return registry.put_manifest(repo, cosign_tag(subject_digest, suffix), _json(manifest), MEDIA_OCI_MANIFEST)


def seed_signed(registry: RegistryClient, repo: str, tag: str, *, created: dt.datetime | None = None,
                index: bool = False, sbom: bool = False, seed: str = "") -> dict[str, str]:
    """An image (or, `index`, a multi-arch index) under `tag`, signed cosign-style, and with
    `sbom` an SBOM attached through the `subject` field (pushed by digest, untagged, as ORAS and
    `cosign attach --type spdx` with OCI 1.1 do). Returns {tag: digest} of every tag it made, and
    `@sbom` -> the SBOM's digest."""
    digest = (push_index(registry, repo, tag, created=created) if index
              else push_image(registry, repo, tag, created=created, oci=True, seed=seed or tag))
    made = {tag: digest, cosign_tag(digest): push_signature(registry, repo, digest)}
    if sbom:
        made["@sbom"] = push_artifact(registry, repo, digest)
    return made


def seed_many_tags(
    registry: RegistryClient,
    repo: str,
    n: int,
    *,
    prefix: str = "t",
    distinct: int = 100,
    newest: dt.datetime | None = None,
    step: dt.timedelta = dt.timedelta(hours=1),
    workers: int = PUSH_CONCURRENCY,
) -> list[str]:
    """`n` tags `<prefix>00000`.. pushed in parallel, over `distinct` images: tag i points at
    image i % distinct, created (i % distinct) * step before `newest`.

    Each distinct image costs a config upload (two requests), each tag one manifest PUT: the
    default of 100 images seeds 2,000 tags in about 5 s on a laptop; distinct=n gives every
    tag its own date at about three times the cost.
    """
    newest = newest or dt.datetime.now(UTC)
    distinct = max(1, min(distinct, n))
    layer = _rng(repo, "shared-layer").randbytes(512)
    registry.upload_blob(repo, layer, skip_existing=True)
    layer_desc = _descriptor(MEDIA_DOCKER_LAYER, layer)

    def manifest_for(i: int) -> bytes:
        config = image_config(newest - step * i, [sha256_digest(layer)])
        registry.upload_blob(repo, config)
        return _json({
            "schemaVersion": 2,
            "mediaType": MEDIA_DOCKER_MANIFEST,
            "config": _descriptor(MEDIA_DOCKER_CONFIG, config),
            "layers": [layer_desc],
        })  # fmt: skip

    names = [f"{prefix}{i:05d}" for i in range(n)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        manifests = list(pool.map(manifest_for, range(distinct)))
        list(
            pool.map(
                lambda i: registry.put_manifest(repo, names[i], manifests[i % distinct], MEDIA_DOCKER_MANIFEST),
                range(n),
            )
        )
    return names


# --- the demo world ----------------------------------------------------------------------

DEMO_PROJECT = "demo/app"


def _control(api_url: str, method: str, path: str, body: dict[str, Any] | None = None, *,
             verify: Any = True) -> httpx.Response:
    """`verify`: httpx's; a sandbox with --tls is reached with its CA (the registry client's)."""
    return httpx.request(method, f"{api_url.rstrip('/')}/-/sandbox/{path}", json=body, timeout=30, verify=verify)


def set_push_times(api_url: str, repo: str, times: dict[str, dt.datetime], *, verify: Any = True) -> None:
    """Backdate tags on a sandbox over GitLab's registry (a no-op over a third-party one)."""
    body = {"repository": repo, "times": {tag: when.isoformat() for tag, when in times.items()}}
    _control(api_url, "POST", "push-times", body, verify=verify).raise_for_status()


def backdate(api_url: str, repo: str, times: dict[str, dt.datetime], *, verify: Any = True) -> dict[str, str]:
    """Make tags look as old as `times` to GitLab on any registry (Sandbox.backdate, over the
    control API); returns {tag: digest now}, which changes where the config is rewritten."""
    body = {"repository": repo, "times": {tag: when.isoformat() for tag, when in times.items()}}
    resp = _control(api_url, "POST", "backdate", body, verify=verify)
    resp.raise_for_status()
    return dict(resp.json()["digests"])


def ensure_project(api_url: str, full_path: str, *, verify: Any = True) -> None:
    """Create the project (and its group) through the control API unless it exists."""
    namespace, _, path = full_path.rpartition("/")
    resp = _control(api_url, "POST", "groups", {"path": namespace}, verify=verify)
    if resp.status_code not in (201, 400):  # 400: the group exists
        resp.raise_for_status()
    resp = _control(api_url, "POST", "projects", {"namespace": namespace, "path": path}, verify=verify)
    if resp.status_code not in (201, 400):
        resp.raise_for_status()


def seed_demo(
    api_url: str,
    registry: RegistryClient,
    *,
    now: dt.datetime | None = None,
    history: bool = True,
) -> dict[str, dict[str, str]]:
    """Group `demo`, project `demo/app` and its repositories:

    demo/app      Docker v2 images over 14 months: v0.9.0 .. v1.1.0, main, stable (= v1.1.0),
                  feature/MR branches; v1.2.0 (= latest) is an OCI image with an SBOM artifact
                  tagged `sha256-<hex>.sbom` (GitLab's registry takes OCI subjects only); v1.2.0
                  and feature-login signed cosign-style (`sha256-<hex>.sig`)
    demo/app/api  OCI images: v1.0.0, v1.1.0 (= latest, with an untagged SBOM attached through its
                  `subject`), an undated `nightly`
    demo/app/web  a multi-arch OCI index (`latest`, `v2.0.0`) with two untagged children, signed
                  (`sha256-<hex>.sig`)
    `history`: give the tags push times as old as their builds (through the control API), so
    GitLab's own registry, whose cleanup reads push times, shows the same history.
    Returns {repository: {tag: digest}}.
    """
    now = now or dt.datetime.now(UTC)
    day = dt.timedelta(days=1)
    verify = registry.verify  # the sandbox's one CA, when it serves https
    ensure_project(api_url, DEMO_PROJECT, verify=verify)
    result: dict[str, dict[str, str]] = {}

    app = result.setdefault("demo/app", {})
    ages = {"v0.9.0": 420, "v1.0.0": 180, "v1.1.0": 90, "v1.2.0": 30, "main": 2,
            "feature-login": 45, "feature-search": 10, "mr-17": 60, "mr-23": 5}  # fmt: skip
    for tag, age in ages.items():
        app[tag] = push_image(registry, "demo/app", tag, created=now - age * day, layers=2, size=2048, seed=tag,
                              oci=tag == "v1.2.0")
    app["latest"] = tag_existing(registry, "demo/app", "latest", app["v1.2.0"])
    app["stable"] = tag_existing(registry, "demo/app", "stable", app["v1.1.0"])
    sbom_tag = app["v1.2.0"].replace(":", "-") + ".sbom"  # cosign's tag naming for attachments
    app[sbom_tag] = push_artifact(registry, "demo/app", app["v1.2.0"], tag=sbom_tag)
    signatures = {}
    for signed in ("v1.2.0", "feature-login"):
        signatures[cosign_tag(app[signed])] = ages[signed]
        app[cosign_tag(app[signed])] = push_signature(registry, "demo/app", app[signed],
                                                      created=now - ages[signed] * day)

    api = result.setdefault("demo/app/api", {})
    api["v1.0.0"] = push_image(registry, "demo/app/api", "v1.0.0", created=now - 120 * day, oci=True, seed="api-1")
    api["v1.1.0"] = push_image(registry, "demo/app/api", "v1.1.0", created=now - 20 * day, oci=True, seed="api-2")
    api["latest"] = tag_existing(registry, "demo/app/api", "latest", api["v1.1.0"])
    api["nightly"] = push_image(registry, "demo/app/api", "nightly", undated=True, oci=True, seed="api-nightly")
    # By digest: found through its subject only. (On an index as subject GitLab's registry v3.86
    # answered MANIFEST_BLOB_UNKNOWN in our runs, so the untagged SBOM describes an image.)
    push_artifact(registry, "demo/app/api", api["v1.1.0"])

    web = result.setdefault("demo/app/web", {})
    web["v2.0.0"] = push_index(registry, "demo/app/web", "v2.0.0", created=now - 7 * day)
    web["latest"] = tag_existing(registry, "demo/app/web", "latest", web["v2.0.0"])
    web[cosign_tag(web["v2.0.0"])] = push_signature(registry, "demo/app/web", web["v2.0.0"])

    if history:
        ages.update({"latest": 30, "stable": 90, sbom_tag: 30, **signatures})
        set_push_times(api_url, "demo/app", {tag: now - age * day for tag, age in ages.items()}, verify=verify)
        set_push_times(api_url, "demo/app/api",
                       {"v1.0.0": now - 120 * day, "v1.1.0": now - 20 * day, "latest": now - 20 * day}, verify=verify)
        set_push_times(api_url, "demo/app/web", {"v2.0.0": now - 7 * day, "latest": now - 7 * day,
                                                 cosign_tag(web["v2.0.0"]): now - 7 * day}, verify=verify)
    _control(api_url, "POST", "sync", verify=verify).raise_for_status()
    return result


def add_history(api_url: str, project: str | int, history: dict[str, Any]) -> dict[str, Any]:
    """Give a project branches, deployments, merge requests and releases (see
    glcr_sandbox.api_inuse.add_history for the shape); returns the project's whole history."""
    ident = quote(str(project), safe="")
    resp = _control(api_url, "POST", f"projects/{ident}/history", history)
    resp.raise_for_status()
    return resp.json()


def seed_in_use(api_url: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """demo/app's history, pointing at the demo images (seed_demo): production runs v1.1.0 (a
    release, deployed from its tag), staging runs `main`; v1.0.0 and v1.1.0 are releases; an
    open merge request from feature/login (its image: `feature-login`, 45 days old); main is the
    default branch, release/* protected. So a cleanup of everything older than 30 days would
    delete v1.0.0, v1.1.0 and feature-login while they are in use."""
    now = now or dt.datetime.now(UTC)
    day = dt.timedelta(days=1)

    def sha(name: str) -> str:
        return hashlib.sha1(f"demo/app {name}".encode()).hexdigest()

    return add_history(api_url, DEMO_PROJECT, {
        "branches": [{"name": "main", "sha": sha("main"), "default": True},
                     {"name": "release/1.1", "sha": sha("v1.1.0")},
                     {"name": "feature/login", "sha": sha("feature-login")},
                     {"name": "feature/search", "sha": sha("feature-search")}],
        "protected_branches": ["main", "release/*"],
        "deployments": [{"environment": "production", "ref": "v1.0.0", "tag": True, "sha": sha("v1.0.0"),
                         "finished_at": (now - 170 * day).isoformat()},
                        {"environment": "production", "ref": "v1.1.0", "tag": True, "sha": sha("v1.1.0"),
                         "finished_at": (now - 80 * day).isoformat()},
                        {"environment": "staging", "ref": "main", "sha": sha("main"),
                         "finished_at": (now - 2 * day).isoformat()}],
        "merge_requests": [{"source_branch": "feature/login", "sha": sha("feature-login"),
                            "created_at": (now - 46 * day).isoformat()},
                           {"source_branch": "feature/search", "sha": sha("feature-search"), "state": "merged"}],
        "releases": [{"tag_name": "v1.0.0", "sha": sha("v1.0.0"), "released_at": (now - 180 * day).isoformat()},
                     {"tag_name": "v1.1.0", "sha": sha("v1.1.0"), "released_at": (now - 90 * day).isoformat()}],
    })


def push_shared_image(registry: RegistryClient, repo: str, tag: str, *, name: str, size: int = 1024,
                      created: dt.datetime | None = None) -> str:
    """Push the image called `name`: the same layer, config and manifest bytes in every repository
    (unlike push_image, whose layers depend on the repository), as images built from one base
    share layers in a real group. Returns the digest, the same wherever it is pushed."""
    created = created or dt.datetime(2024, 1, 1, tzinfo=UTC)
    layer = _rng("shared", name, size).randbytes(size)
    registry.upload_blob(repo, layer, skip_existing=True)
    config = image_config(created, [sha256_digest(layer)])
    registry.upload_blob(repo, config, skip_existing=True)
    manifest = {"schemaVersion": 2, "mediaType": MEDIA_DOCKER_MANIFEST,
                "config": _descriptor(MEDIA_DOCKER_CONFIG, config),
                "layers": [_descriptor(MEDIA_DOCKER_LAYER, layer)]}
    return registry.put_manifest(repo, tag, _json(manifest), MEDIA_DOCKER_MANIFEST)


# --- a large group, fast (benchmarks and group tests) ---------------------------------------------


def seed_group(api_url: str, registry: RegistryClient, *, token: str, group: str = "demo/fleet", projects: int = 10,
               tags: int = 20, distinct: int = 5, policy_every: int = 2, workers: int = PUSH_CONCURRENCY,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """`projects` projects `<group>/p0000`.. with `tags` tags `v0000`.. each, over `distinct`
    images shared by every project (one layer, the same manifests: uploads are skipped once a
    blob is there, so a big group costs mostly one manifest PUT per tag). Every
    `policy_every`-th project gets a saved, enabled policy (name_regex `v.*`, keep_n 5): what a
    group cleanup then deletes is known. `token`: an admin's (the control API has no policies).

    Returns {"group", "projects": [paths], "with_policy": [paths], "tags": n}."""
    now = now or dt.datetime.now(UTC)
    verify = registry.verify  # the sandbox's one CA, when it serves https
    parent, _, leaf = group.strip("/").rpartition("/")
    resp = _control(api_url, "POST", "groups", {"path": leaf, **({"parent": parent} if parent else {})},
                    verify=verify)
    if resp.status_code not in (201, 400):
        resp.raise_for_status()
    distinct = max(1, min(distinct, tags))
    layer = _rng("fleet", group).randbytes(512)
    layer_desc = _descriptor(MEDIA_DOCKER_LAYER, layer)
    configs = [image_config(now - dt.timedelta(hours=i), [sha256_digest(layer)]) for i in range(distinct)]
    manifests = [_json({"schemaVersion": 2, "mediaType": MEDIA_DOCKER_MANIFEST,
                        "config": _descriptor(MEDIA_DOCKER_CONFIG, c), "layers": [layer_desc]}) for c in configs]
    paths = [f"{group}/p{i:04d}" for i in range(projects)]
    with_policy = []
    resp = _control(api_url, "POST", "projects", {"namespace": group, "paths": [p.rpartition("/")[2] for p in paths]},
                    verify=verify)  # in one call: the sandbox then saves its world once, not once a project
    if resp.status_code not in (201, 400):
        resp.raise_for_status()

    def fill(path: str) -> None:
        repo = path.lower()
        for blob in (layer, *configs):
            registry.upload_blob(repo, blob, skip_existing=True)
        for j in range(tags):
            registry.put_manifest(repo, f"v{j:04d}", manifests[j % distinct], MEDIA_DOCKER_MANIFEST)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(fill, paths))
    with httpx.Client(base_url=f"{api_url.rstrip('/')}/api/v4/", headers={"PRIVATE-TOKEN": token},
                      timeout=30, verify=verify) as api:
        for index, path in enumerate(paths):
            if policy_every and index % policy_every == 0:
                body = {"container_expiration_policy_attributes": {
                    "enabled": True, "name_regex": "v.*", "keep_n": 5, "older_than": None, "cadence": "1d"}}
                api.put(f"projects/{quote(path, safe='')}", json=body).raise_for_status()
                with_policy.append(path)
    _control(api_url, "POST", "sync", verify=verify).raise_for_status()
    return {"group": group, "projects": paths, "with_policy": with_policy, "tags": tags}
