"""GitLab's cleanup policy over a whole group: every project with a registry, each under its own
saved policy (or the flags on top), a bounded number of projects at a time on the run's one
session (one connection pool, one rate-limit budget), one journal per group run.

A project that fails (GitLab answers 500 for it, its policy is invalid ...) becomes a `failed`
row and the others go on; the caller turns failed rows into exit 9.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from glcr.api.cleanup import Overrides
    from glcr.api.inuse import InUseOptions
    from glcr.plan.build import PlanRules
    from glcr.plan.model import Plan

from glcr.errors import GlcrError, InvalidInputError
from glcr.gitlab.convert import encode_id
from glcr.models import Project, Repository
from glcr.plan import group as grp
from glcr.plan.group import ProjectRow
from glcr.policy import CleanupParams, CleanupResult, Reason, Variant
from glcr.session import Session
from glcr.transport.concurrency import gather_bounded

# Projects worked on at once. Each fans its tag reads out to --jobs requests on the same
# connection pool, so more projects add queueing, not throughput; four keep the pool busy while
# one project waits on its policy or a slow repository.
DEFAULT_PROJECT_JOBS = 4


@dataclass(frozen=True)
class GroupProject:
    project: Project
    repositories: tuple[Repository, ...]


async def group_projects(session: Session, group: str, *, include_subgroups: bool) -> tuple[str, list[GroupProject]]:
    """(the group's full path, its projects that have registry repositories, by id).

    One paginated call: GET /groups/:id/registry/repositories lists the repositories of the
    group and all its subgroups (ContainerRepositoriesFinder: `for_group_and_its_subgroups`);
    without `include_subgroups` the ones whose project sits in a subgroup are left out.
    """
    info = await session.api.get_json(f"groups/{encode_id(group)}", f"reading group {group}")
    full_path = str(info.get("full_path") or group).lower()
    by_project: dict[int, list[Repository]] = {}
    for repo in await session.api.group_repositories(group):
        by_project.setdefault(repo.project_id, []).append(repo)
    out = []
    for pid in sorted(by_project):
        repos = sorted(by_project[pid], key=lambda r: r.path)
        first = repos[0]
        path = first.path[: len(first.path) - len(first.name)].rstrip("/") if first.name else first.path
        namespace = path.rpartition("/")[0]
        if not include_subgroups and namespace != full_path:
            continue
        out.append(GroupProject(Project(id=pid, path_with_namespace=path), tuple(repos)))
    return full_path, out


def project_params(saved: Mapping[str, Any], overrides: Overrides) -> CleanupParams | None:
    """The project's saved policy with the flags on top; None when the saved policy is off and
    no flag was given (GitLab's schedule skips such a project, and so does a group run)."""
    from glcr.policy import merge_policy, validate_policy

    given = {k: v for k, v in overrides.items() if v is not None}
    if not given and not saved.get("enabled"):
        return None
    after = dict(merge_policy({k: v for k, v in saved.items() if k != "next_run_at"}, given).after)
    validate_policy({**after, "enabled": True}).raise_for_errors("this policy cannot run")
    if not after.get("name_regex"):
        raise InvalidInputError("the policy has no name_regex, so GitLab deletes nothing")
    return CleanupParams.from_policy(after)


@dataclass(frozen=True)
class GroupRun:
    group: str
    rows: tuple[ProjectRow, ...]
    journal: Path | None

    @property
    def failed(self) -> int:
        return sum(r.errors for r in self.rows)


async def group_cleanup(session: Session, group: str, overrides: Overrides, *, now: datetime, apply: bool,
                        include_subgroups: bool = False, shard: tuple[int, int] | None = None,
                        state_dir: Path | None = None, variant: Variant | None = None, max_list_size: int = 200,
                        in_use: InUseOptions | None = None, project_jobs: int = DEFAULT_PROJECT_JOBS,
                        run_id: str = "",
                        on_projects: Callable[[int, int], None] | None = None,
                        on_row: Callable[[ProjectRow], None] | None = None) -> GroupRun:
    """Decide (and with `apply`, delete) project by project; rows in project-id order.

    `state_dir`: the group journal and each project's plans and tag journals go there; a run
    with the same arguments (and `run_id`) skips the projects the journal has as done, until a
    run ends with no failure: its journal is then renamed `*.done-<time>.jsonl`. `on_projects(todo,
    resumed)` is told the counts before work starts, `on_row` each row as it is written.
    """
    full_path, projects = await group_projects(session, group, include_subgroups=include_subgroups)
    projects = [p for p in projects if grp.in_shard(p.project.id, shard)]
    journal = None
    done: dict[int, ProjectRow] = {}
    if state_dir is not None:
        from glcr.durable import private_dir

        private_dir(state_dir)
        key = grp.run_key(full_path, include_subgroups=include_subgroups, overrides=overrides, shard=shard,
                          in_use=in_use, run_id=run_id)
        journal = state_dir / f"group-{key}.jsonl"
        if journal.exists():
            with open(journal, encoding="utf-8") as fh:
                replayed = grp.replay(fh)
            done = {pid: replayed[pid] for pid in grp.finished(replayed)}
    todo = [p for p in projects if p.project.id not in done]
    if on_projects:
        on_projects(len(todo), len([p for p in projects if p.project.id in done]))
    lock = asyncio.Lock()

    async def one(item: GroupProject) -> ProjectRow:
        row = await _one_project(session, item, overrides, now=now, apply=apply, state_dir=state_dir,
                                 variant=variant, max_list_size=max_list_size, in_use=in_use)
        async with lock:
            if journal is not None:
                _append(journal, grp.journal_line(row))
            if on_row:
                on_row(row)
        from glcr.registry.delete import test_pause

        await test_pause("project-done")  # the e2e tests kill -9 here, between two projects
        return row

    fresh = await gather_bounded(project_jobs, [partial(one, i) for i in todo])
    resumed = [ProjectRow(**{**done[p.project.id].to_dict(), "resumed": True})
               for p in projects if p.project.id in done]
    rows = sorted([*fresh, *resumed], key=lambda r: r.project_id)
    if journal is not None and journal.exists() and not any(r.errors for r in rows):
        # Finished: kept beside, so the same command tomorrow (a schedule) starts afresh.
        finished_at = now.strftime("%Y%m%dT%H%M%SZ")
        journal = journal.rename(journal.with_name(f"{journal.stem}.done-{finished_at}.jsonl"))
    return GroupRun(full_path, tuple(rows), journal)


def _append(path: Path, line: str) -> None:
    import os

    from glcr.durable import open_private

    with open_private(path, append=True) as fh:
        fh.write(line.encode("utf-8"))
        fh.flush()
        os.fsync(fh.fileno())


async def _one_project(session: Session, item: GroupProject, overrides: Overrides, *, now: datetime, apply: bool,
                       state_dir: Path | None, variant: Variant | None, max_list_size: int,
                       in_use: InUseOptions | None) -> ProjectRow:
    project = item.project
    base = ProjectRow(project.id, project.path_with_namespace, grp.FAILED, repositories=len(item.repositories))
    from glcr.gitlab.protection import forget_project, remember_project

    try:
        data = await session.api.project(project.id)
        remember_project(session.memo, project.id, data)  # the protection check reads it too
        params = project_params(data.get("container_expiration_policy") or {}, overrides)
        if params is None:
            return ProjectRow(**{**base.to_dict(), "status": grp.SKIPPED, "note": "cleanup policy disabled"})
        return await _decide_and_apply(session, item, params, base, now=now, apply=apply, state_dir=state_dir,
                                       variant=variant, max_list_size=max_list_size, in_use=in_use)
    except GlcrError as exc:
        return ProjectRow(**{**base.to_dict(), "error": str(exc)})
    finally:
        forget_project(session.memo, project.id)  # a group run never comes back to a project


async def _decide_and_apply(session: Session, item: GroupProject, params: CleanupParams, base: ProjectRow, *,
                            now: datetime, apply: bool, state_dir: Path | None, variant: Variant | None,
                            max_list_size: int, in_use: InUseOptions | None) -> ProjectRow:
    from glcr.api.cleanup import CleanupPolicy, CleanupSimulation, apply_cleanup, decide_repository

    # A dry-run without in-use rules needs nothing of a repository but its counts: they are taken
    # as soon as it is decided and its tags and decisions dropped, so a project of many large
    # repositories holds one at a time (in-use rules and `run` need them all, as a project run does).
    keep_items = apply or in_use is not None
    items, counted = [], []
    for repo in item.repositories:
        decided = await decide_repository(session, repo, params, now=now, variant=variant,
                                          max_list_size=max_list_size)
        counted.append(_counts(decided.result))
        if keep_items:
            items.append(decided)
    simulation = CleanupSimulation(item.project, CleanupPolicy(params, (), True), tuple(items), now)
    if in_use is not None:
        from glcr.api.inuse import apply_in_use

        simulation = await apply_in_use(session, simulation, in_use)
        counted = [_counts(i.result) for i in simulation.items]
    row = dict(base.to_dict(), status=grp.DONE, tags=sum(c[0] for c in counted), to_delete=sum(c[1] for c in counted),
               bytes=sum(c[2] for c in counted), in_use_kept=sum(c[3] for c in counted))
    if apply:
        from glcr.policy import describe_params

        deleted = failed = 0
        where = (state_dir or Path(".")) / item.project.path_with_namespace.replace("/", "__")
        for repo_item in (i for i in simulation.items if i.result.summary.delete):
            summary, _ = await apply_cleanup(session, item.project, repo_item, now, describe_params(params), where)
            deleted += summary.deleted + summary.already_absent
            failed += summary.failed
        row.update(deleted=deleted, failed_tags=failed)
    return ProjectRow(**row)


def _counts(result: CleanupResult) -> tuple[int, int, int, int]:
    """(tags, to delete, bytes freed, kept in use): what a project row sums over its repositories."""
    summary = result.summary
    return (summary.tags, summary.delete, summary.bytes_freed_estimate,
            sum(1 for d in result.decisions if d.reason is Reason.IN_USE))


@dataclass(frozen=True)
class RepositoryPlan:
    """One repository's plan, summed up. The plan itself goes to `group_plans`'s `on_plan` as soon
    as it is built and is not kept: a group of any size holds one of these small rows a repository,
    not every tag's entry."""

    repository: str
    tags: int = 0
    to_delete: int = 0
    delete_size: int = 0
    written: str | None = None  # where on_plan put the plan
    error: str | None = None  # None unless it failed

    @property
    def failed(self) -> bool:
        return self.error is not None


async def group_plans(session: Session, group: str, rules: PlanRules, *, now: datetime,
                      include_subgroups: bool = False, in_use: InUseOptions | None = None,
                      project_jobs: int = DEFAULT_PROJECT_JOBS,
                      on_plan: Callable[[Plan], str | None] | None = None) -> tuple[str, list[RepositoryPlan]]:
    """`tags plan`'s rules for every repository of the group's projects; a repository that fails
    is reported (error) and the others go on. `on_plan(plan)` gets each plan as it is built (and
    says where it wrote it); the rows come back in repository path order."""
    from glcr.api.plans import build_plan

    full_path, projects = await group_projects(session, group, include_subgroups=include_subgroups)

    async def one(item: GroupProject) -> list[RepositoryPlan]:
        out = []
        for repo in item.repositories:
            try:
                plan = await build_plan(session, repo.path, rules, now=now, in_use=in_use)
            except GlcrError as exc:
                out.append(RepositoryPlan(repo.path, error=str(exc)))
                continue
            written = on_plan(plan) if on_plan else None
            out.append(RepositoryPlan(repo.path, len(plan.entries), len(plan.to_delete), plan.delete_size, written))
        return out

    found = await gather_bounded(project_jobs, [partial(one, p) for p in projects])
    return full_path, sorted((p for plans in found for p in plans), key=lambda p: p.repository)
