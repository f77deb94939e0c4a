"""Referrers follow their subject (glcr/referrers): which tag names are referrers, and what a
deletion does to them. Tables."""

from __future__ import annotations

import pytest

from glcr.models import MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST
from glcr.referrers import cascade, parse_referrer_tag, referrer_map, warn_gitlab_run

H = "0123456789abcdef" * 4  # 64 lowercase hex
D = f"sha256:{H}"


@pytest.mark.parametrize("name, media_type, expected", [
    (f"sha256-{H}.sig", None, ("cosign", "sig")),
    (f"sha256-{H}.att", MEDIA_OCI_MANIFEST, ("cosign", "att")),
    (f"sha256-{H}.sbom", None, ("cosign", "sbom")),
    (f"sha256-{H}", MEDIA_OCI_INDEX, ("referrers-tag", "index")),
    (f"sha256-{H}", None, ("referrers-tag", "index")),  # the schema reserves the name
    # malformed: ordinary tags, never taken for referrers
    (f"sha256-{H}", MEDIA_DOCKER_MANIFEST, None),  # a referrers tag is an index
    (f"sha256-{H}", MEDIA_OCI_MANIFEST, None),
    (f"sha256-{H}.sig.bak", None, None),
    (f"sha256-{H}.SIG", None, None),
    (f"sha256-{H}.signature", None, None),
    (f"sha256-{H}.att2", None, None),
    (f"sha256-{H}.", None, None),
    (f"sha256-{H}-old.sig", None, None),
    (f"sha256-{H[:-1]}.sig", None, None),  # 63 hex
    (f"sha256-{H}0.sig", None, None),  # 65 hex
    (f"sha256-{H.upper()}.sig", None, None),  # registries and cosign write lowercase
    (f"sha256-{H[:-1]}g.sig", None, None),  # not hex
    (f"SHA256-{H}.sig", None, None),
    (f"sha512-{H}{H}.sig", None, None),
    (f"sha256_{H}.sig", None, None),
    (f"xsha256-{H}.sig", None, None),
    (f"v1-sha256-{H}.sig", None, None),
    ("sha256-.sig", None, None),
    ("sha256-", None, None),
    ("latest", None, None),
    ("v1.0.sig", None, None),
])
def test_referrer_schemes(name, media_type, expected):
    parsed = parse_referrer_tag(name, media_type)
    if expected is None:
        assert parsed is None
    else:
        assert (parsed.scheme, parsed.kind, parsed.subject, parsed.tag) == (*expected, D, name)


def d(c: str) -> str:
    return "sha256:" + c * 64


def sig(c: str, suffix: str = "sig") -> str:
    return f"sha256-{c * 64}.{suffix}"


# Repository: image A (v1, stable), image B (v2), index X (multi) with child C, SBOM S (tagged,
# subject A), signatures of A, B, C, S, and of a digest with no tag (U).
TAGS = {"v1": d("a"), "stable": d("a"), "v2": d("b"), "multi": d("e"),
        sig("a"): d("1"), sig("b"): d("2"), sig("c"): d("3"), sig("a", "sbom"): d("5"), sig("5"): d("6"),
        sig("f"): d("7")}
CHILDREN = {d("e"): frozenset({d("c")})}
REFS = referrer_map(TAGS)


def test_referrer_map_by_name_and_by_subject_field():
    assert REFS == {sig("a"): d("a"), sig("b"): d("b"), sig("c"): d("c"), sig("a", "sbom"): d("a"),
                    sig("5"): d("5"), sig("f"): d("f")}
    with_subject = referrer_map({"v1": d("a"), "app.sbom": d("9")}, subjects={"app.sbom": d("a"), "gone": d("a")})
    assert with_subject == {"app.sbom": d("a")}
    assert referrer_map({sig("a"): d("a")}) == {}  # names its own digest: not a referrer


@pytest.mark.parametrize("deleting, keep_orphans, spared, orphaned", [
    # GitLab deletes the signature of a kept image: glcr keeps it
    ({sig("a")}, False, {sig("a")}, set()),
    # one of two tags of A goes: A keeps a tag, its referrers stay
    ({"stable"}, False, set(), set()),
    # B loses its only tag: its signature follows
    ({"v2"}, False, set(), {sig("b")}),
    ({"v2"}, True, set(), set()),
    # A loses both tags: signature, SBOM, and the SBOM's own signature follow (fixpoint)
    ({"v1", "stable"}, False, set(), {sig("a"), sig("a", "sbom"), sig("5")}),
    # the index goes: the signature of its child goes too
    ({"multi"}, False, set(), {sig("c")}),
    # the index stays: the signature of its child is kept
    ({sig("c")}, False, {sig("c")}, set()),
    # a signature of a digest that had no tag is the policy's to decide
    ({sig("f")}, False, set(), set()),
    # both the image and its signature selected: nothing to change
    ({"v2", sig("b")}, False, set(), set()),
    # keep_orphans still never deletes a referrer of a kept image
    ({sig("a"), "v2"}, True, {sig("a")}, set()),
])
def test_cascade(deleting, keep_orphans, spared, orphaned):
    found = cascade(TAGS, deleting, REFS, keep_orphans=keep_orphans, children=CHILDREN)
    assert set(found.spared) == spared
    assert set(found.orphaned) == orphaned


def test_warnings_of_gitlabs_own_run():
    warnings = warn_gitlab_run(TAGS, {sig("a"), "v2"}, REFS, children=CHILDREN)
    assert warnings.deleted_while_kept == ((sig("a"), d("a"), ("stable", "v1")),)
    assert warnings.left_behind == ((("v2",), d("b"), (sig("b"),)),)
    assert not warn_gitlab_run(TAGS, {"stable"}, REFS, children=CHILDREN)


def test_group_by_image_for_tags_list():
    from glcr.referrers import group_by_image

    grouped, subject_of = group_by_image(TAGS)
    assert grouped == {"v1": (sig("a", "sbom"), sig("a")), "stable": (sig("a", "sbom"), sig("a")),
                       "v2": (sig("b"),)}
    assert subject_of[sig("f")] == d("f") and sig("5") in subject_of and "multi" not in subject_of


def test_cascade_on_gitlab_decisions_keeps_and_adds_with_reasons_and_a_last_batch():
    from datetime import datetime, timedelta, timezone

    from glcr.policy import CleanupParams, PolicyTag, Variant, decide
    from glcr.policy.types import Action, Reason
    from glcr.referrers.cleanup import apply_cascade

    now = datetime(2026, 12, 1, tzinfo=timezone.utc)
    ages = {"v1": (d("a"), 100), sig("a"): (d("1"), 100), "old": (d("b"), 100), sig("b"): (d("2"), 3)}
    tags = [PolicyTag(n, now - timedelta(days=a), dg, 10) for n, (dg, a) in ages.items()]
    result = decide(tags, CleanupParams(name_regex="(?:old|sha256)-.*|old", keep_n=1, older_than="30d"),
                    variant=Variant.GITLAB_API, now=now)
    gitlab = {x.name for x in result.decisions if x.action is Action.DELETE}
    assert gitlab == {"old", sig("a")}
    digests = {n: dg for n, (dg, _) in ages.items()}
    after = apply_cascade(result, cascade(digests, gitlab, referrer_map(digests)))
    by_name = {x.name: x for x in after.decisions}
    assert by_name[sig("a")].reason is Reason.REFERRER_OF_KEPT and by_name[sig("a")].action is Action.KEEP
    assert by_name[sig("b")].reason is Reason.ORPHANED_REFERRER and by_name[sig("b")].action is Action.DELETE
    assert "v1" in by_name[sig("a")].detail and "old" in by_name[sig("b")].detail
    assert (after.summary.delete, after.summary.keep) == (2, 2)
    if after.delete_batches:
        assert after.delete_batches[-1] == (sig("b"),)
