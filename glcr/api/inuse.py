"""Never delete what is in use: read what a project has in use (GitLab's API, a file of image
references), and keep those tags out of a cleanup's deletions; or, without the flags, say which
tags GitLab's own scheduled cleanup would delete from under a deployment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from datetime import datetime
from typing import Any

from glcr.errors import GlcrError
from glcr.inuse import (
    ImageInUse,
    InUse,
    Template,
    at_risk,
    in_use_tags,
    keep_in_use,
    parse_template,
    sources,
)


@dataclass(frozen=True)
class InUseOptions:
    """Which sources say what is in use; each is a flag of the cleanup commands."""

    deployed: int = 0  # the last N successful deployments of each available environment; 0: off
    open_mrs: bool = False
    releases: bool = False
    protected_branches: bool = False  # and the default branch
    images: tuple[ImageInUse, ...] = ()
    templates: tuple[Template, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.deployed or self.open_mrs or self.releases or self.protected_branches or self.images)

    def describe(self) -> str:
        parts = [f"the last {self.deployed} deployment(s) of each environment" if self.deployed else "",
                 "open merge requests" if self.open_mrs else "", "releases" if self.releases else "",
                 "protected and default branch heads" if self.protected_branches else "",
                 f"{len(self.images)} image reference(s)" if self.images else ""]
        return ", ".join(p for p in parts if p)


# What the warning about GitLab's schedule checks: everything GitLab itself can tell.
EVERYTHING_IN_GITLAB = InUseOptions(deployed=1, open_mrs=True, releases=True, protected_branches=True)


def options_from_flags(*, deployed: bool = False, deployed_last: int | None = None, open_mrs: bool = False,
                       releases: bool = False, protected_branches: bool = False, images_from: str | None = None,
                       templates: Sequence[str] = (), read_stdin: Callable[[], str] | None = None
                       ) -> InUseOptions | None:
    """The --keep-* flags, checked (before anything is read); None when none was given."""
    from glcr.errors import InvalidInputError

    if deployed_last is not None and deployed_last < 1:
        raise InvalidInputError("--keep-deployed-last must be at least 1")
    parsed = tuple(parse_template(t) for t in templates)
    images: tuple[ImageInUse, ...] = ()
    if images_from is not None:
        if images_from == "-":
            text, name = (read_stdin or (lambda: ""))(), "standard input"
        else:
            try:
                with open(images_from, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise InvalidInputError(f"--keep-images-from {images_from}: {exc.strerror or exc}") from None
            except UnicodeDecodeError:
                raise InvalidInputError(f"--keep-images-from {images_from}: not UTF-8 text") from None
            name = images_from
        images = tuple(sources.images(text, name))
    options = InUseOptions(deployed=deployed_last or (1 if deployed else 0), open_mrs=open_mrs, releases=releases,
                           protected_branches=protected_branches, images=images, templates=parsed)
    if not options.any:
        if parsed:
            raise InvalidInputError("--keep-template needs a source of what is in use",
                                    hint="add --keep-deployed, --keep-open-mrs, --keep-releases or "
                                         "--keep-protected-branches")
        return None
    return options


@dataclass(frozen=True)
class InUseReport:
    """What the in-use check found and did. `kept`: (repository, tag, whys) that the policy
    would delete and glcr keeps; `at_risk`: the same without the flags, which GitLab's own
    schedule will delete; `unread`: sources GitLab would not answer (warning mode only)."""

    options: InUseOptions
    found: int
    kept: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    at_risk: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    suggestion: str | None = None  # a name_regex_keep that would save `at_risk`
    unread: tuple[str, ...] = ()

    @property
    def warning_mode(self) -> bool:
        return self.options is EVERYTHING_IN_GITLAB


async def read_in_use(session: Any, project: int | str, options: InUseOptions, now: datetime, *,
                      tolerant: bool = False) -> tuple[list[InUse], list[str]]:
    """Everything `options` names as in use in `project`: (items, problems). Each source reads
    GitLab once. `tolerant`: a source GitLab refuses is skipped and its error returned instead."""
    from glcr.gitlab import inuse as read
    from glcr.transport.concurrency import gather_bounded

    api = session.api
    problems: list[str] = []

    async def guarded(fn: Callable[[], Any]) -> list[InUse]:
        try:
            return await fn()
        except GlcrError as exc:
            if not tolerant:
                raise
            problems.append(exc.message)
            return []

    async def deployed():
        environments = await read.environments(api, project)
        names = sorted({e["name"] for e in environments if isinstance(e.get("name"), str)})
        found = await gather_bounded(api.jobs, [
            lambda n=n: read.last_deployments(api, project, n, options.deployed) for n in names])
        return [i for name, items in zip(names, found) for i in sources.deployments(name, items, now)]

    async def merge_requests():
        return sources.merge_requests(await read.open_merge_requests(api, project))

    async def releases():
        return sources.releases(await read.releases(api, project))

    async def heads():
        return sources.branch_heads(await read.branches(api, project))

    calls = [fn for wanted, fn in ((options.deployed, deployed), (options.open_mrs, merge_requests),
                                   (options.releases, releases), (options.protected_branches, heads)) if wanted]
    found: list[list[InUse]] = await gather_bounded(api.jobs, [partial(guarded, fn) for fn in calls])
    return [i for items in found for i in items], problems


def _needs_indexes(repo: Any, tags: list[tuple[str, Any]], options: InUseOptions) -> bool:
    """A digest no tag points at may be one platform of a tagged index (kubectl shows the
    platform's digest); reading the indexes costs a HEAD per digest, so only then."""
    ours = {i.digest for i in options.images if i.digest and i.names(repo.path, repo.location)}
    return bool(ours - {d for _, d in tags})


def _match(repo: Any, tags: list[tuple[str, Any]], items: list[InUse], options: InUseOptions,
           children: Any) -> dict[str, tuple[str, ...]]:
    return in_use_tags(tags, items, templates=options.templates, images=options.images, repository_path=repo.path,
                       repository_location=repo.location, index_children=children)


async def keep_plan_in_use(session: Any, plan: Any, repo: Any, tags: Sequence[Any], children: Any,
                           options: InUseOptions, now: datetime) -> tuple[Any, list]:
    """A tag plan with the tags in use kept (`tags plan`): (plan, [(tag, whys)] kept).
    `children`: the repository's index children, when the caller has read them."""
    from glcr.api.tags import index_children
    from glcr.inuse.keep import keep_plan_in_use as keep

    items, _ = await read_in_use(session, repo.project_id, options, now)
    pairs = [(t.name, t.digest) for t in tags]
    if children is None and _needs_indexes(repo, pairs, options):
        children = await index_children(session, repo, [d for _, d in pairs if d])
    return keep(plan, _match(repo, pairs, items, options, children))


async def apply_in_use(session: Any, simulation: Any, options: InUseOptions | None) -> Any:
    """A CleanupSimulation with `options`' tags in use kept (reason `in_use`); without options,
    the simulation as it is, with a report of the in-use tags it deletes (GitLab's schedule)."""
    from glcr.api.tags import index_children

    warning = options is None
    chosen = options if options is not None else EVERYTHING_IN_GITLAB
    items, problems = await read_in_use(session, simulation.project.id, chosen, simulation.now, tolerant=warning)
    kept: list[tuple[str, str, tuple[str, ...]]] = []
    risky: list[tuple[str, str, tuple[str, ...]]] = []
    out = []
    for item in simulation.items:
        repo = item.repository
        tags = [(t.name, t.digest) for t in item.tags]
        children = None
        if _needs_indexes(repo, tags, chosen):
            children = await index_children(session, repo, [d for _, d in tags if d])
        matched = _match(repo, tags, items, chosen, children)
        if warning:
            risky.extend((repo.path, name, whys) for name, whys in at_risk(item.result, matched))
            out.append(item)
            continue
        result = keep_in_use(item.result, matched)
        kept.extend((repo.path, d.name, matched[d.name]) for d in result.decisions
                    if d.reason.value == "in_use")
        out.append(replace(item, result=result))
    suggestion = None
    if risky:
        from glcr.inuse import suggest_keep_regex

        suggestion = suggest_keep_regex((name for _, name, _ in risky), simulation.policy.params.name_regex_keep)
    report = InUseReport(chosen, len(items), tuple(kept), tuple(risky), suggestion, tuple(problems))
    return replace(simulation, items=tuple(out), in_use=report)


async def schedule_in_use(session: Any, project: str, overrides: dict, *, now: datetime) -> InUseReport:
    """What GitLab's schedule, running the saved policy with `overrides` on top, would delete of
    what is in use (everything GitLab can tell), with the name_regex_keep that would save it:
    for `policy set --keep-in-use`."""
    from glcr.api.cleanup import (
        CleanupPolicy,
        CleanupSimulation,
        effective_params,
        simulate_cleanup,
    )

    params, warnings, enabled = await effective_params(session, project, overrides)
    the_project, items = await simulate_cleanup(session, project, params, now=now)
    simulation = CleanupSimulation(the_project, CleanupPolicy(params, tuple(warnings), enabled), tuple(items), now)
    return (await apply_in_use(session, simulation, None)).in_use
