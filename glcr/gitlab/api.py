"""Async GitLab REST for the hot paths: paginated lists and one-call-per-tag fan-out.

Why httpx here and not python-gitlab: listing 2,000 tags with details is 2,000 GET
/tags/:name calls; python-gitlab's sequential session takes 2,000 round trips (40 s at 20 ms),
bounded concurrency takes 1/jobs of that (bench/bench_tags_list.py measures it).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Sequence
from urllib.parse import quote

import httpx

from glcr.errors import GlcrError, NetworkError, NotFoundError, PermissionDeniedError, for_status
from glcr.gitlab import convert
from glcr.gitlab.convert import encode_id
from glcr.models import Repository, Tag, TagDetails
from glcr.transport.concurrency import gather_bounded
from glcr.transport.pagination import error_detail, iter_pages, json_body
from glcr.transport.proxy import unreachable_reason

# GitLab's maximum page size for offset pagination (Kaminari max_per_page).
PER_PAGE = 100


class GitLabApi:
    def __init__(self, http: httpx.AsyncClient, *, jobs: int) -> None:
        self._http = http
        self.jobs = jobs

    async def get_json(self, url: str, doing: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.get(url, params=params)
        except httpx.TransportError as exc:
            raise NetworkError(f"{doing}: cannot reach GitLab ({unreachable_reason(exc)})",
                               hint="check --url / GITLAB_URL and the network") from None
        if response.status_code != 200:
            raise for_status(response.status_code, doing, error_detail(response))
        return json_body(response, doing)

    async def get_optional(self, url: str, doing: str, params: dict[str, Any] | None = None) -> Any | None:
        """JSON, or None on 404 (no such thing, or an endpoint this GitLab does not have)."""
        try:
            return await self.get_json(url, doing, params)
        except NotFoundError:
            return None

    async def get_response(self, url: str, doing: str) -> httpx.Response:
        """The raw answer, for callers that read GitLab's 404 bodies themselves."""
        try:
            return await self._http.get(url)
        except httpx.TransportError as exc:
            raise NetworkError(f"{doing}: cannot reach GitLab ({unreachable_reason(exc)})",
                               hint="check --url / GITLAB_URL and the network") from None

    async def _all(self, url: str, doing: str, params: dict[str, Any] | None = None) -> list[Any]:
        items: list[Any] = []
        async for page in iter_pages(self._http, url, {"per_page": PER_PAGE, **(params or {})}, doing):
            items.extend(page)
        return items

    def pages(self, url: str, doing: str, params: dict[str, Any] | None = None):
        """Each page of a list endpoint (an async iterator of lists), PER_PAGE unless `params` say."""
        return iter_pages(self._http, url, {"per_page": PER_PAGE, **(params or {})}, doing)

    async def project(self, id_or_path: int | str) -> dict:
        return await self.get_json(f"projects/{encode_id(id_or_path)}", f"reading project {id_or_path}")

    async def project_repositories(self, project: int | str, *, tags_count: bool = True) -> list[Repository]:
        data = await self._all(f"projects/{encode_id(project)}/registry/repositories",
                               f"listing registry repositories of project {project}",
                               {"tags_count": "true"} if tags_count else None)
        return [convert.repository(d) for d in data]

    async def group_repositories(self, group: int | str) -> list[Repository]:
        data = await self._all(f"groups/{encode_id(group)}/registry/repositories",
                               f"listing registry repositories of group {group}")
        return [convert.repository(d) for d in data]

    async def repository(self, repository_id: int, *, tags_count: bool = True, size: bool = False) -> Repository:
        params = {"tags_count": str(tags_count).lower(), "size": str(size).lower()}
        data = await self.get_json(f"registry/repositories/{repository_id}", f"reading repository {repository_id}", params)
        return convert.repository(data)

    async def tags(self, repo: Repository) -> list[Tag]:
        data = await self._all(f"projects/{repo.project_id}/registry/repositories/{repo.id}/tags",
                               f"listing tags of {repo.path}")
        return [convert.tag(d) for d in data]

    async def tag_details(self, repo: Repository, name: str) -> TagDetails | None:
        url = f"projects/{repo.project_id}/registry/repositories/{repo.id}/tags/{quote(name, safe='')}"
        try:
            return convert.tag_details(await self.get_json(url, f"reading tag {repo.path}:{name}"))
        except NotFoundError:
            return None  # deleted between the list and this call

    async def all_tag_details(self, repo: Repository, names: Sequence[str],
                              progress: Callable[[], None] | None = None) -> list[TagDetails]:
        async def one(name: str) -> TagDetails | None:
            details = await self.tag_details(repo, name)
            if progress:
                progress()
            return details

        found = await gather_bounded(self.jobs, [partial(one, n) for n in names])
        return [d for d in found if d is not None]

    async def delete_tag(self, repo: Repository, name: str) -> bool:
        """GitLab's single-tag delete API. False when GitLab says the tag is not there."""
        url = f"projects/{repo.project_id}/registry/repositories/{repo.id}/tags/{quote(name, safe='')}"
        doing = f"deleting tag {repo.path}:{name} through the GitLab API"
        try:
            response = await self._http.delete(url)
        except httpx.TransportError as exc:
            raise NetworkError(f"{doing}: {type(exc).__name__}") from None
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 202, 204):
            raise for_status(response.status_code, doing, error_detail(response))
        return True

    async def delete_repository(self, repo: Repository) -> None:
        doing = f"deleting repository {repo.path}"
        response = await self._http.delete(f"projects/{repo.project_id}/registry/repositories/{repo.id}")
        if response.status_code not in (200, 202, 204):
            raise for_status(response.status_code, doing, error_detail(response))

    async def repository_status(self, repository_id: int) -> Repository | None:
        """The repository, or None once GitLab has removed it (404)."""
        try:
            return await self.repository(repository_id, tags_count=False)
        except NotFoundError:
            return None

    # --- what a migration's preflight reads; None where GitLab (or an older GitLab) has no answer,
    # so the preflight can say "could not check" instead of failing ------------------------------

    async def project_or_none(self, id_or_path: int | str) -> dict | None:
        return await self.get_optional(f"projects/{encode_id(id_or_path)}", f"reading project {id_or_path}")

    async def current_user(self) -> dict | None:
        try:
            return await self.get_json("user", "reading the current user")
        except GlcrError:
            return None  # a job token has no /user

    async def token_scopes(self) -> tuple[str, ...] | None:
        """GET /personal_access_tokens/self (GitLab 15.5+); None when it cannot tell."""
        try:
            data = await self.get_json("personal_access_tokens/self", "reading the token's scopes")
        except GlcrError:
            return None
        scopes = data.get("scopes") if isinstance(data, dict) else None
        return tuple(scopes) if isinstance(scopes, list) else None

    async def namespace(self, full_path: str) -> dict | None:
        """The namespace (group or user) at `full_path`; None when it does not exist or is hidden."""
        for url in (f"namespaces/{encode_id(full_path)}", f"groups/{encode_id(full_path)}"):
            try:
                data = await self.get_json(url, f"reading namespace {full_path}")
            except (NotFoundError, PermissionDeniedError):
                continue
            if isinstance(data, dict) and "id" in data:
                return data
        return None

    async def namespace_access(self, ns: dict, user: dict | None) -> int | None:
        """The caller's access level in a namespace (inherited memberships count); None: unknown."""
        if user is None:
            return None
        if ns.get("kind") == "user":
            return 50 if ns.get("full_path", "").lower() == str(user.get("username", "")).lower() else 0
        url = f"groups/{ns['id']}/members/all/{user['id']}"
        try:
            response = await self.get_response(url, "reading the target namespace's members")
        except NetworkError:
            return None
        if response.status_code == 200:
            return int(response.json().get("access_level") or 0)
        if response.status_code == 404:
            try:
                body = response.json()
            except ValueError:
                return None
            # GitLab's "404 Not found" (no such member) has a message; an unknown route an error.
            return 0 if isinstance(body, dict) and "message" in body else None
        return None

    async def protection_rules(self, project_id: int, kind: str) -> list[dict] | None:
        """The project's `tag` rules (GitLab 18.7+) or `repository` rules as GitLab answers them;
        None when the endpoint is not there."""
        try:
            data = await self._all(f"projects/{project_id}/registry/protection/{kind}/rules",
                                   f"reading the {kind} protection rules")
        except (NotFoundError, PermissionDeniedError):
            return None
        except GlcrError as exc:
            if getattr(exc, "status", None) == 405:
                return None
            raise
        return [d for d in data if isinstance(d, dict)]
