"""The migration planner (targets, holding paths, modes, preflight findings, step order, copy
order), the journal replay and the report. Pure tables."""

from __future__ import annotations

import json

import pytest

from glcr.errors import ExitCode
from glcr.migrate.model import (
    BlobRef, Event, Finding, HoldingFacts, Inventory, JournalEntry, Level, ManifestNode, MigrationPlan, Mode,
    PreflightFacts, ProjectRef, RepoInventory, Rule, StepKind,
)
from glcr.migrate.planner import (
    blocking, build_plan, choose_mode, copy_levels, evaluate, holding_path, parse_target, rollback_steps,
)
from glcr.migrate.replay import replay
from glcr.migrate.report import report_rows
from glcr.reference import REPOSITORY_PATH_RE


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def image(n: int, *, layers: tuple[int, ...] = (), subject: int | None = None) -> ManifestNode:
    return ManifestNode(d(n), "application/vnd.oci.image.manifest.v1+json", 100 + n,
                        (BlobRef(d(1000 + n), 10),) + tuple(BlobRef(d(x), 1000) for x in layers),
                        subject=d(subject) if subject else None)


def index(n: int, *children: int) -> ManifestNode:
    return ManifestNode(d(n), "application/vnd.oci.image.index.v1+json", 300, children=tuple(d(c) for c in children))


def repo(name: str, tags: dict[str, int], nodes: list[ManifestNode], rid: int = 1) -> RepoInventory:
    base = "g/app"
    return RepoInventory(name, f"{base}/{name}" if name else base, rid, {t: d(n) for t, n in tags.items()},
                         {n.digest: n for n in nodes})


def inventory(*repos: RepoInventory, gitlab_api: bool = False, full_path: str = "g/app") -> Inventory:
    ns, _, path = full_path.rpartition("/")
    return Inventory(ProjectRef(7, full_path, ns, path), "reg.test", gitlab_api, False, False, tuple(repos))


ROOT = repo("", {"v1": 1, "latest": 1, "v2": 2}, [image(1, layers=(500,)), image(2, layers=(500, 501))], rid=11)
WEB = repo("web", {"2.0": 10}, [index(10, 3, 4), image(3), image(4)], rid=12)
EMPTY = repo("old", {}, [], rid=13)
INV = inventory(ROOT, WEB, EMPTY)
GOOD = PreflightFacts(token_scopes=("api",), project_access=50, target_namespace_found=True,
                      target_namespace_access=40, delete_granted={"g/app": True, "g/app/web": True},
                      holding=HoldingFacts("g/hold", True, 9, "reg.test", True), tag_rules=(), repository_rules=())


def plan_for(target: str = "other/app2", mode: Mode = Mode.HOLDING, **kw) -> MigrationPlan:
    holding = kw.pop("holding", "g/hold" if mode is Mode.HOLDING else None)
    return build_plan(kw.pop("inv", INV), migration_id="20260101t000000z-abcdef", created_at="2026-01-01T00:00:00Z",
                      target=target, mode=mode, holding=holding, **kw)


# --- targets and holding paths ---------------------------------------------------------------


@pytest.mark.parametrize("target, expected", [
    ("new/app", ("new", "app")),
    ("a/b/c", ("a/b", "c")),
    ("/new/app/", ("new", "app")),
    ("g/App_2.x", ("g", "App_2.x")),
])
def test_parse_target(target, expected):
    assert parse_target("g/app", target) == expected


@pytest.mark.parametrize("target", ["app", "g/app", "new/-x", "new/a b", "new/app.git", "", "new/"])
def test_parse_target_refuses(target):
    with pytest.raises(ValueError):
        parse_target("g/app", target)


@pytest.mark.parametrize("index, name, expected", [
    (0, "", "hold/p/glcr-20260101t000000z-abcdef/0-root"),
    (1, "api", "hold/p/glcr-20260101t000000z-abcdef/1-api"),
    (2, "a/b", "hold/p/glcr-20260101t000000z-abcdef/2-a-b"),
])
def test_holding_path(index, name, expected):
    path = holding_path("Hold/P", "20260101T000000Z-abcdef", index, name)
    assert path == expected
    assert REPOSITORY_PATH_RE.match(path)
    assert path.count("/") - "hold/p".count("/") == 2  # GitLab resolves at most two levels below a project


def test_holding_paths_stay_unique_and_short():
    names = ["a/b", "a-b", "a__b", "x" * 300]
    paths = [holding_path("hold/p", "id", i, n) for i, n in enumerate(names)]
    assert len(set(paths)) == len(paths)
    assert all(len(p) <= 255 and REPOSITORY_PATH_RE.match(p) for p in paths)


# --- mode -------------------------------------------------------------------------------------


@pytest.mark.parametrize("gitlab_api, target, holding, backup, expected", [
    (True, "g/sub/app", None, None, Mode.NATIVE),  # metadata DB, same top-level namespace
    (True, "g/app2", None, None, Mode.NATIVE),  # a rename never leaves the top level
    (True, "other/app", "g/hold", None, Mode.HOLDING),  # another top level: GitLab refuses
    (False, "g/app2", "g/hold", None, Mode.HOLDING),
    (False, "g/app2", None, "/b", Mode.DIRECTORY),
    (False, "g/app2", None, None, Mode.HOLDING),  # evaluate() says a holding place is missing
])
def test_choose_mode(gitlab_api, target, holding, backup, expected):
    inv = inventory(ROOT, gitlab_api=gitlab_api)
    assert choose_mode(inv, target, holding=holding, backup_dir=backup) is expected


def test_no_tags_is_a_plain_move():
    assert choose_mode(inventory(EMPTY), "x/y", holding="g/hold", backup_dir=None) is Mode.NATIVE


# --- the steps --------------------------------------------------------------------------------


def kinds(plan: MigrationPlan) -> list[str]:
    return [s.id for s in plan.steps]


def test_transfer_and_rename_through_holding():
    plan = plan_for("other/app2")
    assert kinds(plan) == ["backup:0", "backup:1", "delete-tags:0", "delete-tags:1", "delete-repositories",
                           "wait-no-tags", "transfer", "rename", "restore:0", "restore:1", "drop-holding", "verify"]
    steps = {s.id: s for s in plan.steps}
    assert steps["delete-repositories"].args == {"repos": [0, 1, 2]}  # the empty one too
    assert steps["transfer"].args == {"namespace": "other"} and steps["rename"].args == {"path": "app2"}
    assert steps["restore:1"].args == {"project_path": "other/app2"}
    assert plan.holding_paths == {0: "g/hold/glcr-20260101t000000z-abcdef/0-root",
                                  1: "g/hold/glcr-20260101t000000z-abcdef/1-web"}


@pytest.mark.parametrize("target, has_transfer, has_rename", [
    ("other/app", True, False), ("g/app2", False, True), ("G/app3", False, True), ("x/y/z", True, True),
])
def test_transfer_and_rename_only_when_needed(target, has_transfer, has_rename):
    ids = kinds(plan_for(target))
    assert ("transfer" in ids) is has_transfer and ("rename" in ids) is has_rename
    if has_transfer and has_rename:
        assert ids.index("transfer") < ids.index("rename")  # a refused transfer leaves the original path


@pytest.mark.parametrize("mode", [Mode.HOLDING, Mode.DIRECTORY])
def test_safety_order(mode):
    plan = plan_for(mode=mode, backup_dir="/b" if mode is Mode.DIRECTORY else None)
    ids = kinds(plan)
    first = lambda prefix: min(i for i, s in enumerate(ids) if s.startswith(prefix))  # noqa: E731
    last = lambda prefix: max(i for i, s in enumerate(ids) if s.startswith(prefix))  # noqa: E731
    assert last("backup") < first("delete-tags") < first("delete-repositories") < first("wait-no-tags")
    assert first("wait-no-tags") < first("transfer") < first("restore")
    if mode is Mode.HOLDING:
        assert last("restore") < first("drop-holding")
    else:
        assert "drop-holding" not in ids
    assert ids[-1] == "verify"


def test_repository_records_can_be_kept():
    assert "delete-repositories" not in kinds(plan_for(keep_records=True))


def test_directory_mode_keeps_the_backup_unless_asked():
    kept = plan_for(mode=Mode.DIRECTORY, backup_dir="/b")
    removed = plan_for(mode=Mode.DIRECTORY, backup_dir="/b", remove_backup=True)
    assert "remove-backup" not in kinds(kept)
    assert kinds(removed)[-2:] == ["remove-backup", "verify"]
    assert kept.holding_paths == {} and kept.holding_project is None


def test_native_mode_only_moves_and_verifies():
    inv = inventory(ROOT, gitlab_api=True)
    assert kinds(plan_for("g/sub/app", Mode.NATIVE, inv=inv)) == ["transfer", "verify"]
    # With a backup directory, a safety copy first, nothing deleted.
    assert kinds(plan_for("g/sub/app", Mode.NATIVE, inv=inv, backup_dir="/b")) == ["backup:0", "transfer", "verify"]


def test_rollback_restores_under_the_current_path():
    plan = plan_for("other/app2")
    steps = rollback_steps(plan, "g/app")
    assert [s.id for s in steps] == ["rollback:restore:0", "rollback:restore:1", "rollback:drop-holding",
                                     "rollback:verify"]
    assert all(s.args.get("project_path") == "g/app" for s in steps if s.kind is not StepKind.DROP_HOLDING)


def test_native_rollback_only_verifies():
    plan = plan_for("g/sub/app", Mode.NATIVE, inv=inventory(ROOT, gitlab_api=True))
    assert [s.id for s in rollback_steps(plan, "g/app")] == ["rollback:verify"]


def test_plan_json_round_trip():
    plan = plan_for("other/app2", findings=[Finding(Level.INFO, "x", "y")])
    text = json.dumps(plan.to_json(), sort_keys=True)
    again = MigrationPlan.from_json(json.loads(text))
    assert again == plan
    assert json.dumps(again.to_json(), sort_keys=True) == text


def test_plan_json_refuses_other_kinds():
    with pytest.raises(ValueError):
        MigrationPlan.from_json({"kind": "glcr/tag-plan", "version": 1})


# --- copy order -------------------------------------------------------------------------------


def test_children_before_their_index_and_subjects_before_referrers():
    nested = index(20, 10, 5)  # an index of an index
    referrer = image(30, subject=10)
    referrers_index = index(31, 30)  # the `sha256-<hex>` referrers-tag index
    r = repo("x", {"a": 20, "sha256-x": 31}, [nested, index(10, 3, 4), image(3), image(4), image(5),
                                              referrer, referrers_index])
    levels = copy_levels(r)
    position = {digest: n for n, level in enumerate(levels) for digest in level}
    assert set(position) == set(r.manifests)
    for node in r.manifests.values():
        for child in node.children:
            assert position[child] < position[node.digest]
        if node.subject:
            assert position[node.subject] < position[node.digest]
    assert levels[0] == sorted([d(3), d(4), d(5)])


def test_copy_levels_ignore_what_the_repository_does_not_hold():
    r = repo("x", {"a": 1}, [image(1, subject=99)])  # a subject elsewhere: no dependency
    assert copy_levels(r) == [[d(1)]]


# --- preflight --------------------------------------------------------------------------------


def codes(findings, level=Level.ERROR):
    return sorted(f.code for f in findings if f.level is level)


def check(facts: PreflightFacts, target: str = "other/app2", mode: Mode = Mode.HOLDING, **kw):
    return evaluate(kw.pop("inv", INV), facts, target=target, mode=mode, holding=kw.pop("holding", "g/hold"), **kw)


def test_all_good():
    assert codes(check(GOOD)) == []
    assert codes(check(GOOD), Level.WARNING) == []


@pytest.mark.parametrize("change, code, level", [
    ({"token_scopes": ("read_registry", "write_registry")}, "token-scope", Level.ERROR),
    ({"token_scopes": None}, "token-scope", Level.WARNING),
    ({"project_access": 40}, "project-role", Level.ERROR),  # transfer needs Owner
    ({"target_namespace_found": False}, "target-namespace", Level.ERROR),
    ({"target_namespace_access": 30}, "target-namespace", Level.ERROR),
    ({"target_namespace_access": None}, "target-namespace", Level.WARNING),
    ({"target_project_taken": True}, "target-taken", Level.ERROR),
    ({"target_registry_tags": {"other/app2": 3}}, "target-registry", Level.ERROR),
    ({"delete_granted": {"g/app": False}}, "registry-delete", Level.ERROR),
    ({"holding": None}, "holding", Level.ERROR),
    ({"holding": HoldingFacts("g/hold", False)}, "holding", Level.ERROR),
    ({"holding": HoldingFacts("g/app", True, 7, "reg.test", True)}, "holding", Level.ERROR),  # the project itself
    ({"holding": HoldingFacts("g/hold", True, 9, "other.reg", True)}, "holding", Level.ERROR),
    ({"holding": HoldingFacts("g/hold", True, 9, "reg.test", False)}, "holding", Level.ERROR),
    ({"holding": HoldingFacts("g/hold", True, 9, "reg.test", None)}, "holding", Level.WARNING),
    ({"tag_rules": None}, "protected-tags", Level.WARNING),
    ({"tag_rules": (Rule("^v", "admin", "admin"),)}, "protected-tags", Level.ERROR),  # above the Owner
    ({"tag_rules": (Rule("lat", None, None),)}, "protected-tags", Level.ERROR),  # immutable: nobody deletes it
    ({"repository_rules": (Rule("g/app/*", None, "admin"),)}, "protected-repository", Level.ERROR),
    ({"problems": ("g/app@sha256:1 is referenced but missing",)}, "inventory", Level.ERROR),
])
def test_findings(change, code, level):
    facts = PreflightFacts(**{**vars(GOOD), **change})
    assert code in codes(check(facts), level)


def test_rules_the_user_may_pass_are_no_finding():
    facts = PreflightFacts(**{**vars(GOOD), "tag_rules": (Rule("^v", "maintainer", "maintainer"),),
                              "repository_rules": (Rule("g/app*", None, "owner"),)})
    assert codes(check(facts)) == []


def test_protected_tag_patterns_are_unanchored_re2():
    facts = PreflightFacts(**{**vars(GOOD), "project_access": 40,
                              "tag_rules": (Rule("atest", "owner", "owner"),)})
    [finding] = [f for f in check(facts, target="g/app2") if f.code == "protected-tags"]
    assert "g/app:latest" in finding.message


def test_admins_pass_role_checks():
    facts = PreflightFacts(**{**vars(GOOD), "is_admin": True, "project_access": 0, "target_namespace_access": None})
    assert codes(check(facts)) == [] and codes(check(facts), Level.WARNING) == []


def test_rename_needs_maintainer_only():
    facts = PreflightFacts(**{**vars(GOOD), "project_access": 40})
    assert codes(check(facts, target="g/app2")) == []
    assert codes(check(PreflightFacts(**{**vars(GOOD), "project_access": 30}), target="g/app2")) == ["project-role"]


def test_directory_checks():
    facts = PreflightFacts(**{**vars(GOOD), "holding": None, "backup_dir_free": 10})
    assert codes(check(facts, mode=Mode.DIRECTORY, holding=None, backup_dir="/b")) == ["backup-dir"]
    facts = PreflightFacts(**{**vars(GOOD), "holding": None, "backup_dir_conflict": "/b is not empty"})
    assert codes(check(facts, mode=Mode.DIRECTORY, holding=None, backup_dir="/b")) == ["backup-dir"]


def test_native_mode_says_so_and_skips_holding_checks():
    facts = PreflightFacts(**{**vars(GOOD), "holding": None, "delete_granted": {"g/app": False}})
    findings = check(facts, target="g/other", mode=Mode.NATIVE, inv=inventory(ROOT, gitlab_api=True))
    assert codes(findings) == [] and codes(findings, Level.INFO) == ["native"]


def test_blocking_honours_skip():
    findings = [Finding(Level.ERROR, "a", ""), Finding(Level.ERROR, "b", ""), Finding(Level.WARNING, "c", "")]
    assert [f.code for f in blocking(findings)] == ["a", "b"]
    assert [f.code for f in blocking(findings, ["a"])] == ["b"]


# --- journal replay and report ----------------------------------------------------------------


def e(step: str, event: Event, **data) -> JournalEntry:
    return JournalEntry("2026-01-01T00:00:00Z", step, event, "", data)


def test_replay_pending_and_states():
    plan = plan_for("other/app2")
    progress = replay(plan, [e("backup:0", Event.START), e("backup:0", Event.DONE), e("backup:1", Event.START)])
    assert progress.pending[0].id == "backup:1"
    assert progress.state(plan.steps[0]) == "done" and progress.state(plan.steps[1]) == "interrupted"
    progress = replay(plan, [e("backup:0", Event.START), e("backup:0", Event.FAILED)])
    assert progress.state(plan.steps[0]) == "failed" and progress.pending[0].id == "backup:0"
    progress = replay(plan, [e(s.id, Event.DONE) for s in plan.steps])
    assert progress.finished and progress.rolled_back is None


def test_replay_rollback_replaces_the_rest():
    plan = plan_for("other/app2")
    before = [s.id for s in plan.steps[:6]]  # up to wait-no-tags
    rb = rollback_steps(plan, "g/app")
    entries = [e(i, Event.DONE) for i in before] + [
        e("transfer", Event.START), e("transfer", Event.FAILED),
        JournalEntry("t", "transfer", Event.ROLLBACK, "refused", {"path": "g/app", "steps": [s.to_json() for s in rb]}),
        e("rollback:restore:0", Event.DONE)]
    progress = replay(plan, entries)
    assert [s.id for s in progress.steps] == before + [s.id for s in rb]
    assert [s.id for s in progress.pending] == ["rollback:restore:1", "rollback:drop-holding", "rollback:verify"]
    assert progress.rolled_back is not None


def test_report_rows():
    plan = plan_for("other/app2")
    found = {"other/app2": {"v1": d(1), "latest": d(1), "v2": d(2)}, "other/app2/web": {"2.0": d(99)}}
    entries = [e(s.id, Event.DONE) for s in plan.steps if s.kind is not StepKind.VERIFY]
    entries.append(e("restore:0", Event.DONE, uploaded_bytes=5))
    entries.append(e("verify", Event.DONE, found=found))
    rows, checks = report_rows(plan, replay(plan, entries))
    assert [(r.old_path, r.new_path, r.tags, r.verified, r.uploaded) for r in rows] == [
        ("g/app", "other/app2", 3, 3, 5), ("g/app/web", "other/app2/web", 1, 0, 0), ("g/app/old", "other/app2/old", 0, 0, 0)]
    assert [c.tag for c in checks if not c.ok] == ["2.0"]
    assert rows[0].bytes == ROOT.size == 101 + 102 + 10 + 10 + 1000 + 1000  # layer 500, shared, counted once


def test_inventory_sizes_count_shared_blobs_once():
    assert INV.size == ROOT.size + WEB.size
    assert INV.tag_count == 4


@pytest.mark.parametrize("change, mode, exit_code", [
    ({"target_namespace_found": False}, Mode.HOLDING, ExitCode.NOT_FOUND),  # the namespace does not exist
    ({"target_namespace_access": 30}, Mode.HOLDING, ExitCode.PERMISSION),  # a Developer in the target
    ({"project_access": 30}, Mode.HOLDING, ExitCode.PERMISSION),  # a Developer of the project
    ({"token_scopes": ("read_api",)}, Mode.HOLDING, ExitCode.PERMISSION),
    ({"delete_granted": {"g/app": False}}, Mode.HOLDING, ExitCode.PERMISSION),
    ({"tag_rules": (Rule("^v", "admin", "admin"),)}, Mode.HOLDING, ExitCode.PERMISSION),
    ({"holding": HoldingFacts("g/app", True, 7, "reg.test", True)}, Mode.HOLDING, ExitCode.INVALID_INPUT),  # itself
    ({"holding": HoldingFacts("g/hold", False)}, Mode.HOLDING, ExitCode.NOT_FOUND),
    ({"holding": HoldingFacts("g/hold", True, 9, "reg.test", False)}, Mode.HOLDING, ExitCode.PERMISSION),
    ({"backup_dir_conflict": "/x exists and is not a directory"}, Mode.DIRECTORY, ExitCode.INVALID_INPUT),
    ({"backup_dir_free": 1}, Mode.DIRECTORY, ExitCode.INVALID_INPUT),  # a full disk
    ({"target_project_taken": True}, Mode.HOLDING, ExitCode.REFUSED),
    ({"problems": ("g/app@sha256:1 is referenced but missing",)}, Mode.HOLDING, ExitCode.REFUSED),
])
def test_each_preflight_error_carries_the_readme_exit_code(change, mode, exit_code):
    """The first blocking finding decides how `migrate-project` ends (glcr.migrate.run)."""
    from glcr.migrate.run import preflight_error

    facts = PreflightFacts(**{**vars(GOOD), **change})
    errors = [f for f in check(facts, mode=mode, backup_dir="/x" if mode is Mode.DIRECTORY else None)
              if f.level is Level.ERROR]
    assert [f.exit_code for f in errors] == [exit_code], errors
    assert preflight_error(errors[0].exit_code)("x").exit_code == exit_code
