"""GitLab's cleanup policy, simulated locally (dry-run) and applied client-side (run)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from glcr.credentials import TokenKind
from glcr.errors import NotFoundError
from glcr.models import Project, RegistryKind, Repository, TagDetails
from glcr.api.protection import guard_cleanup
from glcr.api.resolve import project_repositories
from glcr.api.handle import RepositoryHandle, open_repository
from glcr.api.tags import list_tag_details
from glcr.plan.model import Action as PlanAction, Plan, PlanEntry
from glcr.policy import CleanupParams, CleanupResult, PolicyTag, Variant, decide
from glcr.policy.types import DEFAULT_MAX_LIST_SIZE, Reason
from glcr.session import Session

if TYPE_CHECKING:
    from glcr.api.ui import UI
    from glcr.api.inuse import InUseOptions, InUseReport
    from glcr.plan.journal_records import ApplySummary
    from glcr.api.referrers import RepositoryReferrers
    from glcr.policy.validate import Issue
    from glcr.referrers.cascade import ReferrerWarnings
    from glcr.registry.delete import DeleteResult

# The policy fields given as flags (None: not given), e.g. {"keep_n": 5, "older_than": None}.
Overrides = Mapping[str, Any]


@dataclass(frozen=True)
class RepositoryCleanup:
    repository: Repository
    kind: RegistryKind
    tags: list[TagDetails]
    result: CleanupResult
    referrers: RepositoryReferrers | None = None  # its signatures, SBOMs...


async def simulate_cleanup(session: Session, project: str, params: CleanupParams, *, now: datetime,
                           repository: str | None = None, variant: Variant | None = None,
                           max_list_size: int = 200,
                           on_repository: Callable[[Repository, int], None] | None = None
                           ) -> tuple[Project, list[RepositoryCleanup]]:
    found = await project_repositories(session, project)
    if found is None:
        raise NotFoundError(f"no project {project}", hint="check the path and that your token can see the project")
    the_project, repos = found
    if repository:
        repos = [r for r in repos if r.path == repository.lower()]
        if not repos:
            raise NotFoundError(f"no repository {repository} in {the_project.path_with_namespace}")
    out = []
    for repo in sorted(repos, key=lambda r: r.path):
        out.append(await decide_repository(session, repo, params, now=now, variant=variant,
                                           max_list_size=max_list_size, on_read=on_repository))
    return the_project, out


async def decide_repository(session: Session, repo: Repository | RepositoryHandle, params: CleanupParams, *,
                            now: datetime, variant: Variant | None = None, max_list_size: int | None = 200,
                            user: bool = False,
                            on_read: Callable[[Repository, int], None] | None = None) -> RepositoryCleanup:
    """GitLab's cleanup decisions for one repository, protected tags kept.

    A policy run (the default) honours every protection rule and marks a result whose ages are
    approximate; `user`: GitLab's bulk delete API, run as the caller (the caller's rules), with
    decide's own list size.
    """
    handle = await open_repository(session, repo)
    repo = handle.repository
    tags = await list_tag_details(session, handle)
    if on_read:
        on_read(repo, len(tags))
    chosen = variant or Variant.for_registry(handle.kind)
    # GitLab cuts its pages in the order the registry lists them (`ORDER BY name` in the
    # database's collation), which the /gitlab/v1 listing already has: keep it.
    registry_order = chosen is Variant.GITLAB_API and bool(tags) and all(t.push_times for t in tags)
    considered, unread = third_party_read(tags) if chosen is Variant.THIRD_PARTY else (tags, [])
    result = decide(policy_tags(considered, chosen), params, variant=chosen, now=now,
                    listing_order="input" if registry_order else "name",
                    max_list_size=DEFAULT_MAX_LIST_SIZE if max_list_size is None else max_list_size)
    if unread:
        note = (f"GitLab reads only the first {THIRD_PARTY_TAGS_READ:,} tags of a third-party repository (one "
                f"page, in name order): the {len(unread):,} tags from {unread[0].name!r} on are never "
                "considered and stay")
        result = replace(result, summary=replace(result.summary, notes=(note, *result.summary.notes)))
    result = await guard_cleanup(session, repo.project_id, result, user=user, repo=repo)  # GitLab skips protected tags
    if not user:
        result = mark_approximate(result, tags)
    from glcr.api.referrers import read_referrers

    return RepositoryCleanup(repo, handle.kind, tags, result, await read_referrers(session, handle, tags))


# ContainerRegistry::Client::DEFAULT_TAGS_PAGE_SIZE: the third-party cleanup asks
# `/v2/<path>/tags/list?n=10000` once and never follows the Link header (client.rb
# `repository_tags`), so tags after the first 10,000 names are invisible to it.
THIRD_PARTY_TAGS_READ = 10_000


def third_party_read(tags: list[TagDetails]) -> tuple[list[TagDetails], list[TagDetails]]:
    """(the tags GitLab's third-party cleanup reads, the ones it never sees), in name order."""
    ordered = sorted(tags, key=lambda t: t.name)
    return ordered[:THIRD_PARTY_TAGS_READ], ordered[THIRD_PARTY_TAGS_READ:]


APPROXIMATE_NOTE = (
    "approximate: GitLab's registry did not give push times here (GitLab's REST API answered instead), "
    "so ages are the REST API's created_at, not the push time (updated_at || created_at) GitLab's "
    "cleanup reads; a re-pushed tag may be younger than shown")


def policy_tags(tags: list[TagDetails], variant: Variant) -> list[PolicyTag]:
    """The timestamp each variant of GitLab's cleanup reads: on GitLab's registry the push time
    (gitlab/cleanup_tags_service.rb `pushed_at`: `tag.updated_at || tag.created_at`, from the
    registry's /gitlab/v1 tag list), the image config's `created` elsewhere
    (third_party/cleanup_tags_service.rb). Without push times the GitLab-registry variant falls
    back on created_at, and mark_approximate says so."""
    if variant is Variant.GITLAB_API:
        return [PolicyTag(t.name, t.pushed_at if t.push_times else t.created_at, t.digest, t.total_size)
                for t in tags]
    return [PolicyTag(t.name, t.created_at, t.digest, t.total_size) for t in tags]


def mark_approximate(result: CleanupResult, tags: list[TagDetails]) -> CleanupResult:
    """The GitLab-registry variant on tags without push times: flag the result and say why."""
    summary = result.summary
    if summary.variant is not Variant.GITLAB_API or all(t.push_times for t in tags):
        return result
    return replace(result, summary=replace(summary, approximate=True, notes=(APPROXIMATE_NOTE, *summary.notes)))


def cleanup_plan(project: Project, item: RepositoryCleanup, now: datetime, params_text: str) -> Plan:
    """The decisions as a tag plan (expected digests recorded), for the journaled apply."""
    entries = tuple(
        PlanEntry(d.name, d.digest, PlanAction.DELETE if d.action.value == "delete" else PlanAction.KEEP,
                  d.detail, d.created_at, d.total_size)
        for d in sorted(item.result.decisions, key=lambda d: d.name)
    )
    repo = item.repository
    return Plan(project_id=project.id, project_path=project.path_with_namespace, repository_id=repo.id,
                repository_path=repo.path, repository_location=repo.location, created_at=now,
                entries=entries, rules={"cleanup_policy": params_text})


async def apply_cleanup(session: Session, project: Project, item: RepositoryCleanup, now: datetime, params_text: str,
                        state_dir: Path, on_result: Callable[[DeleteResult], None] | None = None
                        ) -> tuple[ApplySummary, Path]:
    """Delete what the decisions say, through the journaled apply; the plan and its journal are
    kept in `state_dir` (a re-run resumes). Returns (summary, journal path)."""
    from glcr.plan.journal import default_paths, replay
    from glcr.plan.journal_records import summarize

    from glcr.durable import private_dir, write_atomic

    private_dir(state_dir)
    plan = cleanup_plan(project, item, now, params_text)
    plan_path = state_dir / (item.repository.path.replace("/", "__") + ".plan.json")
    write_atomic(plan_path, (plan.to_json() + "\n").encode("utf-8"))
    paths = default_paths(plan_path)
    from glcr.api.referrers import apply_phased

    subjects = item.referrers.referrers if item.referrers is not None else {}
    orphans = {d.name: subjects.get(d.name) for d in item.result.decisions if d.reason is Reason.ORPHANED_REFERRER}
    await apply_phased(session, plan, item.repository, paths, orphans, on_result=on_result)
    return summarize(plan, replay(paths.journal)), paths.journal


async def effective_params(session: Session, project: str, overrides: Overrides
                           ) -> tuple[CleanupParams, tuple[Issue, ...], bool | None]:
    """The saved policy with the given fields on top, validated as GitLab validates a policy.

    Returns (params, warnings, whether the saved policy is enabled; None when it could not be
    read). A CI job token may not read GET /projects/:id, so there the flags alone make the
    policy (GitLab's own cleanup is not what runs in CI: the flags are).
    """
    from glcr.errors import AuthError, InvalidInputError, PermissionDeniedError
    from glcr.policy import merge_policy, validate_policy

    creds = session.creds
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        saved = (await session.rest.project(project)).get("container_expiration_policy") or {}
        enabled = bool(saved.get("enabled"))
    except (AuthError, PermissionDeniedError, NotFoundError):
        # GitLab ignores a job token on GET /projects/:id (not job_token_allowed) and answers as
        # to an anonymous caller: 404 for a private project, 401 in the sandbox.
        if creds.kind is not TokenKind.JOB:
            raise
        if not given.get("name_regex"):
            raise InvalidInputError("a CI job token cannot read the project's cleanup policy",
                                    hint="give the policy as flags (--name-regex, --keep-n, --older-than, "
                                         "--name-regex-keep), or use a project access token") from None
        saved, enabled = {}, None
    after = dict(merge_policy({k: v for k, v in saved.items() if k != "next_run_at"}, given).after)
    checks = validate_policy({**after, "enabled": True})
    checks.raise_for_errors("this policy cannot run")
    if not after.get("name_regex"):
        raise InvalidInputError("the policy has no name_regex, so GitLab deletes nothing",
                                hint="pass --name-regex to try one")
    return CleanupParams.from_policy(after), checks.warnings, enabled


# --- what the `cleanup` commands call ----------------------------------------------------------


@dataclass(frozen=True)
class CleanupPolicy:
    """The policy a cleanup runs: the saved one with the flags on top."""

    params: CleanupParams
    warnings: tuple[Issue, ...]
    enabled: bool | None  # the saved policy's switch; None when only the flags made it


@dataclass(frozen=True)
class CleanupSimulation:
    project: Project
    policy: CleanupPolicy
    items: tuple[RepositoryCleanup, ...]
    now: datetime
    in_use: InUseReport | None = None  # what was kept in use, or is at risk
    referrer_warnings: tuple[tuple[str, ReferrerWarnings], ...] = ()  # (repository path, its warnings) of GitLab's run

    @property
    def to_delete(self) -> int:
        return sum(i.result.summary.delete for i in self.items)


@dataclass(frozen=True)
class RepositoryApplied:
    repository: Repository
    summary: ApplySummary
    journal: Path


@dataclass(frozen=True)
class CleanupRun:
    simulation: CleanupSimulation
    state_dir: Path | None  # None when nothing was to be deleted
    applied: tuple[RepositoryApplied, ...]

    @property
    def failed(self) -> int:
        return sum(a.summary.failed for a in self.applied)


async def simulate_policy(session: Session, project: str, overrides: Overrides, *, now: datetime,
                          repository: str | None = None, variant: Variant | None = None,
                          max_list_size: int = 200, in_use: InUseOptions | None = None,
                          on_policy: Callable[[CleanupPolicy], None] | None = None,
                          on_repository: Callable[[Repository, int], None] | None = None) -> CleanupSimulation:
    """The saved policy with `overrides` on top, decided for every repository of `project`.

    `in_use` (glcr.api.inuse.InUseOptions): tags in use are kept. Without it, when the saved
    policy is enabled, the simulation reports the in-use tags GitLab's schedule would delete."""
    params, warnings, enabled = await effective_params(session, project, overrides)
    policy = CleanupPolicy(params, tuple(warnings), enabled)
    if on_policy:
        on_policy(policy)
    the_project, items = await simulate_cleanup(session, project, params, now=now, repository=repository,
                                                variant=variant, max_list_size=max_list_size,
                                                on_repository=on_repository)
    simulation = CleanupSimulation(the_project, policy, tuple(items), now)
    # The warning is about GitLab's own schedule, so only for the saved policy as it is.
    if in_use is not None or (enabled and all(v is None for v in overrides.values())):
        from glcr.api.inuse import apply_in_use

        simulation = await apply_in_use(session, simulation, in_use)
    from glcr.api.referrers import gitlab_warnings

    warned = tuple((i.repository.path, w) for i in simulation.items if (w := gitlab_warnings(i)))
    return replace(simulation, referrer_warnings=warned)


def default_state_dir(project_path: str, env: Mapping[str, str] | None = None) -> Path:
    """Where `cleanup run` keeps each repository's plan and journal for a project."""
    from glcr.statedir import state_path

    return Path(state_path("cleanup", project_path.replace("/", "__"), env=env))


async def run_policy(session: Session, project: str, overrides: Overrides, *, now: datetime,
                     ui: UI, state_dir: Path | None = None, env: Mapping[str, str] | None = None,
                     keep_orphan_referrers: bool = False, **simulate: Any) -> CleanupRun:
    """Simulate, show it (`ui.review(simulation)`), `ui.confirm(question)` (raises to stop), then
    apply the decisions repository by repository, journaled in `state_dir` (a re-run resumes):
    a bar per repository (`ui.progress`, one step per tag), and its outcome shown as it ends
    (`ui.review(RepositoryApplied)`).

    `simulate`: simulate_policy's keywords. GitLab's decisions are corrected for referrers
    (glcr.api.referrers.with_cascade): a signature of a kept image stays, the signatures of a
    deleted image go after it (not with `keep_orphan_referrers`).
    """
    from glcr.api.referrers import with_cascade
    from glcr.policy import describe_params

    simulation = await simulate_policy(session, project, overrides, now=now, **simulate)
    simulation = replace(simulation, items=tuple(with_cascade(i, keep_orphans=keep_orphan_referrers)
                                                 for i in simulation.items))
    ui.review(simulation)
    if simulation.to_delete == 0:
        return CleanupRun(simulation, None, ())
    the_project = simulation.project
    ui.confirm(f"Delete {simulation.to_delete} tag(s) from {the_project.path_with_namespace}?")
    base = state_dir or default_state_dir(the_project.path_with_namespace, env)
    params_text = describe_params(simulation.policy.params)
    applied = []
    for item in (i for i in simulation.items if i.result.summary.delete):
        with ui.progress(f"Deleting from {item.repository.path}") as bar:
            bar.set_total(item.result.summary.delete)
            summary, journal = await apply_cleanup(session, the_project, item, now, params_text, base,
                                                   on_result=lambda r: bar.advance())
        applied.append(RepositoryApplied(item.repository, summary, journal))
        ui.review(applied[-1])
    return CleanupRun(simulation, base, tuple(applied))
