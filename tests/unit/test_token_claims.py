"""The caller's tag protection patterns read from a registry token's claims (GitLab's
access_metadata), turned into the rules glcr honours before deleting."""

from __future__ import annotations

import pytest

from glcr.policy.protection import Caller, Purpose, protected_names
from glcr.registry.token_claims import delete_patterns, protection_from_token, token_patterns

PATH = "group/app"


def claims(actions, meta=None, name=PATH):
    entry = {"type": "repository", "name": name, "actions": actions, "meta": {"project_id": 1, **(meta or {})}}
    return {"access": [entry]}


def test_no_scope_for_the_path_tells_nothing() -> None:
    assert token_patterns(claims(["pull"]), "other/app") is None
    assert token_patterns({}, PATH) is None


def test_an_older_gitlab_or_a_project_without_rules_writes_no_patterns() -> None:
    found = token_patterns(claims(["pull", "push"]), PATH)
    assert found is not None and not found.told
    assert protection_from_token(found, 30) is None


def test_a_wildcard_scope_counts_as_pull_push_and_delete() -> None:
    found = token_patterns(claims(["*"], {"tag_deny_access_patterns": {"push": [], "delete": ["^v1"]}}), PATH.upper())
    assert found.actions >= {"pull", "push", "delete"}
    assert delete_patterns(found, 40) == ("^v1",)


# granted actions, deny patterns, caller level -> delete patterns (None: the token cannot tell)
DELETE_CASES = [
    (["pull", "push", "delete"], {"push": ["a"], "delete": ["b"]}, 40, ("b",)),  # a Maintainer: its own list
    (["pull", "push"], {"push": ["a", "b"]}, 30, ("a", "b")),  # a Developer: push list = delete list
    (["pull", "push"], {"push": ["a"]}, 40, None),  # Maintainer without delete (write_registry): unknown
    (["pull", "push"], {"push": ["a"]}, None, None),  # unknown role: unknown
    (["pull", "push", "delete"], {"push": [], "delete": []}, 60, ()),  # an administrator: nothing
]


@pytest.mark.parametrize("actions,deny,level,expected", DELETE_CASES)
def test_delete_patterns(actions, deny, level, expected) -> None:
    found = token_patterns(claims(actions, {"tag_deny_access_patterns": deny}), PATH)
    assert delete_patterns(found, level) == expected


def test_a_developer_keeps_every_tag_the_token_protects_and_the_rule_says_where_it_comes_from() -> None:
    found = token_patterns(claims(["pull", "push"], {"tag_deny_access_patterns": {"push": [r"^v1\."]},
                                                     "tag_immutable_patterns": ["^release$"]}), PATH)
    protection = protection_from_token(found, 30)
    assert protection.readable and protection.source == "your registry token"
    stopped = protected_names(["v1.0", "v2.0", "release", "xv1.0"], protection, Purpose.USER, Caller(30))
    assert sorted(stopped) == ["release", "v1.0"]
    assert stopped["release"].immutable and not stopped["v1.0"].immutable
    assert stopped["v1.0"].describe() == r"`^v1\.` (GitLab refuses you: push and delete)"


def test_immutable_patterns_alone_are_honoured_for_a_caller_whose_delete_rules_are_unknown() -> None:
    found = token_patterns(claims(["pull", "push"], {"tag_deny_access_patterns": {"push": ["x"]},
                                                     "tag_immutable_patterns": ["^v1"]}), PATH)
    protection = protection_from_token(found, 40)
    assert [r.pattern for r in protection.rules] == ["^v1"] and "immutable rules only" in protection.source


def test_a_token_rule_refusing_push_only_never_stops_a_delete() -> None:
    found = token_patterns(claims(["pull", "push", "delete"],
                                  {"tag_deny_access_patterns": {"push": ["^p"], "delete": ["^d"]}}), PATH)
    protection = protection_from_token(found, 40)
    assert [r.pattern for r in protection.rules] == ["^d"]
    assert protection.rule_for_delete("p1", Purpose.USER, 40) is None
    assert protection.rule_for_delete("d1", Purpose.USER, 40) is not None
