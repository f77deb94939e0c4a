"""REST endpoints outside the registry: version, user, token, projects, groups, settings.

Behaviour read in GitLab's source: lib/api/projects.rb (PUT :id and PUT :id/transfer),
app/services/projects/update_service.rb, after_rename_service.rb and transfer_service.rb (a
project whose registry has tags: refused on a third-party registry; on GitLab's registry the
registry's rename/move dry run decides, within the top-level namespace), lib/api/settings.rb.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from glcr_sandbox import entities
from glcr_sandbox.api_auth import Caller, authenticate
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.permissions import can, can_group
from glcr_sandbox.registry_client import move_access, rename_access
from glcr_sandbox.state import REGISTRY_ACCESS_LEVELS, Namespace, Project, iso, utcnow
from glcr_sandbox.validation import (
    CADENCE_SECONDS,
    POLICY_STRING_FIELDS,
    coerce_settings,
    to_bool,
    validate_policy,
    validate_project_path,
)
from glcr_sandbox.web import (
    Request,
    Response,
    api_message,
    forbidden,
    grape_error,
    json_response,
    not_found,
    record_not_found,
)

RENAME_WITH_TAGS = "Cannot rename project because it contains container registry tags!"
RENAME_DRY_RUN_FAILED = "Cannot rename project, the container registry path rename validation failed: {error}"
TRANSFER_WITH_TAGS = "Project cannot be transferred, because image tags are present in its container registry"
TRANSFER_OTHER_ROOT = (
    "Project cannot be transferred to a different top-level namespace, because image tags are present in its "
    "container registry"
)
TRANSFER_DRY_RUN_FAILED = "Project cannot be transferred because of a container registry error: {error}"
UPDATE_PARAMS = (
    "name",
    "path",
    "description",
    "container_registry_access_level",
    "container_registry_enabled",
    "container_expiration_policy_attributes",
)


def find_project(ctx: SandboxContext, caller: Caller, ref: str) -> Project:
    """user_project: a project the caller cannot see is "404 Project Not Found", never 403."""
    project = ctx.world.find_project(ref)
    if project is None:
        raise not_found("Project")
    if caller.job_project_id is not None:
        caller.check_job_scope(project)
        return project
    if not can(ctx.world, caller.user, "read_project", project):
        raise not_found("Project")
    return project


def find_group(ctx: SandboxContext, caller: Caller, ref: str) -> Namespace:
    group = ctx.world.find_namespace(ref)
    if group is None or not can_group(ctx.world, caller.user, "read_group", group):
        raise not_found("Group")
    return group


# --- version, user, token ----------------------------------------------------------------


def get_version(ctx: SandboxContext, req: Request) -> Response:
    authenticate(ctx, req).require_user()
    return json_response(
        200,
        {
            "version": entities.VERSION,
            "revision": entities.REVISION,
            "kas": {"enabled": False, "externalUrl": None, "externalK8sProxyUrl": None, "version": None},
            "enterprise": False,
        },
    )


def get_user(ctx: SandboxContext, req: Request) -> Response:
    user = authenticate(ctx, req).require_user()
    stored = ctx.world.users.get(user.id, user)  # `admin?` of the record, whatever Admin Mode says
    return json_response(200, entities.user(stored, req.base_url))


def get_member_all(ctx: SandboxContext, req: Request, id: str, user_id: str) -> Response:
    """GET /projects/:id/members/all/:user_id (lib/api/members.rb; MembersFinder with inherited
    and invited groups): one Member entity whose `access_level` is the project authorization's
    (COALESCE(project_authorizations.access_level, members.access_level)), i.e. the user's
    `max_member_access` for the project, invited groups included and capped by their link.
    Not a member by any of those: 404 {"message": "404 Not found"}."""
    if not user_id.isdigit():
        raise grape_error("user_id is invalid")
    caller = authenticate(ctx, req)
    project = find_project(ctx, caller, id)
    world = ctx.world
    member = world.users.get(int(user_id))
    level = world.project_access(member, project) if member is not None else 0
    if member is None or level == 0:
        raise record_not_found()
    return json_response(200, {**entities.user(replace(member, admin=False), req.base_url), "access_level": level,
                               "expires_at": None, "membership_state": "active"})


def get_group_member_all(ctx: SandboxContext, req: Request, id: str, user_id: str) -> Response:
    """GET /groups/:id/members/all/:user_id: the user's membership in the group or an ancestor
    (the highest); 404 {"message": "404 Not found"} when there is none."""
    if not user_id.isdigit():
        raise grape_error("user_id is invalid")
    group = find_group(ctx, authenticate(ctx, req), id)
    member = ctx.world.users.get(int(user_id))
    level = ctx.world.group_access(member, group) if member is not None else 0
    if member is None or level == 0:
        raise record_not_found()
    return json_response(200, {**entities.user(replace(member, admin=False), req.base_url), "access_level": level,
                               "expires_at": None, "membership_state": "active"})


def get_token_self(ctx: SandboxContext, req: Request) -> Response:
    caller = authenticate(ctx, req)
    caller.require_user()
    assert caller.token is not None
    return json_response(200, entities.personal_access_token(caller.token))


# --- projects ----------------------------------------------------------------------------


def get_project(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req)
    project = find_project(ctx, caller, id)
    return json_response(200, entities.project(ctx, project, req.base_url, caller.user))


def put_project(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req)
    user = caller.require_user()
    project = find_project(ctx, caller, id)
    world = ctx.world
    if not can(world, user, "admin_project", project):
        raise forbidden()
    params = {k: v for k, v in req.params.items() if k in UPDATE_PARAMS}
    if not params:
        raise grape_error(f"{', '.join(UPDATE_PARAMS)} are missing, at least one parameter must be provided")

    level = params.get("container_registry_access_level")
    if level is not None and level not in REGISTRY_ACCESS_LEVELS:
        raise grape_error("container_registry_access_level does not have a valid value")
    if "container_registry_enabled" in params and to_bool(params["container_registry_enabled"]) is None:
        raise grape_error("container_registry_enabled is invalid")
    policy_attrs = _declared_policy_attributes(params.get("container_expiration_policy_attributes"))

    new_path = params.get("path")
    rename_in_registry = False
    if new_path is not None and new_path != project.path and ctx.has_tags(project):
        # UpdateService#validate_renaming_project_with_tags. Without the registry's GitLab API
        # the rename is refused; with it, the registry's rename dry run decides. The newest
        # lib/api/projects.rb answers a service error without model errors with 422.
        if not ctx.gitlab_api:
            raise api_message(422, RENAME_WITH_TAGS)
        old_full = world.project_full_path(project).lower()
        dry_run = ctx.registry.patch_repository(
            old_full, {"name": new_path.lower()}, dry_run=True, access=rename_access(old_full)
        )
        if dry_run != "accepted":
            raise api_message(422, RENAME_DRY_RUN_FAILED.format(error=_titleize(dry_run)))
        rename_in_registry = True

    with world.lock:
        errors: dict[str, list[str]] = {}
        siblings = [p for p in world.projects.values() if p.namespace_id == project.namespace_id and p.id != project.id]
        if new_path is not None and new_path != project.path:
            errors.update(validate_project_path(new_path))
            if any(p.path.lower() == new_path.lower() for p in siblings):
                errors.setdefault("path", []).append("has already been taken")
        if "name" in params:
            if not params["name"]:
                errors.setdefault("name", []).append("can't be blank")
            elif any(p.name == params["name"] for p in siblings):
                errors.setdefault("name", []).append("has already been taken")
        policy = dict(vars(project.container_expiration_policy))
        if policy_attrs:
            policy.update(policy_attrs)
            errors.update(validate_policy(policy))
        if errors:
            raise api_message(400, errors)

        if rename_in_registry and new_path is not None:  # set only with a new path
            # Projects::AfterRenameService#rename_base_repository_in_registry!: the base
            # repository and every repository under it move to the new path in the registry.
            old_full = world.project_full_path(project).lower()
            result = ctx.registry.patch_repository(
                old_full, {"name": new_path.lower()}, dry_run=False, access=rename_access(old_full)
            )
            if result != "ok":
                raise api_message(422, f"Renaming the base repository in the registry failed with error {result}.")
        if "name" in params:
            project.name = params["name"]
        if new_path is not None:
            project.path = new_path
        if "description" in params:
            project.description = params["description"]
        if "container_registry_enabled" in params:
            # The deprecated boolean maps onto the access level, as ProjectFeature does.
            enabled = to_bool(params["container_registry_enabled"])
            project.container_registry_access_level = "enabled" if enabled else "disabled"
        if level is not None:
            project.container_registry_access_level = level
        if policy_attrs:
            # Schedulable: a saved policy is rescheduled from now ("the interval is reset").
            policy["next_run_at"] = iso(utcnow() + dt.timedelta(seconds=CADENCE_SECONDS[policy["cadence"]]))
            for key, value in policy.items():
                setattr(project.container_expiration_policy, key, value)
        world.save()
    return json_response(200, entities.project(ctx, project, req.base_url, user))


def _titleize(symbol: str) -> str:
    """ActiveSupport's String#titleize of a RENAME_RESPONSES symbol: bad_request -> Bad Request."""
    return symbol.replace("_", " ").title()


def _declared_policy_attributes(raw: Any) -> dict[str, Any]:
    """Grape's declared params for container_expiration_policy_attributes (types coerced)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise grape_error("container_expiration_policy_attributes is invalid")
    declared: dict[str, Any] = {}
    for key in POLICY_STRING_FIELDS:
        if key in raw:
            declared[key] = None if raw[key] is None else str(raw[key])
    if "keep_n" in raw:
        value = raw["keep_n"]
        try:
            declared["keep_n"] = None if value is None else int(value)
        except (TypeError, ValueError):
            raise grape_error("container_expiration_policy_attributes[keep_n] is invalid") from None
    if "enabled" in raw:
        flag = to_bool(raw["enabled"])
        if flag is None:
            raise grape_error("container_expiration_policy_attributes[enabled] is invalid")
        declared["enabled"] = flag
    return declared


def transfer_project(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req)
    user = caller.require_user()
    project = find_project(ctx, caller, id)
    world = ctx.world
    if not can(world, user, "change_namespace", project):
        raise forbidden()
    ref = req.params.get("namespace")
    if ref is None or ref == "":
        raise grape_error("namespace is missing")
    target = world.find_namespace(str(ref))
    if target is None or not can_group(world, user, "read_group", target):
        raise not_found("Namespace")

    def refuse(reason: str) -> Response:
        # execute_sync_transfer: "Failed to transfer project #{project.errors.messages}" (a Ruby hash).
        escaped = reason.replace('"', '\\"')
        return json_response(400, {"message": f'Failed to transfer project {{:new_namespace=>["{escaped}"]}}'})

    if target.id == project.namespace_id:
        return refuse("Project is already in this namespace.")
    if not can_group(world, user, "transfer_projects", target):
        return refuse("You don't have permission to transfer projects into that namespace.")
    with world.lock:
        taken = any(
            p.namespace_id == target.id and (p.path.lower() == project.path.lower() or p.name == project.name)
            for p in world.projects.values()
        )
    if taken:
        return refuse("Project with same name or path in target namespace already exists")
    move_in_registry = False
    if ctx.has_tags(project):
        # TransferService#verify_if_container_registry_tags_can_be_handled
        if not ctx.gitlab_api:
            return refuse(TRANSFER_WITH_TAGS)
        with world.lock:
            same_root = (
                world.namespace_ancestors(target)[-1].id
                == world.namespace_ancestors(world.namespaces[project.namespace_id])[-1].id
            )
            old_full = world.project_full_path(project).lower()
            new_namespace = world.namespace_full_path(target).lower()
        if not same_root:
            return refuse(TRANSFER_OTHER_ROOT)
        dry_run = ctx.registry.patch_repository(
            old_full, {"namespace": new_namespace}, dry_run=True, access=move_access(old_full, new_namespace)
        )
        if dry_run != "accepted":
            return refuse(TRANSFER_DRY_RUN_FAILED.format(error=_titleize(dry_run)))
        move_in_registry = True
    with world.lock:
        if move_in_registry:  # inside the transfer transaction: a failure rolls the move back
            result = ctx.registry.patch_repository(
                old_full, {"namespace": new_namespace}, dry_run=False, access=move_access(old_full, new_namespace)
            )
            if result != "ok":
                return refuse(TRANSFER_DRY_RUN_FAILED.format(error=_titleize(result)))
        project.namespace_id = target.id  # empty repository records follow: their path is derived
        world.save()
    return json_response(200, entities.project(ctx, project, req.base_url, user))


# --- groups ------------------------------------------------------------------------------


def get_group(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller = authenticate(ctx, req)
    group = find_group(ctx, caller, id)
    return json_response(200, entities.group(ctx.world, group, req.base_url))


# --- application settings ----------------------------------------------------------------


def _require_admin(ctx: SandboxContext, req: Request) -> None:
    user = authenticate(ctx, req).require_user()
    if not user.admin:
        raise forbidden()


def _settings_body(ctx: SandboxContext) -> dict[str, Any]:
    return {"id": 1, "default_projects_limit": 100000, **ctx.world.settings}


def get_settings(ctx: SandboxContext, req: Request) -> Response:
    _require_admin(ctx, req)
    return json_response(200, _settings_body(ctx))


def put_settings(ctx: SandboxContext, req: Request) -> Response:
    _require_admin(ctx, req)
    raw = req.params
    delay = raw.get("container_registry_token_expire_delay")
    if delay is not None and not isinstance(delay, bool):
        try:
            int(str(delay))
        except ValueError:
            raise grape_error("container_registry_token_expire_delay is invalid") from None
    values, errors = coerce_settings(raw)
    if errors:
        raise api_message(400, errors)
    with ctx.world.lock:
        ctx.world.settings.update(values)
        ctx.world.save()
    return json_response(200, _settings_body(ctx))
