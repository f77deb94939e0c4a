"""GitLab REST calls a migration needs that `glcr.gitlab.api.GitLabApi` does not offer (yet).

Transfer and path rename (lib/api/projects.rb: PUT /projects/:id/transfer, PUT /projects/:id),
the token's scopes, a namespace and the caller's role in it, protection rules. Each returns
None where GitLab (or an older GitLab) has no answer, so the preflight can say "could not
check" instead of failing. They use the API's own HTTP client (auth headers, retries).
"""

from __future__ import annotations

import asyncio

from typing import Any


from glcr.errors import GlcrError, NetworkError, NotFoundError, PermissionDeniedError
from glcr.gitlab.convert import encode_id
from glcr.gitlab.rest import GitLabRest
from glcr.migrate.model import Rule


async def _get_optional(session, url: str, doing: str, params: dict | None = None) -> Any | None:
    return await session.api.get_optional(url, doing, params)


async def project(session, ref: int | str) -> dict:
    return await session.api.project(ref)


async def project_or_none(session, ref: int | str) -> dict | None:
    return await _get_optional(session, f"projects/{encode_id(ref)}", f"reading project {ref}")


async def current_user(session) -> dict | None:
    try:
        return await session.api.get_json("user", "reading the current user")
    except GlcrError:
        return None  # a job token has no /user


async def token_scopes(session) -> tuple[str, ...] | None:
    """GET /personal_access_tokens/self (GitLab 15.5+); None when it cannot tell."""
    try:
        data = await session.api.get_json("personal_access_tokens/self", "reading the token's scopes")
    except GlcrError:
        return None
    scopes = data.get("scopes") if isinstance(data, dict) else None
    return tuple(scopes) if isinstance(scopes, list) else None


async def namespace(session, full_path: str) -> dict | None:
    """The namespace (group or user) at `full_path`; None when it does not exist or is hidden."""
    for url in (f"namespaces/{encode_id(full_path)}", f"groups/{encode_id(full_path)}"):
        try:
            data = await session.api.get_json(url, f"reading namespace {full_path}")
        except (NotFoundError, PermissionDeniedError):
            continue
        if isinstance(data, dict) and "id" in data:
            return data
    return None


async def namespace_access(session, ns: dict, user: dict | None) -> int | None:
    """The caller's access level in a namespace (inherited memberships count); None: unknown."""
    if user is None:
        return None
    if ns.get("kind") == "user":
        return 50 if ns.get("full_path", "").lower() == str(user.get("username", "")).lower() else 0
    url = f"groups/{ns['id']}/members/all/{user['id']}"
    try:
        response = await session.api.get_response(url, "reading the target namespace's members")
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


async def protection_rules(session, project_id: int, kind: str) -> tuple[Rule, ...] | None:
    """Tag rules (GitLab 18.7+) or repository rules; None when the endpoint is not there."""
    try:
        data = await session.api._all(f"projects/{project_id}/registry/protection/{kind}/rules",
                                      f"reading the {kind} protection rules")
    except (NotFoundError, PermissionDeniedError):
        return None
    except GlcrError as exc:
        if getattr(exc, "status", None) == 405:
            return None
        raise
    key = "tag_name_pattern" if kind == "tag" else "repository_path_pattern"
    return tuple(Rule(str(d.get(key) or ""), d.get("minimum_access_level_for_push"),
                      d.get("minimum_access_level_for_delete")) for d in data if isinstance(d, dict))


async def transfer(session, project_id: int, namespace_path: str) -> dict:
    """GitLab's transfer, through python-gitlab (the project resource); one call, in a thread."""
    rest = GitLabRest(session.creds)
    return await asyncio.to_thread(rest.transfer_project, project_id, namespace_path)


async def rename_path(session, project_id: int, path: str) -> dict:
    rest = GitLabRest(session.creds)
    return await asyncio.to_thread(rest.update_project, project_id, {"path": path})
