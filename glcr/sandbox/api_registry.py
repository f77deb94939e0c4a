"""Container registry REST endpoints (lib/api/project_container_repositories.rb,
group_container_repositories.rb, container_repositories.rb), over a third-party registry.

Order of checks as Grape runs them: authentication and the `before` read check, then
parameter validation (400 {"error": ...}), then the endpoint (repository lookup, abilities,
the hourly lease).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from glcr.sandbox import api_protection, entities
from glcr.sandbox.api_auth import Caller, authenticate
from glcr.sandbox.api_projects import find_group, find_project
from glcr.sandbox.cleanup import CleanupParams, cleanup_tags
from glcr.sandbox.context import SandboxContext
from glcr.sandbox.pagination import paginate
from glcr.sandbox.permissions import can, can_group, registry_enabled
from glcr.sandbox.state import Project, Repository, iso, utcnow
from glcr.sandbox.tag_delete import TagDeleteError, delete_tags
from glcr.sandbox.untrusted_regexp import InvalidRegexp, compile_untrusted
from glcr.sandbox.validation import to_bool
from glcr.sandbox.web import (
    Request,
    Response,
    api_message,
    bad_request,
    forbidden,
    grape_error,
    json_response,
    not_found,
    record_not_found,
    unauthorized,
)

log = logging.getLogger(__name__)
LEASE_TAKEN = (
    "This request has already been made. You can run this at most once an hour for a given container repository"
)
MAX_DELETION_FAILURES = 10  # ContainerRepository::MAX_DELETION_FAILURES
DELETE_PASSES = 50  # each pass is truncated to max_list_size tags; a big repository needs several


def status_body(status: int) -> Response:
    """An endpoint ending in Grape's `status :accepted` returns that number, so the body is `202`
    (GitLab's own specs expect `response.body == '202'`)."""
    return Response(status, str(status).encode())


def _bool_param(req: Request, name: str) -> bool:
    raw = req.params.get(name)
    if raw is None:
        return False
    flag = to_bool(raw)
    if flag is None:
        raise grape_error(f"{name} is invalid")
    return flag


def _int_path_param(name: str, value: str) -> int:
    if not value.isdigit():
        raise grape_error(f"{name} is invalid")
    return int(value)


def _readable_project(ctx: SandboxContext, req: Request, id: str) -> tuple[Caller, Project]:
    """The `before` filter: authorize! :read_container_image, user_project."""
    caller = authenticate(ctx, req, job_token_allowed=True)
    project = find_project(ctx, caller, id)
    if not can(ctx.world, caller.user, "read_container_image", project):
        raise forbidden()
    return caller, project


def _repository(ctx: SandboxContext, project: Project, repository_id: int) -> Repository:
    """user_project.container_repositories.find(id): RecordNotFound -> 404 Not found."""
    repo = ctx.world.repositories.get(repository_id)
    if repo is None or repo.project_id != project.id:
        ctx.sync_catalog()
        repo = ctx.world.repositories.get(repository_id)
    if repo is None or repo.project_id != project.id:
        raise record_not_found()
    return repo


# --- repositories ------------------------------------------------------------------------


def list_project_repositories(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _readable_project(ctx, req, id)
    with_tags, with_count = _bool_param(req, "tags"), _bool_param(req, "tags_count")
    ctx.sync_catalog()
    repos = ctx.world.project_repositories(project)
    page, headers = paginate(req, repos, {"id": id, "tags": False, "tags_count": False})
    body = []
    for repo in page:
        names = (ctx.registry.tags(ctx.repository_path(repo)) or []) if (with_tags or with_count) else None
        body.append(entities.repository(ctx, repo, tag_names=names, with_tags=with_tags, with_tags_count=with_count))
    return json_response(200, body, headers)


def list_group_repositories(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req)
    group = find_group(ctx, caller, id)
    if not can_group(ctx.world, caller.user, "read_container_image", group):
        raise forbidden()
    ctx.sync_catalog()
    world = ctx.world
    with world.lock:
        # ContainerRepository.for_group_and_its_subgroups: every project of the subtree whose
        # registry feature is on; the group-level read check above is the only permission check.
        projects = [p for p in world.projects_in(world.namespace_descendants(group)) if registry_enabled(p)]
        repos = sorted((r for p in projects for r in world.project_repositories(p)), key=lambda r: r.id)
    page, headers = paginate(req, repos, {"id": id})
    return json_response(200, [entities.repository(ctx, r) for r in page], headers)


def get_repository(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req, job_token_allowed=True)
    if caller.user is None:
        raise unauthorized()
    repo_id = _int_path_param("id", id)
    with_tags, with_count, with_size = (_bool_param(req, n) for n in ("tags", "tags_count", "size"))
    repo = ctx.world.repositories.get(repo_id)
    if repo is None:
        ctx.sync_catalog()
        repo = ctx.world.repositories.get(repo_id)
    if repo is None:
        raise record_not_found()
    project = ctx.world.projects[repo.project_id]
    caller.check_job_scope(project)
    if not can(ctx.world, caller.user, "read_container_image", project):
        raise forbidden()
    names = (ctx.registry.tags(ctx.repository_path(repo)) or []) if (with_tags or with_count) else None
    delete_path = None
    if can(ctx.world, caller.user, "admin_container_image", project):
        delete_path = f"{req.base_url}/api/v4/projects/{project.id}/registry/repositories/{repo.id}"
    body = entities.repository(
        ctx, repo, tag_names=names, with_tags=with_tags, with_tags_count=with_count,
        delete_api_path=delete_path, with_size=with_size,
    )
    return json_response(200, body)


def delete_repository(ctx: SandboxContext, req: Request, id: str, repository_id: str) -> Response:
    caller, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    if not can(ctx.world, caller.user, "admin_container_image", project):
        raise forbidden()
    with ctx.world.lock:
        repo.status = "delete_scheduled"  # repository.delete_scheduled!
        ctx.world.save()
    _schedule_repository_delete(ctx, repo.id, ctx.knobs.repository_delete_delay_s)
    return status_body(202)


def _schedule_repository_delete(ctx: SandboxContext, repo_id: int, delay: float) -> None:
    ctx.jobs.schedule(f"delete repository {repo_id}", lambda: _run_repository_delete(ctx, repo_id), delay=delay)


def _run_repository_delete(ctx: SandboxContext, repo_id: int) -> None:
    """DeleteContainerRepositoryWorker: delete every tag (latest too), then the record."""
    world = ctx.world
    with world.lock:
        repo = world.repositories.get(repo_id)
        if repo is None or repo.status != "delete_scheduled":
            return
        repo.status = "delete_ongoing"
        world.save()
        path = world.repository_path(repo)
        protected = api_protection.delete_filter(ctx, world.projects[repo.project_id], None)  # a worker: every rule
    time.sleep(ctx.knobs.repository_delete_ongoing_s)  # long enough for pollers to see the state
    params = CleanupParams(name_regex_delete=".*", keep_latest=False)
    try:
        for _ in range(DELETE_PASSES):
            cleanup_tags(ctx.registry, ctx.inspector, path, params, max_list_size=_max_list_size(ctx),
                         protected=protected)
            if not ctx.registry.tags(path):
                world.remove_repository(repo_id)
                return
        raise RuntimeError(f"tags remain in {path}")
    except Exception:
        with world.lock:
            repo.failed_deletion_count += 1
            if repo.failed_deletion_count >= MAX_DELETION_FAILURES:
                repo.status = "delete_failed"
            else:
                repo.status = "delete_scheduled"
                retry = min(2**repo.failed_deletion_count, 60)  # GitLab: 2**n minutes; here seconds
                repo.next_delete_attempt_at = iso(utcnow() + dt.timedelta(seconds=retry))
                _schedule_repository_delete(ctx, repo_id, retry)
            world.save()
        raise


def _max_list_size(ctx: SandboxContext) -> int:
    return int(ctx.world.settings.get("container_registry_cleanup_tags_service_max_list_size", 200))


# --- tags --------------------------------------------------------------------------------


def list_tags(ctx: SandboxContext, req: Request, id: str, repository_id: str) -> Response:
    _, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    if req.params.get("pagination") == "keyset":
        raise api_message(405, "405 Method Not Allowed")  # keyset needs the registry's GitLab API
    path = ctx.repository_path(repo)
    names = ctx.registry.tags(path) or []
    page, headers = paginate(req, names, {"id": id, "repository_id": repository_id}, array=True)
    return json_response(200, [entities.tag(ctx, path, n) for n in page], headers)


def get_tag(ctx: SandboxContext, req: Request, id: str, repository_id: str, tag_name: str) -> Response:
    _, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    path = ctx.repository_path(repo)
    info = ctx.inspector.inspect(path, tag_name)
    if info is None:
        raise not_found("Tag")
    return json_response(200, entities.tag_details(ctx, path, info))


def delete_tag(ctx: SandboxContext, req: Request, id: str, repository_id: str, tag_name: str) -> Response:
    caller, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    if not can(ctx.world, caller.user, "destroy_container_image_tag", project):
        raise forbidden()
    names = api_protection.refuse_protected([tag_name], api_protection.delete_filter(ctx, project, caller.user))
    try:
        delete_tags(ctx.registry, ctx.repository_path(repo), names)
    except TagDeleteError:
        raise bad_request() from None
    return status_body(200)


def delete_tags_bulk(ctx: SandboxContext, req: Request, id: str, repository_id: str) -> Response:
    caller, project = _readable_project(ctx, req, id)
    declared = _declared_bulk_params(req.params, repository_id)
    repo = _repository(ctx, project, int(repository_id))
    if not can(ctx.world, caller.user, "admin_container_image", project):
        raise forbidden()
    if not ctx.try_obtain_cleanup_lease(repo.id):
        raise api_message(400, LEASE_TAKEN)
    params = CleanupParams.from_api(declared)
    ctx.jobs.schedule(
        f"cleanup tags of repository {repo.id}",
        lambda: _run_bulk_cleanup(ctx, repo.id, params, caller.user),
        delay=ctx.knobs.bulk_delete_delay_s,
    )
    return status_body(202)


def _declared_bulk_params(params: dict[str, Any], repository_id: str) -> dict[str, Any]:
    """Grape's params block of DELETE .../tags; all errors joined, as Grape reports them."""
    errors: list[str] = []
    if not repository_id.isdigit():
        errors.append("repository_id is invalid")
    declared: dict[str, Any] = {}
    for name in ("name_regex_delete", "name_regex", "name_regex_keep", "older_than"):
        if name in params and params[name] is not None:
            declared[name] = str(params[name])
    for name in ("name_regex_delete", "name_regex"):
        if name in declared:
            try:
                compile_untrusted(declared[name])
            except InvalidRegexp as exc:
                errors.append(f"{name} is an invalid regexp: {exc}")
    if "name_regex" not in params and "name_regex_delete" not in params:
        errors.append("name_regex, name_regex_delete are missing, at least one parameter must be provided")
    if "name_regex_keep" in declared:
        try:
            compile_untrusted(declared["name_regex_keep"])
        except InvalidRegexp as exc:
            errors.append(f"name_regex_keep is an invalid regexp: {exc}")
    if params.get("keep_n") is not None:
        try:
            declared["keep_n"] = int(str(params["keep_n"]))
        except ValueError:
            errors.append("keep_n is invalid")
    if errors:
        raise grape_error(", ".join(errors))
    return declared


def _run_bulk_cleanup(ctx: SandboxContext, repo_id: int, params: CleanupParams, user=None) -> None:
    """CleanupContainerRepositoryWorker -> CleanupTagsService (third-party variant)."""
    with ctx.world.lock:
        repo = ctx.world.repositories.get(repo_id)
        if repo is None:
            return
        path = ctx.world.repository_path(repo)
        project = ctx.world.projects[repo.project_id]
    result = cleanup_tags(ctx.registry, ctx.inspector, path, params, max_list_size=_max_list_size(ctx),
                          protected=api_protection.delete_filter(ctx, project, user))
    ctx.record_cleanup(repo_id, path, result)
    if result.message:
        log.warning("cleanup of %s: %s", path, result.message)
