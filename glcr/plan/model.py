"""The tag plan that `glcr tags plan` writes and `glcr tags apply` reads. Pure.

A plan names one repository and, for each tag it covers, an action, the reason for it, and the
digest the tag pointed to when the plan was made. Apply re-checks that digest and deletes
nothing else. Format version 1, written by `Plan.to_json()`:

    {
      "created_at": "2026-11-27T05:40:00Z",
      "entries": [
        {
          "action": "delete",
          "created_at": "2026-01-05T10:00:00Z",
          "digest": "sha256:<64 hex>",
          "reason": "matches delete regex `feature-.*`; older than 90d (created 2026-01-05)",
          "tag": "feature-x",
          "total_size": 31457280
        }
      ],
      "kind": "glcr/tag-plan",
      "project": {"id": 7, "path": "group/app"},
      "repository": {"id": 3, "location": "registry.example.com/group/app/api", "path": "group/app/api"},
      "rules": {"delete_regex": "feature-.*", "keep_first": null, "keep_latest": true,
                "keep_regexes": [], "keep_semver_latest": null, "older_than_seconds": 7776000,
                "regex_match": "full"},
      "version": 1,
      "warnings": []
    }

`action` is `delete`, `keep`, or `skip` (a listed tag that was already absent: nothing to do).
A plan made from a list file has `{"list_file": "<name>"}` as its rules.
Keys are sorted and entries are in tag-name order, so two plans diff cleanly. Times are UTC in
RFC 3339 with a `Z`. `digest` is null when none is known (a tag GitLab could not read);
`created_at` is the date the age rules read (the push time on GitLab's registry with its
database, the image's `created` elsewhere); it and `total_size` are null when unknown. `rules` is a record of
how the plan was made; apply does not read it. Reading is strict: an unknown key, a wrong type
or a repeated tag is an error, since a plan is often edited by hand before it is applied.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from glcr.errors import InvalidInputError, StaleError
from glcr.models import Digest
from glcr.reference import DIGEST_RE, TAG_RE
from glcr.timestamps import format_time, parse_time

PLAN_KIND = "glcr/tag-plan"
PLAN_VERSION = 1


class Action(StrEnum):
    DELETE = "delete"
    KEEP = "keep"
    # Nothing to do: a tag named in a list file that the repository no longer has.
    SKIP = "skip"


@dataclass(frozen=True)
class PlanEntry:
    tag: str
    digest: Digest | None  # what the tag pointed to when planned; None: not known
    action: Action
    reason: str
    created_at: datetime | None = None
    total_size: int | None = None


@dataclass(frozen=True)
class Plan:
    project_id: int
    project_path: str
    repository_id: int
    repository_path: str
    repository_location: str
    created_at: datetime
    entries: tuple[PlanEntry, ...]
    # JSON values, for the record only. A plain dict (copied) so that dataclasses.asdict and
    # deepcopy work; left out of the hash.
    rules: Mapping[str, Any] = field(default_factory=dict, hash=False)
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "rules", dict(self.rules))

    def with_action(self, action: Action) -> tuple[PlanEntry, ...]:
        return tuple(entry for entry in self.entries if entry.action == action)

    @property
    def to_delete(self) -> tuple[PlanEntry, ...]:
        return self.with_action(Action.DELETE)

    @property
    def delete_size(self) -> int:
        """Sum of `total_size` over the delete entries: an upper bound, since layers are shared."""
        return sum(entry.total_size or 0 for entry in self.to_delete)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": PLAN_KIND,
            "version": PLAN_VERSION,
            "created_at": format_time(self.created_at),
            "project": {"id": self.project_id, "path": self.project_path},
            "repository": {
                "id": self.repository_id,
                "path": self.repository_path,
                "location": self.repository_location,
            },
            "rules": dict(self.rules),
            "warnings": list(self.warnings),
            "entries": [_entry_to_dict(entry) for entry in self.entries],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, filename: str = "plan.json") -> Plan:
        """Parse and validate a plan; every problem is an InvalidInputError of one line."""
        try:
            data = json.loads(text.removeprefix("\ufeff"))
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{filename} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        return _PlanReader(filename).plan(data)


def ensure_for_repository(plan: Plan, repository_path: str, *, filename: str = "plan.json") -> None:
    """Refuse to apply a plan to a repository it was not made for (exit code 11)."""
    # GitLab stores repository paths in lower case; a user may type them in any case.
    if plan.repository_path.lower() != repository_path.lower():
        raise StaleError(
            f"{filename} was made for {plan.repository_path}, not {repository_path}",
            hint=f"make a plan for {repository_path} with `glcr tags plan`",
        )


def is_tag_name(text: str) -> bool:
    # fullmatch, not match: `$` would also accept a trailing newline.
    return TAG_RE.fullmatch(text) is not None


def is_digest(text: str) -> bool:
    return DIGEST_RE.fullmatch(text) is not None






def _entry_to_dict(entry: PlanEntry) -> dict[str, Any]:
    return {
        "tag": entry.tag,
        "digest": entry.digest,
        "action": entry.action.value,
        "reason": entry.reason,
        "created_at": format_time(entry.created_at) if entry.created_at else None,
        "total_size": entry.total_size,
    }


_TOP_REQUIRED = {"kind", "version", "created_at", "project", "repository", "entries"}
_TOP_OPTIONAL = {"rules", "warnings"}
_PROJECT_KEYS = {"id", "path"}
_REPOSITORY_KEYS = {"id", "path", "location"}
# `digest` must be written out, even as null: a hand-written delete entry should not lose its
# safety check by omission.
_ENTRY_REQUIRED = {"tag", "action", "digest"}
_ENTRY_OPTIONAL = {"reason", "created_at", "total_size"}


class _PlanReader:
    """Validation with messages that name the file and the place: `plan.json entry 4 (tag 'x'): …`."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, where: str, problem: str) -> InvalidInputError:
        return InvalidInputError(f"{self.filename}{where}: {problem}")

    def keys(self, data: Any, where: str, what: str, required: set[str], optional: set[str]) -> dict:
        if not isinstance(data, dict):
            raise self.fail(where, f"{what} must be a JSON object, not {_json_type(data)}")
        missing = sorted(required - data.keys())
        if missing:
            raise self.fail(where, f"missing field {_field(what, missing[0])!r}")
        unknown = sorted(data.keys() - required - optional)
        if unknown:
            raise self.fail(where, f"unknown field {_field(what, unknown[0])!r}")
        return data

    def typed(self, value: Any, where: str, name: str, kind: type, *, null: bool = False) -> Any:
        if value is None and null:
            return None
        # bool is an int in Python; JSON true is not an id.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(where, f"{name} must be {_kind_name(kind)}, not {_json_type(value)}")
        return value

    def time(self, value: Any, where: str, name: str, *, null: bool = False) -> datetime | None:
        text = self.typed(value, where, name, str, null=null)
        if text is None:
            return None
        try:
            return parse_time(text)
        except ValueError:
            raise self.fail(where, f"{name} {text!r} is not a time like 2026-11-27T05:40:00Z") from None

    def plan(self, data: Any) -> Plan:
        if isinstance(data, dict) and "kind" not in data:
            raise self.fail("", "missing field 'kind' (is it a glcr tag plan?)")
        if isinstance(data, dict) and data["kind"] != PLAN_KIND:
            raise self.fail("", f"kind {data['kind']!r} is not a glcr tag plan ({PLAN_KIND!r})")
        data = self.keys(data, "", "plan", _TOP_REQUIRED, _TOP_OPTIONAL)
        version = data["version"]
        if version != PLAN_VERSION or isinstance(version, bool):
            raise self.fail("", f"format version {version!r} is not one this glcr reads "
                                f"({PLAN_VERSION}); use the glcr that wrote it, or make a new plan")
        project = self.keys(data["project"], "", "project", _PROJECT_KEYS, set())
        repository = self.keys(data["repository"], "", "repository", _REPOSITORY_KEYS, set())
        rules = self.typed(data.get("rules", {}), "", "rules", dict)
        warnings = self.typed(data.get("warnings", []), "", "warnings", list)
        for warning in warnings:
            self.typed(warning, "", "each warning", str)
        raw_entries = self.typed(data["entries"], "", "entries", list)
        entries = [self.entry(raw, number) for number, raw in enumerate(raw_entries, start=1)]
        first_seen: dict[str, int] = {}
        for number, entry in enumerate(entries, start=1):
            if entry.tag in first_seen:
                raise self.fail(f" entry {number}",
                                f"tag {entry.tag!r} is already in entry {first_seen[entry.tag]}")
            first_seen[entry.tag] = number
        return Plan(
            project_id=self.typed(project["id"], "", "project.id", int),
            project_path=self.typed(project["path"], "", "project.path", str),
            repository_id=self.typed(repository["id"], "", "repository.id", int),
            repository_path=self.typed(repository["path"], "", "repository.path", str),
            repository_location=self.typed(repository["location"], "", "repository.location", str),
            created_at=self.time(data["created_at"], "", "created_at"),
            entries=tuple(entries),
            rules=rules,
            warnings=tuple(warnings),
        )

    def entry(self, raw: Any, number: int) -> PlanEntry:
        where = f" entry {number}"
        data = self.keys(raw, where, "entry", _ENTRY_REQUIRED, _ENTRY_OPTIONAL)
        tag = self.typed(data["tag"], where, "tag", str)
        if not is_tag_name(tag):
            raise self.fail(where, f"{tag!r} is not a valid tag name")
        where = f" entry {number} (tag {tag!r})"
        action_text = self.typed(data["action"], where, "action", str)
        try:
            action = Action(action_text)
        except ValueError:
            choices = ", ".join(a.value for a in Action)
            raise self.fail(where, f"action {action_text!r} is not one of {choices}") from None
        digest = self.typed(data["digest"], where, "digest", str, null=True)
        if digest is not None and not is_digest(digest):
            raise self.fail(where, f"digest {digest!r} is not sha256:<64 lowercase hex>")
        size = self.typed(data.get("total_size"), where, "total_size", int, null=True)
        if size is not None and size < 0:
            raise self.fail(where, f"total_size {size} is negative")
        return PlanEntry(
            tag=tag,
            digest=digest,
            action=action,
            reason=self.typed(data.get("reason", ""), where, "reason", str),
            created_at=self.time(data.get("created_at"), where, "created_at", null=True),
            total_size=size,
        )


def _field(what: str, key: str) -> str:
    return key if what in ("plan", "entry") else f"{what}.{key}"


def _kind_name(kind: type) -> str:
    return {int: "an integer", str: "a string", dict: "a JSON object", list: "a JSON list"}[kind]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
