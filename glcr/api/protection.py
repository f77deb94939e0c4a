"""Tag protection rules applied to glcr's deletes: read once, honoured before anything is sent.

Which rules apply (see glcr.policy.protection): `cleanup run`/`dry-run` simulate GitLab's policy,
so every rule; `tags delete`, `tags apply` and `bulk-delete` are API deletes by the caller, so
the rules above the caller's role (an administrator: only immutable rules). A protected tag is
never sent for deletion; it is reported as kept, with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from glcr.gitlab.protection import OLD_GITLAB, read_caller, read_protection  # noqa: F401 (OLD_GITLAB: for the CLI)
from glcr.policy.protection import (
    Caller,
    Protection,
    ProtectedTagError,
    Purpose,
    TagRule,
    protect_cleanup,
    protect_plan,
    protected_names,
)


async def for_project(session: Any, project_id: int | str) -> Protection:
    return await read_protection(session.api, session.memo, project_id)


async def for_user_delete(session: Any, project_id: int | str) -> tuple[Protection, Caller]:
    protection = await read_protection(session.api, session.memo, project_id)
    caller = await read_caller(session.api, session.memo, project_id) if protection.rules else Caller()
    return protection, caller


async def guard_requests(session: Any, repo: Any, requests: Sequence[Any]) -> tuple[list[Any], dict[str, TagRule]]:
    """(the requests a rule does not stop, {tag: rule} for those it does), for `caller`'s delete."""
    protection, caller = await for_user_delete(session, repo.project_id)
    stopped = protected_names((r.tag for r in requests), protection, Purpose.USER, caller)
    return [r for r in requests if r.tag not in stopped], stopped


async def guard_plan(session: Any, plan: Any, project_id: int | str) -> tuple[Any, dict[str, TagRule]]:
    protection, caller = await for_user_delete(session, project_id)
    return protect_plan(plan, protection, caller)


async def guard_cleanup(session: Any, project_id: int | str, result: Any, *, user: bool = False) -> Any:
    """A cleanup result with the protected deletions kept: every rule for a policy run,
    the caller's for the bulk delete API (`user`)."""
    if user:
        protection, caller = await for_user_delete(session, project_id)
        return protect_cleanup(result, protection, Purpose.USER, caller)
    return protect_cleanup(result, await for_project(session, project_id))


async def explain_refusals(session: Any, repo: Any, results: list) -> list:
    """Failures the registry refused for protection (when the rules could not be checked first)
    get a detail naming the rule; when every failure is such a refusal and nothing was deleted,
    the first refusal is raised: a one-line permission error (exit 6)."""
    results = [_from_gitlab(r) for r in results]
    refused = [r for r in results if isinstance(getattr(r, "error", None), ProtectedTagError)]
    if not refused:
        return results
    protection = await read_protection(session.api, session.memo, repo.project_id)
    explained = {r.tag: r.error.explained(protection) for r in refused}
    out = [_explained(r, explained[r.tag]) if r.tag in explained else r for r in results]
    failed = [r for r in out if r.outcome.value == "failed"]
    if failed and len(failed) == len(refused) and not any(r.outcome.value == "deleted" for r in out):
        raise explained[refused[0].tag]
    return out


def _explained(result: Any, error: ProtectedTagError) -> Any:
    return replace(result, detail=error.one_line(), error=error)


def _from_gitlab(result: Any) -> Any:
    """GitLab's tag-delete API refuses a protected tag with 403 "cannot delete protected tag(s)"."""
    error = getattr(result, "error", None)
    if error is not None and not isinstance(error, ProtectedTagError) and "cannot delete protected tag" in str(error):
        return replace(result, error=ProtectedTagError(result.tag, "PROTECTED_TAG"))
    return result


# --- managing the rules (`glcr protection`) ----------------------------------------------------


@dataclass(frozen=True)
class ProjectRules:
    project_id: int
    project_path: str
    rules: tuple[TagRule, ...] | None  # None: this GitLab has no rules API (before 18.7)


@dataclass(frozen=True)
class RuleChange:
    project_path: str
    before: TagRule | None  # None when adding
    body: Mapping[str, str]  # what is (or would be) sent
    after: TagRule | None  # None: nothing sent (a dry run, or a removal)
    sent: bool


async def _project(rest: Any, project: str) -> tuple[int, str]:
    data = await rest.project(project)
    return int(data["id"]), data.get("path_with_namespace", project)


async def project_rules(session: Any, project: str) -> ProjectRules:
    from glcr.errors import NotFoundError
    from glcr.gitlab.protection import list_rules

    rest = session.rest
    project_id, path = await _project(rest, project)
    try:
        return ProjectRules(project_id, path, tuple(await list_rules(rest, project_id)))
    except NotFoundError:
        return ProjectRules(project_id, path, None)


async def tag_matches(session: Any, project_id: int, pattern: str) -> dict[str, list[str]] | None:
    """{repository: its tags `pattern` matches now}; None when the tags cannot be read."""
    from glcr.errors import GlcrError
    from glcr.policy.protection import matching_tags

    try:
        repos = await session.api.project_repositories(project_id, tags_count=False)
        return matching_tags({r.path: [t.name for t in await session.api.tags(r)] for r in repos}, pattern)
    except GlcrError:
        return None


async def add_rule(session: Any, project: str, pattern: str, push: str, delete: str, *,
                   review: Callable[[dict, "dict[str, list[str]] | None"], None], dry_run: bool = False) -> RuleChange:
    """Check the new rule as GitLab does, `review(body, tags it matches now)`, then create it."""
    from glcr.gitlab.protection import create_rule, list_rules
    from glcr.policy.protection import validate_new_rule

    rest = session.rest
    project_id, path = await _project(rest, project)
    body = validate_new_rule(pattern, push, delete, await list_rules(rest, project_id))
    review(body, await tag_matches(session, project_id, pattern))
    if dry_run:
        return RuleChange(path, None, body, None, False)
    return RuleChange(path, None, body, await create_rule(rest, project_id, body), True)


async def update_rule(session: Any, project: str, rule: str, *, pattern: str | None = None,
                      push: str | None = None, delete: str | None = None,
                      review: Callable[[TagRule, dict, "dict[str, list[str]] | None"], None],
                      confirm: Callable[[str], None], dry_run: bool = False) -> RuleChange:
    """Change the rule `rule` (an id or its exact pattern) after `review(before, body, tags a new
    pattern matches now, or None)` and `confirm(question)` (raises to stop)."""
    from glcr.gitlab import protection as gitlab_protection
    from glcr.policy.protection import find_rule, validate_update

    rest = session.rest
    project_id, path = await _project(rest, project)
    existing = await gitlab_protection.list_rules(rest, project_id)
    before = find_rule(existing, rule)
    body = validate_update(before, existing, pattern=pattern, min_push=push, min_delete=delete)
    new_pattern = pattern is not None and pattern != before.pattern
    review(before, body, await tag_matches(session, project_id, pattern) if new_pattern else None)
    if dry_run:
        return RuleChange(path, before, body, None, False)
    confirm(f"Update tag protection rule {before.id} of {path}?")
    return RuleChange(path, before, body, await gitlab_protection.update_rule(rest, project_id, before.id, body), True)


async def remove_rule(session: Any, project: str, rule: str, *, review: Callable[[str, TagRule], None],
                      confirm: Callable[[str], None], dry_run: bool = False) -> RuleChange:
    """Remove the rule `rule` (an id or its exact pattern) after `review(project path, rule)` and
    `confirm(question)` (raises to stop)."""
    from glcr.gitlab.protection import delete_rule, list_rules
    from glcr.policy.protection import find_rule

    rest = session.rest
    project_id, path = await _project(rest, project)
    found = find_rule(await list_rules(rest, project_id), rule)
    review(path, found)
    if dry_run:
        return RuleChange(path, found, {}, None, False)
    confirm(f"Remove tag protection rule {found.id} (`{found.pattern}`) from {path}?")
    await delete_rule(rest, project_id, found.id)
    return RuleChange(path, found, {}, None, True)
