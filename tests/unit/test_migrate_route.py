"""Which way a migration goes and why (glcr/migrate/route.py), and how a refusal in place hands
over to the copy-away migration (journal replay, status). Pure tables."""

from __future__ import annotations

import pytest

from glcr.migrate.model import (
    Event, Inventory, JournalEntry, MigrationPlan, Mode, ProjectRef, RepoInventory, Step, StepKind,
)
from glcr.migrate.replay import replay
from glcr.render.migrate import state_name
from glcr.migrate.route import choose_route
from glcr.migrate.service import refused_in_place

TAGGED = RepoInventory("", "g/app", 1, {"v1": "sha256:" + "1" * 64}, {})
UNTAGGED = RepoInventory("", "g/app", 1, {}, {})
DEFAULT = "/state/m1/images"


def inv(*, gitlab_api: bool, tagged: bool = True) -> Inventory:
    return Inventory(ProjectRef(7, "g/app", "g", "app"), "reg.test", gitlab_api, gitlab_api, False,
                     (TAGGED if tagged else UNTAGGED,))


@pytest.mark.parametrize("gitlab_api, tagged, target, holding, backup, refused, mode, held, directory, fallback, why", [
    # GitLab may move the images itself: ask by moving; the fallback is what was given, else the default dir
    (True, True, "g/app2", None, None, None, Mode.NATIVE, None, None, {"holding": None, "backup_dir": DEFAULT},
     "metadata database"),
    (True, True, "g/sub/app", "g/hold", None, None, Mode.NATIVE, None, None,
     {"holding": "g/hold", "backup_dir": None}, "stays in g"),
    (True, True, "g/app2", None, "/b", None, Mode.NATIVE, None, "/b", {"holding": None, "backup_dir": "/b"},
     "copies them away through the local OCI layout /b"),
    # GitLab surely refuses: copy away from the start, without being asked for a holding place
    (True, True, "other/app", None, None, None, Mode.DIRECTORY, None, DEFAULT, None, "leaves the top-level namespace g"),
    (True, True, "other/app", "g/hold", None, None, Mode.HOLDING, "g/hold", None, None, "holding project g/hold"),
    (False, True, "g/app2", None, None, None, Mode.DIRECTORY, None, DEFAULT, None, "no GitLab API"),
    (False, True, "g/app2", None, "/b", None, Mode.DIRECTORY, None, "/b", None, "third-party"),
    # GitLab refused in place: copy away, and say why
    (True, True, "g/app2", None, None, "Cannot rename project because it contains container registry tags!",
     Mode.DIRECTORY, None, DEFAULT, None, "GitLab refused to move the images in place (Cannot rename"),
    # nothing to move
    (False, False, "other/app", None, None, None, Mode.NATIVE, None, None, None, "no tags"),
])
def test_choose_route(gitlab_api, tagged, target, holding, backup, refused, mode, held, directory, fallback, why):
    route = choose_route(inv(gitlab_api=gitlab_api, tagged=tagged), target, holding=holding, backup_dir=backup,
                         default_backup_dir=DEFAULT, refused=refused)
    assert (route.mode, route.holding, route.backup_dir, route.fallback) == (mode, held, directory, fallback)
    assert why in route.why


NO_FALLBACK_GIVEN = object()


def native_plan(fallback: object = NO_FALLBACK_GIVEN) -> MigrationPlan:
    # A fresh dict per plan (a shared default would let one test's plan change another's).
    if fallback is NO_FALLBACK_GIVEN:
        fallback = {"holding": None, "backup_dir": DEFAULT}
    return MigrationPlan("m1", "2026-01-01T00:00:00Z", "g/app", "g/app2", Mode.NATIVE, inv(gitlab_api=True),
                         (Step("rename", StepKind.RENAME, args={"path": "app2"}),
                          Step("verify", StepKind.VERIFY, args={"project_path": "g/app2"})), fallback=fallback)


def entry(step: str, event: Event, detail: str = "", data: dict | None = None) -> JournalEntry:
    return JournalEntry("2026-01-01T00:00:00Z", step, event, detail, data or {})


REFUSED = [entry("rename", Event.START), entry("rename", Event.FAILED, "Cannot rename project"),
           entry("rename", Event.ROLLBACK, "Cannot rename project", {"path": "g/app", "steps": [
               Step("rollback:verify", StepKind.VERIFY, args={"project_path": "g/app"}).to_json()]}),
           entry("rollback:verify", Event.START), entry("rollback:verify", Event.DONE)]


def test_a_refusal_in_place_hands_over_and_status_says_so():
    plan = native_plan()
    progress = replay(plan, REFUSED)
    assert progress.finished and refused_in_place(plan, progress) == "Cannot rename project"
    handed = replay(plan, [*REFUSED, entry("fallback", Event.FALLBACK, "copy away", {"id": "m2"})])
    assert handed.fallback is not None and state_name(handed) == "refused in place; continued by m2"


def test_no_hand_over_without_a_fallback_or_after_an_abort():
    assert refused_in_place(native_plan(fallback=None), replay(native_plan(fallback=None), REFUSED)) is None
    aborted = [entry("abort", Event.ROLLBACK, "aborted", {"path": "g/app", "steps": []})]
    assert refused_in_place(native_plan(), replay(native_plan(), aborted)) is None
    assert refused_in_place(native_plan(), replay(native_plan(), [])) is None


def test_plan_json_keeps_fallback_and_continues():
    plan = native_plan()
    again = MigrationPlan.from_json(plan.to_json())
    assert again.fallback == plan.fallback and again.continues is None
    old = plan.to_json()
    del old["fallback"], old["continues"]  # a plan written before these fields
    assert MigrationPlan.from_json(old).fallback is None
