"""Tag protection rules: matching, which rules stop a delete or a push, validation (tables)."""

from __future__ import annotations

import pytest

from glcr.errors import InvalidInputError, UsageError
from glcr.policy.protection import (
    MAX_RULES,
    Caller,
    Protection,
    Purpose,
    TagRule,
    find_rule,
    kept_reason,
    normalize_level,
    protected_names,
    refusal_code,
    refusal_message,
    validate_new_rule,
    validate_pattern,
    validate_update,
)

# pattern, tag, matches? (UntrustedRegexp#match?: unanchored RE2 search, blank never matches)
MATCHING = [
    (r"^v1\.", "v1.0", True),
    (r"^v1\.", "v1.2.3", True),
    (r"^v1\.", "v10.0", False),
    (r"^v1\.", "xv1.0", False),
    (r"v1", "release-v1-final", True),  # unanchored: a substring is enough
    (r"v1", "V1", False),  # case-sensitive
    (r"latest", "latest", True),
    (r"latest", "not-latest-ever", True),
    (r"^latest$", "not-latest", False),
    (r".*", "anything", True),
    (r".*", "", False),  # an empty name never matches
    (r".*", "   ", False),  # nor a blank one (String#present?)
    (r"\d+\.\d+", "1.2", True),
    (r"(?i)^rel", "RELEASE", True),
    (r"main|release", "hotfix-release", True),  # not anchored per branch either
]


@pytest.mark.parametrize("pattern,tag,expected", MATCHING)
def test_matching_is_an_unanchored_re2_search(pattern, tag, expected):
    assert TagRule(pattern, "maintainer", "maintainer").matches(tag) is expected


# min_delete, purpose, caller level, admin, stops?
DELETE_LEVELS = [
    ("maintainer", Purpose.POLICY, None, False, True),  # a policy run: every rule
    ("maintainer", Purpose.POLICY, 60, True, True),  # even when an admin owns the policy
    ("maintainer", Purpose.USER, 30, False, True),  # Developer below maintainer
    ("maintainer", Purpose.USER, 40, False, False),  # Maintainer reaches it
    ("maintainer", Purpose.USER, 50, False, False),
    ("owner", Purpose.USER, 40, False, True),
    ("owner", Purpose.USER, 50, False, False),
    ("admin", Purpose.USER, 50, False, True),  # only an administrator
    ("admin", Purpose.USER, 50, True, False),  # administrators skip the filter
    ("owner", Purpose.USER, None, False, True),  # unknown role: as the lowest
    (None, Purpose.USER, 60, True, True),  # immutable (both levels empty): everyone
]


@pytest.mark.parametrize("min_delete,purpose,level,admin,expected", DELETE_LEVELS)
def test_which_rules_stop_a_delete(min_delete, purpose, level, admin, expected):
    rule = TagRule("^v", min_delete and "maintainer", min_delete)
    assert rule.stops_delete(purpose, level, admin=admin) is expected


# min_push, level, admin, stops?
PUSH_LEVELS = [
    ("maintainer", 30, False, True),
    ("maintainer", 40, False, False),
    ("owner", 40, False, True),
    ("admin", 50, False, True),
    ("admin", 50, True, False),
    (None, 60, True, True),  # immutable
]


@pytest.mark.parametrize("min_push,level,admin,expected", PUSH_LEVELS)
def test_which_rules_stop_a_push(min_push, level, admin, expected):
    rule = TagRule("^v", min_push, min_push and "maintainer")
    assert rule.stops_push(level, admin=admin) is expected


def test_policy_runs_and_user_deletes_see_different_rules():
    protection = Protection((TagRule("^v1\\.", "maintainer", "owner"), TagRule("^rel", "admin", "admin")))
    names = ["v1.0", "v2.0", "release-1", "main"]
    assert set(protected_names(names, protection, Purpose.POLICY)) == {"v1.0", "release-1"}
    assert set(protected_names(names, protection, Purpose.USER, Caller(40))) == {"v1.0", "release-1"}
    assert set(protected_names(names, protection, Purpose.USER, Caller(50))) == {"release-1"}
    assert protected_names(names, protection, Purpose.USER, Caller(50, admin=True)) == {}
    # the rule named is the first that matches
    first = protected_names(["v1.0"], Protection((TagRule("v", "owner", "owner"), TagRule("1", "owner", "owner"))),
                            Purpose.POLICY)
    assert first["v1.0"].pattern == "v"


def test_an_unreadable_protection_protects_nothing_but_says_why():
    protection = Protection.unreadable("GitLab before 18.7 has no tag rules API")
    assert not protection.readable and protection.note
    assert protected_names(["v1.0"], protection, Purpose.POLICY) == {}


# --- validation ------------------------------------------------------------------------------

BAD_PATTERNS = [
    ("", "blank"),
    ("   ", "blank"),
    ("a" * 101, "too long"),
    ("v(1", "invalid regexp"),
    ("(?<=v)1", "invalid regexp"),  # lookbehind: not RE2
    (r"\1", "invalid regexp"),  # backreference: not RE2
]


@pytest.mark.parametrize("pattern,what", BAD_PATTERNS)
def test_bad_patterns_are_refused_before_sending(pattern, what):
    with pytest.raises(InvalidInputError) as info:
        validate_pattern(pattern)
    assert what in info.value.message


@pytest.mark.parametrize("pattern", ["a" * 100, r"^v\d+\.\d+$", ".*", "(?i)release"])
def test_good_patterns_pass(pattern):
    assert validate_pattern(pattern) == pattern


LEVEL_NAMES = [("maintainer", "maintainer"), ("Owner", "owner"), ("ADMIN", "admin"),
               ("administrator", "admin"), ("developer", None), ("", None), ("40", None)]


@pytest.mark.parametrize("given,expected", LEVEL_NAMES)
def test_level_names(given, expected):
    if expected is None:
        with pytest.raises(InvalidInputError):
            normalize_level(given, "--push")
    else:
        assert normalize_level(given, "--push") == expected


def test_the_five_rule_limit_and_duplicates_are_checked_before_sending():
    four = [TagRule(f"p{i}", "maintainer", "maintainer", id=i) for i in range(4)]
    body = validate_new_rule("^v1\\.", "Maintainer", "owner", four)
    assert body == {"tag_name_pattern": "^v1\\.", "minimum_access_level_for_push": "maintainer",
                    "minimum_access_level_for_delete": "owner"}
    five = four + [TagRule("p4", "maintainer", "maintainer", id=4)]
    assert len(five) == MAX_RULES
    with pytest.raises(InvalidInputError, match="at most 5"):
        validate_new_rule("^v1\\.", "maintainer", "owner", five)
    with pytest.raises(InvalidInputError, match="already exists"):
        validate_new_rule("p1", "maintainer", "owner", four)


def test_update_sends_only_the_given_fields():
    rules = [TagRule("a", "maintainer", "maintainer", id=1), TagRule("b", "owner", "owner", id=2)]
    assert validate_update(rules[0], rules, min_delete="Owner") == {"minimum_access_level_for_delete": "owner"}
    assert validate_update(rules[0], rules, pattern="a") == {"tag_name_pattern": "a"}  # its own pattern
    with pytest.raises(InvalidInputError, match="another rule"):
        validate_update(rules[0], rules, pattern="b")
    with pytest.raises(UsageError, match="nothing to change"):
        validate_update(rules[0], rules)
    with pytest.raises(InvalidInputError):
        validate_update(rules[0], rules, min_push="guest")


def test_rules_are_found_by_id_or_pattern():
    rules = [TagRule("^v1\\.", "maintainer", "maintainer", id=7)]
    assert find_rule(rules, "7") is rules[0]
    assert find_rule(rules, "^v1\\.") is rules[0]
    with pytest.raises(InvalidInputError, match="no tag protection rule"):
        find_rule(rules, "8")


def test_rules_come_from_gitlabs_json():
    rule = TagRule.from_api({"id": 3, "project_id": 9, "tag_name_pattern": "^v", "minimum_access_level_for_push":
                             "maintainer", "minimum_access_level_for_delete": "owner"})
    assert (rule.id, rule.project_id, rule.pattern, rule.min_push, rule.min_delete) == (3, 9, "^v", "maintainer", "owner")
    assert rule.to_dict()["tag_name_pattern"] == "^v"
    assert TagRule.from_api({"tag_name_pattern": "x"}).immutable
    assert kept_reason(rule) == "protected by rule ^v"


# --- registry refusals -------------------------------------------------------------------------

# The registry's own bodies (gitlab-org/container-registry v4.x: api/v2/errors.go messages,
# handlers/manifests.go details; PROTECTED_MANIFEST has no detail).
PROTECTED_MANIFEST_MESSAGE = ("insufficient permissions to delete manifest due to tag protection or immutability "
                              "policies")
REFUSALS = [
    ({"errors": [{"code": "PROTECTED_TAG", "message": "insufficient permissions to push or delete protected tag",
                  "detail": 'tag "v1.0" is protected'}]},
     ("PROTECTED_TAG", 'tag "v1.0" is protected')),
    ({"errors": [{"code": "IMMUTABLE_TAG", "message": "tag is immutable", "detail": 'tag "v1.0" is immutable'}]},
     ("IMMUTABLE_TAG", 'tag "v1.0" is immutable')),
    ({"errors": [{"code": "PROTECTED_MANIFEST", "message": PROTECTED_MANIFEST_MESSAGE}]},
     ("PROTECTED_MANIFEST", PROTECTED_MANIFEST_MESSAGE)),
    ({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}, None),
    ({"message": "401 Unauthorized"}, None),
    ("plain text", None),
]


@pytest.mark.parametrize("body,expected", REFUSALS)
def test_registry_refusals_are_recognised(body, expected):
    assert refusal_code(body) == expected


def test_a_refusal_names_the_tag_and_the_rule_never_the_token():
    protection = Protection((TagRule("^v1\\.", "maintainer", "owner"),))
    line = refusal_message("v1.0", "PROTECTED_TAG", protection)
    assert "v1.0" in line and "^v1\\." in line and "token" not in line
    unknown = refusal_message("v1.0", "IMMUTABLE_TAG", Protection.unreadable("old GitLab"), pushing=True)
    assert "push" in unknown and "immutable" in unknown and "token" not in unknown
    by_digest = refusal_message("sha256:" + "a" * 64, "PROTECTED_MANIFEST", protection)
    assert "by digest" in by_digest and "PROTECTED_MANIFEST" in by_digest


# pattern, hint expected?
HINTS = [("v1", True), (r"v\d+\.", True), (r"^v1\.", False), (r"\Av1", False), ("release$", False),
         (".*", False), ("a|^b", False)]


@pytest.mark.parametrize("pattern,expected", HINTS)
def test_unanchored_patterns_get_a_hint(pattern, expected):
    from glcr.policy.protection import anchoring_hint

    assert (anchoring_hint(pattern) is not None) is expected


def test_what_a_pattern_would_protect_is_listed_per_repository():
    from glcr.policy.protection import matching_tags

    found = matching_tags({"g/p": ["v1.1", "v1.0", "main"], "g/p/web": ["dev-v1.0"], "g/p/old": []}, r"v1\.")
    assert found == {"g/p": ["v1.0", "v1.1"], "g/p/web": ["dev-v1.0"], "g/p/old": []}
