"""What a project has in use, as GitLab's REST API answers it: environments, deployments, merge
requests, releases, protected branches and repository branches; and the sandbox's control
route that writes that history.

Followed from GitLab's source (gitlabhq/gitlabhq), reduced to what glcr reads:
* lib/api/environments.rb: GET /projects/:id/environments, `states` one of available, stopping,
  stopped (Grape: 400 {"error": "states does not have a valid value"}), `name`, `search`;
  authorize! :read_environment (Reporter in a private project); job tokens allowed.
* lib/api/deployments.rb: GET /projects/:id/deployments, `order_by` in id iid created_at
  updated_at finished_at ref (default id), `sort` asc|desc (default asc), `status` in created
  running success failed canceled skipped blocked, `environment` (a name); authorize!
  :read_deployment (Reporter); job tokens allowed. DeploymentsFinder refuses order_by
  updated_at without updated_after/updated_before (400 {"message": "..."}).
* lib/api/merge_requests.rb: GET /projects/:id/merge_requests, `state` opened closed locked
  merged all (default all), newest first; MergeRequestBasic: iid, sha, source_branch...;
  authorize_read_merge_requests! (Reporter in a private project); no job tokens.
* lib/api/releases.rb: GET /projects/:id/releases, newest released_at first; Entities::Release
  exposes `commit` only to callers who may download code (Reporter); Guests see the rest.
  Job tokens allowed.
* lib/api/protected_branches.rb: GET /projects/:id/protected_branches, authorize!
  :read_protected_branch; the sandbox answers it for Developer and above.
* lib/api/branches.rb: GET /projects/:id/repository/branches, authorize! :read_code (Reporter);
  Entities::Branch: name, commit, merged, protected, default... `protected` is
  ProtectedBranch.protected?(project, name): an exact name, or a wildcard rule whose `*` match
  any characters (RefMatcher#wildcard_regex: segments quoted, joined with `.*?`, anchored).

Deviation: on routes GitLab does not open to job tokens the sandbox answers 401 (api_auth.py).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from glcr_sandbox.api_auth import Caller, authenticate
from glcr_sandbox.api_projects import find_project
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.pagination import paginate
from glcr_sandbox.state import (
    DEVELOPER,
    GUEST,
    REPORTER,
    Project,
    iso,
    parse_time,
    utcnow,
)
from glcr_sandbox.web import (
    Request,
    Response,
    Router,
    api_message,
    forbidden,
    grape_error,
    json_response,
)

KINDS = ("branches", "protected_branches", "environments", "deployments", "merge_requests", "releases")
ENVIRONMENT_STATES = ("available", "stopping", "stopped")
DEPLOYMENT_ORDER = ("id", "iid", "created_at", "updated_at", "finished_at", "ref")
DEPLOYMENT_STATUSES = ("created", "running", "success", "failed", "canceled", "skipped", "blocked")
MR_STATES = ("opened", "closed", "locked", "merged", "all")


def _history(ctx: SandboxContext, project: Project) -> dict[str, list[dict[str, Any]]]:
    with ctx.world.lock:
        stored = ctx.world.history.get(str(project.id), {})
        return {k: [dict(i) for i in stored.get(k, [])] for k in KINDS}


def _reader(ctx: SandboxContext, req: Request, id: str, level: int, *, job_token: bool) -> tuple[Caller, Project]:
    caller = authenticate(ctx, req, job_token_allowed=job_token)
    if caller.user is None:
        # authenticate! on these routes (every sandbox project is private)
        from glcr_sandbox.web import unauthorized

        raise unauthorized()
    project = find_project(ctx, caller, id)
    if not caller.user.admin and ctx.world.project_access(caller.user, project) < level:
        raise forbidden()
    return caller, project


def _choice(req: Request, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = req.params.get(name)
    if value in (None, ""):
        return default
    if value not in allowed:
        raise grape_error(f"{name} does not have a valid value")
    return str(value)


# --- entities -----------------------------------------------------------------------------


def _commit(sha: str, at: str) -> dict[str, Any]:
    return {"id": sha, "short_id": sha[:8], "title": f"commit {sha[:8]}", "created_at": at, "parent_ids": [],
            "message": f"commit {sha[:8]}", "author_name": "Sandbox", "author_email": "sandbox@example.com",
            "authored_date": at, "committer_name": "Sandbox", "committer_email": "sandbox@example.com",
            "committed_date": at, "web_url": ""}


def _environment(env: dict[str, Any]) -> dict[str, Any]:
    return {k: env.get(k) for k in ("id", "name", "slug", "external_url", "state", "tier", "created_at",
                                    "updated_at", "auto_stop_at")}


def _deployment(d: dict[str, Any], env: dict[str, Any] | None) -> dict[str, Any]:
    """Entities::Deployment: no finished_at of its own (the job, `deployable`, has one, and says
    whether the ref is a tag)."""
    job = {"id": d["id"] + 1000, "status": d["status"], "stage": "deploy", "name": f"deploy {env and env['name']}",
           "ref": d["ref"], "tag": bool(d.get("tag")), "created_at": d["created_at"], "started_at": d["created_at"],
           "finished_at": d.get("finished_at"), "user": None, "commit": _commit(d["sha"], d["created_at"])}
    return {"id": d["id"], "iid": d["iid"], "ref": d["ref"], "sha": d["sha"], "created_at": d["created_at"],
            "updated_at": d["updated_at"], "status": d["status"], "user": None, "deployable": job,
            "environment": _environment(env) if env else None}


def _merge_request(mr: dict[str, Any], project: Project) -> dict[str, Any]:
    return {"id": mr["id"], "iid": mr["iid"], "project_id": project.id, "title": mr["title"], "state": mr["state"],
            "created_at": mr["created_at"], "updated_at": mr["updated_at"], "source_branch": mr["source_branch"],
            "target_branch": mr["target_branch"], "source_project_id": project.id, "target_project_id": project.id,
            "sha": mr["sha"], "draft": False, "merge_status": "can_be_merged", "web_url": ""}


def _release(r: dict[str, Any], with_commit: bool) -> dict[str, Any]:
    body = {"name": r["name"], "tag_name": r["tag_name"], "description": "", "created_at": r["created_at"],
            "released_at": r["released_at"], "upcoming_release": False, "author": None, "assets": {"count": 0}}
    if with_commit:
        body["commit"] = _commit(r["sha"], r["created_at"])
    return body


def wildcard_match(pattern: str, name: str) -> bool:
    """ProtectedRef: a name with `*` matches as RefMatcher#wildcard_regex; otherwise exactly."""
    if "*" not in pattern:
        return pattern == name
    regex = ".*?".join(re.escape(s) for s in pattern.split("*"))
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _branch(b: dict[str, Any], protected_rules: list[dict[str, Any]]) -> dict[str, Any]:
    protected = any(wildcard_match(r["name"], b["name"]) for r in protected_rules)
    return {"name": b["name"], "commit": _commit(b["sha"], b["created_at"]), "merged": False,
            "protected": protected, "developers_can_push": False, "developers_can_merge": False,
            "can_push": True, "default": bool(b.get("default")), "web_url": ""}


# --- GET routes -----------------------------------------------------------------------------


def list_environments(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _reader(ctx, req, id, REPORTER, job_token=True)
    states = _choice(req, "states", ENVIRONMENT_STATES, None)
    envs = _history(ctx, project)["environments"]
    if states:
        envs = [e for e in envs if e["state"] == states]
    if req.params.get("name"):
        envs = [e for e in envs if e["name"] == req.params["name"]]
    page, headers = paginate(req, sorted(envs, key=lambda e: e["id"]), {"id": id})
    return json_response(200, [_environment(e) for e in page], headers)


def list_deployments(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _reader(ctx, req, id, REPORTER, job_token=True)
    order_by = _choice(req, "order_by", DEPLOYMENT_ORDER, "id")
    sort = _choice(req, "sort", ("asc", "desc"), "asc")
    status = _choice(req, "status", DEPLOYMENT_STATUSES, None)
    if order_by == "updated_at" and not (req.params.get("updated_after") or req.params.get("updated_before")):
        raise api_message(400, "`updated_at` order_by requires `updated_after` or `updated_before` filter")
    history = _history(ctx, project)
    envs = {e["id"]: e for e in history["environments"]}
    items = history["deployments"]
    if req.params.get("environment"):
        items = [d for d in items if envs.get(d["environment_id"], {}).get("name") == req.params["environment"]]
    if status:
        items = [d for d in items if d["status"] == status]
    items = sorted(items, key=lambda d: (d.get(order_by) or "", d["id"]), reverse=sort == "desc")
    page, headers = paginate(req, items, {"id": id, "order_by": order_by, "sort": sort})
    return json_response(200, [_deployment(d, envs.get(d["environment_id"])) for d in page], headers)


def list_merge_requests(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _reader(ctx, req, id, REPORTER, job_token=False)
    state = _choice(req, "state", MR_STATES, "all")
    items = _history(ctx, project)["merge_requests"]
    if state != "all":
        items = [m for m in items if m["state"] == state]
    items = sorted(items, key=lambda m: (m["created_at"], m["id"]), reverse=True)  # created_at desc
    page, headers = paginate(req, items, {"id": id, "state": state, "order_by": "created_at", "sort": "desc"})
    return json_response(200, [_merge_request(m, project) for m in page], headers)


def list_releases(ctx: SandboxContext, req: Request, id: str) -> Response:
    caller, project = _reader(ctx, req, id, GUEST, job_token=True)
    with_commit = caller.user.admin or ctx.world.project_access(caller.user, project) >= REPORTER
    items = sorted(_history(ctx, project)["releases"], key=lambda r: (r["released_at"], r["id"]), reverse=True)
    page, headers = paginate(req, items, {"id": id, "order_by": "released_at", "sort": "desc"})
    return json_response(200, [_release(r, with_commit) for r in page], headers)


def list_protected_branches(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _reader(ctx, req, id, DEVELOPER, job_token=False)
    items = sorted(_history(ctx, project)["protected_branches"], key=lambda r: r["id"])
    page, headers = paginate(req, items, {"id": id})
    levels = [{"id": 1, "access_level": 40, "access_level_description": "Maintainers", "deploy_key_id": None,
               "user_id": None, "group_id": None}]
    return json_response(200, [{"id": r["id"], "name": r["name"], "push_access_levels": levels,
                                "merge_access_levels": levels, "allow_force_push": False,
                                "code_owner_approval_required": False} for r in page], headers)


def list_branches(ctx: SandboxContext, req: Request, id: str) -> Response:
    _, project = _reader(ctx, req, id, REPORTER, job_token=False)
    history = _history(ctx, project)
    items = sorted(history["branches"], key=lambda b: b["name"])  # BranchesFinder: by name
    if req.params.get("search"):
        items = [b for b in items if str(req.params["search"]).lower() in b["name"].lower()]
    page, headers = paginate(req, items, {"id": id})
    return json_response(200, [_branch(b, history["protected_branches"]) for b in page], headers)


# --- control: write a project's history ----------------------------------------------------


def _time(value: Any, default: dt.datetime) -> str:
    moment = parse_time(value) if isinstance(value, str) and value else default
    return iso(moment)


def add_history(ctx: SandboxContext, req: Request, id: str) -> Response:
    """POST /-/sandbox/projects/:id/history {branches: [{name, sha, default?}], protected_branches:
    [name], deployments: [{environment, sha, ref, status?, finished_at?}], merge_requests:
    [{source_branch, sha, state?, target_branch?, title?}], releases: [{tag_name, sha,
    released_at?}]}: appended; environments are created by their first deployment."""
    world = ctx.world
    project = world.find_project(id)
    if project is None:
        raise api_message(404, "404 Project Not Found")
    body = req.params
    now = utcnow()
    with world.lock:
        h = world.history.setdefault(str(project.id), {k: [] for k in KINDS})
        for k in KINDS:
            h.setdefault(k, [])
        for b in body.get("branches") or []:
            h["branches"] = [x for x in h["branches"] if x["name"] != b["name"]]
            if b.get("default"):
                for x in h["branches"]:
                    x["default"] = False
            h["branches"].append({"name": b["name"], "sha": b["sha"], "default": bool(b.get("default")),
                                  "created_at": iso(now)})
        for name in body.get("protected_branches") or []:
            h["protected_branches"].append({"id": world._next_id("protected_branch"), "name": name})
        for d in body.get("deployments") or []:
            env = next((e for e in h["environments"] if e["name"] == d["environment"]), None)
            if env is None:
                env = {"id": world._next_id("environment"), "name": d["environment"],
                       "slug": re.sub(r"[^a-z0-9]+", "-", d["environment"].lower()).strip("-")[:24],
                       "external_url": None, "state": d.get("environment_state", "available"),
                       "tier": "production" if d["environment"] == "production" else "other",
                       "created_at": iso(now), "updated_at": iso(now), "auto_stop_at": None}
                h["environments"].append(env)
            finished = _time(d.get("finished_at"), now)
            h["deployments"].append({
                "id": world._next_id("deployment"),
                "iid": len(h["deployments"]) + 1, "environment_id": env["id"], "ref": d["ref"],
                "tag": bool(d.get("tag")),
                "sha": d["sha"], "status": d.get("status", "success"), "created_at": finished,
                "updated_at": finished, "finished_at": finished if d.get("status", "success") == "success" else None})
        for m in body.get("merge_requests") or []:
            created = _time(m.get("created_at"), now)
            h["merge_requests"].append({
                "id": world._next_id("merge_request"), "iid": len(h["merge_requests"]) + 1,
                "title": m.get("title") or f"Merge {m['source_branch']}", "state": m.get("state", "opened"),
                "source_branch": m["source_branch"], "target_branch": m.get("target_branch", "main"),
                "sha": m["sha"], "created_at": created, "updated_at": created})
        for r in body.get("releases") or []:
            released = _time(r.get("released_at"), now)
            h["releases"].append({"id": world._next_id("release"), "name": r.get("name") or r["tag_name"],
                                  "tag_name": r["tag_name"], "sha": r["sha"], "created_at": released,
                                  "released_at": released})
        world.save()
        return json_response(201, {k: list(v) for k, v in h.items()})


def register(router: Router, api: str) -> None:
    project = f"{api}/projects/:id"
    router.add("GET", f"{project}/environments", list_environments)
    router.add("GET", f"{project}/deployments", list_deployments)
    router.add("GET", f"{project}/merge_requests", list_merge_requests)
    router.add("GET", f"{project}/releases", list_releases)
    router.add("GET", f"{project}/protected_branches", list_protected_branches)
    router.add("GET", f"{project}/repository/branches", list_branches)
    router.add("POST", "/-/sandbox/projects/:id/history", add_history)
