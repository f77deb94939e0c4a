"""Deciding which tags go: a reviewable tag plan, and GitLab's bulk delete API with its preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from glcr.api.cleanup import RepositoryCleanup, decide_repository
from glcr.api.handle import open_repository
from glcr.api.protection import guard_plan
from glcr.api.resolve import resolve_repository
from glcr.api.tags import Reading, index_children, list_tag_details
from glcr.durable import write_atomic
from glcr.plan.build import PlanRules, build_tag_plan
from glcr.plan.model import Plan
from glcr.session import Session

if TYPE_CHECKING:
    from glcr.api.inuse import InUseOptions


def write_plan_file(plan: Plan, path: Path) -> None:
    """`.json`: the full plan with expected digests; anything else: the docs' one-tag-a-line list.
    Written atomically and private (glcr.durable): a kill never leaves half a plan to apply."""
    if Path(path).suffix.lower() == ".json":
        data = plan.to_json() + "\n"
    else:
        data = "".join(f"{e.tag}\n" for e in plan.to_delete)
    write_atomic(Path(path), data.encode("utf-8"))


async def build_plan(session: Session, path: str, rules: PlanRules, *, now: datetime,
                     progress: Reading | None = None, in_use: InUseOptions | None = None,
                     on_in_use: Callable[[list[tuple[str, tuple[str, ...]]]], None] | None = None) -> Plan:
    """The plan `rules` make for the repository at `path`; protected tags are kept, with the rule.

    `in_use` (glcr.api.inuse.InUseOptions): tags in use are kept too; `on_in_use([(tag, whys)])`
    is told which deletions that stopped.

    `progress(repository)`: a context manager (a bar with `set_total(n)` and `advance()`) open
    while the tags are read.
    """
    from contextlib import nullcontext

    resolved = await resolve_repository(session, path)
    handle = await open_repository(session, resolved.repository)
    with (progress(handle.repository) if progress else nullcontext()) as bar:
        tags = await list_tag_details(session, handle, bar.set_total if bar else None, bar.advance if bar else None)
    children = await index_children(session, handle, [t.digest for t in tags if t.digest])
    built = build_tag_plan(tags, rules, now=now, repository=handle.repository, index_children=children,
                           project=resolved.project)
    guarded = (await guard_plan(session, built, handle.repository.project_id))[0]
    if in_use is None:
        return guarded
    from glcr.api.inuse import keep_plan_in_use

    kept_plan, kept = await keep_plan_in_use(session, guarded, handle.repository, tags, children, in_use, now)
    if on_in_use:
        on_in_use(kept)
    return kept_plan


@dataclass(frozen=True)
class BulkDelete:
    decided: RepositoryCleanup  # what GitLab would delete, by GitLab's own rules
    scheduled: bool  # sent to GitLab (it deletes in the background)


async def bulk_delete(session: Session, path: str, attributes: Mapping[str, Any], *, now: datetime,
                      review: Callable[[RepositoryCleanup], None], confirm: Callable[[str], None],
                      dry_run: bool = False) -> BulkDelete:
    """GitLab's asynchronous bulk tag delete for the repository at `path`, with `attributes`
    (validated by glcr.policy.validate_bulk_delete), after `review` of what it will delete and
    `confirm(question)` (raises to stop)."""
    from glcr.errors import RefusedError
    from glcr.policy import CleanupParams

    repo = (await resolve_repository(session, path)).repository
    decided = await decide_repository(session, repo, CleanupParams.from_bulk_delete(attributes), now=now,
                                      max_list_size=None, user=True)
    review(decided)
    if dry_run or not decided.result.summary.delete:
        return BulkDelete(decided, False)
    confirm(f"Ask GitLab to delete {decided.result.summary.delete} tag(s) from {repo.path} in the background?")
    try:
        await session.rest.bulk_delete_tags(repo.project_id, repo.id, dict(attributes))
    except RefusedError as exc:
        if "once an hour" in exc.message:
            raise RefusedError(exc.message, hint="GitLab allows one bulk delete per repository per hour; "
                                                 "use `glcr tags plan/apply` to delete now") from None
        raise
    return BulkDelete(decided, True)
