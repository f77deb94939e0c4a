"""GitLab's container tag protection rules: GraphQL (17.8+, glcr.gitlab.graphql), then the REST
API (GitLab 18.7+), and who the caller is.

lib/api/project_container_registry_protection_tag_rules.rb: GET/POST
/projects/:id/registry/protection/tag/rules, PATCH/DELETE .../rules/:protection_rule_id (GET from
18.7, POST 18.8, PATCH 18.9; DELETE answers 204). Every route needs `admin_container_image`
(Maintainer). An older GitLab has no such route: Grape answers 404 {"error": "404 Not Found"},
which glcr reports once as "rules cannot be read", never as an error: the rules then cannot be
honoured ahead of time, and a refusal by GitLab or the registry is explained when it comes.

Reading (the hot paths: cleanup, deletes, migrate) goes through the async GitLabApi, remembered
for the session in its `memo` (glcr.session.SessionMemo); the `glcr protection` commands manage
rules through python-gitlab (GitLabRest), like `policy set`.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from glcr.errors import GlcrError, RefusedError, for_status
from glcr.gitlab.convert import encode_id
from glcr.gitlab.rest import UNKNOWN_ROUTE
from glcr.policy.protection import Caller, Protection, TagRule

ROUTE = "projects/{id}/registry/protection/tag/rules"
OLD_GITLAB = "tag protection rules cannot be read (GitLab before 18.7 has no rules API); protected tags are not checked"
OLD_GITLAB_NO_RULES = ("tag protection rules cannot be read (GitLab before 17.8 has no rules API, and protects "
                       "tags from 17.9); protected tags are not checked")
MAINTAINER = 40
NOT_MAINTAINER = ("tag protection rules cannot be read (reading them needs the Maintainer role); "
                  "protected tags are not checked ahead of time")
GRAPHQL_BELOW_MAINTAINER = "GitLab's GraphQL API shows tag rules only to Maintainers"


def note_once(memo: Any, protection: Protection, where: str = "") -> None:
    """Say once per session (`memo`: its SessionMemo, whose `say` the CLI points at stderr) why
    the rules (or some of them) could not be read, in one line."""
    if not protection.note:
        return
    text = protection.note + (f" ({where})" if where else "")
    if protection.note not in memo.said:
        memo.said.add(protection.note)
        if memo.say is not None:
            memo.say(text)


def _route_missing(response: Any) -> bool:
    """Grape's unmatched route ({"error": "404 Not Found"}), not a missing project ({"message": ...})."""
    try:
        body = response.json()
    except ValueError:
        return True
    return not (isinstance(body, dict) and "message" in body)


async def read_protection(api: Any, memo: Any, project_id: int | str, *, quiet: bool = False,
                          session: Any = None) -> Protection:
    """The project's tag rules, or an unreadable Protection saying why (noted once per session,
    unless `quiet`: the caller reports it itself). Read once per session (`memo`).

    With a `session`: GraphQL first (GitLab 17.8+, immutable rules included: glcr.gitlab.graphql),
    then REST (18.7+, mutable rules only) when GraphQL could not tell."""
    key = ("rules", str(project_id))
    if key in memo.values:
        return memo.values[key]
    graphql_why = ""
    if session is not None:
        found, graphql_why = await _via_graphql(session, api, memo, project_id)
        if found is not None:
            memo.values[key] = found
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
        # No REST route (before 18.7): GraphQL's reason is the one that counts. Below Maintainer
        # that is the role, not the version: a newer GitLab would not show them either.
        if "before 17.8" in graphql_why:
            result = Protection.unreadable(OLD_GITLAB_NO_RULES)
        elif graphql_why == GRAPHQL_BELOW_MAINTAINER:
            result = Protection.unreadable(NOT_MAINTAINER)
        else:
            result = Protection.unreadable(OLD_GITLAB)
    elif status in (401, 403):
        result = Protection.unreadable(NOT_MAINTAINER)  # a Developer, or a CI job token
    elif status in (404, 405):
        result = Protection.unreadable(f"tag protection rules cannot be read ({status}); protected tags are not "
                                       "checked ahead of time")
    else:
        from glcr.transport.pagination import error_detail

        raise for_status(status, doing, error_detail(response))
    memo.values[key] = result
    if not quiet:
        note_once(memo, result)
    return result


async def _via_graphql(session: Any, api: Any, memo: Any, project_id: int | str) -> tuple[Protection | None, str]:
    """(the rules GraphQL shows, or None with why not). An empty list counts only for a caller
    who may see rules: GitLab redacts them for anyone below Maintainer."""
    from glcr.gitlab.graphql import read_rules

    try:
        path = (await _project(api, memo, project_id)).get("path_with_namespace")
    except GlcrError:
        return None, "the project could not be read"
    got = await read_rules(session, str(path or project_id))
    if got.rules is None:
        return None, got.why
    if not got.rules:
        caller = await read_caller(api, memo, project_id)
        if not (caller.admin or (caller.level or 0) >= MAINTAINER):
            return None, GRAPHQL_BELOW_MAINTAINER
    return Protection(got.rules, source="GraphQL"), ""


async def read_caller(api: Any, memo: Any, project_id: int | str) -> Caller:
    """The caller's highest access level in the project and whether they are an administrator.
    Unknown (a job token has no /user): Caller(None), for which every rule applies."""
    key = ("caller", str(project_id))
    if key in memo.values:
        return memo.values[key]
    from glcr.gitlab.caller import member_level

    user, admin = await _who(api, memo)
    level: int | None = None
    try:
        project = await _project(api, memo, project_id)
        perms = project.get("permissions") or {}
        levels = [int(p["access_level"]) for p in (perms.get("project_access"), perms.get("group_access"))
                  if isinstance(p, dict) and p.get("access_level") is not None]
        shared = await member_level(api, project_id, user)  # invited groups count too
        levels += [shared] if shared is not None else []
        level = max(levels) if levels else None
    except GlcrError:
        pass
    memo.values[key] = caller = Caller(level, admin)
    return caller


async def _who(api: Any, memo: Any) -> tuple[Any, bool]:
    """(GET /user, whether the token acts as an administrator): the same for every project, so read
    once a session (a group run asks for each of its projects). Concurrent callers share one read."""
    key = ("who",)
    if key not in memo.values:
        memo.values[key] = asyncio.ensure_future(_read_who(api))
    return await memo.values[key]


async def _read_who(api: Any) -> tuple[Any, bool]:
    from glcr.gitlab.caller import acting_admin

    user: Any = None
    try:
        user = await api.get_json("user", "reading the current user")
    except GlcrError:
        pass
    return user, await acting_admin(api, user)  # Admin Mode aware, as GitLab's can_admin_all_resources?


async def _project(api: Any, memo: Any, project_id: int | str) -> dict:
    """GET /projects/:id once a session for the rules' path and the caller's role (both ask)."""
    key = ("project", str(project_id))
    if key not in memo.values:
        memo.values[key] = await api.project(project_id)
    return memo.values[key]


def remember_project(memo: Any, project_id: int | str, data: dict) -> None:
    """A caller that has just read GET /projects/:id (a group run, for the saved policy) hands it
    over, so the protection check does not read it again."""
    memo.values[("project", str(project_id))] = data


def forget_project(memo: Any, project_id: int | str) -> None:
    """A group run is done with a project: what the session read for it goes (the project's JSON
    is 10-20 KiB of Python objects; a run over thousands of projects would otherwise keep them all)."""
    for kind in ("project", "rules", "caller"):
        memo.values.pop((kind, str(project_id)), None)


# --- management through python-gitlab (glcr protection ...) -------------------------------------

# What to do about each refusal of the rules API (glcr.gitlab.rest.translate takes the kind from
# the status and GitLab's message from the body: {"message": [..]} on POST, {"message": {"error":
# [..]}} on PATCH).
HINTS = {
    UNKNOWN_ROUTE: "tag protection rules need GitLab 18.7 or later (creating them 18.8, updating 18.9)",
    403: "managing tag protection rules needs the Maintainer role and a token with the api scope",
}
# CreateTagRuleService refuses without the registry's GitLab API (422 "GitLab container registry
# API not supported"): GitLab's registry without its metadata database, or a third-party one.
NO_REGISTRY_API = "registry API not supported"
NO_REGISTRY_API_HINT = ("GitLab keeps tag protection rules only where its registry has its metadata database "
                        "(glcr doctor names the registry's mode)")


async def list_rules(rest: Any, project_id: int) -> list[TagRule]:
    data = await rest.request("get", f"/{ROUTE.format(id=project_id)}", "reading the tag protection rules",
                              hints=HINTS)
    return [TagRule.from_api(d) for d in data if isinstance(d, dict)] if isinstance(data, list) else []


async def create_rule(rest: Any, project_id: int, body: dict[str, str]) -> TagRule:
    try:
        data = await rest.request("post", f"/{ROUTE.format(id=project_id)}", "creating the tag protection rule",
                                  body=body, hints=HINTS)
    except RefusedError as exc:
        if NO_REGISTRY_API in str(exc):
            exc.hint = NO_REGISTRY_API_HINT
        raise
    return TagRule.from_api(data if isinstance(data, dict) else {})


async def update_rule(rest: Any, project_id: int, rule_id: int, body: dict[str, str]) -> TagRule:
    data = await rest.request("patch", f"/{ROUTE.format(id=project_id)}/{rule_id}",
                              f"updating tag protection rule {rule_id}", body=body, hints=HINTS)
    return TagRule.from_api(data if isinstance(data, dict) else {})


async def delete_rule(rest: Any, project_id: int, rule_id: int) -> None:
    await rest.request("delete", f"/{ROUTE.format(id=project_id)}/{rule_id}",
                       f"removing tag protection rule {rule_id}", hints=HINTS)
