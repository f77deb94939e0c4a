"""GET /projects, GET /groups and GET /job, as GitLab answers them over the sandbox's world.

Sources (gitlabhq/gitlabhq): lib/api/projects.rb (`collection_params`, `present_projects`),
lib/api/helpers.rb (`order_options_with_tie_breaker`, `project_finder_params_visibility_ce`),
app/finders/projects_finder.rb, lib/api/groups.rb (`group_list_params`, `find_groups`,
`order_groups`), app/finders/groups_finder.rb, app/finders/concerns/namespaces/groups_filter.rb,
lib/gitlab/sql/pattern.rb (search), lib/api/ci/jobs.rb (`resource :job`) and
lib/gitlab/auth/auth_finders.rb (job tokens).

* GET /projects and GET /groups take no CI job token (no `job_token_allowed`): the sandbox
  refuses one with 401, as it does on every such route (see api_auth). Anonymous callers are
  let through (`authenticate_non_get!`) and see public projects and groups only: none here,
  every sandbox project and group is private.
* GET /job needs a job token: anonymous or a bad/finished job token 401, a personal token
  404 "Job Not Found" (`validate_current_authenticated_job`).
* Parameters are checked as Grape does: {"error": "order_by does not have a valid value, ..."}.
* Lists are offset-paginated with the shared helper; Link hrefs carry the declared defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from glcr_sandbox import entities
from glcr_sandbox.api_auth import authenticate
from glcr_sandbox.context import SandboxContext
from glcr_sandbox.pagination import paginate
from glcr_sandbox.state import OWNER, Namespace, Project, User, World
from glcr_sandbox.validation import to_bool
from glcr_sandbox.web import Request, Response, grape_error, json_response, not_found, unauthorized

ACCESS_VALUES = (10, 15, 20, 30, 40, 50)  # Gitlab::Access.all_values (CE): Guest .. Owner, Planner 15
VISIBILITY_VALUES = ("private", "internal", "public")  # Gitlab::VisibilityLevel.string_values
STATISTICS_SORT_PARAMS = ("storage_size", "repository_size", "wiki_size", "packages_size")  # admins only
PROJECT_ORDER_BY = ("id", "name", "path", "created_at", "updated_at", "last_activity_at", "similarity",
                    "star_count", *STATISTICS_SORT_PARAMS)  # fmt: skip
GROUP_ORDER_BY = ("name", "path", "id", "similarity")
MIN_CHARS_FOR_PARTIAL_MATCHING = 3  # Gitlab::SQL::Pattern
QUOTED_TERM = re.compile(r'(?:\A|(?<= ))"[^"]+"(?= |\Z)')  # Gitlab::SQL::Pattern::REGEX_QUOTED_TERM


# --- Grape's declared params -------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "bool", "str", "int", "int_list"
    default: Any = None
    values: Sequence[Any] | None = None


def declared(req: Request, params: Sequence[Param]) -> dict[str, Any]:
    """Coerce and check like Grape: every error of the request in one 400, in declaration order.
    Absent (or blank, for non-strings) params take their default; None when there is none."""
    raw = req.params
    out: dict[str, Any] = {}
    errors: list[str] = []
    for p in params:
        value = raw.get(p.name)
        if value is None or (value == "" and p.kind != "str"):
            out[p.name] = p.default
            continue
        if p.kind == "bool":
            value = to_bool(value)
            if value is None:
                errors.append(f"{p.name} is invalid")
                continue
        elif p.kind == "int":
            try:
                value = int(str(value))
            except ValueError:
                errors.append(f"{p.name} is invalid")
                continue
        elif p.kind == "int_list":  # CommaSeparatedToIntegerArray
            try:
                value = [int(v) for v in str(value).split(",") if v.strip()]
            except ValueError:
                errors.append(f"{p.name} is invalid")
                continue
        else:
            value = str(value)
        if p.values is not None and value not in p.values:
            errors.append(f"{p.name} does not have a valid value")
            continue
        out[p.name] = value
    if errors:
        raise grape_error(", ".join(errors))
    return out


def link_defaults(params: Sequence[Param], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The declared defaults Grape puts into `params`, which the Link header's hrefs carry."""
    return {**{p.name: p.default for p in params if p.default is not None}, **(extra or {})}


# --- search (Gitlab::SQL::Pattern#fuzzy_search) -------------------------------------------


def search_terms(query: str) -> list[str]:
    quoted: list[str] = []

    def keep(match: re.Match[str]) -> str:
        quoted.append(match.group(0)[1:-1])
        return ""

    return QUOTED_TERM.sub(keep, query).split() + quoted


def fuzzy_match(query: str, columns: Sequence[str | None]) -> bool:
    """ILIKE on each column, OR-ed. Terms of 3+ characters must all be substrings of one column;
    without such a term the whole query must equal the column (case-insensitively)."""
    query = " ".join(query.split())  # String#squish
    if not query:
        return True
    long_terms = [t.lower() for t in search_terms(query) if len(t) >= MIN_CHARS_FOR_PARTIAL_MATCHING]
    for column in columns:
        if column is None:
            continue
        text = column.lower()
        if long_terms and all(term in text for term in long_terms):
            return True
        if not long_terms and text == query.lower():
            return True
    return False


def similarity(query: str, weighted: Sequence[tuple[str | None, float]]) -> float:
    """A stand-in for Gitlab::Database::SimilarityScore (pg_trgm): exact > prefix > substring,
    weighted per column. Only the order it gives matters."""
    q = query.strip().lower()
    score = 0.0
    for column, weight in weighted:
        text = (column or "").lower()
        if not q or not text:
            continue
        score += weight * (1.0 if text == q else 0.6 if text.startswith(q) else 0.3 if q in text else 0.0)
    return score


# --- GET /projects -----------------------------------------------------------------------

PROJECT_PARAMS = (
    Param("order_by", "str", "created_at", PROJECT_ORDER_BY),
    Param("sort", "str", "desc", ("asc", "desc")),
    Param("archived", "bool"),
    Param("visibility", "str", None, VISIBILITY_VALUES),
    Param("search", "str"),
    Param("search_namespaces", "bool"),
    Param("owned", "bool", False),
    Param("starred", "bool", False),
    Param("imported", "bool", False),
    Param("membership", "bool", False),
    Param("with_issues_enabled", "bool", False),
    Param("with_merge_requests_enabled", "bool", False),
    Param("min_access_level", "int", None, ACCESS_VALUES),
    Param("id_after", "int"),
    Param("id_before", "int"),
    Param("simple", "bool", False),
    Param("statistics", "bool", False),
    Param("with_custom_attributes", "bool", False),
)


def list_projects(ctx: SandboxContext, req: Request) -> Response:
    caller = authenticate(ctx, req)  # no job_token_allowed
    user = caller.user
    params = declared(req, PROJECT_PARAMS)
    world = ctx.world
    with world.lock:
        projects = _find_projects(world, user, params)
        projects = _order_projects(world, user, projects, params)
    page, headers = paginate(req, projects, link_defaults(PROJECT_PARAMS))
    with world.lock:
        if params["simple"] or user is None:  # BasicProjectDetails; ProjectWithAccess otherwise
            body = [entities.project_simple(ctx, p, req.base_url, user) for p in page]
        else:
            body = [entities.project(ctx, p, req.base_url, user) for p in page]
    return json_response(200, body, headers)


def _find_projects(world: World, user: User | None, params: dict[str, Any]) -> list[Project]:
    """ProjectsFinder#execute with the API's finder params (private sandbox: public is empty)."""
    if user is None:
        return []  # collection_without_user: public projects only
    if params["owned"]:
        items = world.authorized_projects(user, OWNER)  # User#owned_projects
    elif params["min_access_level"] is not None:
        items = world.authorized_projects(user, params["min_access_level"])
    elif params["membership"] or not user.admin:
        items = world.authorized_projects(user)  # non_public; or visible = authorized when all private
    else:
        items = sorted(world.projects.values(), key=lambda p: p.id)  # an admin sees every project
    if params["starred"] or params["imported"]:
        items = []  # nothing is starred or imported in the sandbox
    if params["archived"] is True or params["visibility"] in ("internal", "public"):
        items = []  # every sandbox project is active and private
    if params["id_after"] is not None:
        items = [p for p in items if p.id > params["id_after"]]
    if params["id_before"] is not None:
        items = [p for p in items if p.id < params["id_before"]]
    search = params["search"]
    if search:
        if params["search_namespaces"]:  # the route: full path and full name
            def columns(p: Project) -> list[str | None]:
                ns = world.namespaces[p.namespace_id]
                return [world.project_full_path(p), f"{world.namespace_full_name(ns)} / {p.name}", p.description]
        else:
            def columns(p: Project) -> list[str | None]:
                return [p.path, p.name, p.description]
        items = [p for p in items if fuzzy_match(search, columns(p))]
    return items


def _order_projects(world: World, user: User | None, items: list[Project], params: dict[str, Any]) -> list[Project]:
    """reorder_projects: {order_by => sort, id => sort}; created_at is ordered by id."""
    order_by, descending = params["order_by"], params["sort"] == "desc"
    if order_by in STATISTICS_SORT_PARAMS and not (user and user.admin):
        order_by = "created_at"  # verify_statistics_order_by_projects!: the route's default
    if order_by == "similarity":
        if params["search"] and user is not None:  # sorted_by_similarity_desc, whatever `sort` says
            def score(p: Project) -> float:
                return similarity(params["search"], [(p.path, 1.0), (p.name, 0.7), (p.description, 0.2)])

            return sorted(items, key=lambda p: (score(p), p.id), reverse=True)
        order_by = "created_at"
    keys: dict[str, Callable[[Project], Any]] = {
        "id": lambda p: 0,
        "created_at": lambda p: 0,
        "name": lambda p: p.name,
        "path": lambda p: p.path,
        "last_activity_at": lambda p: p.last_activity_at or p.created_at,
        "updated_at": lambda p: p.last_activity_at or p.created_at,
    }
    key = keys.get(order_by, lambda p: 0)  # star_count, sizes: all zero here
    return sorted(items, key=lambda p: (key(p), p.id), reverse=descending)


# --- GET /groups -------------------------------------------------------------------------

GROUP_PARAMS = (
    Param("statistics", "bool", False),
    Param("skip_groups", "int_list"),
    Param("all_available", "bool"),
    Param("visibility", "str", None, VISIBILITY_VALUES),
    Param("search", "str"),
    Param("owned", "bool", False),
    Param("order_by", "str", "name", GROUP_ORDER_BY),
    Param("sort", "str", "asc", ("asc", "desc")),
    Param("min_access_level", "int", None, ACCESS_VALUES),
    Param("top_level_only", "bool"),
    Param("with_custom_attributes", "bool", False),
)


def list_groups(ctx: SandboxContext, req: Request) -> Response:
    caller = authenticate(ctx, req)  # no job_token_allowed
    user = caller.user
    params = declared(req, GROUP_PARAMS)
    world = ctx.world
    with world.lock:
        groups = _order_groups(world, _find_groups(world, user, params), params)
    page, headers = paginate(req, groups, link_defaults(GROUP_PARAMS))
    with world.lock:
        body = [entities.group(world, g, req.base_url) for g in page]
    return json_response(200, body, headers)


def _find_groups(world: World, user: User | None, params: dict[str, Any]) -> list[Namespace]:
    """GroupsFinder#all_groups, then its filters (parent, visibility, top_level_only, search)."""
    if user is None:
        return []  # public groups only
    # find_groups: all_available defaults to can_read_all_resources? (admins).
    all_available = params["all_available"] if params["all_available"] is not None else user.admin
    if params["owned"]:
        key = (user.id, "namespace")
        items = sorted((world.namespaces[m.source_id] for m in world.members
                        if (m.user_id, m.source) == key and m.access_level >= OWNER
                        and m.source_id in world.namespaces), key=lambda n: n.id)  # fmt: skip
    elif params["min_access_level"] is not None:
        items = world.groups_with_min_access_level(user, params["min_access_level"])
    elif user.admin and all_available:
        items = sorted(world.namespaces.values(), key=lambda n: n.id)
    else:
        items = world.authorized_groups(user)  # + public groups when all_available: none here
    if params["skip_groups"]:
        items = [g for g in items if g.id not in params["skip_groups"]]
    if params["visibility"] in ("internal", "public"):
        items = []
    if params["top_level_only"]:
        items = [g for g in items if g.parent_id is None]
    search = params["search"]
    if search:  # Namespace.search(include_parents: true): the route's path and name
        items = [g for g in items if fuzzy_match(search, [world.namespace_full_path(g), world.namespace_full_name(g)])]
    return items


def _order_groups(world: World, items: list[Namespace], params: dict[str, Any]) -> list[Namespace]:
    """order_groups: {order_by => sort, "id" => "asc"} (the tie-breaker is always ascending)."""
    order_by, descending = params["order_by"], params["sort"] == "desc"
    if order_by == "similarity":
        if params["search"]:  # sorted_by_similarity_and_parent_id_desc
            def score(g: Namespace) -> float:
                return similarity(params["search"], [(g.path, 1.0), (g.name, 0.7)])

            return sorted(items, key=lambda g: (score(g), g.parent_id or 0, g.id), reverse=True)
        order_by = "name"  # group_without_similarity_options
    keys: dict[str, Callable[[Namespace], Any]] = {
        "name": lambda g: g.name, "path": lambda g: g.path, "id": lambda g: g.id}  # fmt: skip
    by_id = sorted(items, key=lambda g: g.id)
    return sorted(by_id, key=keys[order_by], reverse=descending)  # stable: ties stay id-ascending


# --- GET /job ----------------------------------------------------------------------------


def get_job(ctx: SandboxContext, req: Request) -> Response:
    """`resource :job` (job_token_allowed): the job of the CI job token used."""
    caller = authenticate(ctx, req, job_token_allowed=True)
    if caller.user is None:
        raise unauthorized()  # authenticate!
    token = caller.token
    if token is None or token.kind != "job":
        raise not_found("Job")  # validate_current_authenticated_job: a valid token, but no job's
    with ctx.world.lock:
        return json_response(200, entities.job(ctx, token, caller.user, req.base_url))
