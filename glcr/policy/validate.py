"""Client-side checks of a cleanup policy and of bulk-delete params, before GitLab sees them.

Errors mirror GitLab's own validation (app/models/container_expiration_policy.rb; the Grape
params of lib/api/project_container_repositories.rb) plus a few refusals of input GitLab would
accept but act on in a way nobody means (an unparseable `older_than` that GitLab accepts with 202
and then fails on; a negative keep_n that keeps nothing). Warnings explain GitLab semantics that
surprise people: anchoring by concatenation, anchors inside the pattern, policies with nothing
to hold them back. Every message is one line that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from glcr.errors import InvalidInputError
from glcr.policy.duration import analyze_chronic_duration, format_seconds
from glcr.policy.regex import describe_alternation, pattern_shape
from glcr.regex import re2_error
from glcr.policy.values import (
    BULK_DELETE_FIELDS,
    CADENCES,
    KEEP_N_VALUES,
    OLDER_THAN_ALL,
    OLDER_THAN_LEGACY,
    POLICY_FIELDS,
    READ_ONLY_POLICY_FIELDS,
    allowed_text,
    older_than_support,
)

MATCH_ALL = ".*"


@dataclass(frozen=True)
class Issue:
    """One finding. `code` is stable (tests and scripts match on it); `message` is for people."""

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ValidationResult:
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    # The input with values normalised (digit strings to int, "true" to True); unknown keys dropped.
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def codes(self) -> set[str]:
        return {i.code for i in self.errors} | {i.code for i in self.warnings}

    def raise_for_errors(self, doing: str = "checking the cleanup policy") -> None:
        """InvalidInputError with the first error; the count of the others in the hint."""
        if not self.errors:
            return
        more = len(self.errors) - 1
        hint = f"and {more} more error{'s' if more > 1 else ''}" if more else None
        raise InvalidInputError(f"{doing}: {self.errors[0].message}", hint=hint)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []

    def error(self, field_name: str, code: str, message: str) -> None:
        self.errors.append(Issue(field_name, code, f"{field_name}: {message}"))

    def warn(self, field_name: str, code: str, message: str) -> None:
        self.warnings.append(Issue(field_name, code, f"{field_name}: {message}"))

    def result(self, attributes: Mapping[str, Any]) -> ValidationResult:
        return ValidationResult(tuple(self.errors), tuple(self.warnings), dict(attributes))


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"`{value}`" if isinstance(value, str) else repr(value)


def _as_int(value: Any) -> int | None:
    """Grape's Integer coercion, roughly: ints and digit strings; never booleans."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def _unknown_fields(c: _Collector, attrs: Mapping[str, Any], known: tuple[str, ...], ignored=()) -> None:
    for key in attrs:
        if key not in known and key not in ignored:
            c.error(str(key), "unknown_field", f"unknown field; known fields: {', '.join(known)}")


def _check_regex_shape(c: _Collector, field_name: str, pattern: str) -> None:
    shape = pattern_shape(pattern)
    if shape.inner_anchors:
        found = ", ".join(f"`{a}`" for a in dict.fromkeys(shape.inner_anchors))
        c.warn(
            field_name,
            "anchor_inside",
            f"{found} inside `{pattern}`: GitLab already anchors the whole pattern as "
            f"\\A...\\z, so an anchor inside is redundant or never matches; remove it",
        )
    if len(shape.branches) > 1:
        c.warn(
            field_name,
            "top_level_alternation",
            f"`{pattern}` has a top-level `|` and GitLab anchors by concatenation "
            f"(`\\A{pattern}\\z`), so it matches {describe_alternation(shape.branches)}; "
            f"write `(?:{pattern})` to match whole names",
        )


def _check_regex(c: _Collector, field_name: str, value: Any, *, api: bool, checked: bool) -> str | None:
    """Type and RE2 checks; returns the pattern if it is a string."""
    if value is None:
        return None
    if not isinstance(value, str):
        c.error(field_name, "type", f"expected a regular expression string, got {_shown(value)}")
        return None
    error = re2_error(value)
    if error is not None:
        if api:
            c.error(field_name, "invalid_regex", f"is an invalid regexp: {error} (pattern `{value}`)")
        elif checked:
            c.error(field_name, "invalid_regex", f"not valid RE2 syntax: {error} (pattern `{value}`)")
        else:
            c.warn(
                field_name,
                "invalid_regex",
                f"not valid RE2 syntax: {error} (pattern `{value}`); GitLab does not check it "
                "while the policy is disabled, but will refuse to enable it",
            )
        return value
    _check_regex_shape(c, field_name, value)
    return value


def _check_keep_rules(c: _Collector, delete_field: str, delete: str | None, keep: str | None,
                      keep_n: int | None, older_than: Any) -> None:
    if delete == MATCH_ALL and _is_blank(keep):
        c.warn(
            delete_field,
            "match_all_no_keep",
            "`.*` with no name_regex_keep: every tag except `latest` is a deletion candidate; "
            "only keep_n and older_than keep any of them",
        )
    if keep == MATCH_ALL:
        c.warn("name_regex_keep", "keep_matches_all", "`.*` keeps every tag: nothing will be deleted")
    if delete is not None and not _is_blank(delete) and keep_n is None and _is_blank(older_than):
        c.warn(
            "keep_n, older_than",
            "no_limits",
            f"both empty: every tag that matches {delete_field} and not name_regex_keep is "
            "deleted (except `latest`), however new",
        )


def _check_duration(c: _Collector, field_name: str, value: Any) -> None:
    if not isinstance(value, str):
        c.error(field_name, "type", f"expected a duration such as 1h, 7d or `2 weeks`, got {_shown(value)}")
        return
    parsed = analyze_chronic_duration(value)
    if parsed.seconds is None:
        c.error(
            field_name,
            "invalid_duration",
            f"`{value}` is not a duration GitLab can parse (e.g. 1h, 7d, `2 weeks`, 1month); "
            "GitLab would accept the request with 202 and the cleanup job would then fail",
        )
        return
    if parsed.ignored_words:
        words = ", ".join(f"`{w}`" for w in parsed.ignored_words)
        c.error(
            field_name,
            "ignored_words",
            f"`{value}` has words GitLab ignores ({words}), so GitLab would read it as "
            f"{format_seconds(parsed.seconds)}; units: s, m (minutes), h, d, w, mo (30 days), y",
        )
        return
    if any(unit == "minutes" and word == "m" for word, unit in parsed.unit_words):
        c.warn(
            field_name,
            "minutes_unit",
            f"`{value}` is {format_seconds(parsed.seconds)} to GitLab: `m` means minutes; "
            "write `mo` or `month` for months",
        )
    if parsed.bare_number:
        # Refused, not warned: an age narrows a deletion, and `30` meant as days would let
        # GitLab delete every matching tag older than 30 seconds.
        c.error(
            field_name,
            "bare_number",
            f"`{value}` has a number with no unit, which GitLab reads as seconds "
            f"({format_seconds(parsed.seconds)} in all); add a unit, e.g. 30d",
        )


def validate_policy(attrs: Mapping[str, Any], *, check_regexes: bool | None = None) -> ValidationResult:
    """Check `container_expiration_policy_attributes` the way GitLab's model does, plus warnings.

    Fields that are absent are not checked, so pass the merged attributes (see
    `glcr.policy.diff.merge_policy`) for a complete check: `name_regex` is required only when
    `enabled` is true, and the keep-rule warnings look at all fields together.
    """
    c = _Collector()
    _unknown_fields(c, attrs, POLICY_FIELDS, READ_ONLY_POLICY_FIELDS)
    out: dict[str, Any] = {}

    enabled = attrs.get("enabled")
    if "enabled" in attrs:
        enabled = _as_bool(attrs["enabled"])
        if enabled is None:
            c.error("enabled", "not_allowed", f"must be true or false, got {_shown(attrs['enabled'])}")
        else:
            out["enabled"] = enabled

    if "cadence" in attrs:
        cadence = attrs["cadence"]
        if _is_blank(cadence):
            c.error("cadence", "required", f"can't be blank; allowed values: {allowed_text(CADENCES)}")
        elif cadence not in CADENCES:
            c.error("cadence", "not_allowed", f"{_shown(cadence)} is not allowed; allowed values: {allowed_text(CADENCES)}")
        else:
            out["cadence"] = cadence

    keep_n = None
    if "keep_n" in attrs:
        raw = attrs["keep_n"]
        keep_n = None if raw is None else _as_int(raw)
        if raw is not None and keep_n not in KEEP_N_VALUES:
            c.error("keep_n", "not_allowed", f"{_shown(raw)} is not allowed; allowed values: {allowed_text(KEEP_N_VALUES, nullable=True)}")
            keep_n = None
        else:
            out["keep_n"] = keep_n

    older_than = attrs.get("older_than")
    if "older_than" in attrs and older_than is not None:
        if older_than not in OLDER_THAN_ALL:
            c.error(
                "older_than",
                "not_allowed",
                f"{_shown(older_than)} is not allowed; allowed values: "
                f"{allowed_text(OLDER_THAN_ALL, nullable=True)} (older GitLab: "
                f"{allowed_text(OLDER_THAN_LEGACY)}, and 60d since 14.4)",
            )
        else:
            out["older_than"] = older_than
            if older_than not in OLDER_THAN_LEGACY:
                c.warn("older_than", "newer_value", f"`{older_than}` is {older_than_support(older_than)}; the server has the last word")
    elif "older_than" in attrs:
        out["older_than"] = None

    # GitLab checks name_regex and name_regex_keep only while the policy is enabled;
    # `check_regexes=True` checks them anyway (glcr never saves a regex it knows is invalid).
    checked = enabled is True if check_regexes is None else check_regexes
    name_regex = _check_regex(c, "name_regex", attrs.get("name_regex"), api=False, checked=checked)
    keep = _check_regex(c, "name_regex_keep", attrs.get("name_regex_keep"), api=False, checked=checked)
    for key in ("name_regex", "name_regex_keep"):
        if key in attrs and (attrs[key] is None or isinstance(attrs[key], str)):
            out[key] = attrs[key]
    if enabled is True and _is_blank(attrs.get("name_regex")):
        c.error(
            "name_regex",
            "required",
            "can't be blank while enabled is true (GitLab requires it); use `.*` to match every tag",
        )
    if enabled is not False and name_regex is not None:
        _check_keep_rules(c, "name_regex", name_regex, keep, keep_n, older_than)
    return c.result(out)


def validate_bulk_delete(params: Mapping[str, Any]) -> ValidationResult:
    """Check params of the bulk tag delete (`DELETE .../registry/repositories/:id/tags`)."""
    c = _Collector()
    _unknown_fields(c, params, BULK_DELETE_FIELDS)
    out: dict[str, Any] = {}

    if "name_regex_delete" not in params and "name_regex" not in params:
        # Grape: `at_least_one_of :name_regex, :name_regex_delete`.
        c.error("name_regex_delete", "required", "is required (GitLab: at least one of name_regex_delete, name_regex); use `.*` for every tag")
    delete = _check_regex(c, "name_regex_delete", params.get("name_regex_delete"), api=True, checked=True)
    alias = _check_regex(c, "name_regex", params.get("name_regex"), api=True, checked=True)
    keep = _check_regex(c, "name_regex_keep", params.get("name_regex_keep"), api=True, checked=True)
    for key in ("name_regex_delete", "name_regex", "name_regex_keep"):
        if isinstance(params.get(key), str):
            out[key] = params[key]
    if "name_regex" in params:
        if "name_regex_delete" in params and params["name_regex_delete"] is not None:
            c.warn("name_regex", "deprecated", "deprecated, and ignored because name_regex_delete is given")
        else:
            c.warn("name_regex", "deprecated", "deprecated alias; send name_regex_delete instead")
    # Ruby's `name_regex_delete || name_regex`: "" is truthy and wins.
    effective_field = "name_regex_delete" if params.get("name_regex_delete") is not None else "name_regex"
    effective = delete if params.get("name_regex_delete") is not None else alias
    if effective == "":
        c.warn(effective_field, "empty_regex", "empty: GitLab compiles it as \\A\\z, which matches no tag, so nothing is deleted")

    keep_n = None
    if params.get("keep_n") is not None:
        raw = params["keep_n"]
        keep_n = _as_int(raw)
        if keep_n is None:
            c.error("keep_n", "type", f"must be an integer, got {_shown(raw)}")
        elif keep_n < 0:
            c.error("keep_n", "negative", f"{keep_n} is negative: GitLab accepts it and keeps no tag at all; use 0 for that, or a positive number")
            keep_n = None
        else:
            out["keep_n"] = keep_n

    older_than = params.get("older_than")
    if older_than is not None:
        before = len(c.errors)
        _check_duration(c, "older_than", older_than)
        if len(c.errors) == before:
            out["older_than"] = older_than

    if effective is not None:
        _check_keep_rules(c, effective_field, effective, keep, keep_n, older_than)
    return c.result(out)


def validate_policy_fields(attrs: Mapping[str, Any], *, enabled: bool | None = None) -> ValidationResult:
    """What the given policy fields say on their own, before the saved policy is read.

    For flags that change or override part of a policy (`glcr policy set`, `glcr cleanup`):
    values outside GitLab's sets, unknown fields, and RE2 syntax are refused here, so a bad
    flag costs no request. The regexes are checked whether the policy is enabled or not: GitLab
    would save an invalid one into a disabled policy, and refuse to enable it later. Rules that need the whole policy (name_regex required while
    enabled, the keep-rule warnings) wait for `validate_policy` on the merged attributes; this
    returns errors only. `enabled`: judge the regexes as for an enabled policy (True, as GitLab
    does when it runs or enables one), or by the `enabled` field given (None).
    """
    checked = dict(attrs)
    if enabled is not None and "enabled" not in checked:
        checked["enabled"] = enabled
    full = validate_policy(checked, check_regexes=True)
    errors = tuple(issue for issue in full.errors if issue.code != "required" or issue.field in attrs)
    return ValidationResult(errors, (), dict(full.attributes))
