"""The sandbox's own control API under /-/sandbox/ (not GitLab's): set up worlds, turn knobs.

JSON in, JSON out, no authentication: the server only listens on 127.0.0.1.

  GET  /-/sandbox/info                 url, registry host, default users' tokens
  GET  /-/sandbox/state                the whole world, knobs, recent cleanup results
  POST /-/sandbox/users                {username, admin?, name?}
  POST /-/sandbox/tokens               {username, scopes?, expires_in_seconds? | expires_at?, name?}
  POST /-/sandbox/tokens/:id/revoke
  POST /-/sandbox/job-tokens           {username, project}
  POST /-/sandbox/groups               {path, parent?, name?}
  POST /-/sandbox/projects             {namespace, path, name?}
  POST /-/sandbox/members              {username, project | group, access_level (10..50 or name)}
  GET  /-/sandbox/config  PUT same     {latency_ms, rate_limit: {enabled, requests_per_period,
                                        period_seconds}, repository_delete_delay_s,
                                        repository_delete_ongoing_s, bulk_delete_delay_s,
                                        registry_token_lifetime_s (null: the GitLab setting),
                                        gitlab_version ("17.9", "18.2", "18.7"...), licence
                                        ("ultimate" or another tier: immutable rules ignored),
                                        tag_rules_api, tag_rules_without_gitlab_api,
                                        trust_tag_delete_probe (booleans; see context.Knobs),
                                        failing_projects: [project id] whose API calls answer 500}
  POST /-/sandbox/leases/reset         {repository_id?}  (all when absent)
  POST /-/sandbox/sync                 discover repositories pushed straight to the registry
  POST /-/sandbox/wait-idle            {timeout?}: wait for background jobs -> {idle, failures}
  POST /-/sandbox/push-times           {repository, times: {tag: ISO time}}: push times, only on
                                        GitLab's registry with its database
  POST /-/sandbox/backdate             {repository, times: {tag: ISO time}}: make tags that old
                                        to GitLab on any registry -> {digests: {tag: digest}}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from glcr_sandbox.context import SandboxContext
from glcr_sandbox.ratelimit import RateLimitConfig
from glcr_sandbox.state import ACCESS_LEVELS, Token, User, utcnow
from glcr_sandbox.web import Request, Response, Router, api_message, json_response


def _body(req: Request) -> dict[str, Any]:
    return req.params


def _require(body: dict[str, Any], name: str) -> Any:
    if body.get(name) in (None, ""):
        raise api_message(400, f"{name} is missing")
    return body[name]


def _user(ctx: SandboxContext, username: str) -> User:
    user = ctx.world.user_by_name(username)
    if user is None:
        raise api_message(404, f"404 User {username} Not Found")
    return user


def _token_json(ctx: SandboxContext, token: Token) -> dict[str, Any]:
    user = ctx.world.users[token.user_id]
    return {**asdict(token), "username": user.username}


def _guard(fn: Any) -> Any:
    """Turn ValueError from the world (duplicates, bad scopes) into 400s."""

    def wrapped(ctx: SandboxContext, req: Request, **kw: str) -> Response:
        try:
            return fn(ctx, req, **kw)
        except ValueError as exc:
            raise api_message(400, str(exc)) from None

    return wrapped


def info(ctx: SandboxContext, req: Request) -> Response:
    return json_response(200, ctx.info)


def state(ctx: SandboxContext, req: Request) -> Response:
    body = {
        **ctx.world.to_dict(),
        "config": config_dict(ctx),
        "cleanup_log": list(ctx.cleanup_log),
        "jobs_pending": ctx.jobs.pending(),
        "job_failures": list(ctx.jobs.failures),
    }
    return json_response(200, body)


@_guard
def create_user(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    user = ctx.world.add_user(_require(body, "username"), admin=bool(body.get("admin")), name=body.get("name"))
    return json_response(201, asdict(user))


@_guard
def create_token(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    user = _user(ctx, _require(body, "username"))
    expires_at = None
    if body.get("expires_in_seconds") is not None:
        expires_at = utcnow() + dt.timedelta(seconds=float(body["expires_in_seconds"]))
    elif body.get("expires_at"):
        expires_at = dt.datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=dt.timezone.utc)
    scopes = body.get("scopes") or ["api"]
    if isinstance(scopes, str):
        scopes = [s for s in scopes.replace(",", " ").split() if s]
    token = ctx.world.add_token(user, scopes, expires_at=expires_at, name=body.get("name") or "glcr-sandbox")
    return json_response(201, _token_json(ctx, token))


def revoke_token(ctx: SandboxContext, req: Request, token_id: str) -> Response:
    with ctx.world.lock:
        token = ctx.world.tokens.get(int(token_id)) if token_id.isdigit() else None
        if token is None:
            raise api_message(404, "404 Token Not Found")
        token.revoked = True
        ctx.world.save()
    return json_response(200, _token_json(ctx, token))


@_guard
def create_job_token(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    user = _user(ctx, _require(body, "username"))
    project = ctx.world.find_project(str(_require(body, "project")))
    if project is None:
        raise api_message(404, "404 Project Not Found")
    token = ctx.world.add_token(user, [], kind="job", project=project, name="ci-job")
    return json_response(201, _token_json(ctx, token))


@_guard
def create_group(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    parent = None
    if body.get("parent"):
        parent = ctx.world.find_namespace(str(body["parent"]))
        if parent is None:
            raise api_message(404, "404 Group Not Found")
    group = ctx.world.add_group(_require(body, "path"), parent=parent, name=body.get("name"))
    return json_response(201, {**asdict(group), "full_path": ctx.world.namespace_full_path(group)})


@_guard
def create_project(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    namespace = ctx.world.find_namespace(str(_require(body, "namespace")))
    if namespace is None:
        raise api_message(404, "404 Namespace Not Found")
    if isinstance(body.get("paths"), list):  # many at once (seeding a big group): one save of the world
        with ctx.world.batch():
            where = ctx.world.namespace_full_path(namespace)
            # One already there is kept (seeding the same group twice), as a single create's 400 is.
            made = [ctx.world.find_project(f"{where}/{path}") or ctx.world.add_project(namespace, str(path))
                    for path in body["paths"]]
        return json_response(201, {"projects": [
            {"id": p.id, "path_with_namespace": ctx.world.project_full_path(p)} for p in made]})
    project = ctx.world.add_project(namespace, _require(body, "path"), name=body.get("name"))
    return json_response(201, {"id": project.id, "path_with_namespace": ctx.world.project_full_path(project)})


@_guard
def set_member(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    user = _user(ctx, _require(body, "username"))
    raw_level = _require(body, "access_level")
    level = ACCESS_LEVELS.get(str(raw_level).lower()) or int(raw_level)
    if body.get("project"):
        project = ctx.world.find_project(str(body["project"]))
        if project is None:
            raise api_message(404, "404 Project Not Found")
        ctx.world.set_member(user, level, project=project)
    elif body.get("group"):
        group = ctx.world.find_namespace(str(body["group"]))
        if group is None:
            raise api_message(404, "404 Group Not Found")
        ctx.world.set_member(user, level, group=group)
    else:
        raise api_message(400, "project or group is missing")
    return json_response(200, {"username": user.username, "access_level": level})


def config_dict(ctx: SandboxContext) -> dict[str, Any]:
    return {**asdict(ctx.knobs), "tag_rules_api": ctx.knobs.tag_rules_api, "rate_limit": asdict(ctx.limiter.config)}


def get_config(ctx: SandboxContext, req: Request) -> Response:
    return json_response(200, config_dict(ctx))


def put_config(ctx: SandboxContext, req: Request) -> Response:
    body = _body(req)
    knobs = ctx.knobs
    try:
        if "latency_ms" in body:
            knobs.latency_ms = max(0, int(body["latency_ms"]))
        for name in ("repository_delete_delay_s", "repository_delete_ongoing_s", "bulk_delete_delay_s"):
            if name in body:
                setattr(knobs, name, max(0.0, float(body[name])))
        for name in ("tag_rules_api", "tag_rules_without_gitlab_api", "trust_tag_delete_probe"):
            if name in body:
                if not isinstance(body[name], bool):
                    raise ValueError(f"{name} must be true or false")
                setattr(knobs, name, body[name])
        if "registry_token_lifetime_s" in body:
            lifetime = body["registry_token_lifetime_s"]
            knobs.registry_token_lifetime_s = max(1, int(lifetime)) if lifetime is not None else None
        if "gitlab_version" in body:
            version = str(body["gitlab_version"])
            if not all(p.isdigit() for p in version.split(".")) or version.count(".") != 1:
                raise ValueError(f"gitlab_version must look like 18.7, not {version!r}")
            knobs.gitlab_version = version
        if "licence" in body:
            knobs.licence = str(body["licence"])
        if "failing_projects" in body:
            knobs.failing_projects = [int(p) for p in body["failing_projects"] or []]
        if isinstance(body.get("rate_limit"), dict):
            raw = {**asdict(ctx.limiter.config), **body["rate_limit"]}
            config = RateLimitConfig(
                enabled=bool(raw["enabled"]),
                requests_per_period=max(1, int(raw["requests_per_period"])),
                period_seconds=max(0.001, float(raw["period_seconds"])),
            )
            ctx.limiter.configure(config)
    except (TypeError, ValueError) as exc:
        raise api_message(400, f"invalid config: {exc}") from None
    return json_response(200, config_dict(ctx))


def reset_leases(ctx: SandboxContext, req: Request) -> Response:
    repo_id = _body(req).get("repository_id")
    ctx.reset_cleanup_leases(int(repo_id) if repo_id is not None else None)
    return json_response(200, {"reset": repo_id if repo_id is not None else "all"})


def sync(ctx: SandboxContext, req: Request) -> Response:
    ctx.sync_catalog()
    return json_response(200, {"repositories": len(ctx.world.repositories)})


def _times(body: dict[str, Any]) -> tuple[str, dict[str, dt.datetime]]:
    repo, raw = _require(body, "repository"), _require(body, "times")
    if not isinstance(raw, dict):
        raise api_message(400, "times must be an object of tag: time")
    try:
        times = {str(tag): dt.datetime.fromisoformat(str(when).replace("Z", "+00:00")) for tag, when in raw.items()}
    except ValueError as exc:
        raise api_message(400, f"invalid time: {exc}") from None
    if any(when.tzinfo is None for when in times.values()):
        raise api_message(400, "invalid time: give a time zone (Z or +hh:mm)")
    return str(repo), times


def backdate(ctx: SandboxContext, req: Request) -> Response:
    """{"repository": path, "times": {tag: ISO time}}: make the tags look that old to GitLab on
    any registry (Sandbox.backdate) -> {"digests": {tag: digest now}}."""
    repo, times = _times(_body(req))
    if ctx.backdater is None:
        raise api_message(503, "the sandbox is starting")
    try:
        digests = ctx.backdater(repo, times)
    except (LookupError, ValueError) as exc:
        raise api_message(404 if isinstance(exc, LookupError) else 400, str(exc)) from None
    return json_response(200, {"digests": digests, "registry_kind": ctx.registry_kind})


def push_times(ctx: SandboxContext, req: Request) -> Response:
    """{"repository": path, "times": {tag: ISO time}}: backdate push times on GitLab's registry
    with its database (a no-op elsewhere, whose dates are the configs' `created`; see backdate)."""
    repo, times = _times(_body(req))
    if ctx.push_time_setter is None:
        return json_response(200, {"changed": 0, "registry_kind": ctx.registry_kind})
    try:
        ctx.push_time_setter(str(repo), times)
    except LookupError as exc:
        raise api_message(404, str(exc)) from None
    return json_response(200, {"changed": len(times), "registry_kind": ctx.registry_kind})


def wait_idle(ctx: SandboxContext, req: Request) -> Response:
    timeout = float(_body(req).get("timeout", 30))
    idle = ctx.jobs.wait_idle(timeout)
    return json_response(200, {"idle": idle, "failures": list(ctx.jobs.failures)})


def register(router: Router) -> None:
    prefix = "/-/sandbox"
    router.add("GET", f"{prefix}/info", info)
    router.add("GET", f"{prefix}/state", state)
    router.add("POST", f"{prefix}/users", create_user)
    router.add("POST", f"{prefix}/tokens", create_token)
    router.add("POST", f"{prefix}/tokens/:token_id/revoke", revoke_token)
    router.add("POST", f"{prefix}/job-tokens", create_job_token)
    router.add("POST", f"{prefix}/groups", create_group)
    router.add("POST", f"{prefix}/projects", create_project)
    router.add("POST", f"{prefix}/members", set_member)
    router.add("GET", f"{prefix}/config", get_config)
    router.add("PUT", f"{prefix}/config", put_config)
    router.add("POST", f"{prefix}/leases/reset", reset_leases)
    router.add("POST", f"{prefix}/sync", sync)
    router.add("POST", f"{prefix}/wait-idle", wait_idle)
    router.add("POST", f"{prefix}/push-times", push_times)
    router.add("POST", f"{prefix}/backdate", backdate)
