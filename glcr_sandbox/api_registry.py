"""Container registry REST endpoints (lib/api/project_container_repositories.rb,
group_container_repositories.rb, container_repositories.rb), over either registry: where
GitLab's code asks `supports_gitlab_api?`, so does this (`ctx.gitlab_api`).

Order of checks as Grape runs them: authentication and the `before` read check, then
parameter validation (400 {"error": ...}), then the endpoint (repository lookup, abilities,
the hourly lease).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any
from urllib.parse import urlencode

from glcr_sandbox import api_protection, entities
from glcr_sandbox.api_auth import Caller, authenticate
from glcr_sandbox.api_projects import find_group, find_project
from glcr_sandbox.cleanup import CleanupParams, CleanupResult, cleanup_tags, cleanup_tags_gitlab
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.pagination import paginate
from glcr_sandbox.registry_client import MAX_TAGS_PAGE_SIZE
from glcr_sandbox.permissions import can, can_group, registry_enabled
from glcr_sandbox.state import Project, Repository, iso, utcnow
from glcr_sandbox.tag_delete import delete_tags_service
from glcr_sandbox.untrusted_regexp import InvalidRegexp, compile_untrusted
from glcr_sandbox.validation import to_bool
from glcr_sandbox.web import (
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
KEYSET_DEFAULT_PAGE_COUNT = 20  # API::ProjectContainerRepositories::DEFAULT_PAGE_COUNT
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
        body.append(_repository_entity(ctx, repo, with_tags=with_tags, with_count=with_count))
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
    delete_path = None
    if can(ctx.world, caller.user, "admin_container_image", project):
        delete_path = f"{req.base_url}/api/v4/projects/{project.id}/registry/repositories/{repo.id}"
    size = None
    if with_size and ctx.gitlab_api:  # ContainerRepository#size: nil without the GitLab API
        size = ctx.registry.repository_details(ctx.repository_path(repo), sizing="self").get("size_bytes")
    body = _repository_entity(
        ctx, repo, with_tags=with_tags, with_count=with_count, delete_api_path=delete_path,
        with_size=with_size, size=size,
    )  # fmt: skip
    return json_response(200, body)


def _repository_entity(ctx: SandboxContext, repo: Repository, *, with_tags: bool, with_count: bool,
                       **extra: Any) -> dict[str, Any]:
    """`tags` come from ContainerRepository#tags (the GitLab API when there is one), `tags_count`
    from the /v2 tags list (#tags_count reads `manifest` on both registries)."""
    path = ctx.repository_path(repo)
    names: list[str] | None = None
    if with_tags:
        names = ctx.tag_names(path)
    elif with_count:
        names = ctx.registry.tags(path) or []
    return entities.repository(ctx, repo, tag_names=names, with_tags=with_tags, with_tags_count=with_count, **extra)


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
            if ctx.gitlab_api:
                cleanup_tags_gitlab(ctx.registry, path, params, disable_timeout=True, protected=protected)
            else:
                cleanup_tags(ctx.registry, ctx.inspector, path, params, max_list_size=_max_list_size(ctx),
                             protected=protected, tag_delete=ctx.tag_delete)
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


def _delete_timeout(ctx: SandboxContext) -> float:
    return float(ctx.world.settings.get("container_registry_delete_tags_service_timeout", 250) or 0)


# --- tags --------------------------------------------------------------------------------


def list_tags(ctx: SandboxContext, req: Request, id: str, repository_id: str) -> Response:
    _, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    path = ctx.repository_path(repo)
    if req.params.get("pagination") == "keyset":
        if not ctx.gitlab_api:
            raise api_message(405, "405 Method Not Allowed")  # keyset needs the registry's GitLab API
        return _keyset_tags(ctx, req, path)
    names = ctx.tag_names(path)
    page, headers = paginate(req, names, {"id": id, "repository_id": repository_id}, array=True)
    return json_response(200, [entities.tag(ctx, path, n) for n in page], headers)


def _keyset_tags(ctx: SandboxContext, req: Request, path: str) -> Response:
    """repository.tags_page(page_size: per_page || 20, sort:, last:); a next page becomes
    `Link: <this request with per_page, last, sort>; rel="next"` (no X-Total, no prev)."""
    raw_per_page = req.params.get("per_page")
    try:
        per_page = int(str(raw_per_page)) if raw_per_page is not None else KEYSET_DEFAULT_PAGE_COUNT
    except ValueError:
        raise grape_error("per_page is invalid") from None
    sort = "-name" if req.params.get("sort") == "desc" else "name"
    last = req.params.get("last")
    page = ctx.registry.gitlab_tags_page(path, page_size=per_page, sort=sort, last=str(last) if last else None)
    tags, next_last = page if page else ([], None)
    headers: dict[str, str] = {}
    if next_last:
        query = {k: str(v) for k, v in req.params.items() if isinstance(v, (str, int))}
        query.update(per_page=str(min(per_page, MAX_TAGS_PAGE_SIZE)), last=next_last,
                     sort="desc" if sort == "-name" else "asc")  # fmt: skip
        headers["Link"] = f'<{req.base_url}{req.raw_path}?{urlencode(query)}>; rel="next"'
    return json_response(200, [entities.tag(ctx, path, t["name"]) for t in tags], headers)


def get_tag(ctx: SandboxContext, req: Request, id: str, repository_id: str, tag_name: str) -> Response:
    _, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    path = ctx.repository_path(repo)
    info = ctx.inspector.inspect_gitlab(path, tag_name) if ctx.gitlab_api else ctx.inspector.inspect(path, tag_name)
    if info is None:
        raise not_found("Tag")
    return json_response(200, entities.tag_details(ctx, path, info))


def delete_tag(ctx: SandboxContext, req: Request, id: str, repository_id: str, tag_name: str) -> Response:
    caller, project = _readable_project(ctx, req, id)
    repo = _repository(ctx, project, _int_path_param("repository_id", repository_id))
    path = ctx.repository_path(repo)
    # authorize! :destroy_container_image_tag, tag: with the GitLab API `tag` is nil for a tag
    # the registry does not have, and no policy grants anything on nil: 403.
    if ctx.gitlab_api and ctx.inspector.inspect_gitlab(path, tag_name) is None:
        raise forbidden()
    if not can(ctx.world, caller.user, "destroy_container_image_tag", project):
        raise forbidden()
    # TagPolicy: `Tag#protected_for_delete?(user)` prevents destroy_container_image_tag, so a
    # protected tag is a plain 403 here (gitlab-facts-2.md N12), before the service's own filter.
    if api_protection.delete_filter(ctx, project, caller.user)(tag_name):
        raise forbidden()
    names = [tag_name]
    # DeleteTagsService: tag only where the registry supports it (GitLab's, with or without its
    # database), else the dummy manifest.
    _, message = delete_tags_service(ctx.registry, path, names, tag_delete=ctx.tag_delete,
                                     timeout_s=_delete_timeout(ctx))
    if message:
        raise bad_request()
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
    """CleanupContainerRepositoryWorker -> CleanupTagsService: the GitLab-registry variant when
    the registry has the GitLab API, else the third-party one."""
    with ctx.world.lock:
        repo = ctx.world.repositories.get(repo_id)
        if repo is None:
            return
        path = ctx.world.repository_path(repo)
        project = ctx.world.projects[repo.project_id]
    protected = api_protection.delete_filter(ctx, project, user)
    result: CleanupResult
    if ctx.gitlab_api:
        result = cleanup_tags_gitlab(ctx.registry, path, params, timeout_s=_delete_timeout(ctx), protected=protected)
    else:
        result = cleanup_tags(ctx.registry, ctx.inspector, path, params, max_list_size=_max_list_size(ctx),
                              protected=protected, tag_delete=ctx.tag_delete, timeout_s=_delete_timeout(ctx))
    ctx.record_cleanup(repo_id, path, result)
    if result.message:
        log.warning("cleanup of %s: %s", path, result.message)
