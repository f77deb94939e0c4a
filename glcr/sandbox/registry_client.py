"""A small full-access client of the sandbox's registry, used by the API server and the seeder.

It signs its own tokens with the sandbox key (as GitLab does with
`ContainerRegistryAuthenticationService.full_access_token`) instead of asking `/jwt/auth`.
Not glcr's registry client: that one lives in `glcr/registry/` and goes through `/jwt/auth`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from glcr.models import MANIFEST_MEDIA_TYPES
from glcr.sandbox.keys import SigningKey

TOKEN_LIFETIME_S = 300
TOKEN_REFRESH_MARGIN_S = 30  # renew before the registry could see an expired token
TAGS_PAGE_SIZE = 10000  # ContainerRegistry::Client::DEFAULT_TAGS_PAGE_SIZE
CATALOG_PAGE_SIZE = 1000  # distribution's catalog.maxentries default; more is a 400
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class FetchedManifest:
    raw: bytes
    media_type: str
    digest: str


class RegistryError(RuntimeError):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RegistryClient:
    """Thread-safe: one pooled httpx client, a lock-protected token cache per scope."""

    def __init__(self, base_url: str, key: SigningKey, *, subject: str = "glcr-sandbox", timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._subject = subject
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        )
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return self.base_url.split("://", 1)[1]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _auth(self, kind: str, name: str) -> dict[str, str]:
        key = (kind, name)
        now = time.monotonic()
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] - now > TOKEN_REFRESH_MARGIN_S:
                return {"Authorization": f"Bearer {cached[0]}"}
        token = self._key.registry_token(
            [{"type": kind, "name": name, "actions": ["*"]}],
            subject=self._subject,
            expire_seconds=TOKEN_LIFETIME_S,
        )
        with self._lock:
            self._tokens[key] = (token, now + TOKEN_LIFETIME_S)
        return {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, url: str, repo: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self._auth("repository", repo)}
        return self._http.request(method, url, headers=headers, **kwargs)

    # --- reading -------------------------------------------------------------------------

    def catalog(self) -> list[str]:
        names: list[str] = []
        url: str | None = f"/v2/_catalog?n={CATALOG_PAGE_SIZE}"
        while url:
            resp = self._http.get(url, headers=self._auth("registry", "catalog"))
            _check(resp, "listing the catalog")
            names.extend(resp.json().get("repositories") or [])
            url = _next_link(resp)
        return names

    def tags(self, repo: str) -> list[str] | None:
        """All tags, sorted by name as GitLab sorts them; None when the repository is unknown."""
        resp = self._request("GET", f"/v2/{repo}/tags/list?n={TAGS_PAGE_SIZE}", repo)
        if resp.status_code == 404:
            return None
        _check(resp, f"listing tags of {repo}")
        return sorted(resp.json().get("tags") or [])

    def manifest(self, repo: str, reference: str) -> FetchedManifest | None:
        resp = self._request("GET", f"/v2/{repo}/manifests/{reference}", repo, headers={"Accept": ACCEPT_MANIFESTS})
        if resp.status_code == 404:
            return None
        _check(resp, f"reading manifest {repo}:{reference}")
        media_type = resp.headers.get("content-type", "").split(";")[0]
        digest = resp.headers.get("docker-content-digest") or sha256_digest(resp.content)
        return FetchedManifest(resp.content, media_type, digest)

    def blob(self, repo: str, digest: str) -> bytes | None:
        resp = self._request("GET", f"/v2/{repo}/blobs/{digest}", repo, follow_redirects=True)
        if resp.status_code == 404:
            return None
        _check(resp, f"reading blob {digest} of {repo}")
        return resp.content

    # --- writing -------------------------------------------------------------------------

    def blob_exists(self, repo: str, digest: str) -> bool:
        return self._request("HEAD", f"/v2/{repo}/blobs/{digest}", repo).status_code == 200

    def upload_blob(self, repo: str, data: bytes, *, skip_existing: bool = False) -> str:
        """Monolithic upload: POST for a session, PUT with the digest (distribution 2.8 needs both)."""
        digest = sha256_digest(data)
        if skip_existing and self.blob_exists(repo, digest):
            return digest
        resp = self._request("POST", f"/v2/{repo}/blobs/uploads/", repo)
        _check(resp, f"starting a blob upload to {repo}")
        location = resp.headers["location"]
        sep = "&" if "?" in location else "?"
        resp = self._request(
            "PUT",
            f"{location}{sep}digest={digest}",
            repo,
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        _check(resp, f"uploading blob {digest} to {repo}")
        return digest

    def put_manifest(self, repo: str, reference: str, raw: bytes, media_type: str) -> str:
        resp = self._request(
            "PUT", f"/v2/{repo}/manifests/{reference}", repo, content=raw, headers={"Content-Type": media_type}
        )
        _check(resp, f"putting manifest {repo}:{reference}")
        return resp.headers.get("docker-content-digest") or sha256_digest(raw)

    def delete_manifest(self, repo: str, digest: str) -> bool:
        """True when deleted; a 404 (already gone) is False, other failures raise."""
        resp = self._request("DELETE", f"/v2/{repo}/manifests/{digest}", repo)
        if resp.status_code == 404:
            return False
        _check(resp, f"deleting manifest {repo}@{digest}")
        return True


def _check(resp: httpx.Response, doing: str) -> None:
    if resp.status_code >= 400:
        raise RegistryError(f"{doing}: {resp.status_code} {resp.text[:200]}", resp.status_code)


def _next_link(resp: httpx.Response) -> str | None:
    link = resp.headers.get("link")
    if not link or 'rel="next"' not in link:
        return None
    return link.split(";", 1)[0].strip().strip("<>")
