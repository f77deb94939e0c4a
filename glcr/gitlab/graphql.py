"""A project's tag protection rules through GitLab's GraphQL API, immutable rules included.

Why GraphQL besides REST (gitlab-facts-2.md N6, N7): `project.containerProtectionTagRules`
exists from GitLab 17.8 (REST GET only from 18.7), and it shows immutable rules (field
`immutable`, 17.11), which REST leaves out (it presents the `mutable` scope).

What GitLab answers (app/graphql/types/project_type.rb, container_registry/protection/
tag_rule_type.rb, ee/.../access_level_interface.rb):
* the rule type is `authorize :admin_container_image`: below Maintainer every rule is redacted and
  the list comes back EMPTY, indistinguishable from "no rules"; so an empty list counts only for a
  caller who may see the rules (Maintainer, or an administrator);
* levels are the enum MAINTAINER / OWNER / ADMIN, null on an immutable rule;
* on 17.9–17.10 with the flag `container_registry_protected_tags` off the list is empty, and
  GitLab enforces nothing either;
* a field this GitLab lacks fails validation with `extensions.code` "undefinedField": before
  17.8 the connection itself, before 17.11 `immutable` (no immutable rules existed before 18.1,
  so the query without it is complete);
* a project the caller cannot read is `null`.

Through python-gitlab's GraphQL client (gitlab.AsyncGraphQL, the `graphql` extra: gql). Its
HTTP client is built by glcr's one factory, with the API token headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from glcr.policy.protection import TagRule

FIELDS = "id tagNamePattern minimumAccessLevelForPush minimumAccessLevelForDelete"
# The path goes in as a string literal (JSON's escapes are GraphQL's): gql 4 deprecates passing
# variables through python-gitlab's execute(**kwargs).
QUERY = """
query glcrTagRules {
  project(fullPath: %s) {
    containerProtectionTagRules(first: 100) { nodes { %s } }
  }
}
"""


@dataclass(frozen=True)
class GraphQLRules:
    """What GraphQL said: `rules` (None: it could not tell), and why not in `why`."""

    rules: tuple[TagRule, ...] | None
    why: str = ""
    complete: bool = True  # False: the field `immutable` is missing (GitLab before 17.11)


def rule_from_node(node: dict[str, Any]) -> TagRule:
    def level(value: Any) -> str | None:
        return str(value).lower() if isinstance(value, str) and value else None

    gid = str(node.get("id") or "")  # gid://gitlab/ContainerRegistry::Protection::TagRule/5: REST's id 5
    tail = gid.rsplit("/", 1)[-1]
    return TagRule(str(node.get("tagNamePattern") or ""), level(node.get("minimumAccessLevelForPush")),
                   level(node.get("minimumAccessLevelForDelete")), int(tail) if tail.isdigit() else None)


def undefined_field(errors: Any) -> str | None:
    """The field GitLab's schema lacks, from a validation error list, else None."""
    for error in errors if isinstance(errors, list) else []:
        ext = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(ext, dict) and ext.get("code") == "undefinedField":
            return str(ext.get("fieldName") or "")
    return None


def interpret(data: Any) -> tuple[TagRule, ...] | None:
    """The rules from a `data` answer; None when the project is not visible."""
    project = data.get("project") if isinstance(data, dict) else None
    if not isinstance(project, dict):
        return None
    connection = project.get("containerProtectionTagRules") or {}
    nodes = connection.get("nodes") if isinstance(connection, dict) else None
    return tuple(rule_from_node(n) for n in nodes or [] if isinstance(n, dict))


async def read_rules(session: Any, project_path: str) -> GraphQLRules:
    """The project's rules as GitLab's GraphQL API shows them to this caller."""
    try:
        import gitlab
        from gql.transport.exceptions import TransportError, TransportQueryError
    except ImportError:
        return GraphQLRules(None, "python-gitlab's GraphQL client is not installed (pip install 'python-gitlab[graphql]')")
    client_class = getattr(gitlab, "AsyncGraphQL", None)
    if client_class is None:
        return GraphQLRules(None, "this python-gitlab has no async GraphQL client")
    from glcr.errors import GlcrError
    from glcr.transport.factory import build_async_client

    creds = session.creds
    http = build_async_client(session.http, headers=creds.api_headers())
    fields = FIELDS + " immutable"
    try:
        async with client_class(creds.url, client=http) as gq:
            for _ in range(2):
                try:
                    data = await gq.execute(QUERY % (json.dumps(project_path), fields))
                except TransportQueryError as exc:
                    missing = undefined_field(exc.errors)
                    if missing == "immutable" and "immutable" in fields:
                        fields = FIELDS  # GitLab 17.8-17.10: no immutable rules can exist yet
                        continue
                    if missing == "containerProtectionTagRules":
                        return GraphQLRules(None, "GitLab before 17.8 has no tag protection rules")
                    return GraphQLRules(None, f"GitLab's GraphQL API refused the query ({_first(exc.errors)})")
                rules = interpret(data)
                if rules is None:
                    return GraphQLRules(None, "GitLab's GraphQL API does not show this project to this token")
                return GraphQLRules(rules, complete="immutable" in fields)
    except GlcrError:
        raise
    except (TransportError, gitlab.exceptions.GitlabError, OSError) as exc:
        status = getattr(exc, "response_code", None) or getattr(exc, "code", None)
        return GraphQLRules(None, f"GitLab's GraphQL API answered {status or type(exc).__name__}")
    except Exception as exc:  # httpx errors and whatever gql raises: never fatal, REST is next
        return GraphQLRules(None, f"GitLab's GraphQL API could not be asked ({type(exc).__name__})")
    return GraphQLRules(None, "GitLab's GraphQL API did not answer")


def _first(errors: Any) -> str:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))[:200]
    return ""


CREATE = """
mutation glcrCreateTagRule {
  createContainerProtectionTagRule(input: {projectPath: %s, tagNamePattern: %s}) {
    containerProtectionTagRule { %s immutable }
    errors
  }
}
"""


async def create_immutable_rule(session: Any, project_path: str, pattern: str) -> TagRule:
    """Mutations::ContainerRegistry::Protection::TagRule::Create with both levels omitted: an
    immutable rule (Ultimate, Owner; GitLab's reasons come back in `errors`: exit 8)."""
    import gitlab
    from gql.transport.exceptions import TransportQueryError

    from glcr.errors import PermissionDeniedError, RefusedError
    from glcr.transport.factory import build_async_client

    doing = f"creating the immutable tag protection rule `{pattern}` in {project_path}"
    creds = session.creds
    http = build_async_client(session.http, headers=creds.api_headers())
    try:
        async with gitlab.AsyncGraphQL(creds.url, client=http) as gq:
            data = await gq.execute(CREATE % (json.dumps(project_path), json.dumps(pattern), FIELDS))
    except TransportQueryError as exc:
        if undefined_field(exc.errors):
            raise RefusedError(f"{doing}: this GitLab has no such mutation",
                               hint="immutable tag rules need GitLab 18.2 or later (Ultimate)") from None
        raise PermissionDeniedError(f"{doing}: {_first(exc.errors)}",
                                    hint="creating tag rules needs the Maintainer role (immutable ones: Owner) "
                                         "and a token with the api scope") from None
    except gitlab.exceptions.GitlabError as exc:
        from glcr.errors import for_status

        raise for_status(int(getattr(exc, "response_code", 0) or 0), doing, str(exc)[:200]) from None
    payload = (data or {}).get("createContainerProtectionTagRule") or {}
    errors = payload.get("errors") or []
    if errors:
        raise RefusedError(f"{doing}: GitLab refused: {'; '.join(str(e) for e in errors)}")
    node = payload.get("containerProtectionTagRule")
    if not isinstance(node, dict):
        raise RefusedError(f"{doing}: GitLab answered without the rule")
    return rule_from_node(node)
