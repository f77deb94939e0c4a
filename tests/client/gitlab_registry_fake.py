"""A GitLab (REST + /jwt/auth) and GitLab's own registry (v3.86, metadata database), over
httpx.MockTransport, answering as the real ones did when probed:

- the registry's 401 without a token carries no Gitlab-Container-Registry-* headers; with any
  valid token `GET /v2/` and `GET /gitlab/v1/` answer 200 and `/v2/` announces `tag_delete`;
- every repository route checks the token's `access` and answers 401 with
  `scope="repository:<p>:<action>"` and `error="insufficient_scope"` when it is missing;
- `/gitlab/v1/repositories/<p>/tags/list/` (301 without the trailing slash) pages by name,
  next page in `Link`; tag-only `DELETE /v2/<p>/manifests/<tag>` (202, then 404);
- tokens carry `iat`/`exp` stamped by the server's clock, which the registry checks with its
  own clock (the same one here) and a 60 s leeway.

The client's clock is separate (`client_now`), so tests can put it anywhere.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

import httpx

GITLAB = "https://gitlab.test"
REGISTRY_HOST = "registry.test"
TOKEN = "glpat-fake-token-123"
LEEWAY = 60


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@dataclass
class FakeGitLab:
    projects: dict[str, int] = field(default_factory=lambda: {"group/app": 7})
    # registry path -> {tag: digest}
    repos: dict[str, dict[str, str]] = field(default_factory=dict)
    # what /jwt/auth grants on each project's repositories
    grant: tuple[str, ...] = ("pull", "push", "delete")
    server_now: float = 1_800_000_000.0
    lifetime: float = 300.0
    iat: bool = True
    refuse_tokens: bool = False  # the registry rejects every token (another signing key, say)
    realm: str = f"{GITLAB}/jwt/auth"
    issued: int = 0
    jwt_requests: list[tuple[str, ...]] = field(default_factory=list)
    jwt_auth_headers: list[str | None] = field(default_factory=list)
    api_calls: list[str] = field(default_factory=list)
    registry_calls: list[str] = field(default_factory=list)

    # --- GitLab ------------------------------------------------------------------------------

    def project_of(self, path: str) -> str | None:
        for project in sorted(self.projects, key=len, reverse=True):
            if path == project or path.startswith(project + "/"):
                return project
        return None

    def _project_repos(self, project: str) -> list[str]:
        return [r for r in sorted(self.repos) if self.project_of(r) == project]

    def jwt_auth(self, request: httpx.Request) -> httpx.Response:
        self.jwt_auth_headers.append(request.headers.get("Authorization"))
        expected = "Basic " + base64.b64encode(f"alice:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED"}]})
        scopes = tuple(request.url.params.get_list("scope"))
        self.jwt_requests.append(scopes)
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":", 2)
            # ContainerRegistry::Path#valid?: `*` is no path character, so `<p>/*` is dropped
            project = self.project_of(name) if re.fullmatch(r"[a-z0-9][a-z0-9._/-]*", name) else None
            granted = [a for a in actions.split(",") if a in self.grant]
            if kind == "repository" and project and granted:
                access.append({"type": kind, "name": name, "actions": granted, "meta": {"project_path": project}})
        self.issued += 1
        claims = {"iss": "gitlab-issuer", "aud": "container_registry", "sub": "alice",
                  "exp": self.server_now + self.lifetime, "nbf": self.server_now - 5,
                  "jti": f"j{self.issued}", "access": access}
        if self.iat:
            claims["iat"] = self.server_now
        return httpx.Response(200, json={"token": f"{b64({'alg': 'RS256', 'kid': 'K'})}.{b64(claims)}.sig"})

    def api(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0].removeprefix("/api/v4/")
        self.api_calls.append(f"{request.method} {path}")
        if path == "user":
            return httpx.Response(200, json={"id": 1, "username": "alice"})
        match = re.fullmatch(r"projects/([^/]+)", path)
        if match:
            full = unquote(match.group(1))
            pid = self.projects.get(full) or next((i for p, i in self.projects.items() if str(i) == full), None)
            if pid is None:
                return httpx.Response(404, json={"message": "404 Project Not Found"})
            name = next(p for p, i in self.projects.items() if i == pid)
            return httpx.Response(200, json={"id": pid, "path_with_namespace": name, "path": name.rsplit("/", 1)[1],
                                             "container_registry_image_prefix": f"{REGISTRY_HOST}/{name}"})
        match = re.fullmatch(r"projects/([^/]+)/registry/repositories", path)
        if match:
            ref = unquote(match.group(1))
            project = next((p for p, i in self.projects.items() if ref in (p, str(i))), None)
            if project is None:
                return httpx.Response(404, json={"message": "404 Project Not Found"})
            return httpx.Response(200, json=[
                {"id": 100 + n, "name": r[len(project) + 1:], "path": r, "project_id": self.projects[project],
                 "location": f"{REGISTRY_HOST}/{r}", "created_at": "2026-01-01T00:00:00Z", "size": None}
                for n, r in enumerate(self._project_repos(project))])
        match = re.fullmatch(r"registry/repositories/(\d+)", path)
        if match:  # self-managed GitLab: no size (ContainerRepository#size is GitLab.com only)
            repo = sorted(self.repos)[int(match.group(1)) - 100]
            project = self.project_of(repo)
            return httpx.Response(200, json={
                "id": int(match.group(1)), "name": repo[len(project) + 1:], "path": repo,
                "project_id": self.projects[project], "location": f"{REGISTRY_HOST}/{repo}",
                "created_at": "2026-01-01T00:00:00Z", "tags_count": len(self.repos[repo]), "size": None})
        match = re.fullmatch(r"projects/(\d+)/registry/repositories/(\d+)/tags(?:/([^/]+))?", path)
        if match:  # GitLab's REST tags: created_at is not the push time (see the cleanup tests)
            project = next(p for p, i in self.projects.items() if str(i) == match.group(1))
            repo = self._project_repos(project)[int(match.group(2)) - 100]
            names = sorted(self.repos[repo]) if match.group(3) is None else [unquote(match.group(3))]
            items = [{"name": t, "path": f"{repo}:{t}", "location": f"{REGISTRY_HOST}/{repo}:{t}",
                      "digest": self.repos[repo].get(t), "created_at": "2025-06-01T00:00:00Z", "total_size": 1}
                     for t in names]
            return httpx.Response(200, json=items if match.group(3) is None else items[0])
        return httpx.Response(404, json={"message": "404 Not Found"})

    # --- the registry ------------------------------------------------------------------------

    def _challenge(self, scope: str | None = None, error: str | None = None) -> dict[str, str]:
        value = f'Bearer realm="{self.realm}",service="container_registry"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return {"WWW-Authenticate": value, "Content-Type": "application/json"}

    def _valid_claims(self, request: httpx.Request) -> dict | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or self.refuse_tokens:
            return None
        claims = claims_of(header[7:])
        if claims["exp"] + LEEWAY < self.server_now or claims["nbf"] - LEEWAY > self.server_now:
            return None
        return claims

    def _allowed(self, claims: dict, name: str, action: str) -> bool:
        return any(a["name"] == name and action in a["actions"] for a in claims.get("access", []))

    def registry(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.registry_calls.append(f"{request.method} {request.url.raw_path.decode()}")
        claims = self._valid_claims(request)
        if path in ("/v2/", "/gitlab/v1/"):
            if claims is None:
                return httpx.Response(401, headers=self._challenge(), json={"errors": [{"code": "UNAUTHORIZED"}]})
            return httpx.Response(200, json={}, headers={
                "Gitlab-Container-Registry-Version": "3.86.0-gitlab",
                "Gitlab-Container-Registry-Features": "tag_delete",
                "Gitlab-Container-Registry-Database-Enabled": "true"})
        route = self._route(request.method, path)
        if route is None:
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
        name, action, handler = route
        if claims is None or not self._allowed(claims, name, action):
            return httpx.Response(401, headers=self._challenge(
                f"repository:{name}:{action}", "insufficient_scope" if claims else None),
                json={"errors": [{"code": "UNAUTHORIZED"}]})
        return handler(request, name)

    def _route(self, method: str, path: str):
        if path.startswith("/gitlab/v1/repositories/") and "/tags/list" in path:
            name = path.removeprefix("/gitlab/v1/repositories/").split("/tags/list")[0]
            return name, "pull", self._gitlab_tags
        if path.startswith("/gitlab/v1/repositories/") and path.endswith("/") and method == "GET":
            name = path.removeprefix("/gitlab/v1/repositories/").rstrip("/")
            return name, "pull", lambda r, n: httpx.Response(200, json={
                "name": n.rsplit("/", 1)[-1], "path": n, "size_bytes": 1000 * len(self.repos.get(n, {}))})
        if path.startswith("/gitlab/v1/unmapped/"):  # a route glcr's scope table does not know
            return path.removeprefix("/gitlab/v1/unmapped/").rstrip("/"), "pull", lambda r, n: httpx.Response(200, json={})
        match = re.fullmatch(r"/v2/(.+?)/(tags/list|manifests/[^/]+)", path)
        if not match:
            return None
        name, rest = match.groups()
        if rest == "tags/list":
            return name, "pull", self._tags
        if method == "DELETE":
            return name, "delete", self._delete
        return name, "pull", self._manifest

    def _gitlab_tags(self, request: httpx.Request, name: str) -> httpx.Response:
        if not request.url.path.endswith("/"):
            return httpx.Response(301, headers={"Location": request.url.path + "/"})
        tags = self.repos.get(name)
        if tags is None:
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
        n = int(request.url.params.get("n", "100"))
        last = request.url.params.get("last", "")
        names = sorted(t for t in tags if t > last)
        page = names[:n]
        body = [{"name": t, "digest": tags[t], "config_digest": digest_of("cfg" + tags[t]),
                 "media_type": "application/vnd.oci.image.manifest.v1+json", "size_bytes": 1000 + i,
                 "created_at": f"2026-01-{1 + i % 28:02d}T00:00:00.000+00:00",
                 "published_at": f"2026-03-{1 + i % 28:02d}T00:00:00.000+00:00"}
                for i, t in enumerate(page)]
        headers = {}
        if len(names) > n:
            headers["Link"] = f'<{request.url.path}?last={page[-1]}&n={n}>; rel="next"'
        return httpx.Response(200, json=body, headers=headers)

    def _tags(self, request: httpx.Request, name: str) -> httpx.Response:
        if name not in self.repos:
            return httpx.Response(404, json={"errors": [{"code": "NAME_UNKNOWN"}]})
        return httpx.Response(200, json={"name": name, "tags": sorted(self.repos[name])})

    def _manifest(self, request: httpx.Request, name: str) -> httpx.Response:
        ref = request.url.path.rsplit("/", 1)[1]
        tags = self.repos.get(name, {})
        digest = tags.get(ref) or (ref if ref in tags.values() else None)
        if digest is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        return httpx.Response(200, headers={"Docker-Content-Digest": digest,
                                            "Content-Type": "application/vnd.oci.image.manifest.v1+json",
                                            "Content-Length": "500"})

    def _delete(self, request: httpx.Request, name: str) -> httpx.Response:
        ref = request.url.path.rsplit("/", 1)[1]
        if self.repos.get(name, {}).pop(ref, None) is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        return httpx.Response(202)

    # --- the wire ----------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host == REGISTRY_HOST:
            return self.registry(request)
        if request.url.path == "/jwt/auth":
            return self.jwt_auth(request)
        if request.url.path.startswith("/api/v4/"):
            return self.api(request)
        return httpx.Response(404)
