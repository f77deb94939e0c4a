"""Plans from rules and from list files: every rule, the reasons, and the multi-arch rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from glcr.errors import InvalidInputError
from glcr.models import Project, Repository, TagDetails
from glcr.plan.build import PlanRules, build_tag_plan, format_duration, plan_from_list
from glcr.plan.model import Action, Plan

NOW = datetime(2026, 11, 27, 5, 40, tzinfo=UTC)
REPO = Repository(id=3, name="api", path="group/app/api", project_id=7,
                  location="registry.example.com/group/app/api")


def digest(seed: str) -> str:
    return "sha256:" + (seed * 64)[:64]


def tag(name: str, age_days: float | None = 10, seed: str | None = None, size: int | None = 100) -> TagDetails:
    created = None if age_days is None else NOW - timedelta(days=age_days)
    return TagDetails(name=name, path=f"{REPO.path}:{name}", location=f"{REPO.location}:{name}",
                      digest=digest(seed or format(abs(hash(name)) % 16**6, "06x")),
                      created_at=created, total_size=size)


def decide(tags, rules: PlanRules, **kwargs) -> dict[str, tuple[str, str]]:
    plan = build_tag_plan(tags, rules, now=NOW, repository=REPO, **kwargs)
    return {e.tag: (e.action.value, e.reason) for e in plan.entries}


def actions(tags, rules: PlanRules, **kwargs) -> dict[str, str]:
    return {name: action for name, (action, _) in decide(tags, rules, **kwargs).items()}


def test_no_rules_deletes_all_but_latest() -> None:
    assert decide([tag("latest"), tag("v1")], PlanRules()) == {
        "latest": ("keep", "named latest"),
        "v1": ("delete", "no rule keeps it"),
    }


def test_keep_latest_off() -> None:
    assert actions([tag("latest"), tag("v1")], PlanRules(keep_latest=False)) == {
        "latest": "delete", "v1": "delete"}


@pytest.mark.parametrize(
    ("patterns", "kept"),
    [
        (("v1",), {"v1"}),  # full match: not v1.0 or xv1
        (("v1.*",), {"v1", "v1.0", "v1.0-rc"}),
        (("a|b",), {"a", "b"}),  # unlike GitLab's \A a|b \z: not "ab", "ax" or "xb"
        (("v1\\.0",), {"v1.0"}),
        (("x.*", "v1"), {"v1", "xv1", "xb"}),
        (("(?i)V1",), {"v1"}),
    ],
)
def test_keep_regexes_match_the_whole_name(patterns: tuple[str, ...], kept: set[str]) -> None:
    names = ["v1", "v1.0", "v1.0-rc", "xv1", "a", "b", "ab", "ax", "xb"]
    result = actions([tag(n) for n in names], PlanRules(keep_regexes=patterns))
    assert {n for n, a in result.items() if a == "keep"} == kept


def test_keep_regex_reason_names_the_first_matching_pattern() -> None:
    result = decide([tag("v1.0")], PlanRules(keep_regexes=("x", "v.*", "v1.*")))
    assert result["v1.0"] == ("keep", "matches keep regex `v.*`")


def test_latest_wins_over_keep_regex_for_the_reason() -> None:
    assert decide([tag("latest")], PlanRules(keep_regexes=(".*",)))["latest"] == ("keep", "named latest")


def test_delete_regex_selects_candidates() -> None:
    result = decide([tag("feature-a"), tag("main"), tag("feature-b-x")], PlanRules(delete_regex="feature-.*"))
    assert result == {
        "feature-a": ("delete", "matches delete regex `feature-.*`"),
        "feature-b-x": ("delete", "matches delete regex `feature-.*`"),
        "main": ("keep", "does not match delete regex `feature-.*`"),
    }


def test_delete_regex_is_a_full_match() -> None:
    assert actions([tag("feature"), tag("feature-1"), tag("my-feature")],
                   PlanRules(delete_regex="feature")) == {
        "feature": "delete", "feature-1": "keep", "my-feature": "keep"}


def test_keep_regex_wins_over_delete_regex() -> None:
    result = decide([tag("feature-keep")], PlanRules(delete_regex="feature-.*", keep_regexes=(".*-keep",)))
    assert result["feature-keep"] == ("keep", "matches keep regex `.*-keep`")


def test_keep_first_keeps_the_newest_candidates() -> None:
    tags = [tag("a", 5), tag("b", 1), tag("c", 3), tag("d", 4)]
    assert decide(tags, PlanRules(keep_first=2)) == {
        "a": ("delete", "not among the 2 newest"),
        "b": ("keep", "one of the 2 newest (#1)"),
        "c": ("keep", "one of the 2 newest (#2)"),
        "d": ("delete", "not among the 2 newest"),
    }


def test_keep_first_counts_only_candidates() -> None:
    # latest, keep-regex tags and tags outside the delete regex do not use up the N (GitLab's keep_n).
    tags = [tag("latest", 0), tag("release-1", 0), tag("main", 0), tag("f-1", 3), tag("f-2", 2), tag("f-3", 1)]
    result = actions(tags, PlanRules(keep_first=1, keep_regexes=("release-.*",), delete_regex="f-.*|latest"))
    assert result == {"latest": "keep", "release-1": "keep", "main": "keep",
                      "f-1": "delete", "f-2": "delete", "f-3": "keep"}


def test_keep_first_counts_undated_tags_as_newest() -> None:
    tags = [tag("old", 100), tag("nodate", None), tag("new", 1)]
    assert decide(tags, PlanRules(keep_first=1)) == {
        "nodate": ("keep", "one of the 1 newest (#1)"),
        "new": ("delete", "not among the 1 newest"),
        "old": ("delete", "not among the 1 newest"),
    }


def test_keep_first_ties_go_by_name_descending_like_gitlab() -> None:
    tags = [tag("Ba", 1), tag("Bb", 1), tag("C", 2)]
    assert actions(tags, PlanRules(keep_first=1)) == {"Ba": "delete", "Bb": "keep", "C": "delete"}


def test_keep_first_larger_than_the_list_keeps_all() -> None:
    assert set(actions([tag("a"), tag("b")], PlanRules(keep_first=10)).values()) == {"keep"}


@pytest.mark.parametrize(
    ("age_days", "action", "reason"),
    [
        (91, "delete", "older than 90d (created 2026-08-28)"),
        (90.0001, "delete", "older than 90d (created 2026-08-29)"),
        (90, "keep", "not older than 90d (created 2026-08-29)"),  # strictly older only
        (10, "keep", "not older than 90d (created 2026-11-17)"),
        (-1, "keep", "not older than 90d (created 2026-11-28)"),  # clock skew: from the future
        (None, "keep", "no date, so not known to be old"),
    ],
)
def test_older_than(age_days, action: str, reason: str) -> None:
    result = decide([tag("t", age_days)], PlanRules(older_than=timedelta(days=90)))
    assert result["t"] == (action, reason)


def test_no_date_is_deleted_when_older_than_is_not_set() -> None:
    assert actions([tag("t", None)], PlanRules()) == {"t": "delete"}


def test_naive_times_are_taken_as_utc() -> None:
    naive = TagDetails("t", "p", "l", digest("1"), datetime(2026, 8, 1), 1)
    plan = build_tag_plan([naive], PlanRules(older_than=timedelta(days=90)), now=datetime(2026, 11, 27),
                          repository=REPO)
    assert plan.entries[0].action == Action.DELETE


def test_keep_semver_latest() -> None:
    names = ["v1.0.0", "1.2.0", "v2.0.0-rc.1", "v1.10.0", "2.0.0-beta", "main", "v3", "1.2"]
    result = decide([tag(n) for n in names], PlanRules(keep_semver_latest=2))
    assert result == {
        "v1.10.0": ("keep", "one of the 2 highest versions (#1)"),  # 1.10 > 1.2: numbers, not text
        "1.2.0": ("keep", "one of the 2 highest versions (#2)"),
        "v2.0.0-rc.1": ("delete", "not among the 2 highest versions"),  # releases rank first
        "2.0.0-beta": ("delete", "not among the 2 highest versions"),
        "v1.0.0": ("delete", "not among the 2 highest versions"),
        "main": ("delete", "no rule keeps it"),  # not a version: this rule does not judge it
        "v3": ("delete", "no rule keeps it"),
        "1.2": ("delete", "no rule keeps it"),
    }


def test_keep_semver_prereleases_fill_in_after_all_releases() -> None:
    names = ["v3.0.0-rc.2", "v3.0.0-rc.10", "v2.0.0", "v1.0.0"]
    assert decide([tag(n) for n in names], PlanRules(keep_semver_latest=3)) == {
        "v2.0.0": ("keep", "one of the 3 highest versions (#1)"),
        "v1.0.0": ("keep", "one of the 3 highest versions (#2)"),
        "v3.0.0-rc.10": ("keep", "one of the 3 highest versions (#3)"),  # rc.10 > rc.2
        "v3.0.0-rc.2": ("delete", "not among the 3 highest versions"),
    }


def test_keep_semver_release_outranks_its_prerelease() -> None:
    names = ["v2.0.0-rc.1", "v2.0.0", "v1.9.9"]
    assert actions([tag(n) for n in names], PlanRules(keep_semver_latest=1)) == {
        "v2.0.0": "keep", "v2.0.0-rc.1": "delete", "v1.9.9": "delete"}


def test_keep_semver_counts_only_candidates() -> None:
    names = ["v9.0.0", "v2.0.0", "v1.0.0"]
    result = actions([tag(n) for n in names], PlanRules(keep_semver_latest=1, keep_regexes=("v9.*",)))
    assert result == {"v9.0.0": "keep", "v2.0.0": "keep", "v1.0.0": "delete"}


def test_keep_first_and_semver_both_keep_and_keep_first_names_the_reason() -> None:
    tags = [tag("v1.0.0", 1), tag("v2.0.0", 50), tag("v0.1.0", 60), tag("nightly", 2)]
    assert decide(tags, PlanRules(keep_first=1, keep_semver_latest=1)) == {
        "v1.0.0": ("keep", "one of the 1 newest (#1)"),
        "v2.0.0": ("keep", "one of the 1 highest versions (#1)"),
        "v0.1.0": ("delete", "not among the 1 newest; not among the 1 highest versions"),
        "nightly": ("delete", "not among the 1 newest"),
    }


def test_ranked_keeps_come_before_older_than() -> None:
    tags = [tag("v1.0.0", 300), tag("v0.9.0", 400)]
    result = decide(tags, PlanRules(keep_semver_latest=1, older_than=timedelta(days=30)))
    assert result == {
        "v1.0.0": ("keep", "one of the 1 highest versions (#1)"),
        "v0.9.0": ("delete", "not among the 1 highest versions; older than 30d (created 2025-10-23)"),
    }


def test_delete_reason_lists_every_rule_it_passed() -> None:
    rules = PlanRules(delete_regex="f-.*", keep_first=1, older_than=timedelta(days=7))
    result = decide([tag("f-1", 10), tag("f-2", 8)], rules)
    assert result["f-1"] == ("delete", "matches delete regex `f-.*`; not among the 1 newest; "
                                       "older than 7d (created 2026-11-17)")


# Multi-arch: index digests map to their child manifest digests.
INDEX, AMD64, ARM64, NESTED, INNER = (digest(s) for s in "12345")
CHILDREN = {INDEX: frozenset({AMD64, ARM64}), NESTED: frozenset({INDEX}), INNER: frozenset({digest("6")})}


def test_child_of_a_kept_index_is_kept() -> None:
    tags = [tag("v1", 1, "1"), tag("v1-amd64", 30, "2"), tag("v1-arm64", 30, "3"), tag("other", 30, "7")]
    result = decide(tags, PlanRules(keep_first=1), index_children=CHILDREN)
    assert result == {
        "v1": ("keep", "one of the 1 newest (#1)"),
        "v1-amd64": ("keep", "referenced by kept index tag 'v1'"),
        "v1-arm64": ("keep", "referenced by kept index tag 'v1'"),
        "other": ("delete", "not among the 1 newest"),
    }


def test_children_of_nested_indexes_are_kept() -> None:
    tags = [tag("latest", 1, "4"), tag("inner-index", 30, "1"), tag("amd64", 30, "2")]
    result = decide(tags, PlanRules(), index_children=CHILDREN)
    assert result == {
        "latest": ("keep", "named latest"),
        "inner-index": ("keep", "referenced by kept index tag 'latest'"),
        "amd64": ("keep", "referenced by kept index tag 'latest'"),
    }


def test_reason_names_the_first_kept_index_tag_by_name() -> None:
    tags = [tag("z-index", 1, "1"), tag("a-index", 1, "1"), tag("amd64", 30, "2")]
    result = decide(tags, PlanRules(keep_regexes=(".*-index",)), index_children=CHILDREN)
    assert result["amd64"] == ("keep", "referenced by kept index tag 'a-index'")


def test_children_of_a_deleted_index_are_not_protected() -> None:
    tags = [tag("latest", 1, "7"), tag("v1", 30, "1"), tag("v1-amd64", 30, "2")]
    plan = build_tag_plan(tags, PlanRules(), now=NOW, repository=REPO, index_children=CHILDREN)
    assert {e.tag: e.action.value for e in plan.entries} == {"latest": "keep", "v1": "delete", "v1-amd64": "delete"}
    # amd64 is tagged but that tag goes too; arm64 was untagged: both are left to GC.
    assert plan.warnings == ("deleting index tag 'v1' leaves 2 child manifest(s) untagged, "
                             "for garbage collection to remove",)


def test_deleting_an_index_whose_children_stay_tagged_warns_only_about_the_rest() -> None:
    tags = [tag("latest", 1, "2"), tag("v1", 30, "1")]
    plan = build_tag_plan(tags, PlanRules(), now=NOW, repository=REPO, index_children=CHILDREN)
    assert plan.warnings == ("deleting index tag 'v1' leaves 1 child manifest(s) untagged, "
                             "for garbage collection to remove",)


def test_shared_digest_with_a_kept_tag_warns() -> None:
    tags = [tag("latest", 1, "a"), tag("v1", 30, "a"), tag("v0", 30, "b")]
    plan = build_tag_plan(tags, PlanRules(), now=NOW, repository=REPO)
    assert plan.warnings == ("tag 'v1' shares digest aaaaaaaaaaaa with kept tag 'latest': "
                             "deleting it frees no space",)


def test_unknown_digest_warns() -> None:
    broken = TagDetails("broken", "p", "l", None, None, None)
    plan = build_tag_plan([broken], PlanRules(), now=NOW, repository=REPO)
    assert plan.entries[0].action == Action.DELETE and plan.entries[0].digest is None
    assert plan.warnings == ("tag 'broken' has no known digest: apply cannot check what it deletes",)


def test_repeated_tags_use_the_first_listing() -> None:
    plan = build_tag_plan([tag("v1", 1, "a"), tag("v1", 1, "b")], PlanRules(), now=NOW, repository=REPO)
    assert [(e.tag, e.digest) for e in plan.entries] == [("v1", digest("a"))]
    assert plan.warnings == ("tag 'v1' was listed twice; the first listing is used",)


def test_plan_fields_and_round_trip() -> None:
    rules = PlanRules(keep_first=2, keep_regexes=("v.*",), delete_regex=".*", older_than=timedelta(days=90),
                      keep_semver_latest=3)
    plan = build_tag_plan([tag("b", 100), tag("a", 200)], rules, now=NOW, repository=REPO)
    assert (plan.project_id, plan.project_path, plan.repository_id, plan.repository_path,
            plan.repository_location, plan.created_at) == (
        7, "group/app", 3, "group/app/api", "registry.example.com/group/app/api", NOW)
    assert [e.tag for e in plan.entries] == ["a", "b"]  # name order
    assert plan.entries[0].total_size == 100 and plan.entries[0].created_at == NOW - timedelta(days=200)
    assert dict(plan.rules) == {"keep_latest": True, "keep_first": 2, "keep_regexes": ["v.*"],
                                "delete_regex": ".*", "older_than_seconds": 7776000,
                                "keep_semver_latest": 3, "regex_match": "full"}
    assert Plan.from_json(plan.to_json()) == plan


def test_project_path_for_root_image_and_given_project() -> None:
    root = Repository(id=1, name="", path="group/app", project_id=7, location="r/group/app")
    assert build_tag_plan([], PlanRules(), now=NOW, repository=root).project_path == "group/app"
    project = Project(id=7, path_with_namespace="Group/App")
    assert build_tag_plan([], PlanRules(), now=NOW, repository=REPO, project=project).project_path == "Group/App"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep_regexes": ("(",)}, "keep regex is an invalid regexp: missing ): ( (pattern `(`;"),
        ({"keep_regexes": ("(?=v)x",)}, "keep regex is an invalid regexp: invalid perl operator: (?= (pattern `(?=v)x`;"),
        ({"delete_regex": "(a"}, "delete regex is an invalid regexp: missing ): (a (pattern `(a`;"),
        ({"delete_regex": ""}, "the delete regex is empty and would match no tag"),
        ({"keep_regexes": ("",)}, "the keep regex is empty"),
        ({"keep_first": 0}, "keep_first must be a whole number of 1 or more, not 0"),
        ({"keep_first": -1}, "keep_first must be a whole number of 1 or more, not -1"),
        ({"keep_semver_latest": True}, "keep_semver_latest must be a whole number"),
        ({"older_than": timedelta(days=-1)}, "older_than must not be negative"),
    ],
)
def test_invalid_rules(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        PlanRules(**kwargs)
    assert message in caught.value.one_line()


def test_rules_are_frozen_and_comparable() -> None:
    assert PlanRules(keep_regexes=["a"]) == PlanRules(keep_regexes=("a",))
    with pytest.raises(AttributeError):
        PlanRules().keep_first = 3  # type: ignore[misc]


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(days=90), "90d"), (timedelta(hours=36), "1d 12h"), (timedelta(minutes=45), "45m"),
    (timedelta(0), "0s"), (timedelta(seconds=90), "1m 30s")])
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


# plan_from_list

CURRENT = {t.name: t for t in [tag("v1", 30, "a"), tag("v2", 20, "b"), tag("latest", 1, "b"),
                               tag("multi", 1, "1"), tag("multi-amd64", 1, "2")]}


def test_plan_from_list_records_current_digests_and_absent_tags() -> None:
    plan = plan_from_list(["v2", "v1", "gone", "v1"], CURRENT, REPO, now=NOW, source="list.txt")
    assert [(e.tag, e.digest, e.action.value, e.reason) for e in plan.entries] == [
        ("gone", None, "skip", "already absent"),
        ("v1", digest("a"), "delete", "listed in list.txt"),
        ("v2", digest("b"), "delete", "listed in list.txt"),
    ]
    assert plan.entries[1].created_at == CURRENT["v1"].created_at
    assert plan.entries[1].total_size == 100
    assert dict(plan.rules) == {"list_file": "list.txt"}
    assert plan.created_at == NOW and plan.repository_path == "group/app/api"
    assert plan.warnings == ("tag 'v2' shares digest bbbbbbbbbbbb with kept tag 'latest': "
                             "deleting it frees no space",)
    assert Plan.from_json(plan.to_json()) == plan


def test_plan_from_list_warns_but_obeys_for_a_child_of_a_staying_index() -> None:
    plan = plan_from_list(["multi-amd64"], CURRENT, REPO, now=NOW, index_children=CHILDREN)
    assert plan.entries[0].action == Action.DELETE
    assert plan.warnings == ("tag 'multi-amd64' points to a manifest of kept index tag 'multi': "
                             "only the tag goes, the manifest stays",)


def test_plan_from_list_warns_about_an_index_left_to_gc() -> None:
    plan = plan_from_list(["multi", "multi-amd64"], CURRENT, REPO, now=NOW, index_children=CHILDREN)
    assert plan.warnings == ("deleting index tag 'multi' leaves 2 child manifest(s) untagged, "
                             "for garbage collection to remove",)


def test_plan_from_an_empty_list() -> None:
    plan = plan_from_list([], CURRENT, REPO, now=NOW)
    assert plan.entries == () and plan.warnings == ()
    assert json.loads(plan.to_json())["entries"] == []


def pushed(name: str, first_push_days: float, last_push_days: float | None) -> TagDetails:
    """A tag as GitLab's registry with its database lists it: created_at is its FIRST push,
    updated_at its last (set when the tag was re-pointed)."""
    return TagDetails(name=name, path=f"g/p:{name}", location=f"reg.test/g/p:{name}", digest=digest(name[0]),
                      created_at=NOW - timedelta(days=first_push_days), total_size=1,
                      updated_at=None if last_push_days is None else NOW - timedelta(days=last_push_days),
                      push_times=True)


@pytest.mark.parametrize(
    "tags, rules, deleted",
    [
        # `main` first pushed 250 days ago, re-pushed today: new, whatever its first push
        ([pushed("main", 250, 0), pushed("old", 250, None)], PlanRules(older_than=timedelta(days=30)), {"old"}),
        # keep-first ranks by the last push too: `main` is the newest
        ([pushed("main", 250, 0), pushed("b", 5, None), pushed("c", 6, None)], PlanRules(keep_first=1), {"b", "c"}),
        ([pushed("main", 250, 100), pushed("b", 5, None)], PlanRules(keep_first=1), {"main"}),
    ],
)
def test_age_rules_read_the_last_push_on_gitlabs_registry(tags, rules, deleted):
    plan = build_tag_plan(tags, rules, repository=REPO, now=NOW)
    assert {e.tag for e in plan.entries if e.action is Action.DELETE} == deleted
    main = next(e for e in plan.entries if e.tag == "main")
    # The plan records the date the rule read, and says which date it is.
    assert main.created_at == next(t.age_at for t in tags if t.name == "main")
    if rules.older_than:
        assert "pushed" in main.reason
