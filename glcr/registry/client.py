"""A typed client for one registry (Docker Registry HTTP API v2), async with httpx.

httpx rather than a sequential client: a tag list with details or a verified delete makes one
request per tag, and bounded concurrency (`--jobs`) turns minutes into seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx

from glcr.durable import open_private
from glcr.errors import AuthError, GlcrError, NetworkError, NotFoundError, PermissionDeniedError, for_status
from glcr.models import MANIFEST_MEDIA_TYPES, MEDIA_OCI_INDEX, Digest, Manifest, RegistryKind
from glcr.registry.manifest import parse_manifest, sha256_digest
from glcr.transport.pagination import check_same_origin, error_detail, next_link
from glcr.transport.proxy import unreachable_reason

ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
# distribution answers up to 1,000 names per tags/list page by default; ask for that many.
TAGS_PAGE_SIZE = 1000
# Blobs up to this size are read into memory and sent in one PUT (fewest requests, and a PUT of
# bytes can be retried); bigger ones go in PATCH chunks of this size, so memory stays bounded.
CHUNK_SIZE = 16 * 1024 * 1024
DOWNLOAD_BUFFER = 1024 * 1024

Advance = Callable[[int], None]

# Paths made of these characters need no percent-encoding (RFC 3986 pchar, less '%'): the
# repository paths, tags and digests glcr puts in a URL.
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@/-]*")


def registry_base_url(host: str, *, insecure: bool = False, gitlab_url: str | None = None) -> str:
    """https, except plain http for loopback hosts or when asked (as docker's insecure-registries).
    A loopback registry beside a GitLab reached over https (`gitlab_url`) is taken to serve
    https too: a local GitLab set up with TLS (GDK's https mode, `glcr sandbox up --tls`)
    serves its registry with it; --insecure-registry still means plain http."""
    name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") else host[1:].split("]")[0]
    loopback = name == "localhost"
    try:
        loopback = loopback or ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    if loopback and not insecure and (gitlab_url or "").lower().startswith("https://"):
        loopback = False
    return f"{'http' if loopback or insecure else 'https'}://{host}"


@dataclass(frozen=True)
class ManifestHead:
    digest: Digest
    media_type: str
    size: int


class RegistryClient:
    def __init__(self, http: httpx.AsyncClient, host: str, *, jobs: int | None = None) -> None:
        """`jobs`: at most this many requests in flight, whoever sends them. The gate sits before
        httpx, and the connection pool under it is sized above it (Session.registry), so no
        request ever waits inside the pool: fan-outs beside gather_bounded (config reads started
        per digest, a probe beside a listing) queue here, for the price of a semaphore."""
        self._http = http
        self.host = host
        self._kind: RegistryKind | None = None
        self._gate = asyncio.Semaphore(jobs) if jobs else contextlib.nullcontext()
        self._kind_lock = asyncio.Lock()
        self._base = http.base_url._uri_reference if http.base_url.path == "/" else None  # noqa: SLF001

    def url(self, url: str | httpx.URL) -> str | httpx.URL:
        """The absolute URL of a path on the registry, built without parsing it. httpx parses and
        checks a relative URL twice (once as given, once merged onto base_url): a third of its
        CPU per request. A path that could need percent-encoding is left to httpx."""
        if self._base is None or not isinstance(url, str) or not _PLAIN_PATH.fullmatch(url):
            return url
        absolute = httpx.URL.__new__(httpx.URL)
        absolute._uri_reference = self._base._replace(path=url)  # noqa: SLF001 - httpx's parsed form
        return absolute

    async def request(self, method: str, url: str | httpx.URL, doing: str, **kwargs: Any) -> httpx.Response:
        try:
            async with self._gate:
                return await self._http.request(method, self.url(url), **kwargs)
        except httpx.TransportError as exc:
            raise NetworkError(f"{doing}: cannot reach the registry at {self.host} ({unreachable_reason(exc)})",
                               hint="check the registry URL, or use --insecure-registry for plain http") from None

    @contextlib.asynccontextmanager
    async def stream(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """A streamed request (large blobs), through the same gate, auth, retries and debug log."""
        async with self._gate, self._http.stream(method, self.url(url), **kwargs) as response:
            yield response

    @staticmethod
    def _fail(response: httpx.Response, doing: str) -> GlcrError:
        if response.status_code in (401, 403):  # a tag protection rule, not the token (PROTECTED_TAG)
            from glcr.policy.protection import refusal_error

            try:
                body = response.json()
            except ValueError:
                body = None
            refused = refusal_error(response.status_code, body, response.request.method, response.request.url.path)
            if refused is not None:
                return refused
        return for_status(response.status_code, doing, error_detail(response))

    async def ping(self) -> None:
        """GET /v2/: checks reachability and lets the auth flow learn the token realm."""
        response = await self.request("GET", "/v2/", "contacting the registry")
        if response.status_code not in (200, 401):
            raise self._fail(response, "contacting the registry")

    async def kind(self, repository: str) -> RegistryKind:
        """Detect the registry's mode once per client, the way GitLab does.

        GitLab asks `GET /gitlab/v1/` WITH a token and takes 2xx or 401 as "has the API"
        (ContainerRegistry::GitlabApiClient#supports_gitlab_api?). Asked without a token, every
        GitLab registry answers 401, database or not, so an anonymous probe cannot tell; with a
        valid token, GitLab's registry without its metadata database answers 404 (v3.86 and
        later; the registry authorizes before its database guard, handlers/app.go).
        The authenticated `GET /v2/` (which also teaches the token flow its realm) usually
        settles it in the same round trip: GitLab's registry sends
        `Gitlab-Container-Registry-Database-Enabled: true|false` and
        `Gitlab-Container-Registry-Features` (`tag_delete`) there, to a valid token only (its
        401 carries neither). Only a registry that sends no database header is probed on
        `/gitlab/v1/`, through the token flow. An `OPTIONS` probe is not enough for tag
        delete: distribution 2.8 answers `Allow: DELETE` on manifests/<tag> and then refuses
        the DELETE by tag with 400 UNSUPPORTED.
        """
        if self._kind is None:
            async with self._kind_lock:
                if self._kind is None:
                    self._kind = await self._detect_kind()
        return self._kind

    async def _detect_kind(self) -> RegistryKind:
        try:
            base: httpx.Response | None = await self.request("GET", "/v2/", "contacting the registry")
        except (AuthError, PermissionDeniedError):
            base = None  # no token for this caller (anonymous): only the v1 probe can tell
        headers = base.headers if base is not None and base.status_code == 200 else httpx.Headers()
        features = [f.strip() for f in headers.get("Gitlab-Container-Registry-Features", "").split(",") if f.strip()]
        vendor = bool(features) or "Gitlab-Container-Registry-Version" in headers
        database = headers.get("Gitlab-Container-Registry-Database-Enabled")
        if database is not None:
            gitlab_api = database.strip().lower() == "true"
        else:
            gitlab_api = await self._answers_gitlab_v1()
        return RegistryKind(gitlab_api=gitlab_api, tag_delete="tag_delete" in features or gitlab_api,
                            gitlab_vendor=vendor or gitlab_api)

    async def _answers_gitlab_v1(self) -> bool:
        """GitLab's own test: `GET /gitlab/v1/` with a token answers 2xx or 401. A registry that
        drops the connection there (v3.86 without its database, on some routes) has no API."""
        try:
            probe = await self.request("GET", "/gitlab/v1/", "probing the registry's GitLab API")
        except NetworkError:
            return False
        except (AuthError, PermissionDeniedError):
            return True  # the registry's 401 after the token flow: GitLab counts 401 as "has it"
        return 200 <= probe.status_code < 300 or probe.status_code == 401

    async def list_tags(self, repository: str) -> list[str]:
        doing = f"listing tags of {repository} on the registry"
        tags: list[str] = []
        url: str | httpx.URL = f"/v2/{repository}/tags/list"
        params: dict[str, Any] | None = {"n": TAGS_PAGE_SIZE}
        while True:
            response = await self.request("GET", str(url), doing, params=params)
            if response.status_code == 404:
                return tags
            if response.status_code != 200:
                raise self._fail(response, doing)
            tags.extend(response.json().get("tags") or [])
            link = next_link(response)
            if not link:
                return tags
            url, params = check_same_origin(response.request.url, link), None

    async def head_manifest(self, repository: str, reference: str) -> ManifestHead | None:
        doing = f"resolving {repository}:{reference}"
        response = await self.request("HEAD", f"/v2/{repository}/manifests/{reference}", doing,
                                    headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._fail(response, doing)
        digest = response.headers.get("Docker-Content-Digest")
        media_type = response.headers.get("Content-Type", "").split(";")[0]
        if not digest:  # some registries omit it on HEAD: fall back to the body
            manifest = await self.get_manifest(repository, reference)
            return ManifestHead(manifest.digest, manifest.media_type, len(manifest.raw))
        return ManifestHead(digest, media_type, int(response.headers.get("Content-Length") or 0))

    async def get_manifest(self, repository: str, reference: str) -> Manifest:
        doing = f"reading manifest {repository}:{reference}"
        response = await self.request("GET", f"/v2/{repository}/manifests/{reference}", doing,
                                    headers={"Accept": ACCEPT_MANIFESTS})
        if response.status_code == 404:
            raise NotFoundError(f"{doing}: no such manifest")
        if response.status_code != 200:
            raise self._fail(response, doing)
        raw = response.content
        digest = sha256_digest(raw)
        served = response.headers.get("Docker-Content-Digest")
        if served and served != digest and reference.startswith("sha256:"):
            raise GlcrError(f"{doing}: content digest {digest} does not match {served}")
        return parse_manifest(raw, response.headers.get("Content-Type"), digest)

    async def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        doing = f"writing manifest {repository}:{reference}"
        response = await self.request("PUT", f"/v2/{repository}/manifests/{reference}", doing,
                                    content=raw, headers={"Content-Type": media_type})
        if response.status_code not in (200, 201, 202):
            raise self._fail(response, doing)
        return response.headers.get("Docker-Content-Digest") or sha256_digest(raw)

    async def delete_manifest(self, repository: str, reference: str) -> bool:
        """DELETE by digest (or by tag where supported). False when it was already gone."""
        doing = f"deleting manifest {repository}@{reference}"
        response = await self.request("DELETE", f"/v2/{repository}/manifests/{reference}", doing)
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202, 204):
            raise self._fail(response, doing)
        return True

    async def get_blob(self, repository: str, digest: Digest) -> bytes:
        doing = f"reading blob {digest[:19]} of {repository}"
        response = await self.request("GET", f"/v2/{repository}/blobs/{digest}", doing, follow_redirects=True)
        if response.status_code != 200:
            raise self._fail(response, doing)
        data = response.content
        if sha256_digest(data) != digest:
            raise GlcrError(f"{doing}: content does not match its digest")
        return data

    async def blob_exists(self, repository: str, digest: Digest) -> bool:
        doing = f"checking blob {digest[:19]} in {repository}"
        response = await self.request("HEAD", f"/v2/{repository}/blobs/{digest}", doing)
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise self._fail(response, doing)
        return True

    async def mount_blob(self, repository: str, digest: Digest, source: str) -> bool:
        """Cross-repository mount: no bytes move. False when the registry started an upload instead."""
        doing = f"mounting blob {digest[:19]} from {source} into {repository}"
        response = await self.request("POST", f"/v2/{repository}/blobs/uploads/", doing,
                                    params={"mount": digest, "from": source})
        if response.status_code == 201:
            return True
        if response.status_code == 202:
            location = response.headers.get("Location")
            if location:  # cancel the upload session the registry opened instead
                await self.request("DELETE", location, doing)
            return False
        raise self._fail(response, doing)

    async def upload_blob(self, repository: str, data: bytes, digest: Digest | None = None) -> Digest:
        """Monolithic upload: POST for a session, then PUT the bytes with the digest."""
        digest = digest or sha256_digest(data)
        doing = f"uploading blob {digest[:19]} to {repository}"
        start = await self.request("POST", f"/v2/{repository}/blobs/uploads/", doing)
        if start.status_code != 202:
            raise self._fail(start, doing)
        location = httpx.URL(start.headers["Location"])
        location = check_same_origin(start.request.url, str(location))
        params = dict(location.params)
        params["digest"] = digest
        done = await self.request("PUT", str(location).split("?", 1)[0], doing, params=params, content=data,
                                headers={"Content-Type": "application/octet-stream"})
        if done.status_code not in (201, 204):
            raise self._fail(done, doing)
        return digest

    # --- what a migration needs: referrers, and blobs streamed to and from files ---------------

    async def referrers(self, repository: str, digest: Digest) -> list[dict] | None:
        """The referrers of `digest` (OCI index `manifests` entries), or None when the registry has no
        referrers API (distribution 2.8 and GitLab's registry answer 404)."""
        headers = {"Accept": MEDIA_OCI_INDEX}
        response = await self.request("GET", f"/v2/{repository}/referrers/{digest}",
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

    async def download_blob(self, repository: str, digest: Digest, dest: Path,
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
            async with self.stream("GET", f"/v2/{repository}/blobs/{digest}", follow_redirects=True) as response:
                if response.status_code != 200:
                    await response.aread()
                    raise self._fail(response, doing)
                with open_private(tmp) as handle:  # 0600 whatever the umask: a backup holds private images
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

    async def upload_blob_file(self, repository: str, digest: Digest, source: Path,
                               advance: Advance | None = None) -> int:
        """Upload a blob from a file; returns the bytes sent."""
        size = source.stat().st_size
        if size <= CHUNK_SIZE:
            data = source.read_bytes()
            await self.upload_blob(repository, data, digest)
            if advance:
                advance(size)
            return size
        doing = f"uploading blob {digest[:19]} to {repository}"
        start = await self.request("POST", f"/v2/{repository}/blobs/uploads/", doing)
        if start.status_code != 202:
            raise self._fail(start, doing)
        location = check_same_origin(start.request.url, start.headers["Location"])
        offset = 0
        with open(source, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK_SIZE)
                if not chunk:
                    break
                response = await self.request(
                    "PATCH", str(location), doing, content=chunk,
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
                if response.status_code != 202:
                    raise self._fail(response, doing)
                location = check_same_origin(response.request.url, response.headers["Location"])
                offset += len(chunk)
                if advance:
                    advance(len(chunk))
        params = dict(location.params)
        params["digest"] = digest
        done = await self.request("PUT", str(location).split("?", 1)[0], doing, params=params,
                                  headers={"Content-Length": "0"})
        if done.status_code not in (201, 204):
            raise self._fail(done, doing)
        return size
