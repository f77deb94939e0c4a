"""A small full-access client of the sandbox's registry, used by the API server and the seeder.

It signs its own tokens with the sandbox key (as GitLab does with
`ContainerRegistryAuthenticationService.full_access_token`) instead of asking `/jwt/auth`.
Not glcr's registry client: that one lives in `glcr/registry/` and goes through `/jwt/auth`.
The `gitlab_*` methods speak GitLab's own registry's `/gitlab/v1/` API the way
`ContainerRegistry::GitlabApiClient` does (lib/container_registry/gitlab_api_client.rb).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx

from glcr_sandbox.media_types import MANIFEST_MEDIA_TYPES, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST
from glcr_sandbox.keys import SigningKey

TOKEN_LIFETIME_S = 300
TOKEN_REFRESH_MARGIN_S = 30  # renew before the registry could see an expired token
TAGS_PAGE_SIZE = 10000  # ContainerRegistry::Client::DEFAULT_TAGS_PAGE_SIZE
CATALOG_PAGE_SIZE = 1000  # distribution's catalog.maxentries default; more is a 400
ACCEPT_MANIFESTS = ", ".join(MANIFEST_MEDIA_TYPES)
# ContainerRegistry::BaseClient::ACCEPTED_TYPES: what GitLab accepts when it reads a tag's
# manifest (Tag#manifest, #digest). A registry rewrites a Docker manifest list to its
# linux/amd64 image for it, and answers 404 MANIFEST_UNKNOWN for an OCI index.
ACCEPT_IMAGE_MANIFESTS = ", ".join((MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST))
GITLAB_REPOSITORIES_PATH = "/gitlab/v1/repositories"
MAX_TAGS_PAGE_SIZE = 1000  # GitlabApiClient::MAX_TAGS_PAGE_SIZE
MAX_TAGS_PAGES = 2000  # ContainerRepository::MAX_TAGS_PAGES
# GitlabApiClient::RENAME_RESPONSES; any other status is :error.
RENAME_RESPONSES = {
    202: "accepted",
    204: "ok",
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    409: "name_taken",
    422: "too_many_subrepositories",
}


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

    def __init__(self, base_url: str, key: SigningKey, *, subject: str = "glcr-sandbox", timeout: float = 30.0,
                 verify: Any = True):
        """`verify`: httpx's, the sandbox CA's context for a registry serving https (--tls)."""
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._subject = subject
        self.verify = verify
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            verify=verify,
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

    def _signed(self, access: list[dict[str, Any]]) -> dict[str, str]:
        """A one-off token for an access list of its own (the rename's nested scopes)."""
        token = self._key.registry_token(access, subject=self._subject, expire_seconds=TOKEN_LIFETIME_S)
        return {"Authorization": f"Bearer {token}"}

    def _request(self, method: str, url: str, repo: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **self._auth("repository", repo)}
        return self._http.request(method, url, headers=headers, **kwargs)

    # --- what the registry supports (asked as GitLab asks) -------------------------------

    def supports_gitlab_api(self) -> bool:
        """GitlabApiClient#supports_gitlab_api?: `GET /gitlab/v1/` with a token (GitLab's
        with_dummy_client signs `access_token({})`: no access at all) answers 2xx or 401.
        GitLab's registry with its database: 200; without it: 404; distribution: 404."""
        resp = self._http.get("/gitlab/v1/", headers=self._signed([]))
        return resp.is_success or resp.status_code == 401

    def registry_features(self) -> list[str]:
        """Client#registry_info's features: `Gitlab-Container-Registry-Features` of an
        authenticated `GET /v2/` (GitLab's registry: `tag_delete`; others send none)."""
        resp = self._http.get("/v2/", headers=self._signed([]))
        if not resp.is_success:
            return []
        return [f.strip() for f in resp.headers.get("gitlab-container-registry-features", "").split(",") if f.strip()]

    def supports_tag_delete(self) -> bool:
        """Client#supports_tag_delete?: `OPTIONS /v2/name/manifests/tag` (a made-up repository;
        the registry does not look it up) answers 2xx with DELETE in `Allow`. GitLab's registry
        in both modes: yes; distribution 2.8: yes too, though it refuses DELETE by tag."""
        resp = self._http.request("OPTIONS", "/v2/name/manifests/tag", headers=self._signed([]))
        return resp.is_success and "DELETE" in resp.headers.get("allow", "")

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

    def manifest(self, repo: str, reference: str, *, accept: str = ACCEPT_MANIFESTS) -> FetchedManifest | None:
        """The manifest, or None on 404 (for GitLab's ACCEPT_IMAGE_MANIFESTS: an OCI index too)."""
        resp = self._request("GET", f"/v2/{repo}/manifests/{reference}", repo, headers={"Accept": accept})
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


    def delete_blob(self, repo: str, digest: str) -> bool:
        """Unlink a blob from the repository (`DELETE /v2/<name>/blobs/<digest>`, storage.delete
        enabled): afterwards the repository answers 404 for it, as after garbage collection."""
        resp = self._request("DELETE", f"/v2/{repo}/blobs/{digest}", repo)
        if resp.status_code == 404:
            return False
        _check(resp, f"deleting blob {repo}@{digest}")
        return True

    # --- GitLab's own registry: /gitlab/v1 ------------------------------------------------

    def gitlab_tags_page(
        self,
        repo: str,
        *,
        page_size: int = 100,
        last: str | None = None,
        name: str | None = None,
        sort: str | None = None,
        before: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """GitlabApiClient#tags: one page of tag details and the next page's `last` marker;
        None when the registry does not answer 2xx (GitLab then treats it as no page)."""
        params: dict[str, Any] = {"n": min(page_size, MAX_TAGS_PAGE_SIZE)}
        for key, value in (("last", last), ("before", before), ("name", name), ("sort", sort)):
            if value:
                params[key] = value
        resp = self._request("GET", f"{GITLAB_REPOSITORIES_PATH}/{repo}/tags/list/", repo, params=params)
        if resp.status_code >= 300:
            return None
        link = _next_link(resp)
        next_last = parse_qs(urlsplit(link).query).get("last", [None])[0] if link else None
        return list(resp.json() or []), next_last

    def gitlab_each_tags_page(self, repo: str, page_size: int = 100) -> Iterator[list[dict[str, Any]]]:
        """ContainerRepository#each_tags_page: pages until no `Link: rel="next"`."""
        last: str | None = None
        for _ in range(MAX_TAGS_PAGES):
            page = self.gitlab_tags_page(repo, page_size=page_size, last=last)
            if page is None:
                return
            yield page[0]
            last = page[1]
            if last is None:
                return
        raise RegistryError("too many pages requested")

    def gitlab_tags(self, repo: str, page_size: int = 100) -> list[dict[str, Any]]:
        """ContainerRepository#tags on GitLab's registry: every tag with its details, by name."""
        return [tag for page in self.gitlab_each_tags_page(repo, page_size) for tag in page]

    def repository_details(self, repo: str, sizing: str | None = None) -> dict[str, Any]:
        """GitlabApiClient#repository_details: {} unless 2xx."""
        params = {"size": sizing} if sizing else None
        resp = self._request("GET", f"{GITLAB_REPOSITORIES_PATH}/{repo}/", repo, params=params)
        return resp.json() if resp.status_code < 300 else {}

    def delete_tag(self, repo: str, tag: str) -> bool:
        """GitLab's registry deletes a tag by name and only that tag (its siblings on the same
        digest stay). True on 2xx and on 404 (already gone: delete_if_exists), else False."""
        resp = self._request("DELETE", f"/v2/{repo}/manifests/{tag}", repo)
        return resp.status_code < 300 or resp.status_code == 404

    def patch_repository(self, path: str, body: dict[str, str], *, dry_run: bool, access: list[dict[str, Any]]) -> str:
        """GitlabApiClient#patch_repository (rename or move a base repository and everything
        under it): the RENAME_RESPONSES symbol of the answer."""
        resp = self._http.patch(
            f"{GITLAB_REPOSITORIES_PATH}/{path}/",
            params={"dry_run": "true" if dry_run else "false"},
            json=body,
            headers={**self._signed(access), "Accept": "application/json"},
        )
        return RENAME_RESPONSES.get(resp.status_code, "error")


def rename_access(path: str) -> list[dict[str, Any]]:
    """push_pull_nested_repositories_access_token: the registry checks meta.project_path."""
    meta = {"project_path": path.lower()}
    return [
        {"type": "repository", "name": path, "actions": ["pull", "push"], "meta": meta},
        {"type": "repository", "name": f"{path}/*", "actions": ["pull"], "meta": meta},
    ]


def move_access(path: str, new_namespace: str) -> list[dict[str, Any]]:
    """push_pull_move_repositories_access_token (use_key_as_project_path: each key, less `/*`)."""
    return [
        *rename_access(path),
        {"type": "repository", "name": f"{new_namespace}/*", "actions": ["push"],
         "meta": {"project_path": new_namespace.lower()}},
    ]  # fmt: skip


def _check(resp: httpx.Response, doing: str) -> None:
    if resp.status_code >= 400:
        raise RegistryError(f"{doing}: {resp.status_code} {resp.text[:200]}", resp.status_code)


def _next_link(resp: httpx.Response) -> str | None:
    """The rel="next" target of a Link header (GitLab's registry sends rel="previous" too)."""
    for part in (resp.headers.get("link") or "").split(","):
        target, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return target.strip().strip("<>")
    return None
