"""GitLab's tag delete, both variants (Projects::ContainerRepository::DeleteTagsService picks
Gitlab:: when `client.supports_tag_delete?`, else ThirdParty::).

Third-party (ThirdParty::DeleteTagsService): distribution 2.8 cannot delete a tag by name
(DELETE by tag answers 400 DIGEST_INVALID), so GitLab re-points every tag to one tiny dummy
manifest, then deletes that manifest by digest: the registry drops all tags pointing at it,
and the real images keep their other tags.
GitLab's registry, with or without its metadata database (Gitlab::DeleteTagsService):
`DELETE /v2/<path>/manifests/<tag>` removes that tag only, one request per tag.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import httpx

from glcr_sandbox.media_types import MEDIA_DOCKER_CONFIG, MEDIA_DOCKER_MANIFEST
from glcr_sandbox.registry_client import RegistryClient, RegistryError, sha256_digest

# Ruby's JSON.pretty_generate({config: {}}): 21 bytes, sha256:4435000728ee66e6...
DUMMY_CONFIG = b'{\n  "config": {\n  }\n}'
PUT_CONCURRENCY = 8  # GitLab re-points tags one by one; a few at once keeps big deletes quick


class TagDeleteError(RuntimeError):
    pass


def dummy_manifest() -> bytes:
    body = {
        "schemaVersion": 2,
        "mediaType": MEDIA_DOCKER_MANIFEST,
        "config": {"mediaType": MEDIA_DOCKER_CONFIG, "size": len(DUMMY_CONFIG), "digest": sha256_digest(DUMMY_CONFIG)},
    }
    return json.dumps(body, indent=2).encode()  # same bytes as Gitlab::Json.pretty_generate


def delete_tags(registry: RegistryClient, repo: str, names: list[str]) -> list[str]:
    """Delete `names` from `repo`; returns the names deleted. Deleting a missing tag 'succeeds'."""
    if not names:
        return []
    try:
        registry.upload_blob(repo, DUMMY_CONFIG)
    except RegistryError as exc:
        raise TagDeleteError("could not generate manifest") from exc
    manifest = dummy_manifest()

    def repoint(name: str) -> tuple[str, str | None]:
        try:
            return name, registry.put_manifest(repo, name, manifest, MEDIA_DOCKER_MANIFEST)
        except RegistryError:
            return name, None  # GitLab skips tags it could not re-point

    with ThreadPoolExecutor(max_workers=PUT_CONCURRENCY) as pool:
        results = list(pool.map(repoint, names))
    repointed = [name for name, digest in results if digest]
    digests = {digest for _, digest in results if digest}
    if not repointed:
        raise TagDeleteError(f"could not delete tags: {', '.join(names)}"[:1000])
    for digest in digests:  # always one digest: the dummy manifest's
        registry.delete_manifest(repo, digest)
    return repointed


def delete_tags_gitlab(
    registry: RegistryClient, repo: str, names: list[str], *, timeout_s: float = 0
) -> tuple[list[str], str | None]:
    """Gitlab::DeleteTagsService: one tag-only DELETE per name, in order; a 404 counts as
    deleted. Returns (deleted, error message or None). `timeout_s` is
    container_registry_delete_tags_service_timeout (0: none), checked before each tag."""
    if not names:
        return [], None
    start, deleted = time.monotonic(), []
    for name in names:
        if timeout_s > 0 and time.monotonic() - start > timeout_s:
            return deleted, "error while deleting tags"
        try:
            ok = registry.delete_tag(repo, name)
        except httpx.HTTPError:  # Faraday::Error
            return deleted, "error while deleting tags"
        if ok:
            deleted.append(name)
    if not deleted:
        return [], f"could not delete tags: {', '.join(names)}"[:1000]
    return deleted, None


PROTECTED_TAGS_ERROR = "cannot delete protected tag(s)"  # Gitlab::DeleteTagsService


def delete_tags_service(
    registry: RegistryClient,
    repo: str,
    names: list[str],
    *,
    tag_delete: bool,
    protected: Callable[[str], bool] | None = None,
    timeout_s: float = 0,
) -> tuple[list[str], str | None]:
    """DeleteTagsService#delete_service: by tag when the registry supports it, else the dummy
    manifest. Returns (deleted, error message or None).

    `protected` (is_protected(name)): Gitlab::DeleteTagsService#filter_out_protected! drops
    those names and fails with "cannot delete protected tag(s)" when none is left. Not GitLab:
    the third-party variant filters them too (silently), so that glcr's protected-tag handling
    is exercised on distribution as well (see api_protection)."""
    if not names:
        return [], None
    left = [n for n in names if protected is None or not protected(n)]
    if tag_delete:
        if not left:
            return [], PROTECTED_TAGS_ERROR
        return delete_tags_gitlab(registry, repo, left, timeout_s=timeout_s)
    try:
        return delete_tags(registry, repo, left), None
    except TagDeleteError as exc:
        return [], str(exc)
