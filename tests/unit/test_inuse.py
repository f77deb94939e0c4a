"""glcr.inuse: GitLab's slug rules, the tag templates, matching, and the keep decisions."""

from __future__ import annotations

import datetime as dt

import pytest

from glcr.errors import InvalidInputError
from glcr.inuse import (
    ImageInUse,
    InUse,
    at_risk,
    in_use_tags,
    keep_in_use,
    parse_template,
    ref_slug,
    short_sha,
    sources,
    suggest_keep_regex,
)
from glcr.inuse.match import dash_runs
from glcr.policy import CleanupParams, PolicyTag, Variant, decide
from glcr.policy.types import Action, Reason

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SHA = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
SHA2 = "99d03678b90d914dbb1b109132516d71a4a03ea8"


# spec/models/ci/build_spec.rb '#ref_slug' and spec/lib/gitlab/utils_spec.rb '.slugify', verbatim.
@pytest.mark.parametrize("ref, slug", [
    ("master", "master"),
    ("1-foo", "1-foo"),
    ("fix/1-foo", "fix-1-foo"),
    ("fix-1-foo", "fix-1-foo"),
    ("a" * 63, "a" * 63),
    ("a" * 64, "a" * 63),
    ("FOO", "foo"),
    ("-" + "a" * 61 + "-", "a" * 61),
    ("-" + "a" * 62 + "-", "a" * 62),
    ("-" + "a" * 63 + "-", "a" * 62),  # cut to 63 first ("-" + 62 a), then the dash stripped
    ("a" * 62 + " ", "a" * 62),
    ("TEST", "test"),
    ("project_with_underscores", "project-with-underscores"),
    ("namespace/project", "namespace-project"),
    ("a" * 70, "a" * 63),
    ("test_trailing_", "test-trailing"),
    ("feature/Login.Page", "feature-login-page"),  # dots too: CI_COMMIT_REF_SLUG has no dots
    ("v1.2.0", "v1-2-0"),
    ("a" * 62 + "/b", "a" * 62),  # the cut leaves a trailing dash, which goes
])
def test_ref_slug_follows_gitlab(ref, slug):
    assert ref_slug(ref) == slug


def test_short_sha_is_eight_characters():
    assert short_sha(SHA) == "1a2b3c4d"


@pytest.mark.parametrize("tag, runs", [
    ("v1", {"v1"}),
    ("main-1a2b", {"main", "1a2b", "main-1a2b"}),
    ("a-b-c", {"a", "b", "c", "a-b", "b-c", "a-b-c"}),
])
def test_dash_runs(tag, runs):
    assert dash_runs(tag) == runs


HEAD = InUse("deployed to production", sha=SHA, ref="main", source="deployed")
MR = InUse("open merge request !7", sha=SHA2, ref="feature/Login", source="open-mr")
RELEASE = InUse("release v1.2.0", sha=None, ref="v1.2.0", tag="v1.2.0", source="release")


# (tag, item, extra templates, kept?)
@pytest.mark.parametrize("tag, item, templates, kept", [
    (SHA, HEAD, (), True),  # {sha}
    ("1a2b3c4d", HEAD, (), True),  # {short_sha}
    ("main-1a2b3c4d", HEAD, (), True),  # short sha as the last dash part
    ("1a2b3c4d-amd64", HEAD, (), True),  # as the first part
    ("build-1a2b3c4d-arm64", HEAD, (), True),  # as a middle part
    (f"sha-{SHA}", HEAD, (), True),
    ("1a2b3c4", HEAD, (), False),  # 7 characters is not CI_COMMIT_SHORT_SHA
    ("1a2b3c4d5", HEAD, (), False),  # a part must be the whole value
    ("main1a2b3c4d", HEAD, (), False),
    ("main.1a2b3c4d", HEAD, (), False),  # a dot is not a dash: needs a template
    ("main.1a2b3c4d", HEAD, ("{ref_slug}.{short_sha}",), True),
    ("main", HEAD, (), True),  # {ref_slug}, exactly
    ("main-0000aaaa", HEAD, (), False),  # the slug as a part would keep every image of main
    ("main-0000aaaa", HEAD, ("{ref_slug}-*",), True),  # unless asked for
    ("feature-login", MR, (), True),
    ("feature-login-99d03678", MR, (), True),  # by the short sha
    ("Feature-login", MR, (), False),  # tags are case-sensitive, slugs are lowercase
    ("v1.2.0", RELEASE, (), True),  # {tag}
    ("v1.2.0-alpine", RELEASE, (), True),  # {tag} as a part
    ("v1-2-0", RELEASE, (), True),  # the tag's ref slug
    ("v1.2.1", RELEASE, (), False),
    ("build-v1.2.0", RELEASE, ("build-{tag}",), True),
    ("release-v1.2.0-x", RELEASE, (), True),  # {tag} as a middle part
])
def test_template_matching(tag, item, templates, kept):
    parsed = tuple(parse_template(t) for t in templates)
    found = in_use_tags([(tag, None)], [item], templates=parsed)
    assert (tag in found) is kept
    if kept:
        assert found[tag] == (item.why,)


@pytest.mark.parametrize("text, word", [
    ("{commit}", "unknown placeholder"),
    ("latest", "no placeholder"),
    ("{sha}/x", "tag characters"),
    ("{sha", "no placeholder"),
])
def test_bad_templates_are_refused(text, word):
    with pytest.raises(InvalidInputError, match=word):
        parse_template(text)


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64
INDEX = "sha256:" + "c" * 64


def test_a_digest_keeps_every_tag_on_it_and_the_index_holding_it():
    tags = [("v1", DIGEST_A), ("stable", DIGEST_A), ("v2", DIGEST_B), ("multi", INDEX), ("other", None)]
    image = ImageInUse("g/app", "listed in pods.txt", host="reg.example.com", digest=DIGEST_A)
    found = in_use_tags(tags, [], images=[image], repository_path="g/app", repository_location="reg.example.com/g/app",
                        index_children={INDEX: frozenset({DIGEST_A, DIGEST_B})})
    assert set(found) == {"v1", "stable", "multi"}
    assert found["multi"] == ("listed in pods.txt (in this index)",)


@pytest.mark.parametrize("image, kept", [
    (ImageInUse("g/app", "x", tag="v2"), {"v2"}),  # no host: the path decides
    (ImageInUse("G/App", "x", tag="v2"), {"v2"}),
    (ImageInUse("g/app", "x", host="other.example.com", tag="v2"), set()),  # another registry
    (ImageInUse("g/app/sub", "x", tag="v2"), set()),  # another repository
    (ImageInUse("g/app", "x", tag="gone"), set()),  # a tag the repository does not have
])
def test_images_by_tag_name_their_repository(image, kept):
    found = in_use_tags([("v1", DIGEST_A), ("v2", DIGEST_B)], [], images=[image], repository_path="g/app",
                        repository_location="reg.example.com/g/app")
    assert set(found) == kept


def test_images_from_text_reads_kubectl_output_and_refuses_bad_lines():
    text = (f"docker-pullable://reg.example.com/g/app@{DIGEST_A} reg.example.com/g/app:v2\n"
            "# a comment\n  g/app:v3  # deployed by hand\n")
    got = sources.images(text, "pods.txt")
    assert [(i.host, i.path, i.tag, i.digest) for i in got] == [
        ("reg.example.com", "g/app", None, DIGEST_A), ("reg.example.com", "g/app", "v2", None),
        (None, "g/app", "v3", None)]
    with pytest.raises(InvalidInputError, match="line 2"):
        sources.images("g/app:v1\ng/app\n", "-")
    with pytest.raises(InvalidInputError, match="line 1"):
        sources.images("g/app:bad tag!\n", "-")


def test_gitlab_entities_become_reasons():
    [deployed] = sources.deployments("production", [
        {"id": 812, "iid": 3, "ref": "main", "sha": SHA, "status": "success", "created_at": "2026-12-04T11:00:00.000Z",
         "updated_at": "2026-12-06T11:00:00.000Z", "deployable": {"tag": False, "finished_at": "2026-12-04T11:30:00.000Z"}}],
        NOW)
    assert deployed.why == "deployed to production 3 days ago (deployment 812, sha 1a2b3c4d)"
    assert (deployed.sha, deployed.ref, deployed.tag) == (SHA, "main", None)
    [by_tag] = sources.deployments("staging", [{"id": 9, "ref": "v1.2.0", "sha": SHA, "deployable": {"tag": True},
                                                 "updated_at": "2026-12-07T11:00:00.000Z"}], NOW)
    assert (by_tag.tag, by_tag.why) == ("v1.2.0", "deployed to staging 1 hour ago (deployment 9, sha 1a2b3c4d)")
    [mr] = sources.merge_requests([{"iid": 7, "sha": SHA2, "source_branch": "feature/Login"}])
    assert mr.why == "open merge request !7 (branch feature/Login, sha 99d03678)"
    [release] = sources.releases([{"tag_name": "v1.2.0", "commit": {"id": SHA}}, ][:1])
    assert (release.why, release.tag, release.sha) == ("release v1.2.0 (sha 1a2b3c4d)", "v1.2.0", SHA)
    heads = sources.branch_heads([
        {"name": "main", "default": True, "protected": True, "commit": {"id": SHA}},
        {"name": "release/1.0", "default": False, "protected": True, "commit": {"id": SHA2}},
        {"name": "feature", "default": False, "protected": False, "commit": {"id": SHA2}}])
    assert [h.why for h in heads] == ["head of default branch main (sha 1a2b3c4d)",
                                      "head of protected branch release/1.0 (sha 99d03678)"]


@pytest.mark.parametrize("seconds, text", [(0, "just now"), (59, "just now"), (60, "1 minute ago"),
                                           (7200, "2 hours ago"), (86400, "1 day ago"), (3 * 86400 + 5, "3 days ago")])
def test_ago(seconds, text):
    assert sources.ago(NOW - dt.timedelta(seconds=seconds), NOW) == text


def _decide(ages: dict[str, int]):
    tags = [PolicyTag(n, NOW - dt.timedelta(days=d), f"sha256:{i:064d}", 10) for i, (n, d) in enumerate(ages.items())]
    return decide(tags, CleanupParams(name_regex=".*", keep_n=1, older_than="30d"), variant=Variant.THIRD_PARTY,
                  now=NOW)


def test_keep_in_use_only_turns_deletions_into_keeps():
    result = _decide({"latest": 1, "new": 2, "old-a": 60, "old-b": 90, "young": 5})
    before = {d.name: d.action for d in result.decisions}
    assert {n for n, a in before.items() if a is Action.DELETE} == {"old-a", "old-b"}
    kept = keep_in_use(result, {"old-a": ("deployed to production",), "young": ("release v1",), "ghost": ("x",)})
    after = {d.name: d for d in kept.decisions}
    assert after["old-a"].action is Action.KEEP and after["old-a"].reason is Reason.IN_USE
    assert after["old-a"].detail == "in use: deployed to production"
    assert after["young"].reason is result.by_name()["young"].reason  # kept anyway: unchanged
    assert after["old-b"].action is Action.DELETE
    assert kept.summary.delete == 1 and kept.summary.keep == 4
    assert any("in use" in n for n in kept.summary.notes)
    assert keep_in_use(result, {}) is result
    assert at_risk(result, {"old-a": ("deployed",), "new": ("x",)}) == [("old-a", ("deployed",))]


@pytest.mark.parametrize("names, current, regex", [
    (["v1.0.0"], None, r"v1\.0\.0"),
    (["mr-1", "v1.0.0"], None, r"(?:mr-1|v1\.0\.0)"),
    (["mr-1"], "feature-c", r"(?:(?:feature-c)|mr-1)"),
    (["b", "a", "a"], "x|y", r"(?:(?:x|y)|a|b)"),
])
def test_suggested_keep_regex(names, current, regex):
    import re2

    got = suggest_keep_regex(names, current)
    assert got == regex
    anchored = re2.compile(r"\A" + got + r"\z")  # as GitLab anchors name_regex_keep
    assert all(anchored.search(n) for n in names)
    assert not anchored.search("mr-10") and not anchored.search("v1x0x0")


def test_keep_plan_in_use_turns_only_deletions_into_keeps():
    from glcr.inuse.keep import keep_plan_in_use
    from glcr.plan.model import Action as PlanAction
    from glcr.plan.model import Plan, PlanEntry

    plan = Plan(project_id=1, project_path="g/app", repository_id=2, repository_path="g/app",
                repository_location="reg/g/app", created_at=NOW,
                entries=(PlanEntry("old", DIGEST_A, PlanAction.DELETE, "older than 30d"),
                         PlanEntry("gone", DIGEST_B, PlanAction.DELETE, "older than 30d"),
                         PlanEntry("new", DIGEST_B, PlanAction.KEEP, "newer")))
    kept_plan, kept = keep_plan_in_use(plan, {"old": ("release v1",), "new": ("deployed",)})
    assert kept == [("old", ("release v1",))]
    assert [(e.tag, e.action, e.reason) for e in kept_plan.entries] == [
        ("old", PlanAction.KEEP, "in use: release v1"), ("gone", PlanAction.DELETE, "older than 30d"),
        ("new", PlanAction.KEEP, "newer")]
    assert keep_plan_in_use(plan, {}) == (plan, [])
