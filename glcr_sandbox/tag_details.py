"""What GitLab shows for a tag (ContainerRegistry::Tag).

Without the GitLab API (third-party, or GitLab's registry without its database): digest: the
manifest's Docker-Content-Digest; revision: the config blob digest without `sha256:`;
created_at: the config blob's `created` (the image build time, not the push time); total_size:
the sum of layer sizes for image manifests, else None. The manifest is read as GitLab reads
it (image types only): a Docker manifest list is its linux/amd64 image, an OCI index nothing.
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
from glcr_sandbox.registry_client import ACCEPT_IMAGE_MANIFESTS, RegistryClient

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


# Ruby's Date._rfc3339 (what `DateTime.rfc3339(config['created'])` accepts): a full date and
# time with a zone, `T`, `t` or a space between, surrounding blanks allowed; anything else is an
# ArgumentError, which ContainerRegistry::Tag#created_at rescues as "no date".
_RFC3339 = re.compile(
    r"\A\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[-+]\d{2}:\d{2})\s*\Z",
    re.ASCII,
)


def parse_rfc3339(value: Any) -> dt.datetime | None:
    """An image config's `created` as GitLab parses it, strictly; None when GitLab has no date."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone in ("Z", "z"):
        tz = dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = dt.timezone(sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                           int((fraction or "0")[:6].ljust(6, "0")), tzinfo=tz)  # fmt: skip
    except ValueError:  # 2024-02-30, 25:00: Ruby refuses them too
        return None


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
        """ContainerRegistry::Tag without the GitLab API: the manifest read with GitLab's Accept
        (image manifests only), so a Docker manifest list is seen as its linux/amd64 image
        (digest, config, date and size of that image) and an OCI index not at all: None, which
        is `Tag#valid?` false (REST 404 "Tag Not Found", undated in cleanup)."""
        fetched = self._registry.manifest(repo, tag, accept=ACCEPT_IMAGE_MANIFESTS)
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
        created = parse_rfc3339(config.get("created")) if config else None
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
