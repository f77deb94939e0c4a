"""Reading GitLab's GraphQL answers for tag protection rules (glcr.gitlab.graphql, pure parts)."""

from __future__ import annotations

from glcr.gitlab.graphql import interpret, undefined_field


def test_rules_with_levels_ids_and_immutable_ones() -> None:
    data = {"project": {"containerProtectionTagRules": {"nodes": [
        {"id": "gid://gitlab/ContainerRegistry::Protection::TagRule/7", "tagNamePattern": "^v1",
         "minimumAccessLevelForPush": "MAINTAINER", "minimumAccessLevelForDelete": "OWNER", "immutable": False},
        {"id": "gid://gitlab/ContainerRegistry::Protection::TagRule/8", "tagNamePattern": "^rel",
         "minimumAccessLevelForPush": None, "minimumAccessLevelForDelete": None, "immutable": True}]}}}
    mutable, frozen = interpret(data)
    assert (mutable.id, mutable.pattern, mutable.min_push, mutable.min_delete) == (7, "^v1", "maintainer", "owner")
    assert not mutable.immutable and frozen.immutable and frozen.id == 8


def test_a_project_the_caller_cannot_see_tells_nothing() -> None:
    assert interpret({"project": None}) is None
    assert interpret({"project": {"containerProtectionTagRules": {"nodes": []}}}) == ()


def test_the_missing_field_of_an_older_gitlab() -> None:
    errors = [{"message": "Field 'immutable' doesn't exist on type 'ContainerProtectionTagRule'",
               "extensions": {"code": "undefinedField", "typeName": "ContainerProtectionTagRule",
                              "fieldName": "immutable"}}]
    assert undefined_field(errors) == "immutable"
    assert undefined_field([{"message": "Internal server error"}]) is None
    assert undefined_field(None) is None
