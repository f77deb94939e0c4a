"""Plan JSON: the round trip, strict validation with one-line messages, the repository check."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from glcr.errors import ExitCode, InvalidInputError, StaleError
from glcr.plan.model import (
    Action,
    Plan,
    PlanEntry,
    ensure_for_repository,
)

DIGEST = "sha256:" + "ab" * 32
NOW = datetime(2026, 11, 27, 5, 40, tzinfo=UTC)


def make_plan(**changes) -> Plan:
    fields = dict(
        project_id=7,
        project_path="group/app",
        repository_id=3,
        repository_path="group/app/api",
        repository_location="registry.example.com/group/app/api",
        created_at=NOW,
        entries=(
            PlanEntry("v1.0", DIGEST, Action.DELETE, "older than 90d", NOW - timedelta(days=100), 123),
            PlanEntry("latest", "sha256:" + "0" * 64, Action.KEEP, "named latest",
                      datetime(2026, 11, 1, 1, 2, 3, 456789, tzinfo=UTC), None),
            PlanEntry("gone", None, Action.SKIP, "already absent"),
        ),
        rules={"keep_latest": True, "keep_regexes": ["v9.*"], "older_than_seconds": 7776000},
        warnings=("tag 'v1.0' shares a digest",),
    )
    fields.update(changes)
    return Plan(**fields)


def plan_dict() -> dict:
    return json.loads(make_plan().to_json())


def test_round_trip() -> None:
    plan = make_plan()
    text = plan.to_json()
    assert Plan.from_json(text) == plan
    assert Plan.from_json(text).to_json() == text


def test_json_is_stable_sorted_and_indented() -> None:
    text = make_plan().to_json()
    data = json.loads(text)
    assert list(data) == sorted(data)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert data["kind"] == "glcr/tag-plan" and data["version"] == 1
    assert data["created_at"] == "2026-11-27T05:40:00Z"
    assert data["entries"][1]["created_at"] == "2026-11-01T01:02:03.456789Z"
    assert data["entries"][2] == {"tag": "gone", "digest": None, "action": "skip",
                                  "reason": "already absent", "created_at": None, "total_size": None}


def test_times_in_other_zones_are_written_in_utc() -> None:
    plan = make_plan(created_at=datetime(2026, 11, 27, 7, 40, tzinfo=timezone(timedelta(hours=2))))
    assert json.loads(plan.to_json())["created_at"] == "2026-11-27T05:40:00Z"


def test_optional_fields_may_be_left_out() -> None:
    data = plan_dict()
    del data["rules"], data["warnings"]
    data["entries"] = [{"tag": "v1", "action": "delete", "digest": DIGEST}]
    plan = Plan.from_json(json.dumps(data))
    assert plan.rules == {} and plan.warnings == ()
    assert plan.entries == (PlanEntry("v1", DIGEST, Action.DELETE, ""),)


def test_bom_is_accepted() -> None:
    assert Plan.from_json("\ufeff" + make_plan().to_json()) == make_plan()


def test_plan_helpers() -> None:
    plan = make_plan()
    assert [e.tag for e in plan.to_delete] == ["v1.0"]
    assert plan.delete_size == 123
    assert [e.tag for e in plan.with_action(Action.SKIP)] == ["gone"]
    with pytest.raises(AttributeError):
        plan.entries = ()  # type: ignore[misc]
    assert hash(plan) == hash(make_plan())
    assert copy.deepcopy(plan) == plan
    assert dataclasses.asdict(plan)["rules"] == plan.rules


def _set(path: str, value):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        target = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key = int(last) if last.isdigit() else last
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value
    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("version", 2), "plan.json: format version 2 is not one this glcr reads (1)"),
        (_set("version", "1"), "plan.json: format version '1' is not one this glcr reads"),
        (_set("version", True), "format version True is not one"),
        (_set("kind", "glcr/migration-plan"), "plan.json: kind 'glcr/migration-plan' is not a glcr tag plan"),
        (_set("kind", _DELETE), "plan.json: missing field 'kind' (is it a glcr tag plan?)"),
        (_set("entries", _DELETE), "plan.json: missing field 'entries'"),
        (_set("repository.path", _DELETE), "plan.json: missing field 'repository.path'"),
        (_set("project.id", _DELETE), "plan.json: missing field 'project.id'"),
        (_set("surprise", 1), "plan.json: unknown field 'surprise'"),
        (_set("repository.name", "api"), "plan.json: unknown field 'repository.name'"),
        (_set("project", "group/app"), "plan.json: project must be a JSON object, not a string"),
        (_set("project.id", "7"), "plan.json: project.id must be an integer, not a string"),
        (_set("repository.id", True), "plan.json: repository.id must be an integer, not true"),
        (_set("repository.id", 3.5), "plan.json: repository.id must be an integer, not a number"),
        (_set("created_at", "yesterday"), "plan.json: created_at 'yesterday' is not a time like"),
        (_set("created_at", "2026-11-27T05:40:00"), "created_at '2026-11-27T05:40:00' is not a time"),
        (_set("created_at", None), "plan.json: created_at must be a string, not null"),
        (_set("entries", {}), "plan.json: entries must be a JSON list, not an object"),
        (_set("warnings", [1]), "plan.json: each warning must be a string, not a number"),
        (_set("rules", []), "plan.json: rules must be a JSON object, not a list"),
        (_set("entries.0", "v1"), "plan.json entry 1: entry must be a JSON object, not a string"),
        (_set("entries.0.digest", _DELETE), "plan.json entry 1: missing field 'digest'"),
        (_set("entries.0.tag", _DELETE), "plan.json entry 1: missing field 'tag'"),
        (_set("entries.1.acton", "keep"), "plan.json entry 2: unknown field 'acton'"),
        (_set("entries.0.tag", "bad tag"), "plan.json entry 1: 'bad tag' is not a valid tag name"),
        (_set("entries.0.tag", "v1\n"), "plan.json entry 1: 'v1\\n' is not a valid tag name"),
        (_set("entries.0.tag", 5), "plan.json entry 1: tag must be a string, not a number"),
        (_set("entries.0.digest", "sha256:abc"),
         "plan.json entry 1 (tag 'v1.0'): digest 'sha256:abc' is not sha256:<64 lowercase hex>"),
        (_set("entries.0.digest", "sha256:" + "AB" * 32), "is not sha256:<64 lowercase hex>"),
        (_set("entries.0.digest", "sha512:" + "ab" * 64), "is not sha256:<64 lowercase hex>"),
        (_set("entries.0.digest", "ab" * 32), "is not sha256:<64 lowercase hex>"),
        (_set("entries.0.action", "remove"),
         "plan.json entry 1 (tag 'v1.0'): action 'remove' is not one of delete, keep, skip"),
        (_set("entries.0.total_size", -1), "plan.json entry 1 (tag 'v1.0'): total_size -1 is negative"),
        (_set("entries.0.total_size", "1 MB"), "total_size must be an integer, not a string"),
        (_set("entries.0.created_at", "soon"), "plan.json entry 1 (tag 'v1.0'): created_at 'soon' is not a time"),
        (_set("entries.0.reason", None), "plan.json entry 1 (tag 'v1.0'): reason must be a string, not null"),
        (_set("entries.2.tag", "v1.0"), "plan.json entry 3: tag 'v1.0' is already in entry 1"),
    ],
)
def test_validation_errors(change, message: str) -> None:
    data = plan_dict()
    change(data)
    with pytest.raises(InvalidInputError) as caught:
        Plan.from_json(json.dumps(data), "plan.json")
    assert message in caught.value.one_line()
    assert "\n" not in caught.value.one_line()
    assert caught.value.exit_code == ExitCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "plan.json is not valid JSON (line 1, column 1: Expecting value)"),
        ('{"kind": "glcr/tag-plan",\n  "version": 1,,}', "plan.json is not valid JSON (line 2, column 16"),
        ("[]", "plan.json: plan must be a JSON object, not a list"),
        ("null", "plan.json: plan must be a JSON object, not null"),
    ],
)
def test_not_a_plan(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Plan.from_json(text, "plan.json")
    assert message in caught.value.one_line()


def test_filename_is_used_in_messages() -> None:
    with pytest.raises(InvalidInputError, match=r"^/tmp/p\.json: missing field 'kind'"):
        Plan.from_json("{}", "/tmp/p.json")


def test_ensure_for_repository() -> None:
    plan = make_plan()
    ensure_for_repository(plan, "group/app/api")
    ensure_for_repository(plan, "Group/App/API")  # GitLab paths are lower case; input may not be
    with pytest.raises(StaleError) as caught:
        ensure_for_repository(plan, "group/app/web")
    assert caught.value.message == "plan.json was made for group/app/api, not group/app/web"
    assert caught.value.exit_code == ExitCode.STALE == 11
