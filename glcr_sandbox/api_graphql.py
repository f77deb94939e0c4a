"""POST /api/graphql: only what glcr asks, `project(fullPath:) { containerProtectionTagRules }`.

Followed from GitLab's source (gitlabhq/gitlabhq):
* app/graphql/types/project_type.rb: `container_protection_tag_rules`, a connection of
  `ContainerProtectionTagRule` (experiment 17.8), "an empty array if the
  `container_registry_protected_tags` feature flag is disabled".
* app/graphql/types/container_registry/protection/tag_rule_type.rb: `authorize
  :admin_container_image` (Maintainer): for anyone below, every node is redacted, so the
  connection is empty; fields id, tagNamePattern, minimumAccessLevelForPush/Delete (enum MAINTAINER,
  OWNER, ADMIN; null on an immutable rule, EE's AccessLevelInterface), `immutable` (17.11).
* Immutable rules are listed only with the Ultimate licence (EE's override of
  `container_protection_tag_rules`; CE lists the mutable ones), after the mutable ones.
* A project the caller cannot read is `null`; a field the schema lacks (an older GitLab) fails
  static validation: HTTP 200 with {"errors": [{"message": "Field 'x' doesn't exist on type 'T'",
  "locations", "path", "extensions": {"code": "undefinedField", "typeName", "fieldName"}}]}.
* Authentication: a personal token (PRIVATE-TOKEN or Bearer) with `api` or `read_api`; an
  unknown, revoked or expired token: 401 {"errors": [{"message": "Invalid token"}]}. JOB-TOKEN is
  not read here, so a job token asks as anonymous (and sees no private project).

Any other query is answered with one error saying what the sandbox serves: it is not GitLab's
whole schema, and it must not pretend to be.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from glcr_sandbox.context import SandboxContext
from glcr_sandbox.permissions import can
from glcr_sandbox.state import User
from glcr_sandbox.web import ApiError, Request, Response, json_response

RULE_FIELDS = {"id": "17.8", "tagNamePattern": "17.8", "minimumAccessLevelForPush": "17.8",
               "minimumAccessLevelForDelete": "17.8", "immutable": "17.11", "__typename": "0"}
SERVED = "the sandbox serves only `project(fullPath:) { containerProtectionTagRules { nodes { ... } } }`"

_TOKEN = re.compile(r'\s+|,|#[^\n]*|(?P<p>[{}():!$\[\]=@])|(?P<s>"(?:[^"\\]|\\.)*")|(?P<n>[_A-Za-z][_0-9A-Za-z]*)'
                    r'|(?P<num>-?\d+(?:\.\d+)?)|(?P<spread>\.\.\.)')


class GraphQLError(Exception):
    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.body = {"message": message, **extra}


@dataclass
class Selection:
    name: str
    alias: str
    args: dict[str, Any]
    line: int
    column: int
    children: list["Selection"] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int, int]] = []  # kind, value, line, column
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise GraphQLError(f"Parse error on \"{text[pos]}\"")
            kind = m.lastgroup
            if kind:
                line = text.count("\n", 0, pos) + 1
                column = pos - (text.rfind("\n", 0, pos) + 1) + 1
                self.tokens.append((kind, m.group(kind), line, column))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str, int, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next_is(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[1] == value

    def next_kind_is(self, kind: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == kind

    def take(self, value: str | None = None) -> tuple[str, str, int, int]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise GraphQLError(f"Parse error on {token[1] if token else 'end of input'!r}")
        self.i += 1
        return token

    def document(self) -> tuple[str, list[Selection], dict[str, Any]]:
        """(operation label for `path`, top-level selections, variable defaults)."""
        label = "query"
        token = self.peek()
        if token is not None and token[1] in ("query", "mutation", "subscription"):
            kind = self.take()[1]
            if kind == "subscription":
                raise GraphQLError(SERVED)
            label = kind
            if self.next_kind_is("n"):
                label = f"{kind} {self.take()[1]}"
            if self.next_is("("):
                self.take("(")
                while self.peek() is not None and not self.next_is(")"):
                    self.i += 1  # variable definitions: types are not checked here
                self.take(")")
        selections = self.selection_set()
        if self.peek() is not None:
            raise GraphQLError(SERVED)  # several operations or fragments
        return label, selections, {}

    def selection_set(self) -> list[Selection]:
        self.take("{")
        out = []
        while self.peek() is not None and not self.next_is("}"):
            if self.next_kind_is("spread"):
                raise GraphQLError(SERVED)
            out.append(self.selection())
        self.take("}")
        return out

    def value(self) -> Any:
        """A literal: string, number, enum name, true/false/null, {object}, [list], or ("$", variable)."""
        kind, value, _, _ = self.take()
        if value == "$":
            return ("$", self.take()[1])
        if kind == "s":
            return json.loads(value)
        if value == "{":
            out = {}
            while self.peek() is not None and not self.next_is("}"):
                key = self.take()[1]
                self.take(":")
                out[key] = self.value()
            self.take("}")
            return out
        if value == "[":
            items = []
            while self.peek() is not None and not self.next_is("]"):
                items.append(self.value())
            self.take("]")
            return items
        return {"true": True, "false": False, "null": None}.get(value, value)

    def selection(self) -> Selection:
        kind, name, line, column = self.take()
        if kind != "n":
            raise GraphQLError(f"Parse error on {name!r}")
        alias = name
        if self.next_is(":"):
            self.take(":")
            name = self.take()[1]
        args: dict[str, Any] = {}
        if self.next_is("("):
            self.take("(")
            while self.peek() is not None and not self.next_is(")"):
                key = self.take()[1]
                self.take(":")
                args[key] = self.value()
            self.take(")")
        selection = Selection(name, alias, args, line, column)
        if self.next_is("{"):
            selection.children = self.selection_set()
        return selection


def _undefined(sel: Selection, type_name: str, path: list[str]) -> GraphQLError:
    return GraphQLError(f"Field '{sel.name}' doesn't exist on type '{type_name}'",
                        locations=[{"line": sel.line, "column": sel.column}], path=[*path, sel.alias],
                        extensions={"code": "undefinedField", "typeName": type_name, "fieldName": sel.name})


def _arg(sel: Selection, name: str, variables: dict[str, Any]) -> Any:
    value = sel.args.get(name)
    if isinstance(value, tuple) and value[:1] == ("$",):
        return variables.get(value[1])
    return value


def _caller(ctx: SandboxContext, req: Request, method: str = "GET") -> User | None:
    """Gitlab::Auth::AuthFinders for GraphqlController: personal tokens only (`api` for a
    mutation, `read_api` enough for a query)."""
    from glcr_sandbox.permissions import acting_user, api_scope_allows

    value = req.header("private-token") or ""
    bearer = req.header("authorization") or ""
    if not value and bearer.lower().startswith("bearer "):
        value = bearer[7:].strip()
    if not value:
        return None
    token = ctx.world.find_token(value)
    if token is None or token.kind == "job" or token.revoked or token.expired():
        raise ApiError(401, {"errors": [{"message": "Invalid token"}]})
    if not api_scope_allows(token, method):
        return None  # a token without api/read_api does not authenticate the API: anonymous
    user = ctx.world.users.get(token.user_id)
    return acting_user(ctx.world, user, token) if user is not None else None


def _rule_node(rule: dict[str, Any], selections: list[Selection]) -> dict:
    node: dict[str, Any] = {}
    for sel in selections:
        if sel.name == "id":
            value: Any = f"gid://gitlab/ContainerRegistry::Protection::TagRule/{rule['id']}"
        elif sel.name == "tagNamePattern":
            value = rule["tag_name_pattern"]
        elif sel.name == "immutable":
            value = not rule.get("minimum_access_level_for_push") and not rule.get("minimum_access_level_for_delete")
        elif sel.name == "__typename":
            value = "ContainerProtectionTagRule"
        else:
            level = rule.get("minimum_access_level_for_push" if sel.name.endswith("Push")
                             else "minimum_access_level_for_delete")
            value = level.upper() if level else None
        node[sel.alias] = value
    return node


def _connection(ctx: SandboxContext, user: User | None, project, sel: Selection, path: list[str]) -> dict:
    from glcr_sandbox.api_protection import is_immutable, project_rules

    for child in sel.children:  # static validation: whatever the data
        for grand in child.children if child.name == "nodes" else ():
            since = RULE_FIELDS.get(grand.name)
            if since is None or not ctx.knobs.at_least(since):
                raise _undefined(grand, "ContainerProtectionTagRule", [*path, child.alias])
    rules = project_rules(ctx, project) if ctx.knobs.protected_tags else []
    # CE lists the mutable rules; EE's override adds the immutable ones only with the licence
    # (ee/app/graphql/ee/types/project_type.rb `container_protection_tag_rules`: "mutable tag rules
    # come first before immutable").
    rules = ([r for r in rules if not is_immutable(r)]
             + ([r for r in rules if is_immutable(r)] if ctx.knobs.immutable_tags else []))
    if not can(ctx.world, user, "admin_container_image", project):
        rules = []  # TagRuleType authorize :admin_container_image: every node redacted
    out: dict[str, Any] = {}
    for child in sel.children:
        if child.name == "nodes":
            out[child.alias] = [_rule_node(r, child.children) for r in rules]
        elif child.name == "count":
            out[child.alias] = len(rules)
        elif child.name == "__typename":
            out[child.alias] = "ContainerProtectionTagRuleConnection"
        elif child.name in ("edges", "pageInfo"):
            raise GraphQLError(SERVED)
        else:
            raise _undefined(child, "ContainerProtectionTagRuleConnection", path)
    return out


def graphql(ctx: SandboxContext, req: Request) -> Response:
    user = _caller(ctx, req)
    params = req.params
    query = params.get("query")
    variables = params.get("variables") or {}
    if isinstance(variables, str):
        variables = json.loads(variables or "{}")
    if not isinstance(query, str):
        return json_response(200, {"errors": [{"message": "No query string was present"}]})
    try:
        label, selections, _ = _Parser(query).document()
        if label.startswith("mutation"):
            return _mutation(ctx, _caller(ctx, req, "POST"), selections, variables)
        data: dict[str, Any] = {}
        for sel in selections:
            if sel.name == "__typename":
                data[sel.alias] = "Query"
                continue
            if sel.name != "project":
                raise GraphQLError(SERVED)
            data[sel.alias] = _project(ctx, user, sel, variables, [label, sel.alias])
    except GraphQLError as exc:
        return json_response(200, {"errors": [exc.body]})
    return json_response(200, {"data": data})


def _project(ctx: SandboxContext, user: User | None, sel: Selection, variables: dict, path: list[str]) -> Any:
    full_path = _arg(sel, "fullPath", variables)
    project = ctx.world.find_project(str(full_path)) if full_path else None
    fields: list[Selection] = sel.children
    for child in fields:  # static validation first: an unknown field fails whatever the data
        if child.name == "containerProtectionTagRules" and not ctx.knobs.at_least("17.8"):
            raise _undefined(child, "Project", path)
        if child.name not in ("containerProtectionTagRules", "fullPath", "id", "__typename"):
            raise GraphQLError(SERVED)
    if project is None or not can(ctx.world, user, "read_project", project):
        return None
    out: dict[str, Any] = {}
    for child in fields:
        if child.name == "fullPath":
            out[child.alias] = ctx.world.project_full_path(project)
        elif child.name == "id":
            out[child.alias] = f"gid://gitlab/Project/{project.id}"
        elif child.name == "__typename":
            out[child.alias] = "Project"
        else:
            out[child.alias] = _connection(ctx, user, project, child, [*path, child.alias])
    return out


def register(router) -> None:
    router.add("POST", "/api/graphql", graphql)


# --- createContainerProtectionTagRule --------------------------------------------------------

NOT_AVAILABLE = ("The resource that you are attempting to access does not exist or you don't have permission to "
                 "perform this action")


def _mutation(ctx: SandboxContext, user: User | None, selections: list[Selection], variables: dict) -> Response:
    """Mutations::ContainerRegistry::Protection::TagRule::Create (`authorize :admin_container_image`,
    FindsProject) and CreateTagRuleService with EE's `validate`: an immutable rule (both levels
    omitted) needs the Ultimate licence and the Owner role; errors come back in `errors`."""
    if len(selections) != 1 or selections[0].name != "createContainerProtectionTagRule":
        raise GraphQLError(SERVED)
    sel = selections[0]
    if not ctx.knobs.at_least("17.8"):
        raise GraphQLError(f"Field '{sel.name}' doesn't exist on type 'Mutation'",
                           extensions={"code": "undefinedField", "typeName": "Mutation", "fieldName": sel.name})
    raw = _arg(sel, "input", variables)
    params = {k: (variables.get(v[1]) if isinstance(v, tuple) else v) for k, v in (raw or {}).items()}
    project = ctx.world.find_project(str(params.get("projectPath") or ""))
    if project is None or user is None or not can(ctx.world, user, "admin_container_image", project):
        error = {"message": NOT_AVAILABLE, "locations": [{"line": sel.line, "column": sel.column}], "path": [sel.alias]}
        return json_response(200, {"data": {sel.alias: None}, "errors": [error]})
    rule = {"tag_name_pattern": params.get("tagNamePattern"),
            "minimum_access_level_for_push": _level(params.get("minimumAccessLevelForPush")),
            "minimum_access_level_for_delete": _level(params.get("minimumAccessLevelForDelete"))}
    errors = _create_errors(ctx, user, project, rule)
    created = None
    if not errors:
        world = ctx.world
        with world.lock:
            rule_id = world._next_id("tag_rule")
            created = {"id": rule_id, "project_id": project.id, **rule}
            world.tag_rules[rule_id] = created
            world.save()
    out: dict[str, Any] = {}
    for child in sel.children:
        if child.name == "errors":
            out[child.alias] = errors
        elif child.name == "containerProtectionTagRule":
            out[child.alias] = _rule_node(created, child.children) if created else None
        elif child.name == "clientMutationId":
            out[child.alias] = params.get("clientMutationId")
        else:
            raise _undefined(child, "createContainerProtectionTagRulePayload", [sel.alias])
    return json_response(200, {"data": {sel.alias: out}})


def _level(value: Any) -> str | None:
    return str(value).lower() if isinstance(value, str) and value else None


def _create_errors(ctx: SandboxContext, user: User, project, rule: dict[str, Any]) -> list[str]:
    from glcr_sandbox.api_protection import (GITLAB_API_NOT_SUPPORTED, MAX_RULES, is_immutable, model_errors,
                                             project_rules)
    from glcr_sandbox.state import OWNER

    if len(project_rules(ctx, project)) >= MAX_RULES:
        return ["Maximum number of protection rules have been reached."]
    if not (ctx.gitlab_api or ctx.knobs.tag_rules_without_gitlab_api):  # supports_gitlab_api?
        return [GITLAB_API_NOT_SUPPORTED]
    if is_immutable(rule):
        if not (ctx.knobs.at_least("18.2") and ctx.knobs.licence == "ultimate"):
            return ["Immutable tag rules require an Ultimate license"]
        if not (user.admin or ctx.world.project_access(user, project) >= OWNER):
            return ["Unauthorized to create an immutable protection rule for container image tags"]
    return model_errors(ctx, project, rule, None, immutable_allowed=True)
