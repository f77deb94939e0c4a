"""glcr.policy.decide (stages, explanations, estimate) against GitLab's own spec tables, then the rules one by one.

The two fixtures reproduce the `before` blocks of
spec/services/projects/container_repository/gitlab/cleanup_tags_service_spec.rb and
spec/services/projects/container_repository/third_party/cleanup_tags_service_spec.rb; the
params come from the shared examples (spec/support/shared_examples/.../cleanup_tags_service
shared examples: 'when regex matching everything is specified', 'when keeping only N tags', ...)
and `delete_expectations` are the batches GitLab hands to its delete service.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from glcr.errors import InvalidInputError
from glcr.models import RegistryKind, TagDetails
from glcr.policy import (
    Action,
    CleanupParams,
    PolicyTag,
    Reason,
    Variant,
    decide,
    estimate_runs,
)
from glcr.policy.explanations import ordinal

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MONTH = timedelta(days=30)  # the spec's 1.month.ago; only "older than 1 day" matters

# gitlab/cleanup_tags_service_spec.rb stub_tags, in the order the spec's pages are cut.
GITLAB_TAGS = [
    PolicyTag("latest", NOW - HOUR),
    PolicyTag("A", NOW - HOUR),
    PolicyTag("Ba", NOW - 5 * DAY),  # the spec sets updated_at for B*: the caller passes push time
    PolicyTag("Bb", NOW - 6 * DAY),
    PolicyTag("C", NOW - MONTH),
    PolicyTag("D", None),
    PolicyTag("E", None),
]
# third_party/cleanup_tags_service_spec.rb: Ba and Bb share config B (5 days), D's config has no
# date, E has no manifest.
THIRD_PARTY_TAGS = [
    PolicyTag("latest", NOW - HOUR, "sha256:configA"),
    PolicyTag("A", NOW - HOUR, "sha256:configA"),
    PolicyTag("Ba", NOW - 5 * DAY, "sha256:configB"),
    PolicyTag("Bb", NOW - 5 * DAY, "sha256:configB"),
    PolicyTag("C", NOW - MONTH, "sha256:configC"),
    PolicyTag("D", None, "sha256:configD"),
    PolicyTag("E", None, None),
]

EVERYTHING = {"name_regex_delete": ".*"}
EVERYTHING_DEPRECATED = {"name_regex": ".*"}
EVERYTHING_NOT_LATEST = {"name_regex_delete": ".*", "keep_latest": False}
SPECIFIC = {"name_regex_delete": "C|D"}
SPECIFIC_KEEP = {"name_regex_delete": "C|D", "name_regex_keep": "C"}
DELETE_OVER_DEPRECATED = {"name_regex": "C|D", "name_regex_delete": "D"}
ALLOW_REGEX = {"name_regex_delete": ".*", "name_regex_keep": "B.*"}
KEEP_ONE = {"name_regex": "A|B.*|C", "keep_n": 1}
NO_KEEP_N = {"name_regex": "A|B.*|C"}
KEEP_THREE = {"name_regex_delete": ".*", "keep_n": 3}
OLDER_1_DAY = {"name_regex_delete": ".*", "older_than": "1 day"}
ALL_PARAMS = {"name_regex_delete": ".*", "keep_n": 1, "older_than": "1 day"}
NO_PARAMS: dict = {}


def batches(tags, params, variant, **kw):
    result = decide(tags, CleanupParams(**params), variant=variant, now=NOW, **kw)
    return [list(b) for b in result.delete_batches]


@pytest.mark.parametrize(
    "params, expected",
    [
        (EVERYTHING, [["A"], ["Ba", "Bb"], ["C", "D"], ["E"]]),
        (EVERYTHING_DEPRECATED, [["A"], ["Ba", "Bb"], ["C", "D"], ["E"]]),
        (EVERYTHING_NOT_LATEST, [["latest", "A"], ["Ba", "Bb"], ["C", "D"], ["E"]]),
        (SPECIFIC, [["C", "D"]]),
        (SPECIFIC_KEEP, [["D"]]),
        (DELETE_OVER_DEPRECATED, [["D"]]),
        (ALLOW_REGEX, [["A"], ["C", "D"], ["E"]]),
        (KEEP_ONE, [["Bb"]]),
        (NO_KEEP_N, [["A"], ["Ba", "Bb"], ["C"]]),
        (KEEP_THREE, []),
        (OLDER_1_DAY, [["Ba", "Bb"], ["C"]]),
        (ALL_PARAMS, [["Bb"], ["C"]]),
        (NO_PARAMS, []),
    ],
)
def test_gitlab_spec_with_several_tags_pages(params, expected):
    # The spec stubs TAGS_PAGE_SIZE = 2 and cuts pages in its stub order, hence listing_order;
    # it runs the service once, hence converge=False (one run).
    got = batches(GITLAB_TAGS, params, Variant.GITLAB_API, page_size=2, listing_order="input", converge=False)
    assert got == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        (EVERYTHING, [["A", "Ba", "Bb", "C", "D", "E"]]),
        (EVERYTHING_DEPRECATED, [["A", "Ba", "Bb", "C", "D", "E"]]),
        (SPECIFIC, [["C", "D"]]),
        (SPECIFIC_KEEP, [["D"]]),
        (DELETE_OVER_DEPRECATED, [["D"]]),
        (ALLOW_REGEX, [["A", "C", "D", "E"]]),
        (KEEP_ONE, [["Ba", "Bb", "C"]]),
        (NO_KEEP_N, [["A", "Ba", "Bb", "C"]]),
        (KEEP_THREE, [["Ba", "Bb", "C"]]),
        (OLDER_1_DAY, [["Ba", "Bb", "C"]]),
        (ALL_PARAMS, [["Ba", "Bb", "C"]]),
        (NO_PARAMS, []),
    ],
)
@pytest.mark.parametrize("listing_order", ["input", "name"])
def test_gitlab_spec_with_a_single_tags_page(params, expected, listing_order):
    got = batches(GITLAB_TAGS, params, Variant.GITLAB_API, listing_order=listing_order)
    assert got == expected


@pytest.mark.parametrize(
    "params, expected",
    [
        (EVERYTHING, [["A", "Ba", "Bb", "C", "D", "E"]]),
        (EVERYTHING_DEPRECATED, [["A", "Ba", "Bb", "C", "D", "E"]]),
        (SPECIFIC, [["C", "D"]]),
        (SPECIFIC_KEEP, [["D"]]),
        (DELETE_OVER_DEPRECATED, [["D"]]),
        (ALLOW_REGEX, [["A", "C", "D", "E"]]),
        # Ba and Bb are equally old: the order is the spec's, `%w[Bb Ba C]`.
        (KEEP_ONE, [["Bb", "Ba", "C"]]),
        (NO_KEEP_N, [["A", "Ba", "Bb", "C"]]),
        (KEEP_THREE, [["Bb", "Ba", "C"]]),
        (OLDER_1_DAY, [["Ba", "Bb", "C"]]),
        (ALL_PARAMS, [["Bb", "Ba", "C"]]),
        (NO_PARAMS, []),
    ],
)
def test_third_party_spec(params, expected):
    assert batches(THIRD_PARTY_TAGS, params, Variant.THIRD_PARTY) == expected


@pytest.mark.parametrize(
    "max_list_size, truncated, sampled, deleted_in_run",
    [
        # third_party spec 'when truncating the tags list': 7 tags, keep_n 1, `.*`
        (10, False, 6, 5),
        (3, True, 4, 3),  # a sample of max_list_size + keep_n; keep_n keeps 1 of it
        (0, False, 6, 5),  # 0 disables truncation
    ],
)
def test_third_party_spec_truncation(max_list_size, truncated, sampled, deleted_in_run):
    params = CleanupParams(name_regex_delete=".*", keep_n=1)
    result = decide(
        THIRD_PARTY_TAGS, params, variant=Variant.THIRD_PARTY, now=NOW,
        max_list_size=max_list_size, rng=random.Random(42),
    )
    s = result.summary
    assert s.candidates == 6  # before_truncate_size
    assert s.truncated is truncated
    assert len(result.simulated_run.sampled) == sampled  # after_truncate_size
    assert len(result.simulated_run.deleted) == deleted_in_run  # before_delete_size
    assert result.simulated_run.truncated is truncated
    # The decisions are the outcome of repeated runs: everything but the newest (E, no date).
    assert {d.name for d in result.deleted()} == {"A", "Ba", "Bb", "C", "D"}
    assert s.runs_needed >= (2 if truncated else 1)


def decisions_by_name(tags, params, variant=Variant.GITLAB_API, **kw):
    result = decide(tags, CleanupParams(**params), variant=variant, now=NOW, **kw)
    return {d.name: d for d in result.decisions}, result


@pytest.mark.parametrize("variant", list(Variant))
def test_every_tag_gets_a_decision_in_input_order(variant):
    tags = list(reversed(GITLAB_TAGS))
    result = decide(tags, CleanupParams(**ALL_PARAMS), variant=variant, now=NOW)
    assert [d.name for d in result.decisions] == [t.name for t in tags]
    assert result.summary.tags == 7
    assert result.summary.delete + result.summary.keep == 7
    assert sum(result.summary.by_reason.values()) == 7


@pytest.mark.parametrize("variant", list(Variant))
@pytest.mark.parametrize(
    "params, name, reason",
    [
        (ALL_PARAMS, "latest", Reason.LATEST),
        (SPECIFIC, "A", Reason.NOT_MATCHING),
        (ALLOW_REGEX, "Ba", Reason.MATCHES_KEEP_REGEX),
        (ALL_PARAMS, "E", Reason.WITHIN_KEEP_N),  # no date counts as now: the newest
        (ALL_PARAMS, "D", Reason.NO_DATE),
        (ALL_PARAMS, "A", Reason.NEWER_THAN_OLDER_THAN),
        (ALL_PARAMS, "C", Reason.EXPIRED),
        (EVERYTHING_NOT_LATEST, "latest", Reason.EXPIRED),
        (NO_PARAMS, "C", Reason.NOT_MATCHING),
    ],
)
def test_reasons(variant, params, name, reason):
    by_name, _ = decisions_by_name(GITLAB_TAGS, params, variant)
    decision = by_name[name]
    assert decision.reason is reason
    assert decision.action is reason.action
    assert decision.action == ("delete" if reason is Reason.EXPIRED else "keep")
    assert reason.text
    assert decision.detail


def test_latest_is_kept_even_if_it_does_not_match():
    by_name, _ = decisions_by_name(GITLAB_TAGS, SPECIFIC)
    assert by_name["latest"].reason is Reason.LATEST


def test_keep_regex_beats_delete_regex():
    params = {"name_regex_delete": "v.*", "name_regex_keep": "v1\\..*"}
    tags = [PolicyTag("v1.0", NOW - 9 * DAY), PolicyTag("v2.0", NOW - 9 * DAY)]
    by_name, _ = decisions_by_name(tags, params)
    assert by_name["v1.0"].reason is Reason.MATCHES_KEEP_REGEX
    assert by_name["v2.0"].reason is Reason.EXPIRED


@pytest.mark.parametrize(
    "name, deleted",
    [("C", True), ("D", True), ("Cx", True), ("xD", True), ("xC", False), ("Dx", False), ("CxD", True)],
)
def test_top_level_alternation_is_anchored_by_concatenation(name, deleted):
    by_name, _ = decisions_by_name([PolicyTag(name, NOW - DAY)], SPECIFIC)
    assert (by_name[name].action is Action.DELETE) is deleted


@pytest.mark.parametrize(
    "params, deleted",
    [
        ({"name_regex_delete": "", "name_regex": ".*"}, set()),  # "" is truthy in Ruby and wins
        ({"name_regex_delete": None, "name_regex": ".*"}, {"A", "B"}),
        ({"name_regex_delete": ".*", "name_regex": ""}, {"A", "B"}),
        ({"name_regex_keep": ""}, set()),
        ({"name_regex_delete": ".*", "name_regex_keep": ""}, {"A", "B"}),  # "" keeps nothing
    ],
)
def test_ruby_truthiness_of_regex_params(params, deleted):
    tags = [PolicyTag("A", NOW - DAY), PolicyTag("B", NOW - DAY)]
    _, result = decisions_by_name(tags, params)
    assert {d.name for d in result.deleted()} == deleted


def test_older_than_is_strict():
    cutoff = NOW - DAY
    tags = [
        PolicyTag("at", cutoff),
        PolicyTag("before", cutoff - timedelta(microseconds=1)),
        PolicyTag("after", cutoff + timedelta(microseconds=1)),
    ]
    by_name, result = decisions_by_name(tags, {"name_regex_delete": ".*", "older_than": "1d"})
    assert result.summary.cutoff == cutoff
    assert by_name["at"].reason is Reason.NEWER_THAN_OLDER_THAN
    assert by_name["after"].reason is Reason.NEWER_THAN_OLDER_THAN
    assert by_name["before"].reason is Reason.EXPIRED


@pytest.mark.parametrize(
    "older_than, cutoff",
    [("1h", NOW - HOUR), ("1month", NOW - 30 * DAY), ("2 weeks", NOW - 14 * DAY), ("1m", NOW - timedelta(minutes=1))],
)
def test_older_than_goes_through_chronic_duration(older_than, cutoff):
    _, result = decisions_by_name(GITLAB_TAGS, {"name_regex_delete": ".*", "older_than": older_than})
    assert result.summary.cutoff == cutoff


@pytest.mark.parametrize("variant", list(Variant))
def test_keep_n_zero_keeps_nothing(variant):
    by_name, result = decisions_by_name(GITLAB_TAGS, {"name_regex_delete": ".*", "keep_n": 0}, variant)
    assert {d.name for d in result.deleted()} == {"A", "Ba", "Bb", "C", "D", "E"}
    assert by_name["E"].rank == 1  # ranked, but keep_n=0 keeps no rank


@pytest.mark.parametrize("variant", list(Variant))
def test_tags_without_date_count_as_newest_for_keep_n(variant):
    tags = [PolicyTag("old", NOW - 100 * DAY), PolicyTag("nodate", None), PolicyTag("new", NOW - HOUR)]
    by_name, _ = decisions_by_name(tags, {"name_regex_delete": ".*", "keep_n": 1}, variant)
    assert by_name["nodate"].reason is Reason.WITHIN_KEEP_N
    assert by_name["nodate"].rank == 1
    assert by_name["new"].rank == 2
    assert by_name["new"].reason is Reason.EXPIRED  # no older_than: beyond keep_n is enough


def test_a_future_date_is_newer_than_no_date():
    tags = [PolicyTag("future", NOW + DAY), PolicyTag("nodate", None)]
    by_name, _ = decisions_by_name(tags, {"name_regex_delete": ".*", "keep_n": 1})
    assert by_name["future"].reason is Reason.WITHIN_KEEP_N
    assert by_name["nodate"].reason is Reason.EXPIRED


@pytest.mark.parametrize("variant", list(Variant))
def test_equal_times_keep_the_later_name(variant):
    same = NOW - 10 * DAY
    tags = [PolicyTag("a", same), PolicyTag("c", same), PolicyTag("b", same)]
    by_name, result = decisions_by_name(tags, {"name_regex_delete": ".*", "keep_n": 1}, variant)
    assert [by_name[n].rank for n in "cba"] == [1, 2, 3]
    assert by_name["c"].reason is Reason.WITHIN_KEEP_N
    assert list(result.delete_batches[0]) == ["b", "a"]


def test_keep_n_applies_per_page_for_the_gitlab_api_variant():
    # 6 tags in name order, pages of 3: keep_n=1 keeps the newest of each page.
    tags = [PolicyTag(f"t{i}", NOW - (10 + i) * DAY) for i in range(6)]
    params = {"name_regex_delete": ".*", "keep_n": 1, "older_than": "1d"}
    by_name, result = decisions_by_name(tags, params, Variant.GITLAB_API, page_size=3, converge=False)
    assert {d.name for d in result.kept()} == {"t0", "t3"}
    assert [by_name[f"t{i}"].page for i in range(6)] == [1, 1, 1, 2, 2, 2]
    assert by_name["t4"].rank == 2
    assert "2nd newest on page 2 of 2" in by_name["t4"].detail
    assert "within keep_n=1" in by_name["t3"].detail
    assert result.summary.pages == 2
    assert any("per page" in note for note in result.summary.notes)
    # The same repository on a third-party registry keeps only the newest overall.
    _, third = decisions_by_name(tags, params, Variant.THIRD_PARTY, page_size=3)
    assert {d.name for d in third.kept()} == {"t0"}
    assert third.summary.pages == 1


def test_pages_follow_name_byte_order():
    # Upper case sorts before lower case; "latest" lands on the last page.
    tags = [PolicyTag(n, NOW - 9 * DAY) for n in ["latest", "b", "B", "a", "A"]]
    by_name, _ = decisions_by_name(tags, {"name_regex_delete": ".*"}, Variant.GITLAB_API, page_size=2)
    assert {n: d.page for n, d in by_name.items()} == {"A": 1, "B": 1, "a": 2, "b": 2, "latest": 3}


def test_detail_texts():
    params = {"name_regex_delete": ".*", "keep_n": 5, "older_than": "90d"}
    tags = [PolicyTag(f"v{i}", NOW - (100 + i) * DAY) for i in range(8)]
    by_name, _ = decisions_by_name(tags, params)
    assert by_name["v2"].detail == "3rd newest, within keep_n=5"
    assert by_name["v6"].detail == (
        "matches name_regex_delete `.*`, 7th newest so beyond keep_n=5 and older than 90d"
    )
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111, 112)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th", "112th",
    ]


def test_decision_to_dict_and_equality():
    a, _ = decisions_by_name(GITLAB_TAGS, ALL_PARAMS)
    b, _ = decisions_by_name(GITLAB_TAGS, ALL_PARAMS)
    assert a["C"] == b["C"]
    data = a["C"].to_dict()
    assert data["action"] == "delete" and data["reason"] == "expired"
    assert data["created_at"] == (NOW - MONTH).isoformat()
    assert "context" not in data and data["detail"]


def test_truncation_summary_and_seeded_simulation():
    # 500 candidates, max_list_size 100, keep_n 10: GitLab samples 110 per run.
    tags = [PolicyTag(f"t{i:04d}", NOW - (i + 1) * HOUR) for i in range(500)]
    params = CleanupParams(name_regex_delete=".*", keep_n=10)
    run = lambda seed: decide(  # noqa: E731
        tags, params, variant=Variant.THIRD_PARTY, now=NOW, max_list_size=100, rng=random.Random(seed)
    )
    result = run(7)
    s = result.summary
    assert s.truncated and s.sample_size == 110 and s.candidates == 500
    assert s.delete == 490  # the eventual outcome: all but the global newest 10
    assert {d.name for d in result.kept()} == {f"t{i:04d}" for i in range(10)}
    assert s.runs_needed > 3
    assert any("random sample of 110" in note for note in s.notes)
    sim = result.simulated_run
    assert len(sim.sampled) == 110 and len(sim.deleted) == 100
    assert set(sim.deleted) <= {d.name for d in result.deleted()}
    assert run(7).simulated_run == sim  # seeded: reproducible
    assert run(8).simulated_run.sampled != sim.sampled


def test_no_truncation_when_candidates_fit():
    tags = [PolicyTag(f"t{i}", NOW - (i + 1) * DAY) for i in range(20)]
    result = decide(
        tags, CleanupParams(name_regex_delete=".*", keep_n=10), variant=Variant.THIRD_PARTY,
        now=NOW, max_list_size=10,
    )
    assert not result.summary.truncated and result.summary.runs_needed == 1


@pytest.mark.parametrize(
    "candidates, deletable, sample, keep_n, low, high",
    [
        (100, 0, 50, 5, 0, 0),
        (40, 30, 50, 5, 1, 1),  # fits in one sample
        (1000, 990, 210, 10, 5, 20),
        (100_000, 10, 200, 0, 500, 5000),  # a few deletable tags hide among many
    ],
)
def test_estimate_runs(candidates, deletable, sample, keep_n, low, high):
    runs, capped = estimate_runs(candidates, deletable, sample, keep_n)
    assert low <= runs <= high and not capped


def test_bytes_freed_counts_each_digest_once_and_skips_digests_still_tagged():
    old = NOW - 100 * DAY
    tags = [
        PolicyTag("a1", old, "sha256:a", 100),
        PolicyTag("a2", old, "sha256:a", 100),  # same image as a1: counted once
        PolicyTag("b", old, "sha256:b", 50),
        PolicyTag("keep-b", old, "sha256:b", 50),  # kept tag on b's image: b frees nothing
        PolicyTag("c", old, "sha256:c", None),  # size unknown
        PolicyTag("d", old, None, 7),  # no digest: counted on its own
    ]
    _, result = decisions_by_name(tags, {"name_regex_delete": ".*", "name_regex_keep": "keep-.*"})
    s = result.summary
    assert s.delete == 5
    assert s.bytes_freed_estimate == 107
    assert s.digests_freed == 2 and s.digests_still_tagged == 1 and s.sizes_unknown == 1
    assert any("garbage collection" in note for note in s.notes)


def test_accepts_tag_details_and_naive_datetimes():
    details = [
        TagDetails("old", "g/p:old", "r/g/p:old", "sha256:1", datetime(2024, 1, 1), 10),
        TagDetails("new", "g/p:new", "r/g/p:new", "sha256:2", datetime(2024, 5, 31, 12), 10),
    ]
    result = decide(
        details, CleanupParams(name_regex_delete=".*", older_than="7d"),
        variant=Variant.GITLAB_API, now=datetime(2024, 6, 1, 12),
    )
    assert [d.action for d in result.decisions] == [Action.DELETE, Action.KEEP]
    assert result.decisions[0].digest == "sha256:1"
    assert result.decisions[0].created_at.tzinfo is not None


def test_variant_for_registry_kind():
    assert Variant.for_registry(RegistryKind(gitlab_api=True, tag_delete=True)) is Variant.GITLAB_API
    assert Variant.for_registry(RegistryKind(gitlab_api=False, tag_delete=True)) is Variant.THIRD_PARTY


def test_params_from_policy_use_name_regex():
    params = CleanupParams.from_policy(
        {"enabled": True, "cadence": "1d", "keep_n": 5, "older_than": "90d", "name_regex": ".*", "name_regex_keep": "main"}
    )
    assert params == CleanupParams(name_regex=".*", name_regex_keep="main", keep_n=5, older_than="90d")
    assert params.delete_regex == ".*" and params.delete_field == "name_regex"
    bulk = CleanupParams.from_bulk_delete({"name_regex_delete": "v.*", "keep_n": "3"})
    assert bulk.keep_n == 3 and bulk.delete_field == "name_regex_delete"


@pytest.mark.parametrize(
    "params, kwargs",
    [
        (CleanupParams(name_regex_delete="(a"), {}),
        (CleanupParams(name_regex_delete=".*", name_regex_keep="(?<=x)"), {}),
        (CleanupParams(name_regex_delete=".*", older_than="soon"), {}),
        (CleanupParams(name_regex_delete=".*", older_than=""), {}),
        (CleanupParams(name_regex_delete=".*", keep_n=-1), {}),
        (CleanupParams(name_regex_delete=".*"), {"page_size": 0}),
        (CleanupParams(name_regex_delete=".*"), {"max_list_size": -1}),
        (CleanupParams(name_regex_delete=".*"), {"listing_order": "date"}),
    ],
)
def test_invalid_input_is_refused(params, kwargs):
    with pytest.raises(InvalidInputError):
        decide(GITLAB_TAGS, params, variant=Variant.GITLAB_API, now=NOW, **kwargs)


@pytest.mark.parametrize("listing_order", ["name", "input"])
def test_duplicate_names_are_refused(listing_order):
    with pytest.raises(InvalidInputError):
        decide(
            [PolicyTag("a", None), PolicyTag("a", None)], CleanupParams(name_regex_delete=".*"),
            variant=Variant.GITLAB_API, now=NOW, listing_order=listing_order,
        )


def test_empty_repository():
    result = decide([], CleanupParams(name_regex_delete=".*"), variant=Variant.GITLAB_API, now=NOW)
    assert result.decisions == () and result.summary.delete == 0 and result.summary.runs_needed == 0


def test_any_object_with_name_and_created_at_will_do():
    class Bare:
        def __init__(self, name, created_at):
            self.name, self.created_at = name, created_at

    result = decide(
        [Bare("a", NOW - 9 * DAY), Bare("b", None)], CleanupParams(name_regex_delete=".*", older_than="1d"),
        variant="third_party", now=NOW,
    )
    assert [(d.name, d.reason, d.digest, d.total_size) for d in result.decisions] == [
        ("a", Reason.EXPIRED, None, None),
        ("b", Reason.NO_DATE, None, None),
    ]
    assert result.summary.variant is Variant.THIRD_PARTY


@pytest.mark.parametrize(
    "count, page_size, keep_n, first_run, runs, kept",
    [
        # The example, scaled: 2 pages, keep_n per page, then one page keeps keep_n.
        (20, 10, 1, 18, 2, 1),
        (2000, 1000, 10, 1980, 2, 10),
        # 3 pages: run 1 keeps 3, all on one page at run 2, which keeps 1.
        (9, 3, 1, 6, 2, 1),
        # keep_n as large as a page: 2 pages of 4, keep 4 each = 8 left; run 2 keeps 4.
        (8, 4, 4, 0, 1, 8),
        # pages shrink one tag a run: 12 -> 9 -> 7 -> 6 -> 5 -> 4 -> 3 (six runs)
        (12, 4, 3, 3, 6, 3),
        # One page: one run is all there is.
        (5, 10, 2, 3, 1, 2),
    ],
)
def test_gitlab_api_variant_shows_where_repeated_runs_end(count, page_size, keep_n, first_run, runs, kept):
    # Oldest first in name order, every tag old enough: only keep_n decides.
    tags = [PolicyTag(f"t{i:05d}", NOW - 10 * DAY - (count - i) * timedelta(seconds=1)) for i in range(count)]
    params = CleanupParams(name_regex_delete=".*", keep_n=keep_n, older_than="1d")
    one = decide(tags, params, variant=Variant.GITLAB_API, now=NOW, page_size=page_size, converge=False)
    assert one.summary.delete == first_run
    result = decide(tags, params, variant=Variant.GITLAB_API, now=NOW, page_size=page_size)
    assert len(result.kept()) == kept
    # The newest keep_n of the whole repository are what repeated runs leave.
    assert {d.name for d in result.kept()} == {t.name for t in tags[count - kept:]}
    assert result.summary.runs_needed == (runs if result.summary.delete else 0)
    if runs > 1:
        assert result.summary.first_run_delete == first_run
        assert any(f"first run deletes {first_run}" in n for n in result.summary.notes)
        # every deleted tag is in exactly one batch, in the order GitLab's runs hand them over
        assert sorted(n for b in result.delete_batches for n in b) == sorted(d.name for d in result.deleted())
    else:
        assert result.summary.first_run_delete is None
