"""The sandbox's tag protection rules API (GitLab's validation, permissions, bodies) and their
enforcement in its API deletes, bulk deletes and the repository delete worker."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image
from sandbox_helpers import api_client, repository_id


def rules_url(project: Project) -> str:
    return f"/projects/{project.id}/registry/protection/tag/rules"


def add(api: httpx.Client, project: Project, pattern: str, push: str = "maintainer", delete: str = "maintainer"):
    return api.post(rules_url(project), json={"tag_name_pattern": pattern, "minimum_access_level_for_push": push,
                                              "minimum_access_level_for_delete": delete})


def test_rules_are_created_listed_updated_and_removed(api: httpx.Client, project: Project) -> None:
    assert api.get(rules_url(project)).json() == []
    created = add(api, project, r"^v1\.", delete="owner")
    assert created.status_code == 201
    rule = created.json()
    assert rule == {"id": rule["id"], "project_id": project.id, "tag_name_pattern": r"^v1\.",
                    "minimum_access_level_for_push": "maintainer", "minimum_access_level_for_delete": "owner"}
    assert api.get(rules_url(project)).json() == [rule]
    patched = api.patch(f"{rules_url(project)}/{rule['id']}", json={"minimum_access_level_for_push": "admin"})
    assert patched.status_code == 200 and patched.json()["minimum_access_level_for_push"] == "admin"
    assert patched.json()["minimum_access_level_for_delete"] == "owner"
    assert api.delete(f"{rules_url(project)}/{rule['id']}").status_code == 204
    assert api.get(rules_url(project)).json() == []
    assert api.delete(f"{rules_url(project)}/{rule['id']}").json() == {"message": "404 Not found"}


# body, status, answer
BAD_CREATES = [
    ({"tag_name_pattern": "x", "minimum_access_level_for_push": "maintainer"}, 400,
     {"error": "minimum_access_level_for_delete is missing"}),
    ({"tag_name_pattern": "x", "minimum_access_level_for_push": "developer", "minimum_access_level_for_delete": "owner"},
     400, {"error": "minimum_access_level_for_push does not have a valid value"}),
    ({"tag_name_pattern": "v(1", "minimum_access_level_for_push": "owner", "minimum_access_level_for_delete": "owner"},
     422, {"message": ["Tag name pattern not valid RE2 syntax: missing ): v(1"]}),
    ({"tag_name_pattern": "a" * 101, "minimum_access_level_for_push": "owner", "minimum_access_level_for_delete": "owner"},
     422, {"message": ["Tag name pattern is too long (maximum is 100 characters)"]}),
    ({"tag_name_pattern": " ", "minimum_access_level_for_push": "owner", "minimum_access_level_for_delete": "owner"},
     422, {"message": ["Tag name pattern can't be blank"]}),
]


@pytest.mark.parametrize("body,status,answer", BAD_CREATES)
def test_bad_rules_are_refused_as_gitlab_refuses_them(api: httpx.Client, project: Project, body, status, answer):
    resp = api.post(rules_url(project), json=body)
    assert (resp.status_code, resp.json()) == (status, answer)


def test_duplicates_the_five_rule_limit_and_bad_updates(api: httpx.Client, project: Project) -> None:
    first = add(api, project, "p0").json()
    assert add(api, project, "p0").json() == {"message": ["Tag name pattern has already been taken"]}
    for i in range(1, 5):
        assert add(api, project, f"p{i}").status_code == 201
    sixth = add(api, project, "p5")
    assert (sixth.status_code, sixth.json()) == (422, {"message": "Maximum number of protection rules have been reached."})
    resp = api.patch(f"{rules_url(project)}/{first['id']}", json={"tag_name_pattern": "p1"})
    assert (resp.status_code, resp.json()) == (422, {"message": {"error": ["Tag name pattern has already been taken"]}})
    resp = api.patch(f"{rules_url(project)}/{first['id']}", json={"minimum_access_level_for_push": ""})
    assert resp.json() == {"message": {"error": ["Access levels should both be present"]}}
    assert api.patch(f"{rules_url(project)}/x", json={}).json() == {"error": "protection_rule_id is invalid"}


def test_only_maintainers_manage_rules(sandbox: Sandbox, project: Project) -> None:
    with api_client(sandbox, sandbox.tokens["developer"]) as developer:
        assert developer.get(rules_url(project)).status_code == 403
        assert add(developer, project, "x").status_code == 403
    with httpx.Client(base_url=f"{sandbox.url}/api/v4") as anonymous:
        assert anonymous.get(rules_url(project)).status_code == 401


def test_api_deletes_honour_the_rules_above_the_callers_role(
    sandbox: Sandbox, api: httpx.Client, root_api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace
    for name in ("v1.0", "v1.1", "v2.0"):
        push_image(registry, repo, name)
    assert add(api, project, r"^v1\.", delete="owner").status_code == 201
    rid = repository_id(api, project)
    tags = f"/projects/{project.id}/registry/repositories/{rid}/tags"
    refused = api.delete(f"{tags}/v1.0")  # a Maintainer, below the rule's owner
    assert (refused.status_code, refused.json()) == (403, {"message": "403 Forbidden"})  # TagPolicy: plain
    assert api.delete(f"{tags}/v2.0").status_code == 200
    assert root_api.delete(f"{tags}/v1.1").status_code == 200  # an administrator skips the rules
    assert registry.tags(repo) == ["v1.0"]


def test_bulk_deletes_and_the_repository_worker_keep_protected_tags(
    sandbox: Sandbox, api: httpx.Client, project: Project, registry: RegistryClient
) -> None:
    repo = project.path_with_namespace
    old = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    for name in ("v1.0", "v1.1", "v2.0", "main"):
        push_image(registry, repo, name, created=old)
    rule = add(api, project, r"^v1\.", delete="admin").json()
    rid = repository_id(api, project)
    assert api.delete(f"/projects/{project.id}/registry/repositories/{rid}/tags",
                      params={"name_regex_delete": ".*"}).status_code == 202
    assert sandbox.wait_idle()
    assert sorted(registry.tags(repo)) == ["v1.0", "v1.1"]
    # The repository delete worker runs without a user: every rule applies, the tags stay.
    assert api.delete(f"/projects/{project.id}/registry/repositories/{rid}").status_code == 202
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sorted(registry.tags(repo) or []) != ["v1.0", "v1.1"]:
        time.sleep(0.2)
    time.sleep(1.0)
    assert sorted(registry.tags(repo)) == ["v1.0", "v1.1"]
    # Without the rule the worker's next attempt finishes (and leaves no job behind).
    assert api.delete(f"{rules_url(project)}/{rule['id']}").status_code == 204
    assert sandbox.wait_idle(30)
    assert not registry.tags(repo)


def test_a_group_the_project_is_shared_with_counts_capped_by_its_link(sandbox: Sandbox, project: Project) -> None:
    """`max_member_access` includes invited groups at min(link, membership): GET /projects/:id
    `permissions` does not show it, GET /projects/:id/members/all/:user_id does (the project
    authorization's level), and the registry token's patterns follow it."""
    import uuid

    suffix = uuid.uuid4().hex[:6]
    user = f"invited-{suffix}"
    sandbox.create_user(user)
    group = sandbox.create_group(f"partners-{suffix}")
    sandbox.set_member(user, 50, group=group.path)  # Owner there,
    sandbox.share_project(project.id, group.path, 40)  # invited as Maintainer at most
    sandbox.add_tag_rule(project.id, "^rel", push="owner", delete="owner")
    token = sandbox.create_token(user)
    user_id = sandbox.world.user_by_name(user).id
    with api_client(sandbox, token) as api:
        shown = api.get(f"/projects/{project.id}").json()["permissions"]
        assert shown == {"project_access": None, "group_access": None}
        member = api.get(f"/projects/{project.id}/members/all/{user_id}").json()
        assert member["access_level"] == 40 and member["username"] == user
        root_id = sandbox.world.user_by_name("root").id
        assert api.get(f"/projects/{project.id}/members/all/{root_id}").json()["access_level"] == 50
        assert api.get(f"/projects/{project.id}/members/all/999999").json() == {"message": "404 Not found"}
        assert api.get(f"/projects/{project.id}/registry/protection/tag/rules").status_code == 200  # Maintainer
    scope = f"repository:{project.path_with_namespace}:pull,push,delete"
    answer = httpx.get(f"{sandbox.url}/jwt/auth", auth=(user, token),
                       params=[("service", "container_registry"), ("scope", scope)]).json()
    from glcr_sandbox.keys import decode_unverified

    [granted] = decode_unverified(answer["token"])["access"]
    assert granted["actions"] == ["pull", "push", "delete"]
    assert granted["meta"]["tag_deny_access_patterns"] == {"push": ["^rel"], "delete": ["^rel"]}
