"""Byte-exact copies of a repository's images: registry -> registry (blobs mounted across
repositories, so no layer bytes move), registry -> OCI image layout directory (blobs pulled once,
deduplicated, verified by digest) and layout -> registry.

Manifests are copied as the raw bytes the registry served (their digest is checked), so every
digest stays identical; index children and referrer subjects go before the manifests that point
at them (plan.copy_levels). Every step is idempotent: what is already at the destination with the
right digest is skipped, so a resumed copy only does what is left. A tag that exists at the
destination with another digest is never overwritten: that is someone else's push.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

from glcr.durable import fsync_directory, private_dir, write_atomic
from glcr.errors import GlcrError, NotFoundError, PartialFailureError, StaleError
from glcr.migrate.model import BlobRef, ManifestNode, RepoInventory
from glcr.migrate.planner import copy_levels, tags_by_digest
from glcr.models import Digest
from glcr.registry.client import RegistryClient
from glcr.registry.manifest import sha256_digest
from glcr.transport.concurrency import gather_bounded

OCI_LAYOUT_VERSION = "1.0.0"
REF_NAME = "org.opencontainers.image.ref.name"
GLCR_REPOSITORY = "io.glcr.repository"
GLCR_TAG = "io.glcr.tag"


def is_foreign(blob: BlobRef) -> bool:
    """Foreign / non-distributable layers live elsewhere (their `urls`); registries do not hold them."""
    return "foreign" in blob.media_type or "nondistributable" in blob.media_type


@dataclass
class CopyStats:
    uploaded_bytes: int = 0  # layer and config bytes glcr sent (0 when every blob was mounted)
    downloaded_bytes: int = 0
    mounted: int = 0  # blobs linked by a cross-repository mount (or already there)
    uploaded: int = 0  # blobs uploaded
    downloaded: int = 0  # blobs pulled into a backup directory
    present: int = 0  # blobs already at the destination
    manifests_put: int = 0
    manifests_present: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(vars(self))


class Counter(Protocol):
    def set_total(self, total: int) -> None: ...
    def advance(self, step: int = 1) -> None: ...


class _NoCounter:
    def set_total(self, total: int) -> None:
        pass

    def advance(self, step: int = 1) -> None:
        pass


# --- the OCI image layout --------------------------------------------------------------------


class OciLayout:
    """An OCI image layout directory (image-spec `image-layout.md`), shared by repositories.

    Blobs (manifests too) live once under `blobs/sha256/<hex>`, written to a temporary name,
    hashed, fsynced and renamed, so a file that exists is complete and verified. `index.json`
    names every tag as `<repository path>:<tag>` (`org.opencontainers.image.ref.name`), so
    `skopeo copy oci:DIR:group/app/api:v1 ...` can read it too: for OCI manifests and indexes
    only. Docker v2 manifests are kept as they are (byte-exact, same digest), and
    containers/image skips index.json entries of Docker media types; glcr reads them all.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._index_lock = asyncio.Lock()

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    def init(self) -> None:
        private_dir(self.blobs)  # 0700 from the layout's root down, whatever the umask
        marker = self.root / "oci-layout"
        if not marker.exists():
            write_atomic(marker, json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}).encode())
        if not (self.root / "index.json").exists():
            self._write_index([])

    def blob_path(self, digest: Digest) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        if algorithm != "sha256" or len(hexpart) != 64:
            raise GlcrError(f"unsupported digest {digest}")
        return self.blobs / hexpart

    def has_blob(self, digest: Digest, size: int | None = None) -> bool:
        path = self.blob_path(digest)
        try:
            actual = path.stat().st_size
        except FileNotFoundError:
            return False
        return size is None or actual == size

    def write_bytes(self, digest: Digest, data: bytes) -> None:
        if sha256_digest(data) != digest:
            raise GlcrError(f"refusing to store {digest[:19]}: the content does not match its digest")
        if not self.has_blob(digest, len(data)):
            write_atomic(self.blob_path(digest), data)

    def read_verified(self, digest: Digest) -> bytes:
        try:
            data = self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{digest[:19]} is missing from the backup directory {self.root}") from None
        if sha256_digest(data) != digest:
            raise GlcrError(f"{digest[:19]} in {self.root} does not match its digest: the backup is damaged")
        return data

    def verify_file(self, digest: Digest) -> bool:
        hasher = hashlib.sha256()
        try:
            with open(self.blob_path(digest), "rb") as handle:
                for chunk in iter(lambda: handle.read(1024 * 1024), b""):
                    hasher.update(chunk)
        except FileNotFoundError:
            return False
        return "sha256:" + hasher.hexdigest() == digest

    def read_index(self) -> list[dict]:
        try:
            data = json.loads((self.root / "index.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return list(data.get("manifests") or [])

    def _write_index(self, manifests: list[dict]) -> None:
        body = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}
        write_atomic(self.root / "index.json", json.dumps(body, indent=1, sort_keys=True).encode())

    async def set_repository(self, repo: RepoInventory) -> None:
        """Replace the index entries of one repository: its tags, and its untagged referrers."""
        async with self._index_lock:
            kept = [m for m in self.read_index() if (m.get("annotations") or {}).get(GLCR_REPOSITORY) != repo.path]
            tagged = {d for d in repo.tags.values()}
            children = {c for node in repo.manifests.values() for c in node.children}
            for tag, digest in sorted(repo.tags.items()):
                node = repo.manifests[digest]
                kept.append({"mediaType": node.media_type, "digest": digest, "size": node.size,
                             "annotations": {REF_NAME: f"{repo.path}:{tag}", GLCR_REPOSITORY: repo.path, GLCR_TAG: tag}})
            for digest, node in sorted(repo.manifests.items()):
                if digest not in tagged and digest not in children:  # reachable from nothing else
                    kept.append({"mediaType": node.media_type, "digest": digest, "size": node.size,
                                 "annotations": {GLCR_REPOSITORY: repo.path}})
            self._write_index(kept)

    def fsync(self) -> None:
        for directory in (self.blobs, self.root):
            fsync_directory(directory)


# --- sources ---------------------------------------------------------------------------------


@dataclass
class RegistrySource:
    client: RegistryClient
    path: str

    async def manifest(self, digest: Digest) -> bytes:
        manifest = await self.client.get_manifest(self.path, digest)  # checks the served digest
        if manifest.digest != digest:
            raise GlcrError(f"{self.path}@{digest[:19]}: the registry served other content")
        return manifest.raw


@dataclass
class LayoutSource:
    layout: OciLayout

    async def manifest(self, digest: Digest) -> bytes:
        return self.layout.read_verified(digest)


Source = RegistrySource | LayoutSource


# --- destinations ----------------------------------------------------------------------------


@dataclass
class RegistryDest:
    client: RegistryClient
    path: str
    stats: CopyStats = field(default_factory=CopyStats)
    workdir: Path | None = None  # for blobs that cannot be mounted: downloaded, then uploaded
    _existing_tags: set[str] = field(default_factory=set)

    async def ensure_blob(self, blob: BlobRef, source: Source) -> None:
        if isinstance(source, RegistrySource) and source.client.host == self.client.host:
            # Mount first, without a HEAD: one request whether or not the blob is there already
            # (the registry links it again and answers 201), so a copy costs one call per blob.
            if await self.client.mount_blob(self.path, blob.digest, source.path):
                self.stats.mounted += 1
                return
        if await self.client.blob_exists(self.path, blob.digest):
            self.stats.present += 1
            return
        if isinstance(source, LayoutSource):
            file = source.layout.blob_path(blob.digest)
            if not file.exists():
                raise NotFoundError(f"{blob.digest[:19]} is missing from the backup directory {source.layout.root}")
            self.stats.uploaded_bytes += await self.client.upload_blob_file(self.path, blob.digest, file)
            self.stats.uploaded += 1
            return
        # Another registry, or a registry that would not mount: pull it once, push it.
        workdir = self.workdir or Path(tempfile.gettempdir())
        tmp = workdir / f"glcr-blob-{secrets.token_hex(6)}"
        try:
            self.stats.downloaded_bytes += await source.client.download_blob(source.path, blob.digest, tmp)
            self.stats.uploaded_bytes += await self.client.upload_blob_file(self.path, blob.digest, tmp)
            self.stats.uploaded += 1
        finally:
            tmp.unlink(missing_ok=True)

    async def start_manifests(self) -> None:
        """One tag list instead of a HEAD per tag: only tags already there need a closer look."""
        self._existing_tags = set(await self.client.list_tags(self.path))

    async def put_manifest(self, node: ManifestNode, raw: bytes, tags: list[str]) -> None:
        for ref in tags or [node.digest]:
            if ref in self._existing_tags:
                head = await self.client.head_manifest(self.path, ref)
                if head is not None and head.digest == node.digest:
                    self.stats.manifests_present += 1
                    continue
                if head is not None:
                    raise StaleError(f"{self.path}:{ref} exists with digest {head.digest[:19]}, not {node.digest[:19]}",
                                     hint="someone pushed it meanwhile; glcr does not overwrite it")
            # By digest, a PUT is idempotent (same bytes, same digest): no HEAD first.
            digest = await self.client.put_manifest(self.path, ref, raw, node.media_type)
            if digest != node.digest:
                raise GlcrError(f"{self.path}:{ref}: the registry stored digest {digest}, expected {node.digest}")
            self.stats.manifests_put += 1

    async def found_tags(self, repo: RepoInventory, jobs: int) -> dict[str, Digest]:
        """Every tag read back (its digest), and every untagged manifest (children, referrers) present."""
        async def tag(name: str):
            head = await self.client.head_manifest(self.path, name)
            return name, head.digest if head else None

        async def untagged(digest: Digest):
            return digest, await self.client.head_manifest(self.path, digest)

        pairs = await gather_bounded(jobs, [partial(tag, t) for t in sorted(repo.tags)])
        tagged = set(repo.tags.values())
        heads = await gather_bounded(jobs, [partial(untagged, d) for d in sorted(repo.manifests) if d not in tagged])
        absent = [d for d, head in heads if head is None]
        if absent:
            raise PartialFailureError(f"{self.path}: {len(absent)} manifest(s) missing after the copy, "
                                      f"e.g. {absent[0][:19]}")
        return {t: d for t, d in pairs if d}

    async def finish(self, repo: RepoInventory) -> None:
        pass


@dataclass
class LayoutDest:
    layout: OciLayout
    source_path: str
    stats: CopyStats = field(default_factory=CopyStats)

    async def ensure_blob(self, blob: BlobRef, source: Source) -> None:
        if self.layout.has_blob(blob.digest, blob.size):
            self.stats.present += 1
            return
        if not isinstance(source, RegistrySource):
            raise GlcrError("a backup directory is filled from a registry")
        self.stats.downloaded_bytes += await source.client.download_blob(source.path, blob.digest,
                                                                         self.layout.blob_path(blob.digest))
        self.stats.downloaded += 1

    async def start_manifests(self) -> None:
        pass

    async def put_manifest(self, node: ManifestNode, raw: bytes, tags: list[str]) -> None:
        if self.layout.has_blob(node.digest, len(raw)):
            self.stats.manifests_present += 1
            return
        self.layout.write_bytes(node.digest, raw)
        self.stats.manifests_put += 1

    async def found_tags(self, repo: RepoInventory, jobs: int) -> dict[str, Digest]:
        """Re-read every manifest and check its digest; every blob must be there with its size."""
        entries = {(m.get("annotations") or {}).get(GLCR_TAG): m.get("digest") for m in self.layout.read_index()
                   if (m.get("annotations") or {}).get(GLCR_REPOSITORY) == repo.path}
        for digest in repo.manifests:
            self.layout.read_verified(digest)
        for blob in repo.unique_blobs.values():
            if not is_foreign(blob) and not self.layout.has_blob(blob.digest, blob.size):
                raise PartialFailureError(f"blob {blob.digest[:19]} of {repo.path} is missing from {self.layout.root}")
        # An entry without a digest reads as absent, as .get() reads it in every caller.
        return {t: d for t, d in entries.items() if t in repo.tags and isinstance(d, str)}

    async def finish(self, repo: RepoInventory) -> None:
        await self.layout.set_repository(repo)
        self.layout.fsync()


Dest = RegistryDest | LayoutDest


# --- the copy --------------------------------------------------------------------------------


async def copy_repository(source: Source, dest: Dest, repo: RepoInventory, *, jobs: int,
                          counter: Counter | None = None) -> dict[str, Digest]:
    """Copy every blob, then every manifest (children and subjects first), then verify.

    Returns tag -> digest as found at the destination; raises PartialFailureError unless every
    tag is there with its original digest.
    """
    counter = counter or _NoCounter()
    blobs = [b for b in repo.unique_blobs.values() if not is_foreign(b)]
    levels = copy_levels(repo)
    counter.set_total(len(blobs) + len(repo.manifests))

    async def blob_job(blob: BlobRef) -> None:
        await dest.ensure_blob(blob, source)
        counter.advance()

    ordered = sorted(blobs, key=lambda b: b.digest)
    # The first blob alone: it creates the repository on GitLab's registry, whose metadata
    # database otherwise races concurrent first writes into a new repository (a foreign key
    # violation, answered 500 "unknown error", seen with v3.86).
    if ordered:
        await blob_job(ordered[0])
    await gather_bounded(jobs, [partial(blob_job, b) for b in ordered[1:]])
    tags = tags_by_digest(repo)

    async def manifest_job(digest: Digest) -> None:
        raw = await source.manifest(digest)
        await dest.put_manifest(repo.manifests[digest], raw, tags.get(digest, []))
        counter.advance()

    await dest.start_manifests()
    for level in levels:
        await gather_bounded(jobs, [partial(manifest_job, d) for d in level])
    await dest.finish(repo)
    found = await dest.found_tags(repo, jobs)
    wrong = sorted(t for t, d in repo.tags.items() if found.get(t) != d)
    if wrong:
        raise PartialFailureError(f"{len(wrong)} tag(s) of {repo.path} did not verify after the copy, "
                                  f"e.g. {wrong[0]}: expected {repo.tags[wrong[0]][:19]}, "
                                  f"found {(found.get(wrong[0]) or 'nothing')[:19]}")
    return found


def remove_layout(root: Path) -> None:
    if (root / "oci-layout").exists():
        shutil.rmtree(root)
