"""Protection applied to cleanup decisions and tag plans: protected deletions become keeps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from glcr.plan.model import Action as PlanAction, Plan, PlanEntry
from glcr.policy import Action, CleanupParams, PolicyTag, Reason, Variant, decide
from glcr.policy.protection import Caller, Protection, TagRule, protect_cleanup, protect_plan

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)
V1 = Protection((TagRule(r"^v1\.", "maintainer", "owner"),))


def tags():
    names = ["v1.0", "v1.1", "v1.2", "v2.0", "v2.1", "main", "latest"]
    return [PolicyTag(n, NOW - timedelta(days=100 + i), f"sha256:{i:064x}", 1000 * (i + 1))
            for i, n in enumerate(names)]


@pytest.mark.parametrize("variant", [Variant.GITLAB_API, Variant.THIRD_PARTY])
def test_protected_tags_the_policy_selects_are_kept_with_the_rule(variant):
    params = CleanupParams(name_regex=".*", older_than="30d")
    before = decide(tags(), params, variant=variant, now=NOW)
    after = protect_cleanup(before, V1)
    by_name = after.by_name()
    for name in ("v1.0", "v1.1", "v1.2"):
        assert by_name[name].action is Action.KEEP
        assert by_name[name].reason is Reason.PROTECTED
        assert by_name[name].detail == r"protected by rule ^v1\."
        assert by_name[name].to_dict()["reason"] == "protected"
    for name in ("v2.0", "v2.1", "main"):
        assert by_name[name].action is Action.DELETE
    assert by_name["latest"].reason is Reason.LATEST
    assert after.summary.delete == before.summary.delete - 3
    assert after.summary.keep == before.summary.keep + 3
    assert after.summary.by_reason[Reason.PROTECTED] == 3
    assert after.summary.bytes_freed_estimate < before.summary.bytes_freed_estimate
    assert any("protection" in note for note in after.summary.notes)
    assert not any(n.startswith("v1.") for batch in after.delete_batches for n in batch)


def test_other_decisions_are_untouched_and_keep_n_still_counts_protected_tags():
    # keep_n is decided before protection (GitLab filters inside its delete service), so the
    # newest tags stay kept by keep_n, not by the rule.
    params = CleanupParams(name_regex=".*", keep_n=2)
    before = decide(tags(), params, variant=Variant.GITLAB_API, now=NOW)
    after = protect_cleanup(before, V1)
    for b, a in zip(before.decisions, after.decisions):
        if b.action is Action.KEEP:
            assert a == b
    assert after.by_name()["v1.0"].reason is Reason.WITHIN_KEEP_N  # the newest: keep_n, not the rule
    assert after.by_name()["v1.2"].reason is Reason.PROTECTED


def test_no_rules_change_nothing():
    result = decide(tags(), CleanupParams(name_regex=".*"), variant=Variant.GITLAB_API, now=NOW)
    assert protect_cleanup(result, Protection()) is result
    assert protect_cleanup(result, Protection.unreadable("old")) is result


def _plan(names):
    entries = tuple(PlanEntry(n, f"sha256:{i:064x}", PlanAction.DELETE, "older than 30d") for i, n in enumerate(names))
    return Plan(project_id=1, project_path="g/p", repository_id=2, repository_path="g/p", repository_location="r/g/p",
                created_at=NOW, entries=entries)


# caller, protected tags
PLAN_CALLERS = [
    (Caller(40), {"v1.0", "v1.1"}),  # delete needs owner
    (Caller(50), set()),  # an Owner may
    (Caller(None), {"v1.0", "v1.1"}),  # unknown role: every rule
    (Caller(40, admin=True), set()),
]


@pytest.mark.parametrize("caller,expected", PLAN_CALLERS)
def test_plans_keep_the_tags_a_rule_above_the_callers_role_protects(caller, expected):
    plan, stopped = protect_plan(_plan(["v1.0", "v1.1", "v2.0"]), V1, caller)
    assert set(stopped) == expected
    assert {e.tag for e in plan.to_delete} == {"v1.0", "v1.1", "v2.0"} - expected
    for entry in plan.entries:
        if entry.tag in expected:
            assert entry.action is PlanAction.KEEP and entry.reason == r"protected by rule ^v1\."
