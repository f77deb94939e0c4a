"""migrate-project preflight: which tag rules stop the delete, the restore or the holding copies."""

from __future__ import annotations

import pytest

from glcr.policy.protection import Caller, TagRule, migration_checks

TAGS = [("g/app", "v1.0"), ("g/app", "v1.1"), ("g/app/web", "latest"), ("g/app", "main")]


def check(rules, caller=Caller(50), **kw):
    return migration_checks(TAGS, rules, caller, project="g/app", target="n/app", **kw)


# rules, caller, expected [(level, words in the message)]
CASES = [
    ((), Caller(50), []),
    (None, Caller(50), [("warning", "cannot be read")]),  # older GitLab: said once, not an error
    ((TagRule(r"^v1\.", "maintainer", "maintainer"),), Caller(40), []),  # the caller may do both
    ((TagRule(r"^v1\.", "maintainer", "owner"),), Caller(40), [("error", "delete needs owner")]),
    ((TagRule(r"^v1\.", "admin", "owner"),), Caller(50), [("error", "pushing them back under n/app needs admin")]),
    ((TagRule(r"^v1\.", "admin", "admin"),), Caller(50), [("error", "delete needs admin, pushing")]),  # one finding
    ((TagRule(r"^v1\.", "admin", "admin"),), Caller(0, admin=True), []),  # administrators pass mutable rules
    ((TagRule("atest", None, None),), Caller(0, admin=True), [("error", "immutable")]),  # unanchored; immutable
    ((TagRule(r"^v9", "admin", "admin"),), Caller(40), []),  # matches no tag
]


@pytest.mark.parametrize("rules,caller,expected", CASES)
def test_project_rules(rules, caller, expected):
    found = check(rules, caller)
    assert [level for level, _ in found] == [level for level, _ in expected]
    for (_, message), (_, words) in zip(found, expected):
        assert words in message
        if "error" in [lv for lv, _ in expected]:
            assert "g/app" in message


def test_errors_name_the_rule_an_example_and_the_fix():
    [(level, message)] = check((TagRule(r"^v1\.", "admin", "owner", id=4),), Caller(50))
    assert level == "error"
    assert r"`^v1\.`" in message and "g/app:v1.0" in message and "2 tag(s)" in message
    assert "glcr protection update g/app 4 --push maintainer" in message


# holding rules, holding caller, expected levels
HOLDING = [
    ((), Caller(40), []),
    (None, Caller(40), ["warning"]),
    ((TagRule("^v1", "owner", "maintainer"),), Caller(40), ["error"]),  # the copies cannot be pushed
    ((TagRule("^v1", "maintainer", "owner"),), Caller(40), ["warning"]),  # nor removed afterwards
    ((TagRule("^v1", "maintainer", "maintainer"),), Caller(40), []),
    ((TagRule("^v1", None, None),), Caller(0, admin=True), ["error"]),  # immutable: copies stay forever
]


def test_an_immutable_holding_rule_lets_the_copies_in_but_never_out():
    """GitLab pushes new tags matching an immutable rule; it refuses deleting them."""
    [(level, message)] = check((), holding="g/hold", holding_rules=(TagRule("^v1", None, None),),
                               holding_caller=Caller(50))
    assert level == "error" and "the copies could not be removed afterwards" in message
    assert "could not be made" not in message


@pytest.mark.parametrize("rules,caller,expected", HOLDING)
def test_holding_project_rules(rules, caller, expected):
    found = check((), holding="g/hold", holding_rules=rules, holding_caller=caller)
    assert [level for level, _ in found] == expected
    assert all("g/hold" in message for _, message in found)
