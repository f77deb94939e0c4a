"""What GitLab shows for a tag (ContainerRegistry::Tag).

Third-party registry: digest: the manifest's Docker-Content-Digest; revision: the config blob
digest without `sha256:`; created_at: the config blob's `created` (the image build time, not
the push time); total_size: the sum of layer sizes for image manifests, else None.
GitLab's own registry (`from_api`, ContainerRepository#transform_tags_page): every field comes
from `/gitlab/v1/.../tags/list/`: created_at is when the tag was pushed, total_size the
registry's size_bytes, revision the config digest's hex ("" for an index, which has none).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from glcr_sandbox.media_types import INDEX_MEDIA_TYPES
from glcr_sandbox.registry_client import RegistryClient

_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go writes nanoseconds; Python parses microseconds


@dataclass(frozen=True)
class TagInfo:
    name: str
    digest: str
    media_type: str
    config_digest: str | None
    created: dt.datetime | None
    total_size: int | None
    # GitLab's registry only: when the tag was re-pointed, and first published.
    updated: dt.datetime | None = None
    published: dt.datetime | None = None

    @classmethod
    def from_gitlab(cls, raw: dict[str, Any]) -> "TagInfo":
        return cls(
            name=raw["name"],
            digest=raw.get("digest"),
            media_type=raw.get("media_type") or "",
            config_digest=raw.get("config_digest") or "",
            created=parse_created(raw.get("created_at")),
            total_size=raw.get("size_bytes"),
            updated=parse_created(raw.get("updated_at")),
            published=parse_created(raw.get("published_at")),
        )

    @property
    def revision(self) -> str | None:
        """ContainerRegistry::Tag#revision: the config digest's hex part; GitLab's API gives ""
        for a manifest without config (`config_digest.to_s.split(':')[1] || ''`)."""
        if self.config_digest is None:
            return None
        return self.config_digest.split(":", 1)[1] if ":" in self.config_digest else ""


def parse_created(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("Z", "+00:00")))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def format_created(value: dt.datetime) -> str:
    """DateTime#as_json: milliseconds and the offset written out (`+00:00`)."""
    text = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    offset = value.strftime("%z") or "+0000"
    return f"{text}{offset[:3]}:{offset[3:]}"


class TagInspector:
    """Reads manifests and config blobs; config blobs are cached by digest (they never change)."""

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry
        self._configs: dict[str, dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def inspect(self, repo: str, tag: str) -> TagInfo | None:
        fetched = self._registry.manifest(repo, tag)
        if fetched is None:
            return None
        try:
            manifest = json.loads(fetched.raw)
        except ValueError:
            manifest = {}
        media_type = fetched.media_type or manifest.get("mediaType", "")
        if media_type in INDEX_MEDIA_TYPES or "manifests" in manifest:
            return TagInfo(tag, fetched.digest, media_type, None, None, None)
        config_digest = (manifest.get("config") or {}).get("digest")
        config = self._config(repo, config_digest) if config_digest else None
        layers = manifest.get("layers")
        total = sum(int(layer.get("size", 0)) for layer in layers) if isinstance(layers, list) else None
        created = parse_created(config.get("created")) if config else None
        return TagInfo(tag, fetched.digest, media_type, config_digest, created, total)

    def inspect_gitlab(self, repo: str, tag: str) -> TagInfo | None:
        """ContainerRepository#tag with the GitLab API: search tags containing the name, keep
        the exact match."""
        page = self._registry.gitlab_tags_page(repo, name=tag)
        if not page:
            return None
        raw = next((t for t in page[0] if t.get("name") == tag), None)
        return TagInfo.from_gitlab(raw) if raw else None

    def _config(self, repo: str, digest: str) -> dict[str, Any] | None:
        with self._lock:
            if digest in self._configs:
                return self._configs[digest]
        raw = self._registry.blob(repo, digest)
        try:
            config = json.loads(raw) if raw is not None else None
        except ValueError:
            config = None
        if not isinstance(config, dict):
            config = None
        if raw is not None:  # a missing blob may appear later; only cache what we read
            with self._lock:
                self._configs[digest] = config
        return config
