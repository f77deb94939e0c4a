"""Registry calls a migration needs that `glcr.registry.client.RegistryClient` does not offer (yet).

- `referrers`: the OCI 1.1 referrers API, `GET /v2/<name>/referrers/<digest>`;
- `download_blob`: a blob streamed to a file, hashed on the way (layers can be gigabytes);
- `upload_blob_file`: a blob uploaded from a file in bounded chunks.

They go through the client's public `request`/`stream`, so the same auth flow, retries and debug log
apply. They belong in RegistryClient; until they move there they live here, next to their only
user.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import httpx

from glcr.errors import GlcrError, NetworkError
from glcr.models import MEDIA_OCI_INDEX, Digest
from glcr.registry.client import RegistryClient
from glcr.transport.pagination import check_same_origin

# Blobs up to this size are read into memory and sent in one PUT (fewest requests, and a PUT of
# bytes can be retried); bigger ones go in PATCH chunks of this size, so memory stays bounded.
CHUNK_SIZE = 16 * 1024 * 1024
DOWNLOAD_BUFFER = 1024 * 1024

Advance = Callable[[int], None]


async def referrers(client: RegistryClient, repository: str, digest: Digest) -> list[dict] | None:
    """The referrers of `digest` (OCI index `manifests` entries), or None when the registry has no
    referrers API (distribution 2.8 and GitLab's registry answer 404)."""
    headers = {"Accept": MEDIA_OCI_INDEX}
    response = await client.request("GET", f"/v2/{repository}/referrers/{digest}",
                                  f"reading referrers of {repository}@{digest[:19]}", headers=headers)
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("manifests"), list):
        return None
    return [m for m in body["manifests"] if isinstance(m, dict) and isinstance(m.get("digest"), str)]


async def download_blob(client: RegistryClient, repository: str, digest: Digest, dest: Path,
                        advance: Advance | None = None) -> int:
    """Stream a blob into `dest` atomically: a temporary file, hashed, fsynced, then renamed.

    Nothing is left at `dest` unless the content matches its digest. Returns the byte count.
    """
    doing = f"downloading blob {digest[:19]} of {repository}"
    algorithm, _, expected = digest.partition(":")
    if algorithm != "sha256":
        raise GlcrError(f"{doing}: unsupported digest algorithm {algorithm}")
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    hasher = hashlib.sha256()
    size = 0
    try:
        async with client.stream("GET", f"/v2/{repository}/blobs/{digest}", follow_redirects=True) as response:
            if response.status_code != 200:
                await response.aread()
                raise client._fail(response, doing)
            with open(tmp, "wb") as handle:
                async for chunk in response.aiter_bytes(DOWNLOAD_BUFFER):
                    handle.write(chunk)
                    hasher.update(chunk)
                    size += len(chunk)
                    if advance:
                        advance(len(chunk))
                handle.flush()
                os.fsync(handle.fileno())
    except httpx.TransportError as exc:
        tmp.unlink(missing_ok=True)
        raise NetworkError(f"{doing}: {type(exc).__name__}", hint="re-run with --resume") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasher.hexdigest() != expected:
        tmp.unlink(missing_ok=True)
        raise GlcrError(f"{doing}: the content does not match its digest")
    os.replace(tmp, dest)
    return size


async def upload_blob_file(client: RegistryClient, repository: str, digest: Digest, source: Path,
                           advance: Advance | None = None) -> int:
    """Upload a blob from a file; returns the bytes sent."""
    size = source.stat().st_size
    if size <= CHUNK_SIZE:
        data = source.read_bytes()
        await client.upload_blob(repository, data, digest)
        if advance:
            advance(size)
        return size
    doing = f"uploading blob {digest[:19]} to {repository}"
    start = await client.request("POST", f"/v2/{repository}/blobs/uploads/", doing)
    if start.status_code != 202:
        raise client._fail(start, doing)
    location = check_same_origin(start.request.url, start.headers["Location"])
    offset = 0
    with open(source, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK_SIZE)
            if not chunk:
                break
            response = await client.request(
                "PATCH", str(location), doing, content=chunk,
                headers={"Content-Type": "application/octet-stream",
                         "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
            if response.status_code != 202:
                raise client._fail(response, doing)
            location = check_same_origin(response.request.url, response.headers["Location"])
            offset += len(chunk)
            if advance:
                advance(len(chunk))
    params = dict(location.params)
    params["digest"] = digest
    done = await client.request("PUT", str(location).split("?", 1)[0], doing, params=params,
                              headers={"Content-Length": "0"})
    if done.status_code not in (201, 204):
        raise client._fail(done, doing)
    return size
