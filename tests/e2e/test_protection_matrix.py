"""Tag protection per GitLab version and per role: glcr keeps exactly the tags GitLab keeps.

Issue 18's "Done means", run against GitLab's registry with its metadata database (tag rules
need it), one GitLab version knob per module-scoped parameter (17.9: rules only through GraphQL
without `immutable`; 18.2: immutable rules, GraphQL only; 18.9: GraphQL and REST) and one token
per role in the same sandbox (Developer, Maintainer, Owner, an administrator).

What GitLab keeps, read in its source (see glcr.policy.protection for the citations):
* a cleanup-policy run deletes as nobody: every enforced rule keeps its tags (immutable ones only
  with the Ultimate licence, from 18.2 here);
* a user's delete: the mutable rules whose `minimum_access_level_for_delete` is above the user's
  role (`for_delete_and_access`), plus every immutable rule (EE); an administrator (Admin Mode
  aware `can_admin_all_resources?`) only the immutable ones.

The expected sets are computed here from the rules table below, independently of glcr. Each
scenario is one project and as few glcr runs as the claim needs: one dry-run, one `tags delete`,
one `cleanup run`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Iterator

import pytest

from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.runtime import Sandbox
from glcr_sandbox.seed import push_image
from glcr_runner import glcr

# Tag rules need GitLab's registry API (its metadata database): GitLab refuses them on the others.
pytestmark = pytest.mark.registry_kinds("gitlab")

OLD = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=60)
LEVEL = {"developer": 30, "maintainer": 40, "owner": 50, "admin": 60}  # admin: passes every mutable rule
# pattern, push, delete (None, None: immutable), the tag it protects
RULES = [(r"^v1\.", "maintainer", "maintainer", "v1.0"),
         ("^rel-", "owner", "owner", "rel-1"),
         ("^adm-", "admin", "admin", "adm-1"),
         ("^imm-", None, None, "imm-1")]
NAMED = ["v1.0", "rel-1", "adm-1", "imm-1", "other-1"]  # what `tags delete` names
TAGS = NAMED + ["other-2", "main"]  # pushed in this order: main is the newest (keep_n 1 keeps it)
VERSIONS = ["17.9", "18.2", "18.9"]
ROLES = ["developer", "maintainer", "owner", "admin"]


def enforced(version: str) -> list[tuple[str, str | None, str | None, str]]:
    """The rules GitLab has and enforces at `version` (Ultimate): immutable ones from 18.2 (beta;
    18.1 behind a flag)."""
    immutable_ok = tuple(int(p) for p in version.split(".")) >= (18, 2)
    return [r for r in RULES if r[1] is not None or immutable_ok]


def kept_by_policy(version: str) -> set[str]:
    return {tag for *_, tag in enforced(version)}


def kept_for(version: str, role: str) -> set[str]:
    """The named tags GitLab refuses to delete for `role`."""
    out = set()
    for _, _, delete, tag in enforced(version):
        if delete is None or (role != "admin" and LEVEL[delete] > LEVEL[role]):
            out.add(tag)
    return out


@pytest.fixture(scope="module", params=VERSIONS)
def gitlab_version(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[str]:
    knobs = sandbox.ctx.knobs
    saved = knobs.gitlab_version, knobs.licence
    knobs.gitlab_version, knobs.licence = request.param, "ultimate"
    yield str(request.param)
    knobs.gitlab_version, knobs.licence = saved


def role_token(sandbox: Sandbox, role: str) -> str:
    """developer / maintainer: the default users (group demo); owner: a non-admin Owner of demo;
    admin: root (an administrator, also Owner of demo, so only the admin-level rule tells them apart)."""
    if role in ("developer", "maintainer"):
        return sandbox.tokens[role]
    if role == "admin":
        return sandbox.root_token
    if sandbox.world.user_by_name("matrix-owner") is None:
        sandbox.create_user("matrix-owner")
        sandbox.set_member("matrix-owner", 50, group="demo")
    return sandbox.create_token("matrix-owner")


def seeded_project(sandbox: Sandbox, registry: RegistryClient, version: str) -> str:
    project = sandbox.create_project(f"matrix-{uuid.uuid4().hex[:8]}")
    path = sandbox.world.project_full_path(project)
    for i, tag in enumerate(TAGS):
        push_image(registry, path, tag, created=OLD + dt.timedelta(minutes=i), seed=tag)
    for pattern, push, delete, _ in enforced(version):
        sandbox.add_tag_rule(project.id, pattern, push, delete)
    with sandbox.world.lock:  # keep_n alone decides (push times on this registry are seconds old)
        sandbox.world.projects[project.id].container_expiration_policy.older_than = None
    sandbox.sync()
    return path


@pytest.mark.parametrize("role", ROLES)
def test_dry_run_delete_and_cleanup_keep_what_gitlab_keeps(
        sandbox: Sandbox, sandbox_env: dict, registry: RegistryClient, gitlab_version: str, role: str,
        tmp_path) -> None:
    version = gitlab_version
    repo = seeded_project(sandbox, registry, version)
    env = {**sandbox_env, "GITLAB_TOKEN": role_token(sandbox, role)}
    policy = kept_by_policy(version)

    # cleanup dry-run: the policy runs as nobody, so every enforced rule keeps its tags, whoever asks.
    dry = glcr(env, "cleanup", "dry-run", repo, "--name-regex", ".*", "--keep-n", "1", "-o", "json")
    assert dry.code == 0, dry.stderr
    decisions = {d["name"]: d for d in dry.json()}
    assert {n for n, d in decisions.items() if d["reason"] == "protected"} == policy, (version, role, dry.stderr)
    assert {n for n, d in decisions.items() if d["action"] == "delete"} == set(TAGS) - policy - {"main"}
    notes = [line for line in dry.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == (role == "developer"), dry.stderr  # what could not be read: said once, in one line
    if role == "developer":  # the reason is the role (GraphQL redacts the rules), on any version
        assert "needs the Maintainer role" in notes[0] and "registry token" in notes[0], notes

    # tags delete: the caller's own rules; a named tag kept is not a success (exit 6), the others go.
    refused = kept_for(version, role)
    deleted = glcr(env, "tags", "delete", repo, *NAMED, "--yes", "-o", "json")
    assert deleted.code == (6 if refused else 0), (version, role, deleted.stderr)
    outcomes = {r["name"]: r["outcome"] for r in deleted.json()["results"]}
    assert {n for n, o in outcomes.items() if o == "kept"} == refused, (version, role, outcomes)
    assert {n for n, o in outcomes.items() if o == "deleted"} == set(NAMED) - refused, (version, role, outcomes)
    if refused:
        last = deleted.stderr.strip().splitlines()[-1]
        first = sorted(refused)[0]
        pattern = next(p for p, *_, tag in RULES if tag == first)
        assert first in last and pattern in last, deleted.stderr
    assert deleted.stderr.count("note:") <= 1, deleted.stderr
    assert sorted(registry.tags(repo) or []) == sorted(set(TAGS) - (set(NAMED) - refused))

    # cleanup run: deletes what the policy would, now; the protected tags and the newest stay.
    run = glcr(env, "cleanup", "run", repo, "--name-regex", ".*", "--keep-n", "1", "--yes",
               "--state-dir", str(tmp_path / "state"))
    assert run.code == 0, (version, role, run.stderr)
    left = set(TAGS) - (set(NAMED) - refused)
    assert sorted(registry.tags(repo) or []) == sorted((left & policy) | {"main"}), (version, role, run.stderr)
    assert sandbox.gate is not None
    refusals = [r for r in sandbox.gate.refused if f"/{repo}/" in r[1]]
    assert refusals == [], refusals  # every protected tag skipped before the request, none refused after


@pytest.mark.parametrize("role", ["developer", "maintainer"])  # the registry token's patterns; GraphQL
def test_without_ultimate_an_immutable_rule_is_ignored(sandbox: Sandbox, sandbox_env: dict,
                                                       registry: RegistryClient, role: str) -> None:
    """GitLab ignores immutable rules without the licence (CE's `mutable` scope; EE lists and
    enforces them only when `container_registry_immutable_tag_rules` is licensed): the policy and
    the caller's deletes go through, and glcr must not keep them either."""
    knobs = sandbox.ctx.knobs
    saved = knobs.gitlab_version, knobs.licence
    knobs.gitlab_version = "18.9"
    repo = seeded_project(sandbox, registry, "18.9")  # with the immutable rule ^imm-
    knobs.licence = "premium"
    try:
        env = {**sandbox_env, "GITLAB_TOKEN": role_token(sandbox, role)}
        dry = glcr(env, "cleanup", "dry-run", repo, "--name-regex", ".*", "--keep-n", "1", "-o", "json")
        assert dry.code == 0, dry.stderr
        decisions = {d["name"]: d for d in dry.json()}
        assert decisions["imm-1"]["action"] == "delete", decisions["imm-1"]
        assert {n for n, d in decisions.items() if d["reason"] == "protected"} == {"v1.0", "rel-1", "adm-1"}
        deleted = glcr(env, "tags", "delete", repo, "imm-1", "other-1", "--yes", "-o", "json")
        assert deleted.code == 0, deleted.stderr
        assert sorted(registry.tags(repo) or []) == sorted(set(TAGS) - {"imm-1", "other-1"})
    finally:
        knobs.gitlab_version, knobs.licence = saved


# No immutable rules before 18.2; moving a project to another group needs the Owner role. An
# immutable rule stops an Owner and an administrator alike, so each role runs once, on one version.
@pytest.mark.parametrize("gitlab_version,role", [("18.2", "owner"), ("18.9", "admin")], indirect=["gitlab_version"])
def test_an_immutable_rule_stops_a_migration_in_preflight_with_nothing_deleted(
        sandbox: Sandbox, sandbox_env: dict, registry: RegistryClient, gitlab_version: str, role: str,
        tmp_path) -> None:
    """An immutable rule (Ultimate, 18.2+) refuses every delete, an administrator's too: in the
    project, the move could not delete its tags; in the holding project, the copies could be
    pushed (new tags may be) but not removed afterwards. Both are said before anything changes."""
    suffix = uuid.uuid4().hex[:8]
    project = sandbox.create_project(f"move-{suffix}")
    repo = sandbox.world.project_full_path(project)
    for i, tag in enumerate(["imm-1", "other-1"]):
        push_image(registry, repo, tag, created=OLD + dt.timedelta(minutes=i), seed=tag)
    sandbox.add_tag_rule(project.id, "^imm-")
    holding = sandbox.create_project(f"hold-{suffix}")
    sandbox.add_tag_rule(holding.id, "^other-")
    group = sandbox.create_group(f"dest-{suffix}")
    token = role_token(sandbox, role)
    if role == "owner":
        sandbox.set_member("matrix-owner", 50, group=group.path)
    sandbox.sync()
    env = {**sandbox_env, "GITLAB_TOKEN": token}
    moved = glcr(env, "migrate-project", repo, "--to", f"{group.path}/{project.path}", "--via",
                 sandbox.world.project_full_path(holding), "--yes", "--state-dir", str(tmp_path / "state"))
    assert moved.code == 6, moved.stderr  # refused by the pre-check: a permission (6)
    said = " ".join(moved.stderr.split())  # rich wraps the findings
    assert "`^imm-` (immutable: nobody may delete them)" in said, said
    assert "immutable tag protection rule `^other-`" in said, said
    assert "the copies could not be removed afterwards" in said and "could not be made" not in said
    assert said.endswith("(nothing changed; `--skip-check protected-tags` overrides it)"), said
    assert "could not check your role" not in said  # GET /groups/:id/members/all/:user_id answered
    assert sorted(registry.tags(repo) or []) == ["imm-1", "other-1"]
    assert not registry.tags(f"{sandbox.world.project_full_path(holding)}")  # nothing copied either


def test_with_admin_mode_on_an_administrator_passes_the_rules_only_with_the_admin_mode_scope(
        sandbox: Sandbox, sandbox_env: dict, registry: RegistryClient, tmp_path) -> None:
    """GitLab asks `can_admin_all_resources?`: with Admin Mode on, a personal access token acts as
    an administrator only with the `admin_mode` scope; otherwise root is what its memberships make
    it (Owner of demo), and the admin-level rule keeps adm-1 from it."""
    repo = seeded_project(sandbox, registry, "18.9")
    scoped = sandbox.create_token("root", ("api", "admin_mode"))
    sandbox.world.settings["admin_mode"] = True
    try:
        plain = glcr({**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}, "tags", "delete", repo, "adm-1", "other-1",
                     "--yes", "-o", "json")
        assert plain.code == 6, plain.stderr
        assert {r["name"]: r["outcome"] for r in plain.json()["results"]} == {"adm-1": "kept", "other-1": "deleted"}
        # The migrate preflight rates the caller the same way: root's plain token is an Owner there.
        group = sandbox.create_group(f"dest-{uuid.uuid4().hex[:8]}")
        sandbox.set_member("root", 50, group=group.path)
        planned = glcr({**sandbox_env, "GITLAB_TOKEN": sandbox.root_token}, "migrate-project", repo, "--to",
                       f"{group.path}/{repo.split('/')[-1]}", "--dry-run", "--state-dir", str(tmp_path / "state"))
        said = " ".join(planned.stderr.split())
        assert planned.code == 6 and "rule `^adm-` (delete needs admin" in said, said
        admin = glcr({**sandbox_env, "GITLAB_TOKEN": scoped}, "tags", "delete", repo, "adm-1", "--yes")
        assert admin.code == 0, admin.stderr
    finally:
        sandbox.world.settings["admin_mode"] = False
    assert sandbox.gate is not None and not [r for r in sandbox.gate.refused if f"/{repo}/" in r[1]]
    assert sorted(registry.tags(repo) or []) == sorted(set(TAGS) - {"adm-1", "other-1"})


def test_a_maintainer_through_a_shared_group_is_rated_as_gitlab_rates_them(
        sandbox: Sandbox, sandbox_env: dict, registry: RegistryClient) -> None:
    """GitLab's `max_member_access` counts groups the project is shared with (capped by the link),
    which GET /projects/:id `permissions` leaves out: glcr must rate this caller a Maintainer
    (the Maintainer rule lets v1.0 go, the Owner rule keeps rel-1), not "unknown role"."""
    repo = seeded_project(sandbox, registry, "18.9")
    suffix = uuid.uuid4().hex[:6]
    user = f"invited-{suffix}"
    sandbox.create_user(user)
    group = sandbox.create_group(f"partners-{suffix}")
    sandbox.set_member(user, 50, group=group.path)
    sandbox.share_project(repo, group.path, 40)
    env = {**sandbox_env, "GITLAB_TOKEN": sandbox.create_token(user)}
    deleted = glcr(env, "tags", "delete", repo, "v1.0", "rel-1", "--yes", "-o", "json")
    assert deleted.code == 6, deleted.stderr
    assert {r["name"]: r["outcome"] for r in deleted.json()["results"]} == {"v1.0": "deleted", "rel-1": "kept"}
    assert sorted(registry.tags(repo) or []) == sorted(set(TAGS) - {"v1.0"})


def test_immutable_rules_are_listed_marked_and_count_in_the_limit_of_five(
        sandbox: Sandbox, sandbox_env: dict) -> None:
    """CreateTagRuleService counts every rule of the project, immutable ones too, against the 5;
    REST lists only the mutable ones, so glcr counts what GraphQL shows."""
    project = sandbox.create_project(f"five-{uuid.uuid4().hex[:8]}")
    path = sandbox.world.project_full_path(project)
    for pattern, push, delete, _ in RULES:
        sandbox.add_tag_rule(project.id, pattern, push, delete)
    sandbox.add_tag_rule(project.id, "^frozen-")  # 3 mutable + 2 immutable
    listed = glcr(sandbox_env, "protection", "list", path, "-o", "json")
    assert listed.code == 0, listed.stderr
    assert sorted((r["tag_name_pattern"], r["immutable"]) for r in listed.json()) == sorted(
        [(p, push is None) for p, push, *_ in RULES] + [("^frozen-", True)])
    sixth = glcr(sandbox_env, "protection", "add", path, "^p9", "--push", "maintainer", "--delete", "owner")
    assert sixth.code == 3 and "at most 5" in sixth.stderr, sixth.stderr  # refused before anything is sent
    assert sum(r["project_id"] == project.id for r in sandbox.world.tag_rules.values()) == 5
