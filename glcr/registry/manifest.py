"""Parsing manifests and indexes, kept byte-exact. Pure."""

from __future__ import annotations

import hashlib
import json

from glcr.errors import InvalidInputError
from glcr.models import (MEDIA_DOCKER_CONFIG, MEDIA_DOCKER_MANIFEST, Descriptor, Digest, Manifest)


def sha256_digest(data: bytes) -> Digest:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _descriptor(entry: dict) -> Descriptor:
    return Descriptor(entry.get("mediaType", ""), entry["digest"], int(entry.get("size", 0)), entry.get("platform"))


def parse_manifest(raw: bytes, content_type: str | None, digest: Digest | None = None) -> Manifest:
    try:
        body = json.loads(raw)
    except ValueError:
        raise InvalidInputError("the registry returned a manifest that is not JSON") from None
    media_type = body.get("mediaType") or (content_type or "").split(";")[0].strip()
    if not media_type and "manifests" in body:
        media_type = "application/vnd.oci.image.index.v1+json"
    config = _descriptor(body["config"]) if isinstance(body.get("config"), dict) else None
    layers = tuple(_descriptor(d) for d in body.get("layers") or [])
    children = tuple(_descriptor(d) for d in body.get("manifests") or [])
    subject = _descriptor(body["subject"]) if isinstance(body.get("subject"), dict) else None
    return Manifest(
        raw=raw, media_type=media_type, digest=digest or sha256_digest(raw), config=config,
        layers=layers, children=children, subject=subject, annotations=body.get("annotations") or {},
    )


def total_layer_size(manifest: Manifest) -> int | None:
    """GitLab's `total_size` for third-party registries: the sum of layer sizes of an image."""
    if manifest.is_index or manifest.config is None:
        return None
    return sum(layer.size for layer in manifest.layers)


def is_dummy_manifest(manifest: Manifest) -> bool:
    """A tag-delete placeholder (GitLab's or glcr's): no layers and a tiny `{"config": {}}` config.

    Seen after an interrupted delete: the tag points at the placeholder, never at a real image.
    """
    return (
        not manifest.is_index
        and not manifest.layers
        and manifest.config is not None
        and manifest.config.media_type == MEDIA_DOCKER_CONFIG
        and manifest.config.size <= 128
        and manifest.media_type == MEDIA_DOCKER_MANIFEST
    )


def dummy_config(nonce: str) -> bytes:
    """A placeholder config unique to one delete batch.

    GitLab uses one fixed placeholder for every delete, so two deletes in one repository race on
    it: one deletes the placeholder the other just pointed its tags at. A per-batch placeholder
    means a batch's final DELETE-by-digest can only remove tags that this batch re-pointed.
    """
    return json.dumps({"config": {}, "glcr_delete_batch": nonce}, separators=(",", ":")).encode()


def dummy_manifest(config: bytes) -> bytes:
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": MEDIA_DOCKER_MANIFEST,
        "config": {"mediaType": MEDIA_DOCKER_CONFIG, "size": len(config), "digest": sha256_digest(config)},
        "layers": [],
    }, separators=(",", ":")).encode()
