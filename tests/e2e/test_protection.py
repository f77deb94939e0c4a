"""Tag protection rules end to end: `glcr protection`, and every delete path keeps protected tags.

The real `glcr` command against the sandbox over a real registry; skopeo (an independent
client) is the witness of which tags exist afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from glcr.models import Project
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image
from glcr_runner import glcr, skopeo_tags

OLD = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60)
V1 = ["v1.0", "v1.1", "v1.2"]
OTHERS = ["v2.0", "feature-a", "main"]


def tags_now(sandbox: Sandbox, registry: RegistryClient, repo: str) -> list[str]:
    """skopeo's view when it is installed, else the seeding client's."""
    if shutil.which("skopeo"):
        return skopeo_tags(sandbox, repo)
    return sorted(registry.tags(repo) or [])


def seed(registry: RegistryClient, repo: str) -> None:
    for i, name in enumerate(V1 + OTHERS):
        push_image(registry, repo, name, created=OLD + dt.timedelta(minutes=i), seed=name)


@pytest.fixture(autouse=True)
def rules_need_gitlabs_registry_api(request: pytest.FixtureRequest) -> None:
    """GitLab creates tag rules only with its registry's API (the metadata database):
    test_gitlab_refuses_rules_without_its_registry_api checks that refusal on gitlab-legacy; the
    scenarios that need rules run on the other registries."""
    kind = request.getfixturevalue("registry_kind") if "registry_kind" in request.fixturenames else None
    if kind == "gitlab-legacy" and request.node.originalname != "test_gitlab_refuses_rules_without_its_registry_api":
        pytest.skip("GitLab creates no tag rules without the registry's GitLab API (asserted separately)")


def test_gitlab_refuses_rules_without_its_registry_api(sandbox_env: dict, project: Project, registry_kind: str) -> None:
    added = glcr(sandbox_env, "protection", "add", project.path_with_namespace, r"^v1\.", "--push", "maintainer",
                 "--delete", "owner")
    if registry_kind != "gitlab-legacy":
        assert added.code == 0, added.stderr
        return
    # GitLab's CreateTagRuleService: 422 "GitLab container registry API not supported".
    assert added.code == 8, added.stderr
    [error] = [line for line in added.stderr.splitlines() if line.startswith("glcr: error:")]
    assert "registry API not supported" in error and "metadata database" in added.stderr, added.stderr
    assert glcr(sandbox_env, "protection", "list", project.path_with_namespace, "-o", "json").json() == []


def protect(env: dict, project: Project, pattern: str = r"^v1\.", push: str = "maintainer",
            delete: str = "owner") -> dict:
    added = glcr(env, "protection", "add", project.path_with_namespace, pattern, "--push", push, "--delete", delete,
                 "-o", "json")
    assert added.code == 0, added.stderr
    return added.json()


def test_protection_commands_manage_rules_validated_before_sending(sandbox_env: dict, project: Project) -> None:
    path = project.path_with_namespace
    assert glcr(sandbox_env, "protection", "list", path, "-o", "json").json() == []
    rule = protect(sandbox_env, project)
    assert rule["tag_name_pattern"] == r"^v1\." and rule["minimum_access_level_for_delete"] == "owner"
    listed = glcr(sandbox_env, "protection", "list", path)
    assert listed.code == 0 and r"^v1\." in listed.stdout and "owner" in listed.stdout
    # Refused before anything is sent: bad RE2, too long, an unknown role, a duplicate.
    for args in (["v(1"], ["a" * 101], ["^x", "--delete", "developer"], [r"^v1\."]):
        bad = glcr(sandbox_env, "protection", "add", path, *args)
        assert bad.code == 3, (args, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    # update asks first; --yes sends it
    refused = glcr(sandbox_env, "protection", "update", path, str(rule["id"]), "--delete", "admin")
    assert refused.code == 10
    updated = glcr(sandbox_env, "protection", "update", path, str(rule["id"]), "--delete", "admin", "--yes",
                   "-o", "json")
    assert updated.code == 0, updated.stderr
    assert updated.json()["minimum_access_level_for_delete"] == "admin"
    for i in range(4):
        protect(sandbox_env, project, pattern=f"^p[{i}a-z]")  # brackets are data, never markup
    shown = glcr(sandbox_env, "protection", "list", path)
    assert "^p[0a-z]" in shown.stdout and "^p[3a-z]" in shown.stdout, shown.stdout
    sixth = glcr(sandbox_env, "protection", "add", path, "^p9")
    assert sixth.code == 3 and "at most 5" in sixth.stderr
    removed = glcr(sandbox_env, "protection", "remove", path, r"^v1\.", "--yes", "-o", "json")
    assert glcr(sandbox_env, "protection", "remove", path, "^p[0a-z]", "--dry-run").code == 0
    assert removed.code == 0 and removed.json()["removed"]["id"] == rule["id"]
    assert len(glcr(sandbox_env, "protection", "list", path, "-o", "json").json()) == 4


def test_adding_a_rule_shows_what_it_matches_and_warns_about_unanchored_patterns(
        sandbox_env: dict, project: Project, registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    seed(registry, repo)
    dry = glcr(sandbox_env, "protection", "add", repo, r"v1\.", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "matches 3 existing tag(s)" in dry.stderr and "v1.0, v1.1, v1.2" in dry.stderr
    assert "anywhere in the tag name" in dry.stderr
    assert glcr(sandbox_env, "protection", "list", repo, "-o", "json").json() == []  # nothing sent
    anchored = glcr(sandbox_env, "protection", "add", repo, r"^v[12]\.0$", "--dry-run")
    assert "matches 2 existing tag(s)" in anchored.stderr and "anywhere" not in anchored.stderr


def test_tags_list_shows_which_rule_protects_each_tag(sandbox_env: dict, project: Project,
                                                      registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    seed(registry, repo)
    protect(sandbox_env, project, push="maintainer", delete="owner")
    listed = glcr(sandbox_env, "tags", "list", repo, "-o", "json")
    assert listed.code == 0, listed.stderr
    by_name = {t["name"]: t["protected"] for t in listed.json()}
    for name in V1:
        assert by_name[name]["rules"][0]["tag_name_pattern"] == r"^v1\."
        assert by_name[name]["minimum_access_level_for_delete"] == "owner"
        assert by_name[name]["minimum_access_level_for_push"] == "maintainer"
    assert all(by_name[name] is None for name in OTHERS)
    table = glcr(sandbox_env, "tags", "list", repo)
    assert "PROTECTED" in table.stdout and "delete: owner" in table.stdout


def test_cleanup_keeps_protected_tags_with_the_reason(sandbox: Sandbox, sandbox_env: dict, project: Project,
                                                      registry: RegistryClient, tmp_path) -> None:
    repo = project.path_with_namespace
    seed(registry, repo)
    protect(sandbox_env, project, delete="maintainer")  # a policy run applies every rule, whatever its level
    # keep_n alone decides: on GitLab's registry the push times are seconds old, so no older_than.
    with sandbox.world.lock:
        sandbox.world.projects[project.id].container_expiration_policy.older_than = None
    for variant in ("gitlab", "third-party"):
        dry = glcr(sandbox_env, "cleanup", "dry-run", repo, "--name-regex", ".*", "--keep-n", "1", "--variant", variant, "-o", "json")
        assert dry.code == 0, dry.stderr
        decisions = {d["name"]: d for d in dry.json()}
        for name in V1:
            assert decisions[name]["action"] == "keep", (variant, decisions[name])
            assert decisions[name]["reason"] == "protected"
            assert decisions[name]["detail"] == r"protected by rule ^v1\."
        assert decisions["main"]["reason"] == "within_keep_n"  # the newest
        assert all(decisions[name]["action"] == "delete" for name in ("v2.0", "feature-a"))
    table = glcr(sandbox_env, "cleanup", "dry-run", repo, "--name-regex", ".*", "--keep-n", "1")
    assert r"protected by rule ^v1\." in table.stdout
    run = glcr(sandbox_env, "cleanup", "run", repo, "--name-regex", ".*", "--keep-n", "1", "--yes",
               "--state-dir", str(tmp_path / "state"))
    assert run.code == 0, run.stderr
    assert tags_now(sandbox, registry, repo) == sorted(V1 + ["main"])


def test_tags_apply_and_delete_never_delete_a_protected_tag(sandbox: Sandbox, sandbox_env: dict, project: Project,
                                                            registry: RegistryClient, tmp_path) -> None:
    repo = project.path_with_namespace
    seed(registry, repo)
    protect(sandbox_env, project, delete="owner")  # the sandbox's token is a Maintainer: below the rule
    listing = tmp_path / "list_o_tags.out"
    listing.write_text("\n".join(V1 + ["v2.0"]) + "\n")
    applied = glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(listing), "--yes")
    assert applied.code == 0, applied.stderr
    for name in V1:
        assert f"keep {name}: protected by rule" in applied.stderr
    assert tags_now(sandbox, registry, repo) == sorted(V1 + ["feature-a", "main"])
    planned = glcr(sandbox_env, "tags", "plan", repo, "--delete-regex", ".*", "-o", str(tmp_path / "plan.json"))
    assert planned.code == 0, planned.stderr
    entries = {e["tag"]: e for e in json.loads((tmp_path / "plan.json").read_text())["entries"]}
    assert entries["v1.0"]["action"] == "keep" and entries["v1.0"]["reason"] == r"protected by rule ^v1\."
    assert r"protected by rule ^v1\." in planned.stderr
    assert glcr(sandbox_env, "tags", "apply", repo, "--from-file", str(tmp_path / "plan.json"), "--yes").code == 0
    assert tags_now(sandbox, registry, repo) == sorted(V1)
    push_image(registry, repo, "v3.0", created=OLD, seed="v3.0")
    deleted = glcr(sandbox_env, "tags", "delete", repo, "v1.0", "v1.1", "v3.0", "--yes", "-o", "json")
    assert deleted.code == 6, deleted.stderr  # a named tag was not deleted: not a success
    outcomes = {r["name"]: (r["outcome"], r["detail"]) for r in deleted.json()["results"]}
    assert outcomes["v1.0"] == ("kept", r"protected by rule ^v1\.") and outcomes["v3.0"][0] == "deleted"
    last = deleted.stderr.strip().splitlines()[-1]
    assert "v1.0" in last and r"^v1\." in last and "1 other" in last, deleted.stderr
    human = glcr(sandbox_env, "tags", "delete", repo, "v1.2", "--yes")
    assert human.code == 6 and r"keep v1.2: protected by rule ^v1\." in human.stderr, human.stderr
    assert "nothing was deleted" in human.stderr
    assert tags_now(sandbox, registry, repo) == sorted(V1)


def test_bulk_delete_preview_and_server_keep_protected_tags(sandbox: Sandbox, sandbox_env: dict, project: Project,
                                                            registry: RegistryClient) -> None:
    repo = project.path_with_namespace
    seed(registry, repo)
    protect(sandbox_env, project, delete="admin")
    sandbox.reset_leases()
    bulk = glcr(sandbox_env, "tags", "bulk-delete", repo, "--name-regex-delete", ".*", "--yes")
    assert bulk.code == 0, bulk.stderr
    assert r"protected by rule ^v1\." in bulk.stdout
    assert sandbox.wait_idle()
    assert tags_now(sandbox, registry, repo) == sorted(V1)


def test_migrate_project_refuses_a_push_protected_tag_before_deleting_anything(
        sandbox: Sandbox, sandbox_env: dict, project: Project, registry: RegistryClient, tmp_path) -> None:
    import uuid

    repo = project.path_with_namespace
    seed(registry, repo)
    sandbox.sync()
    suffix = uuid.uuid4().hex[:6]
    user = f"owner-{suffix}"  # an Owner, not an administrator (they pass every mutable rule)
    sandbox.create_user(user)
    sandbox.set_member(user, 50, project=project.id)
    group = sandbox.create_group(f"dest-{suffix}")
    sandbox.set_member(user, 40, group=group.path)
    holding = sandbox.create_project(f"hold-{suffix}")
    sandbox.set_member(user, 40, project=holding.id)
    env = {**sandbox_env, "GITLAB_TOKEN": sandbox.create_token(user)}
    protect(sandbox_env, project, push="admin", delete="owner")  # the Owner may delete, not push them back
    moved = glcr(env, "migrate-project", repo, "--to", f"{group.path}/{project.path}", "--via",
                 sandbox.world.project_full_path(holding), "--yes", "--state-dir", str(tmp_path / "state"))
    assert moved.code == 6, moved.stderr  # refused by the preflight: a rule above the caller is a permission (6)
    line = moved.stderr.strip().splitlines()[-1]
    assert r"^v1\." in line and "push" in line and "glcr protection update" in line, moved.stderr
    assert "nothing changed" in moved.stderr
    assert tags_now(sandbox, registry, repo) == sorted(V1 + OTHERS)
    assert glcr(sandbox_env, "protection", "list", repo, "-o", "json").json()[0]["minimum_access_level_for_push"] == "admin"


def test_a_developer_who_cannot_read_the_rules_gets_protected_tags_kept_from_their_registry_token(
        sandbox: Sandbox, sandbox_env: dict, project: Project, registry: RegistryClient, registry_kind: str) -> None:
    """No rules API answers a Developer; the patterns GitLab puts in their registry token do."""
    if registry_kind == "gitlab-legacy":
        pytest.skip("GitLab creates no tag rules without the registry's GitLab API")
    repo = project.path_with_namespace
    seed(registry, repo)
    protect(sandbox_env, project, delete="maintainer")
    developer = {**sandbox_env, "GITLAB_TOKEN": sandbox.tokens["developer"]}
    listed = glcr(developer, "tags", "list", repo, "-o", "json")
    assert listed.code == 0 and listed.stderr.count("rules cannot be read") == 1, listed.stderr
    assert "protected" not in listed.json()[0]  # unknown, not "unprotected"
    deleted = glcr(developer, "--debug", "tags", "delete", repo, "v1.0", "v2.0", "--yes")
    assert deleted.code == 6, deleted.stderr  # a permission, not authentication
    last = deleted.stderr.strip().splitlines()[-1]
    assert "v1.0" in last and r"^v1\." in last and "token" not in last, deleted.stderr
    assert deleted.stderr.count("registry token are honoured") == 1, deleted.stderr
    refused = [line for line in deleted.stderr.splitlines()
               if line.startswith("debug: < 4") and (" DELETE " in line or " PUT " in line)]
    assert refused == [], refused  # skipped before any request, not refused after
    assert tags_now(sandbox, registry, repo) == sorted(V1 + ["feature-a", "main"])
    with sandbox.world.lock:  # keep_n alone decides
        sandbox.world.projects[project.id].container_expiration_policy.older_than = None
    dry = glcr(developer, "cleanup", "dry-run", repo, "--name-regex", ".*", "--keep-n", "1", "-o", "json")
    assert dry.code == 0 and dry.stderr.count("registry token") == 1, dry.stderr
    assert {d["name"] for d in dry.json() if d["reason"] == "protected"} == set(V1), dry.stdout


@pytest.fixture
def old_gitlab(sandbox: Sandbox):
    """The sandbox as a GitLab before 17.8: no tag protection rules in GraphQL or REST."""
    sandbox.ctx.knobs.gitlab_version = "17.7"
    yield
    sandbox.ctx.knobs.gitlab_version = "18.9"


def test_an_older_gitlab_is_said_once_never_an_error(sandbox: Sandbox, sandbox_env: dict, project: Project,
                                                      registry: RegistryClient, old_gitlab, tmp_path) -> None:
    import uuid

    repo = project.path_with_namespace
    seed(registry, repo)
    sandbox.sync()
    listed = glcr(sandbox_env, "tags", "list", repo, "-o", "json")
    assert listed.code == 0, listed.stderr
    assert listed.stderr.count("rules cannot be read") == 1 and "17.8" in listed.stderr
    assert "protected" not in listed.json()[0]
    dry = glcr(sandbox_env, "cleanup", "dry-run", repo, "--name-regex", ".*", "-o", "json")
    assert dry.code == 0 and dry.stderr.count("rules cannot be read") == 1, dry.stderr
    rules = glcr(sandbox_env, "protection", "list", repo, "-o", "json")
    assert rules.code == 0 and rules.json() == [] and "18.7" in rules.stderr
    added = glcr(sandbox_env, "protection", "add", repo, "^v1")
    assert added.code == 4 and "18.7" in added.stderr, added.stderr
    group = sandbox.create_group(f"dest-{uuid.uuid4().hex[:6]}")
    holding = sandbox.create_project(f"hold-{uuid.uuid4().hex[:6]}")
    root = {**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}
    planned = glcr(root, "migrate-project", repo, "--to", f"{group.path}/{project.path}", "--via",
                   sandbox.world.project_full_path(holding), "--dry-run", "--state-dir", str(tmp_path / "state"))
    assert planned.code == 0, planned.stderr
    said = planned.stdout + planned.stderr
    assert said.count("cannot be read") == 1 and "17.8" in said, said
    assert tags_now(sandbox, registry, repo) == sorted(V1 + OTHERS)


@pytest.fixture
def gitlab_18_2(sandbox: Sandbox):
    """GitLab 18.2: immutable tags (Ultimate), rules through GraphQL only (REST arrives in 18.7)."""
    sandbox.ctx.knobs.gitlab_version = "18.2"
    yield
    sandbox.ctx.knobs.gitlab_version = "18.9"


def test_an_immutable_rule_on_gitlab_18_2_is_created_through_graphql_by_an_owner_and_listed_marked(
        sandbox: Sandbox, sandbox_env: dict, project: Project, gitlab_18_2, registry_kind: str) -> None:
    """What the rule then keeps (dry-run, tags delete, cleanup run, migrate-project) per version and
    role: test_protection_matrix.py."""
    if registry_kind == "gitlab-legacy":
        pytest.skip("GitLab creates no tag rules without the registry's GitLab API")

    repo = project.path_with_namespace
    root = {**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}
    refused = glcr(sandbox_env, "protection", "add", repo, r"^v1\.", "--immutable")  # a Maintainer
    assert refused.code == 8 and "Unauthorized to create an immutable" in refused.stderr, refused.stderr
    added = glcr(root, "protection", "add", repo, r"^v1\.", "--immutable", "-o", "json")
    assert added.code == 0 and added.json()["immutable"] is True, added.stderr
    listed = glcr(sandbox_env, "protection", "list", repo)
    assert listed.code == 0 and "immutable" in listed.stdout, listed.stdout + listed.stderr
