"""JSON shapes of GitLab's API entities, field for field (lib/api/entities/...).

Only the fields glcr and common clients read, in GitLab's order; names never invented.
"""

from __future__ import annotations

from typing import Any

from glcr_sandbox.context import SandboxContext
from glcr_sandbox.state import REPORTER, Namespace, Project, Repository, Token, User, World, parse_time, utcnow
from glcr_sandbox.tag_details import TagInfo, format_created

VERSION = "18.2.0"  # the GitLab version the sandbox imitates
REVISION = "5a1b2c3d4e5"


def user(u: User, base_url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": u.id,
        "username": u.username,
        "name": u.name,
        "state": "active",
        "locked": False,
        "avatar_url": None,
        "web_url": f"{base_url}/{u.username}",
        "created_at": u.created_at,
        "bot": False,
    }
    if u.admin:
        data["is_admin"] = True  # UserWithAdmin: only an admin's own /user shows it
    return data


def personal_access_token(t: Token) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "revoked": t.revoked,
        "created_at": t.created_at,
        "description": None,
        "scopes": list(t.scopes),
        "user_id": t.user_id,
        "last_used_at": None,
        "active": not t.revoked and not t.expired(),
        "expires_at": t.expires_at[:10] if t.expires_at else None,  # a date, as in GitLab
    }


def namespace(world: World, ns: Namespace, base_url: str) -> dict[str, Any]:
    full_path = world.namespace_full_path(ns)
    return {
        "id": ns.id,
        "name": ns.name,
        "path": ns.path,
        "kind": "group",
        "full_path": full_path,
        "parent_id": ns.parent_id,
        "avatar_url": None,
        "web_url": f"{base_url}/groups/{full_path}",
    }


def group(world: World, ns: Namespace, base_url: str) -> dict[str, Any]:
    data = namespace(world, ns, base_url)
    data.pop("kind")
    data.update(
        description="",
        visibility="private",
        full_name=world.namespace_full_name(ns),
        created_at=ns.created_at,
    )
    return data


def expiration_policy(project: Project) -> dict[str, Any]:
    p = project.container_expiration_policy
    return {
        "cadence": p.cadence,
        "enabled": p.enabled,
        "keep_n": p.keep_n,
        "older_than": p.older_than,
        "name_regex": p.name_regex,
        "name_regex_keep": p.name_regex_keep,
        "next_run_at": p.next_run_at,
    }


def project(ctx: SandboxContext, p: Project, base_url: str, user: User | None) -> dict[str, Any]:
    world = ctx.world
    full_path = world.project_full_path(p)
    ns = world.namespaces[p.namespace_id]
    ns_name = world.namespace_full_name(ns)  # Namespace#human_name
    enabled = p.container_registry_access_level != "disabled"
    project_level = world.direct_project_access(user, p) if user else 0
    group_level = world.group_access(user, ns) if user else 0
    return {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{ns_name} / {p.name}",
        "path": p.path,
        "path_with_namespace": full_path,
        "created_at": p.created_at,
        "default_branch": "main",
        "ssh_url_to_repo": f"git@127.0.0.1:{full_path}.git",
        "http_url_to_repo": f"{base_url}/{full_path}.git",
        "web_url": f"{base_url}/{full_path}",
        "last_activity_at": p.last_activity_at or p.created_at,
        "namespace": namespace(world, ns, base_url),
        "container_registry_image_prefix": f"{ctx.registry_host}/{full_path.lower()}",
        "_links": {"self": f"{base_url}/api/v4/projects/{p.id}"},
        "visibility": "private",
        "archived": False,
        "container_registry_enabled": enabled,
        "container_expiration_policy": expiration_policy(p),
        "container_registry_access_level": p.container_registry_access_level,
        "permissions": {
            "project_access": {"access_level": project_level, "notification_level": 3} if project_level else None,
            "group_access": {"access_level": group_level, "notification_level": 3} if group_level else None,
        },
    }


def project_simple(ctx: SandboxContext, p: Project, base_url: str, user: User | None) -> dict[str, Any]:
    """API::Entities::BasicProjectDetails (`simple=true`): ProjectIdentity plus URLs, counts,
    last_activity_at and the namespace. default_branch, readme_url and forks_count need
    read_code, which a private project grants from Reporter."""
    world = ctx.world
    full_path = world.project_full_path(p)
    ns = world.namespaces[p.namespace_id]
    read_code = user is not None and (user.admin or world.project_access(user, p) >= REPORTER)
    data: dict[str, Any] = {
        "id": p.id,
        "description": p.description,
        "name": p.name,
        "name_with_namespace": f"{world.namespace_full_name(ns)} / {p.name}",
        "path": p.path,
        "path_with_namespace": full_path,
        "created_at": p.created_at,
    }
    if read_code:
        data["default_branch"] = "main"
    data.update(
        tag_list=[],
        topics=[],
        ssh_url_to_repo=f"git@127.0.0.1:{full_path}.git",
        http_url_to_repo=f"{base_url}/{full_path}.git",
        web_url=f"{base_url}/{full_path}",
    )
    if read_code:
        data.update(readme_url=None, forks_count=0)
    data.update(
        avatar_url=None,
        star_count=0,
        last_activity_at=p.last_activity_at or p.created_at,
        namespace=namespace(world, ns, base_url),
    )
    return data


def job(ctx: SandboxContext, t: Token, u: User, base_url: str) -> dict[str, Any]:
    """API::Entities::Ci::Job of the job a CI job token belongs to (GET /job), reduced to what the
    sandbox knows: the token is the job (its id is the job id and the pipeline id), and a job
    whose token works is running. No commit, runner or artifacts: the sandbox has none."""
    world = ctx.world
    project = world.projects[t.project_id] if t.project_id in world.projects else None
    full_path = world.project_full_path(project) if project else ""
    started = parse_time(t.created_at)
    return {
        "id": t.id,
        "status": "running",
        "stage": "test",
        "name": t.name,
        "ref": "main",
        "tag": False,
        "coverage": None,
        "allow_failure": False,
        "created_at": t.created_at,
        "started_at": t.created_at,
        "finished_at": None,
        "erased_at": None,
        "duration": round((utcnow() - started).total_seconds(), 3) if started else None,
        "queued_duration": 0.0,
        "user": user(u, base_url),
        "pipeline": {
            "id": t.id,
            "project_id": t.project_id,
            "ref": "main",
            "status": "running",
            "source": "push",
            "created_at": t.created_at,
            "updated_at": t.created_at,
            "web_url": f"{base_url}/{full_path}/-/pipelines/{t.id}",
        },
        "web_url": f"{base_url}/{full_path}/-/jobs/{t.id}",
        "project": {"ci_job_token_scope_enabled": False},
        "artifacts": [],
        "archived": False,
        "tag_list": [],
    }


def tag(ctx: SandboxContext, repo_path: str, name: str) -> dict[str, Any]:
    return {"name": name, "path": f"{repo_path}:{name}", "location": f"{ctx.registry_host}/{repo_path}:{name}"}


def tag_details(ctx: SandboxContext, repo_path: str, info: TagInfo) -> dict[str, Any]:
    revision = info.revision
    return {
        **tag(ctx, repo_path, info.name),
        "revision": revision,
        "short_revision": revision[:9] if revision is not None else None,
        "digest": info.digest,
        "created_at": format_created(info.created) if info.created else None,
        "total_size": info.total_size,
    }


def repository(
    ctx: SandboxContext,
    repo: Repository,
    *,
    tag_names: list[str] | None = None,
    with_tags: bool = False,
    with_tags_count: bool = False,
    delete_api_path: str | None = None,
    with_size: bool = False,
    size: int | None = None,
) -> dict[str, Any]:
    """API::Entities::ContainerRegistry::Repository; optional fields only when asked for."""
    path = ctx.repository_path(repo)
    data: dict[str, Any] = {
        "id": repo.id,
        "name": repo.name,
        "path": path,
        "project_id": repo.project_id,
        "location": f"{ctx.registry_host}/{path}",
        "created_at": repo.created_at,
        "cleanup_policy_started_at": repo.expiration_policy_started_at,
    }
    if with_tags_count:
        data["tags_count"] = len(tag_names or [])
    if with_tags:
        data["tags"] = [tag(ctx, path, name) for name in tag_names or []]
    if delete_api_path:
        data["delete_api_path"] = delete_api_path
    if with_size:
        data["size"] = size  # the registry's size_bytes (GitLab API, `?size=self`); third-party: nil
    data["status"] = repo.status
    return data
