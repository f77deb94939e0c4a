"""Tag protection rules applied to glcr's deletes: read once, honoured before anything is sent.

Which rules apply (see glcr.policy.protection): `cleanup run`/`dry-run` simulate GitLab's policy,
so every rule; `tags delete`, `tags apply` and `bulk-delete` are API deletes by the caller, so
the rules above the caller's role (an administrator: only immutable rules). A protected tag is
never sent for deletion; it is reported as kept, with the rule.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from glcr.gitlab.protection import read_caller, read_protection
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
    return await read_protection(session.api, project_id)


async def for_user_delete(session: Any, project_id: int | str) -> tuple[Protection, Caller]:
    protection = await read_protection(session.api, project_id)
    caller = await read_caller(session.api, project_id) if protection.rules else Caller()
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
    protection = await read_protection(session.api, repo.project_id)
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
