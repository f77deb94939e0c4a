"""Container tag protection rules: the REST API and their enforcement in the sandbox's deletes.

Followed from GitLab's source (gitlabhq/gitlabhq):
* lib/api/project_container_registry_protection_tag_rules.rb: `after_validation { authenticate!;
  authorize! :admin_container_image, user_project }`, so Grape's parameter errors (400
  {"error": ...}) come before 401/404/403. GET presents `container_registry_protection_tag_rules
  .mutable`; POST requires all three fields, `values:` maintainer/owner/admin, and renders a
  service error as 422 {"message": <message or full messages>}; PATCH takes the same fields as
  optional (plus "" to unset) and renders 422 {"message": {"error": ...}}; DELETE (MR 213898)
  answers 204. A rule of another project is `find` -> 404 {"message": "404 Not found"}.
* CreateTagRuleService: "Maximum number of protection rules have been reached." at 5
  (MAX_TAG_RULES_PER_PROJECT, counted before creating).
* TagRule validations, in order: tag_name_pattern presence ("can't be blank"), uniqueness per
  project ("has already been taken"), length ("is too long (maximum is 100 characters)"),
  untrusted_regexp ("not valid RE2 syntax: <RE2 error>"); CE: "Access levels should both be
  present".
* Enforcement (Projects::ContainerRepository::Gitlab::DeleteTagsService#filter_out_protected!):
  no user (policy runs, the repository delete worker): every rule; an administrator: none;
  anyone else: the rules whose delete level is above their project access level. A bulk
  delete left with nothing answers 403 "cannot delete protected tag(s)"; the single-tag delete
  is stopped earlier by TagPolicy (`Tag#protected_for_delete?`): a plain 403 Forbidden.

* Create/UpdateTagRuleService refuse on a registry without the GitLab API
  (`GitlabApiClient.supports_gitlab_api?`): POST 422 {"message": "GitLab container registry API
  not supported"} (after the 5-rule check), PATCH 422 {"message": {"error": ...}}. So GitLab's
  registry without its metadata database gets no rules.

Deviation (knob `tag_rules_without_gitlab_api`, on for the distribution sandbox only): rules are
created and enforced on distribution too, where GitLab refuses them and its third-party delete
does not filter, so that glcr's handling of protected tags keeps being tested there.
"""

from __future__ import annotations

from typing import Any, Callable

from glcr_sandbox.api_auth import authenticate
from glcr_sandbox.api_projects import find_project
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.permissions import can
from glcr_sandbox.state import MAINTAINER, OWNER, Project, User
from glcr_sandbox.tag_delete import PROTECTED_TAGS_ERROR
from glcr_sandbox.untrusted_regexp import InvalidRegexp, compile_untrusted, matches
from glcr_sandbox.web import (
    ApiError,
    Request,
    Response,
    api_message,
    forbidden,
    grape_error,
    json_response,
    record_not_found,
)

LEVELS = {"maintainer": MAINTAINER, "owner": OWNER, "admin": 60}  # sym_options_with_admin
MAX_RULES = 5
MAX_PATTERN = 100
FIELDS = ("tag_name_pattern", "minimum_access_level_for_push", "minimum_access_level_for_delete")
GITLAB_API_NOT_SUPPORTED = "GitLab container registry API not supported"


def entity(rule: dict[str, Any]) -> dict[str, Any]:
    """API::Entities::Projects::ContainerRegistry::Protection::TagRule."""
    return {"id": rule["id"], "project_id": rule["project_id"], **{k: rule.get(k) for k in FIELDS}}


def project_rules(ctx: SandboxContext, project: Project) -> list[dict[str, Any]]:
    with ctx.world.lock:
        return sorted((r for r in ctx.world.tag_rules.values() if r["project_id"] == project.id),
                      key=lambda r: r["id"])


def _route_exists(ctx: SandboxContext) -> None:
    """A GitLab before 18.7 has no such route: API::API's catch-all 404."""
    if not ctx.knobs.tag_rules_api:
        raise ApiError(404, {"error": "404 Not Found"})


def _rules_supported(ctx: SandboxContext) -> bool:
    """The services' `supports_gitlab_api?` check (or the distribution deviation)."""
    return ctx.gitlab_api or ctx.knobs.tag_rules_without_gitlab_api


def _admin_project(ctx: SandboxContext, req: Request, id: str) -> tuple[User, Project]:
    caller = authenticate(ctx, req)
    user = caller.require_user()
    project = find_project(ctx, caller, id)
    if not can(ctx.world, user, "admin_container_image", project):
        raise forbidden()
    return user, project


def _declared(params: dict[str, Any], *, required: bool) -> dict[str, Any]:
    errors, out = [], {}
    for name in FIELDS:
        if name not in params or params[name] is None:
            if required:
                errors.append(f"{name} is missing")
            continue
        value = params[name]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append(f"{name} is invalid")
            continue
        value = str(value)
        if name != "tag_name_pattern" and value not in LEVELS and not (value == "" and not required):
            errors.append(f"{name} does not have a valid value")
            continue
        out[name] = value
    if errors:
        raise grape_error(", ".join(errors))
    return out


def model_errors(ctx: SandboxContext, project: Project, rule: dict[str, Any], own_id: int | None, *,
                 immutable_allowed: bool = False) -> list[str]:
    """TagRule validations. `immutable_allowed`: both levels nil is EE's immutable rule (GraphQL's
    create); REST always sends both, and CE's message is kept for it."""
    errors: list[str] = []
    pattern = rule.get("tag_name_pattern")
    if pattern is None or not str(pattern).strip():
        errors.append("Tag name pattern can't be blank")
    elif any(r["tag_name_pattern"] == pattern and r["id"] != own_id for r in project_rules(ctx, project)):
        errors.append("Tag name pattern has already been taken")
    if pattern is not None and len(pattern) > MAX_PATTERN:
        errors.append(f"Tag name pattern is too long (maximum is {MAX_PATTERN} characters)")
    if pattern:
        try:
            compile_untrusted(pattern)
        except InvalidRegexp as exc:
            errors.append(f"Tag name pattern not valid RE2 syntax: {exc}")
    push, delete = rule.get("minimum_access_level_for_push"), rule.get("minimum_access_level_for_delete")
    if not (push and delete) and not (immutable_allowed and not push and not delete):
        errors.append("Access levels should either both be present or both be nil" if immutable_allowed
                      else "Access levels should both be present")
    return errors


def list_rules(ctx: SandboxContext, req: Request, id: str) -> Response:
    _route_exists(ctx)
    _, project = _admin_project(ctx, req, id)
    mutable = [r for r in project_rules(ctx, project)
               if r.get("minimum_access_level_for_push") or r.get("minimum_access_level_for_delete")]
    return json_response(200, [entity(r) for r in mutable])


def create_rule(ctx: SandboxContext, req: Request, id: str) -> Response:
    _route_exists(ctx)
    declared = _declared(req.params, required=True)
    _, project = _admin_project(ctx, req, id)
    world = ctx.world
    with world.lock:
        if len(project_rules(ctx, project)) >= MAX_RULES:
            raise api_message(422, "Maximum number of protection rules have been reached.")
        if not _rules_supported(ctx):
            raise api_message(422, GITLAB_API_NOT_SUPPORTED)
        errors = model_errors(ctx, project, declared, None)
        if errors:
            raise api_message(422, errors)
        rule = {"id": world._next_id("tag_rule"), "project_id": project.id, **declared}
        world.tag_rules[rule["id"]] = rule
        world.save()
    return json_response(201, entity(rule))


def _rule(ctx: SandboxContext, project: Project, protection_rule_id: str) -> dict[str, Any]:
    rule = ctx.world.tag_rules.get(int(protection_rule_id))
    if rule is None or rule["project_id"] != project.id:
        raise record_not_found()
    return rule


def _rule_id(value: str) -> str:
    if not value.isdigit():
        raise grape_error("protection_rule_id is invalid")
    return value


def update_rule(ctx: SandboxContext, req: Request, id: str, protection_rule_id: str) -> Response:
    _route_exists(ctx)
    _rule_id(protection_rule_id)
    declared = _declared(req.params, required=False)
    _, project = _admin_project(ctx, req, id)
    world = ctx.world
    with world.lock:
        rule = _rule(ctx, project, protection_rule_id)
        if not _rules_supported(ctx):
            raise api_message(422, {"error": GITLAB_API_NOT_SUPPORTED})
        after = {**rule, **{k: (v if v != "" else None) for k, v in declared.items()}}
        errors = model_errors(ctx, project, after, rule["id"])
        if errors:
            raise api_message(422, {"error": errors})
        rule.update(after)
        world.save()
    return json_response(200, entity(rule))


def delete_rule(ctx: SandboxContext, req: Request, id: str, protection_rule_id: str) -> Response:
    _route_exists(ctx)
    _rule_id(protection_rule_id)
    _, project = _admin_project(ctx, req, id)
    world = ctx.world
    with world.lock:
        rule = _rule(ctx, project, protection_rule_id)
        del world.tag_rules[rule["id"]]
        world.save()
    return Response(204)


def register(router, api: str) -> None:
    base = f"{api}/projects/:id/registry/protection/tag/rules"
    router.add("GET", base, list_rules)
    router.add("POST", base, create_rule)
    router.add("PATCH", f"{base}/:protection_rule_id", update_rule)
    router.add("DELETE", f"{base}/:protection_rule_id", delete_rule)


# --- enforcement ------------------------------------------------------------------------------


def is_immutable(rule: dict[str, Any]) -> bool:
    """Both levels nil (EE, `immutable` scope)."""
    return not rule.get("minimum_access_level_for_push") and not rule.get("minimum_access_level_for_delete")


def enforced_rules(ctx: SandboxContext, project: Project) -> list[dict[str, Any]]:
    """The rules GitLab enforces: none before 17.9; immutable ones only with the licence
    (CE's `protected_patterns_for_delete` uses the `mutable` scope; EE adds `immutable`)."""
    if not ctx.knobs.protected_tags:
        return []
    return [r for r in project_rules(ctx, project) if not is_immutable(r) or ctx.knobs.immutable_tags]


def _restricted(rule: dict[str, Any], field_name: str, level: int) -> bool:
    needed = LEVELS.get(rule.get(field_name) or "")
    return needed is not None and needed > level


def delete_filter(ctx: SandboxContext, project: Project, user: User | None) -> Callable[[str], bool]:
    """is_protected(name) for a delete by `user` (None: a policy run or a worker: every rule).
    An administrator passes every mutable rule, never an immutable one (EE's prepend)."""
    level = None if user is None else ctx.world.project_access(user, project)
    patterns = []
    for rule in enforced_rules(ctx, project):
        if user is not None and user.admin and not is_immutable(rule):
            continue
        if is_immutable(rule) or level is None or _restricted(rule, "minimum_access_level_for_delete", level):
            try:
                patterns.append(compile_untrusted(rule["tag_name_pattern"]))
            except InvalidRegexp:
                continue
    if not patterns:
        return lambda name: False
    return lambda name: any(matches(p, name) for p in patterns)


# --- the caller's patterns in registry tokens ---------------------------------------------------


def token_metadata(ctx: SandboxContext, project: Project, user: User | None, actions: list[str]) -> dict[str, Any]:
    """`tag_deny_access_patterns` and (EE) `tag_immutable_patterns` for one granted scope
    (Auth::ContainerRegistryAuthenticationService.access_metadata; nil values are compacted away).

    Deny patterns: only for a user, only when the project has a rule; one list per granted push or
    delete action (`*` = both); empty lists for an administrator; otherwise the mutable rules whose
    push / delete level is above the user's access level. Immutable patterns: with the licence and
    a push, delete or `*` action, for everyone.
    """
    meta: dict[str, Any] = {}
    if not ctx.knobs.protected_tags:
        return meta
    rules = project_rules(ctx, project)
    if user is not None and rules:
        checked = ["push", "delete"] if "*" in actions else [a for a in dict.fromkeys(actions) if a != "pull"]
        patterns: dict[str, list[str]] = {a: [] for a in checked}
        if not user.admin:
            level = ctx.world.project_access(user, project)
            for rule in rules:
                if is_immutable(rule):
                    continue
                for action in checked:
                    if action in ("push", "delete") and _restricted(rule, f"minimum_access_level_for_{action}", level):
                        patterns[action].append(rule["tag_name_pattern"])
        meta["tag_deny_access_patterns"] = patterns
    immutable = [r["tag_name_pattern"] for r in rules if is_immutable(r)]
    if ctx.knobs.immutable_tags and immutable and set(actions) & {"push", "delete", "*"}:
        meta["tag_immutable_patterns"] = immutable
    return meta
