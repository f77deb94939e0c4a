"""`glcr usage`: registry storage by project and repository, and what a policy would reclaim.

Sizes, best source first (glcr.plan.usage): GitLab's REST API (`?size=true`, GitLab.com), the
registry's /gitlab/v1 API with the metadata database (`?size=self`), else the sum of the
distinct images' sizes, an upper bound (layers shared between images are counted again).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from glcr.api.group import GroupProject, group_projects, project_params
from glcr.api.handle import open_repository
from glcr.errors import GlcrError, NotFoundError
from glcr.models import Manifest, Project
from glcr.plan import usage as pu
from glcr.plan.usage import RepositoryUsage
from glcr.policy import Action
from glcr.registry.details import gitlab_repository_size
from glcr.session import Session
from glcr.transport.concurrency import gather_bounded


@dataclass(frozen=True)
class Usage:
    scope: str
    rows: tuple[RepositoryUsage, ...]  # largest first
    reclaim: int | None  # the whole scope's, blobs shared with kept images not counted
    policy: bool


async def scope_projects(session: Session, *, project: str | None, group: str | None,
                         include_subgroups: bool) -> tuple[str, list[GroupProject]]:
    if group:
        return await group_projects(session, group, include_subgroups=include_subgroups)
    from glcr.api.resolve import project_repositories

    found = await project_repositories(session, project or "")
    if found is None:
        raise NotFoundError(f"no project {project}", hint="check the path and that your token can see the project")
    the_project, repos = found
    return the_project.path_with_namespace, [GroupProject(the_project, tuple(sorted(repos, key=lambda r: r.path)))]


async def storage_usage(session: Session, *, project: str | None = None, group: str | None = None,
                        include_subgroups: bool = False, policy: bool = False, overrides: dict | None = None,
                        now: datetime) -> Usage:
    """Every repository's size; with `policy` (each project's saved policy, `overrides` on top)
    the tags it would delete and the bytes that frees."""
    scope, projects = await scope_projects(session, project=project, group=group, include_subgroups=include_subgroups)
    manifests: dict[tuple[str, str], Manifest | None] = {}
    deleted_blobs: list[dict[str, int]] = []
    kept_blobs: list[dict[str, int]] = []

    async def one_project(item: GroupProject) -> list[RepositoryUsage]:
        params = None
        if policy:
            try:
                saved = (await session.api.project(item.project.id)).get("container_expiration_policy") or {}
                params = project_params(saved, overrides or {})
            except GlcrError as exc:
                return [_failed(item.project, r.path, exc) for r in item.repositories]
        out = []
        for repo in item.repositories:
            try:
                out.append(await _one_repository(session, item.project, repo, params, now, manifests,
                                                 deleted_blobs, kept_blobs, policy=policy))
            except GlcrError as exc:
                out.append(_failed(item.project, repo.path, exc))
        return out

    # Projects a few at a time: each fans its own reads out to --jobs requests.
    found = await gather_bounded(4, [lambda p=p: one_project(p) for p in projects])
    rows = pu.largest_first(r for rows in found for r in rows)
    total = pu.reclaimable(deleted_blobs, kept_blobs) if policy else None
    return Usage(scope, tuple(rows), total, policy)


def _failed(project: Project, path: str, exc: GlcrError) -> RepositoryUsage:
    return RepositoryUsage(project.path_with_namespace, project.id, path, 0, None, pu.TAGS, error=str(exc))


async def _one_repository(session: Session, project: Project, repo, params, now, manifests, deleted_blobs,
                          kept_blobs, *, policy: bool) -> RepositoryUsage:
    from glcr.api.cleanup import decide_repository
    from glcr.api.tags import list_tag_details

    handle = await open_repository(session, repo)
    decided = None
    if params is not None:
        decided = await decide_repository(session, handle, params, now=now)
        tags = decided.tags
    else:
        tags = await list_tag_details(session, handle)
    size, source = (await session.api.repository(repo.id, tags_count=False, size=True)).size, pu.GITLAB
    if size is None and handle.kind.gitlab_api:
        size, source = await gitlab_repository_size(handle.client, handle.path), pu.REGISTRY
    if size is None:
        size, source = pu.distinct_size({t.digest: t.total_size for t in tags if t.digest}), pu.TAGS
    row = RepositoryUsage(project.path_with_namespace, project.id, repo.path, len(tags), size, source)
    if decided is None:
        if policy:  # this project's policy is off: it keeps every image, and their layers stay
            kept_blobs.extend(await _blobs(handle, {t.digest for t in tags if t.digest}, manifests,
                                           session.api.jobs))
        return row
    gone = {d.digest for d in decided.result.decisions if d.action is Action.DELETE and d.digest}
    stay = {d.digest for d in decided.result.decisions if d.action is not Action.DELETE and d.digest}
    gone -= stay
    blobs_gone = await _blobs(handle, gone, manifests, session.api.jobs)
    blobs_kept = await _blobs(handle, stay, manifests, session.api.jobs)
    deleted_blobs.extend(blobs_gone)
    kept_blobs.extend(blobs_kept)
    return replace(row, to_delete=decided.result.summary.delete,
                   reclaim=pu.reclaimable(blobs_gone, blobs_kept))


async def _blobs(handle, digests: set[str], manifests: dict, jobs: int) -> list[dict[str, int]]:
    """{blob digest: size} of each image (an index: its images' blobs), manifests read once."""
    async def read(digest: str) -> Manifest | None:
        key = (handle.path, digest)
        if key not in manifests:
            try:
                manifests[key] = await handle.client.get_manifest(handle.path, digest)
            except NotFoundError:
                manifests[key] = None  # deleted meanwhile: nothing to count
        return manifests[key]

    async def image(digest: str) -> dict[str, int]:
        manifest = await read(digest)
        if manifest is None:
            return {}
        blobs = {layer.digest: layer.size for layer in manifest.layers}
        if manifest.config is not None:
            blobs[manifest.config.digest] = manifest.config.size
        for child in manifest.children:
            blobs.update(await image(child.digest))
        return blobs

    return await gather_bounded(jobs, [lambda d=d: image(d) for d in sorted(digests)])
