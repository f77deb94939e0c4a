"""Tag protection rules applied to glcr's deletes: read once, honoured before anything is sent.

Which rules apply (see glcr.policy.protection): `cleanup run`/`dry-run` simulate GitLab's policy,
so every rule; `tags delete`, `tags apply` and `bulk-delete` are API deletes by the caller, so
the rules above the caller's role (an administrator: only immutable rules). A protected tag is
never sent for deletion; it is reported as kept, with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from glcr.gitlab.protection import (  # noqa: F401 (OLD_GITLAB: for the CLI)
    OLD_GITLAB,
    note_once,
    read_caller,
    read_protection,
)
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
    return await read_protection(session.api, session.memo, project_id, session=session)


async def for_user_delete(session: Any, project_id: int | str,
                          where: tuple[str, str] | None = None) -> tuple[Protection, Caller]:
    """The rules that stop this caller's deletes. When GitLab shows no rules to this caller (a
    Developer; GitLab before 18.7) and `where` = (registry host, repository path) is known: the
    patterns GitLab put in the caller's registry token, which are what it will enforce for them."""
    protection = await read_protection(session.api, session.memo, project_id, quiet=where is not None,
                                       session=session)
    if protection.readable:
        if where is not None:
            note_once(session.memo, protection)  # REST without GraphQL: immutable rules unknown
        caller = await read_caller(session.api, session.memo, project_id) if protection.rules else Caller()
        return protection, caller
    caller = await read_caller(session.api, session.memo, project_id)
    from_token = await token_protection(session, *where, caller.level) if where else None
    if from_token is None:
        if where is not None:
            note_once(session.memo, protection)
        return protection, caller
    why = protection.note.split(";")[0]
    note_once(session.memo, Protection.unreadable(
        f"{why}; the patterns in {from_token.source} are honoured instead: the tags GitLab would refuse to let "
        "you delete are kept"))
    return from_token, caller


async def token_protection(session: Any, host: str, path: str, level: int | None) -> Protection | None:
    """The rules in the caller's own registry token for `path` (glcr.registry.token_claims), or
    None when there is no token or it says nothing. Asks for pull, push and delete unchecked:
    GitLab drops what the caller may not have and lists patterns for the actions it grants."""
    from glcr.errors import GlcrError
    from glcr.registry.scope import jwt_claims
    from glcr.registry.token_claims import protection_from_token, token_patterns

    try:
        client = session.registry(host)
        if session.tokens.challenge is None:
            await client.ping()
        challenge = session.tokens.challenge
        if challenge is None:
            return None
        token = await session.tokens.token((f"repository:{path}:pull,push,delete",), challenge, check=False)
    except GlcrError:
        return None
    return protection_from_token(token_patterns(jwt_claims(token), path), level)


async def guard_requests(session: Any, repo: Any, requests: Sequence[Any]) -> tuple[list[Any], dict[str, TagRule]]:
    """(the requests a rule does not stop, {tag: rule} for those it does), for `caller`'s delete."""
    protection, caller = await for_user_delete(session, repo.project_id, (repo.registry_host, repo.path))
    stopped = protected_names((r.tag for r in requests), protection, Purpose.USER, caller)
    return [r for r in requests if r.tag not in stopped], stopped


async def guard_plan(session: Any, plan: Any, project_id: int | str) -> tuple[Any, dict[str, TagRule]]:
    where = (plan.repository_location.split("/", 1)[0], plan.repository_path)
    protection, caller = await for_user_delete(session, project_id, where)
    return protect_plan(plan, protection, caller)


async def guard_cleanup(session: Any, project_id: int | str, result: Any, *, user: bool = False,
                        repo: Any = None) -> Any:
    """A cleanup result with the protected deletions kept: every rule for a policy run,
    the caller's for the bulk delete API (`user`). `repo`: where the caller's registry token
    can be asked when no rules API answers."""
    where = (repo.registry_host, repo.path) if repo is not None else None
    if user:
        protection, caller = await for_user_delete(session, project_id, where)
        return protect_cleanup(result, protection, Purpose.USER, caller)
    return protect_cleanup(result, await for_policy(session, project_id, where))


async def for_policy(session: Any, project_id: int | str, where: tuple[str, str] | None = None) -> Protection:
    """Every rule (GitLab's cleanup policy runs as nobody). When no rules API answers, a caller below
    Maintainer still has every pattern in their registry token: each mutable rule refuses them
    push and delete, and the immutable ones are listed for everyone (glcr.registry.token_claims)."""
    protection = await read_protection(session.api, session.memo, project_id, quiet=where is not None,
                                       session=session)
    if protection.readable or where is None:
        if where is not None:
            note_once(session.memo, protection)
        return protection
    caller = await read_caller(session.api, session.memo, project_id)
    from glcr.registry.token_claims import MAINTAINER, SOURCE

    found = None
    if not caller.admin and caller.level is not None and caller.level < MAINTAINER:
        found = await token_protection(session, *where, caller.level)
    if found is None or found.source != SOURCE:
        note_once(session.memo, protection)
        return protection
    why = protection.note.split(";")[0]
    note_once(session.memo, Protection.unreadable(
        f"{why}; every rule's pattern is in {found.source} (a role below Maintainer is refused by each), so every "
        "protected tag is kept"))
    return found


async def explain_refusals(session: Any, repo: Any, results: list) -> list:
    """Failures the registry refused for protection (when the rules could not be checked first)
    get a detail naming the rule; when every failure is such a refusal and nothing was deleted,
    the first refusal is raised: a one-line permission error (exit 6)."""
    results = [_from_gitlab(r) for r in results]
    if any(_plain_gitlab_403(r) for r in results):
        # GitLab's TagPolicy refuses a protected tag with a bare 403 (gitlab-facts-2.md N12); for a
        # caller who may delete tags (Developer and up) that is what a 403 on one tag means.
        caller = await read_caller(session.api, session.memo, repo.project_id)
        if caller.admin or (caller.level or 0) >= DEVELOPER:
            results = [replace(r, error=ProtectedTagError(r.tag, "PROTECTED_TAG")) if _plain_gitlab_403(r) else r
                       for r in results]
    refused = [r for r in results if isinstance(getattr(r, "error", None), ProtectedTagError)]
    if not refused:
        return results
    protection = await read_protection(session.api, session.memo, repo.project_id, session=session)
    explained = {r.tag: r.error.explained(protection) for r in refused}
    out = [_explained(r, explained[r.tag]) if r.tag in explained else r for r in results]
    failed = [r for r in out if r.outcome.value == "failed"]
    if failed and len(failed) == len(refused) and not any(r.outcome.value == "deleted" for r in out):
        raise explained[refused[0].tag]
    return out


DEVELOPER = 30


def _plain_gitlab_403(result: Any) -> bool:
    from glcr.errors import PermissionDeniedError

    error = getattr(result, "error", None)
    return (isinstance(error, PermissionDeniedError) and not isinstance(error, ProtectedTagError)
            and "through the GitLab API" in error.message and error.message.endswith(": 403 Forbidden"))


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
    rules: tuple[TagRule, ...] | None  # None: this GitLab shows no rules (GraphQL before 17.8, REST before 18.7)
    note: str = ""  # what could not be read (immutable rules, through REST only)


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

    from glcr.gitlab.graphql import read_rules

    rest = session.rest
    project_id, path = await _project(rest, project)
    got = await read_rules(session, path)  # immutable rules too; REST lists mutable ones only
    if got.rules:
        return ProjectRules(project_id, path, got.rules)
    try:
        rules = tuple(await list_rules(rest, project_id))  # a Maintainer's check: 403 below, where GraphQL shows nothing
    except NotFoundError:
        return ProjectRules(project_id, path, () if got.rules is not None else None)
    note = "" if got.rules is not None else f"immutable rules cannot be read ({got.why}); only mutable rules are listed"
    return ProjectRules(project_id, path, rules, note)


async def tag_matches(session: Any, project_id: int, pattern: str) -> dict[str, list[str]] | None:
    """{repository: its tags `pattern` matches now}; None when the tags cannot be read."""
    from glcr.errors import GlcrError
    from glcr.policy.protection import matching_tags

    try:
        repos = await session.api.project_repositories(project_id, tags_count=False)
        return matching_tags({r.path: [t.name for t in await session.api.tags(r)] for r in repos}, pattern)
    except GlcrError:
        return None


async def add_rule(session: Any, project: str, pattern: str, push: str | None, delete: str | None, *,
                   review: Callable[[dict, "dict[str, list[str]] | None"], None], dry_run: bool = False,
                   immutable: bool = False) -> RuleChange:
    """Check the new rule as GitLab does, `review(body, tags it matches now)`, then create it:
    through REST (18.8+), or an immutable one through GraphQL (REST requires both levels)."""
    from glcr.gitlab.graphql import create_immutable_rule, read_rules
    from glcr.gitlab.protection import create_rule, list_rules
    from glcr.policy.protection import validate_new_rule

    rest = session.rest
    project_id, path = await _project(rest, project)
    shown = (await read_rules(session, path)).rules  # GitLab counts immutable rules in the limit of 5
    existing: Sequence[TagRule]
    if immutable and shown is not None:
        existing = shown
    else:
        existing = await list_rules(rest, project_id)  # an older GitLab's missing route is said here
        existing = shown if shown and len(shown) > len(existing) else existing
    body = validate_new_rule(pattern, push, delete, existing, immutable=immutable)
    review(body, await tag_matches(session, project_id, pattern))
    if dry_run:
        return RuleChange(path, None, body, None, False)
    if immutable:
        return RuleChange(path, None, body, await create_immutable_rule(session, path, pattern), True)
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
