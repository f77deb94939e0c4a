"""GitLab's container tag protection rules: GraphQL (17.8+, glcr.gitlab.graphql), then the REST
API (GitLab 18.7+), and who the caller is.

lib/api/project_container_registry_protection_tag_rules.rb: GET/POST
/projects/:id/registry/protection/tag/rules, PATCH/DELETE .../rules/:protection_rule_id (GET from
18.7, POST 18.8, PATCH 18.9; DELETE answers 204). Every route needs `admin_container_image`
(Maintainer). An older GitLab has no such route: Grape answers 404 {"error": "404 Not Found"},
which glcr reports once as "rules cannot be read", never as an error: the rules then cannot be
honoured ahead of time, and a refusal by GitLab or the registry is explained when it comes.

Reading (the hot paths: cleanup, deletes, migrate) goes through the async GitLabApi; the
`glcr protection` commands manage rules through python-gitlab (GitLabRest), like `policy set`.
"""

from __future__ import annotations

import sys
import weakref
from dataclasses import replace
from typing import Any

from glcr.errors import GlcrError, NotFoundError, PermissionDeniedError, RefusedError, for_status
from glcr.gitlab.convert import encode_id
from glcr.policy.protection import Caller, Protection, TagRule

ROUTE = "projects/{id}/registry/protection/tag/rules"
OLD_GITLAB = "tag protection rules cannot be read (GitLab before 18.7 has no rules API); protected tags are not checked"
OLD_GITLAB_NO_RULES = ("tag protection rules cannot be read (GitLab before 17.8 has no rules API, and protects "
                       "tags from 17.9); protected tags are not checked")
MAINTAINER = 40
NOT_MAINTAINER = ("tag protection rules cannot be read (reading them needs the Maintainer role); "
                  "protected tags are not checked ahead of time")

_noted: set[str] = set()
_cache: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def note_once(protection: Protection, where: str = "") -> None:
    """Say once per run why the rules (or some of them) could not be read (stderr, one line)."""
    if not protection.note:
        return
    text = protection.note + (f" ({where})" if where else "")
    if protection.note not in _noted:
        _noted.add(protection.note)
        sys.stderr.write(f"note: {text}\n")


def _memo(api: Any) -> dict:
    memo = _cache.get(api)
    if memo is None:
        memo = _cache[api] = {}
    return memo


def _route_missing(response: Any) -> bool:
    """Grape's unmatched route ({"error": "404 Not Found"}), not a missing project ({"message": ...})."""
    try:
        body = response.json()
    except ValueError:
        return True
    return not (isinstance(body, dict) and "message" in body)


async def read_protection(api: Any, project_id: int | str, *, quiet: bool = False,
                          session: Any = None) -> Protection:
    """The project's tag rules, or an unreadable Protection saying why (noted once on stderr,
    unless `quiet`: the caller reports it itself).

    With a `session`: GraphQL first (GitLab 17.8+, immutable rules included: glcr.gitlab.graphql),
    then REST (18.7+, mutable rules only) when GraphQL could not tell."""
    memo = _memo(api)
    key = ("rules", str(project_id))
    if key in memo:
        return memo[key]
    graphql_why = ""
    if session is not None:
        found, graphql_why = await _via_graphql(session, api, project_id)
        if found is not None:
            memo[key] = found
            return found
    doing = f"reading the tag protection rules of project {project_id}"
    response = await api.get_response(ROUTE.format(id=encode_id(project_id)), doing)
    status = response.status_code
    if status == 200:
        data = response.json()
        result = Protection(tuple(TagRule.from_api(d) for d in data if isinstance(d, dict))
                            if isinstance(data, list) else ())
        if session is not None:  # REST leaves immutable rules out: say so when GraphQL could not add them
            result = replace(result, note=f"immutable tag rules cannot be read ({graphql_why}); only mutable "
                                          "rules are checked ahead of time")
    elif status == 404 and _route_missing(response):
        result = Protection.unreadable(OLD_GITLAB_NO_RULES if "before 17.8" in graphql_why else OLD_GITLAB)
    elif status in (401, 403):
        result = Protection.unreadable(NOT_MAINTAINER)  # a Developer, or a CI job token
    elif status in (404, 405):
        result = Protection.unreadable(f"tag protection rules cannot be read ({status}); protected tags are not "
                                       "checked ahead of time")
    else:
        from glcr.transport.pagination import error_detail

        raise for_status(status, doing, error_detail(response))
    memo[key] = result
    if not quiet:
        note_once(result)
    return result


async def _via_graphql(session: Any, api: Any, project_id: int | str) -> tuple[Protection | None, str]:
    """(the rules GraphQL shows, or None with why not). An empty list counts only for a caller
    who may see rules: GitLab redacts them for anyone below Maintainer."""
    from glcr.gitlab.graphql import read_rules

    try:
        path = (await api.project(project_id)).get("path_with_namespace")
    except GlcrError:
        return None, "the project could not be read"
    got = await read_rules(session, str(path or project_id))
    if got.rules is None:
        return None, got.why
    if not got.rules:
        caller = await read_caller(api, project_id)
        if not (caller.admin or (caller.level or 0) >= MAINTAINER):
            return None, "GitLab's GraphQL API shows tag rules only to Maintainers"
    return Protection(got.rules, source="GraphQL"), ""


async def read_caller(api: Any, project_id: int | str) -> Caller:
    """The caller's highest access level in the project and whether they are an administrator.
    Unknown (a job token has no /user): Caller(None), for which every rule applies."""
    memo = _memo(api)
    key = ("caller", str(project_id))
    if key in memo:
        return memo[key]
    from glcr.gitlab.caller import acting_admin, member_level

    user: Any = None
    try:
        user = await api.get_json("user", "reading the current user")
    except GlcrError:
        pass
    admin = await acting_admin(api, user)  # Admin Mode aware, as GitLab's can_admin_all_resources?
    level: int | None = None
    try:
        project = await api.project(project_id)
        perms = project.get("permissions") or {}
        levels = [int(p["access_level"]) for p in (perms.get("project_access"), perms.get("group_access"))
                  if isinstance(p, dict) and p.get("access_level") is not None]
        shared = await member_level(api, project_id, user)  # invited groups count too
        levels += [shared] if shared is not None else []
        level = max(levels) if levels else None
    except GlcrError:
        pass
    memo[key] = caller = Caller(level, admin)
    return caller


# --- management through python-gitlab (glcr protection ...) -------------------------------------


def _message(error: Any) -> str:
    """GitLab's 422 bodies: {"message": [..]} (POST) or {"message": {"error": [..]}} (PATCH)."""
    body = getattr(error, "error_message", error)
    if isinstance(body, dict):
        body = body.get("error", body.get("message", body))
        if isinstance(body, dict):
            body = body.get("error", body)
    if isinstance(body, list):
        return "; ".join(str(b) for b in body)
    return str(body)


def _call(rest: Any, doing: str, fn):
    from gitlab import exceptions as gle

    try:
        return fn()
    except gle.GitlabHttpError as exc:
        code = int(exc.response_code or 0)
        if code == 404 and _message(exc) == "404 Not Found":  # Grape's unmatched route
            raise NotFoundError(f"{doing}: this GitLab has no tag protection rules API",
                                hint="tag protection rules need GitLab 18.7 or later (creating them 18.8, "
                                     "updating 18.9)") from None
        if code == 403:
            raise PermissionDeniedError(f"{doing}: 403 {_message(exc)}",
                                        hint="managing tag protection rules needs the Maintainer role "
                                             "and a token with the api scope") from None
        if code in (400, 422):
            raise RefusedError(f"{doing}: GitLab refused: {_message(exc)}") from None
        from glcr.gitlab.rest import translate

        raise translate(exc, doing, rest._creds.secrets()) from None
    except GlcrError:
        raise
    except Exception as exc:
        from glcr.gitlab.rest import translate

        raise translate(exc, doing, rest._creds.secrets()) from None


def list_rules(rest: Any, project_id: int) -> list[TagRule]:
    data = _call(rest, "reading the tag protection rules",
                 lambda: rest.gl.http_get(f"/{ROUTE.format(id=project_id)}"))
    return [TagRule.from_api(d) for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def create_rule(rest: Any, project_id: int, body: dict[str, str]) -> TagRule:
    data = _call(rest, "creating the tag protection rule",
                 lambda: rest.gl.http_post(f"/{ROUTE.format(id=project_id)}", post_data=body))
    return TagRule.from_api(data if isinstance(data, dict) else {})


def update_rule(rest: Any, project_id: int, rule_id: int, body: dict[str, str]) -> TagRule:
    data = _call(rest, f"updating tag protection rule {rule_id}",
                 lambda: rest.gl.http_patch(f"/{ROUTE.format(id=project_id)}/{rule_id}", post_data=body))
    return TagRule.from_api(data if isinstance(data, dict) else {})


def delete_rule(rest: Any, project_id: int, rule_id: int) -> None:
    _call(rest, f"removing tag protection rule {rule_id}",
          lambda: rest.gl.http_delete(f"/{ROUTE.format(id=project_id)}/{rule_id}"))
