"""The sandbox's GraphQL endpoint: only `project.containerProtectionTagRules`, with GitLab's field
names, its redaction below Maintainer, its validation errors per version, and nothing else."""

from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.runtime import Sandbox

QUERY = """query glcrTagRules($fullPath: ID!) {
  project(fullPath: $fullPath) {
    containerProtectionTagRules(first: 100) { nodes { id tagNamePattern minimumAccessLevelForPush
      minimumAccessLevelForDelete immutable } }
  }
}"""


def ask(sandbox: Sandbox, token: str, project: Project, query: str = QUERY) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/api/graphql", headers={"PRIVATE-TOKEN": token}, timeout=30,
                      json={"query": query, "variables": {"fullPath": project.path_with_namespace}})


def nodes(resp: httpx.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["project"]["containerProtectionTagRules"]["nodes"]


@pytest.fixture
def version(sandbox: Sandbox) -> Iterator:
    yield lambda v: setattr(sandbox.ctx.knobs, "gitlab_version", v)
    sandbox.ctx.knobs.gitlab_version = "18.9"


def test_a_maintainer_sees_every_rule_immutable_ones_marked(sandbox: Sandbox, project: Project) -> None:
    mutable = sandbox.add_tag_rule(project.id, r"^v1\.", push="maintainer", delete="owner")
    frozen = sandbox.add_tag_rule(project.id, "^release")
    assert nodes(ask(sandbox, sandbox.token, project)) == [
        {"id": f"gid://gitlab/ContainerRegistry::Protection::TagRule/{mutable['id']}", "tagNamePattern": r"^v1\.",
         "minimumAccessLevelForPush": "MAINTAINER", "minimumAccessLevelForDelete": "OWNER", "immutable": False},
        {"id": f"gid://gitlab/ContainerRegistry::Protection::TagRule/{frozen['id']}", "tagNamePattern": "^release",
         "minimumAccessLevelForPush": None, "minimumAccessLevelForDelete": None, "immutable": True}]


def test_without_the_licence_immutable_rules_are_not_listed(sandbox: Sandbox, project: Project) -> None:
    """EE lists immutable rules only with Ultimate (and they exist only from 18.2 here)."""
    sandbox.add_tag_rule(project.id, "^release")
    sandbox.add_tag_rule(project.id, r"^v1\.", push="maintainer", delete="owner")
    knobs = sandbox.ctx.knobs
    try:
        for licence, version in (("premium", "18.9"), ("ultimate", "18.1")):
            knobs.licence, knobs.gitlab_version = licence, version
            assert [n["tagNamePattern"] for n in nodes(ask(sandbox, sandbox.token, project))] == [r"^v1\."]
    finally:
        knobs.licence, knobs.gitlab_version = "ultimate", "18.9"
    assert [n["tagNamePattern"] for n in nodes(ask(sandbox, sandbox.token, project))] == [r"^v1\.", "^release"]


def test_below_maintainer_every_rule_is_redacted_and_a_hidden_project_is_null(sandbox: Sandbox,
                                                                              project: Project) -> None:
    sandbox.add_tag_rule(project.id, "^v1", push="maintainer", delete="maintainer")
    assert nodes(ask(sandbox, sandbox.tokens["developer"], project)) == []
    outsider = "outsider-graphql"
    sandbox.create_user(outsider)
    assert ask(sandbox, sandbox.create_token(outsider), project).json() == {"data": {"project": None}}
    assert ask(sandbox, "glpat-not-a-token", project).status_code == 401


def test_an_older_gitlab_lacks_the_fields(sandbox: Sandbox, project: Project, version) -> None:
    version("17.9")  # `immutable` arrived in 17.11
    error = ask(sandbox, sandbox.token, project).json()["errors"][0]
    assert error["message"] == "Field 'immutable' doesn't exist on type 'ContainerProtectionTagRule'"
    assert error["extensions"] == {"code": "undefinedField", "typeName": "ContainerProtectionTagRule",
                                   "fieldName": "immutable"}
    assert error["path"][-1] == "immutable" and error["locations"][0]["line"] == 4
    version("17.7")
    error = ask(sandbox, sandbox.token, project).json()["errors"][0]
    assert error["extensions"]["fieldName"] == "containerProtectionTagRules"
    assert error["extensions"]["typeName"] == "Project"


def test_other_queries_are_not_served(sandbox: Sandbox, project: Project) -> None:
    answer = ask(sandbox, sandbox.token, project, "{ currentUser { username } }").json()
    assert "serves only" in answer["errors"][0]["message"]


CREATE = """mutation { createContainerProtectionTagRule(input: {projectPath: "%s", tagNamePattern: "%s"%s}) {
  containerProtectionTagRule { tagNamePattern immutable } errors } }"""


def create(sandbox: Sandbox, token: str, project: Project, pattern: str, levels: str = "") -> dict:
    resp = httpx.post(f"{sandbox.url}/api/graphql", headers={"PRIVATE-TOKEN": token}, timeout=30,
                      json={"query": CREATE % (project.path_with_namespace, pattern, levels)})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_an_immutable_rule_needs_the_owner_and_the_licence(sandbox: Sandbox, project: Project) -> None:
    payload = create(sandbox, sandbox.token, project, "^v1")["data"]["createContainerProtectionTagRule"]
    assert payload == {"containerProtectionTagRule": None,
                       "errors": ["Unauthorized to create an immutable protection rule for container image tags"]}
    sandbox.ctx.knobs.licence = "premium"
    try:
        payload = create(sandbox, sandbox.root_token, project, "^v1")["data"]["createContainerProtectionTagRule"]
        assert payload["errors"] == ["Immutable tag rules require an Ultimate license"]
    finally:
        sandbox.ctx.knobs.licence = "ultimate"
    made = create(sandbox, sandbox.root_token, project, "^v1")["data"]["createContainerProtectionTagRule"]
    assert made == {"containerProtectionTagRule": {"tagNamePattern": "^v1", "immutable": True}, "errors": []}
    mutable = create(sandbox, sandbox.token, project, "^v2", ", minimumAccessLevelForPush: MAINTAINER, "
                                                             "minimumAccessLevelForDelete: OWNER")
    assert mutable["data"]["createContainerProtectionTagRule"]["errors"] == []
    half = create(sandbox, sandbox.token, project, "^v3", ", minimumAccessLevelForPush: MAINTAINER")
    assert half["data"]["createContainerProtectionTagRule"]["errors"] == [
        "Access levels should either both be present or both be nil"]
    denied = create(sandbox, sandbox.tokens["developer"], project, "^v4")
    assert denied["data"] == {"createContainerProtectionTagRule": None}
    assert denied["errors"][0]["message"].startswith("The resource that you are attempting to access does not exist")
