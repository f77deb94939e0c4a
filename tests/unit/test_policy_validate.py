"""Client-side validation of policy attributes and bulk-delete params.

Errors mirror app/models/container_expiration_policy.rb and the Grape params of
lib/api/project_container_repositories.rb; tests match on `code`, plus the few words a message
must carry (the field, the allowed values, RE2's error).
"""

from __future__ import annotations

import pytest

from glcr.errors import InvalidInputError
from glcr.policy import (
    CADENCES,
    KEEP_N_VALUES,
    OLDER_THAN_LEGACY,
    OLDER_THAN_NEWEST,
    older_than_support,
    validate_bulk_delete,
    validate_policy,
)

GOOD = {
    "enabled": True,
    "cadence": "7d",
    "keep_n": 10,
    "older_than": "90d",
    "name_regex": "(?:v.+|main-.*)",
    "name_regex_keep": "(?:release-.*)",
}


def policy(**changes):
    attrs = dict(GOOD)
    attrs.update(changes)
    return {k: v for k, v in attrs.items() if v is not ...}


def codes(result, kind):
    return {(i.field, i.code) for i in getattr(result, kind)}


def test_a_good_policy_has_no_findings():
    result = validate_policy(GOOD)
    assert result.ok and not result.errors and not result.warnings
    assert result.attributes == GOOD
    result.raise_for_errors()  # no error: nothing raised


@pytest.mark.parametrize("cadence", CADENCES)
def test_every_cadence_is_accepted(cadence):
    assert validate_policy(policy(cadence=cadence)).ok


@pytest.mark.parametrize("keep_n", KEEP_N_VALUES + (None,))
def test_every_keep_n_is_accepted(keep_n):
    assert validate_policy(policy(keep_n=keep_n)).ok


@pytest.mark.parametrize("older_than", OLDER_THAN_NEWEST + (None,))
def test_every_older_than_of_any_version_is_accepted(older_than):
    result = validate_policy(policy(older_than=older_than))
    assert result.ok
    newer = older_than is not None and older_than not in OLDER_THAN_LEGACY
    assert (("older_than", "newer_value") in codes(result, "warnings")) is newer


def test_older_than_support_explains_versions():
    assert "every GitLab" in older_than_support("90d")
    assert "14.4" in older_than_support("60d")
    assert "recent" in older_than_support("1095d")
    assert "not accepted" in older_than_support("2d")


@pytest.mark.parametrize(
    "changes, field, code, must_mention",
    [
        ({"cadence": "2d"}, "cadence", "not_allowed", ["`2d`", "1d, 7d, 14d, 1month, 3month"]),
        ({"cadence": None}, "cadence", "required", ["blank", "1month"]),
        ({"cadence": "1 month"}, "cadence", "not_allowed", ["1month"]),
        ({"keep_n": 3}, "keep_n", "not_allowed", ["1, 5, 10, 25, 50, 100 or null"]),
        ({"keep_n": 0}, "keep_n", "not_allowed", ["1, 5, 10"]),
        ({"keep_n": True}, "keep_n", "not_allowed", ["true"]),
        ({"keep_n": "ten"}, "keep_n", "not_allowed", ["`ten`"]),
        ({"older_than": "2d"}, "older_than", "not_allowed", ["1d, 3d, 7d", "7d, 14d, 30d, 90d", "14.4"]),
        ({"older_than": "1month"}, "older_than", "not_allowed", ["`1month`"]),
        ({"enabled": "yes"}, "enabled", "not_allowed", ["true or false"]),
        ({"name_regex": None}, "name_regex", "required", ["enabled", "`.*`"]),
        ({"name_regex": "  "}, "name_regex", "required", ["blank"]),
        ({"name_regex": "(a"}, "name_regex", "invalid_regex", ["not valid RE2 syntax", "missing )"]),
        ({"name_regex_keep": "(?<=v)1"}, "name_regex_keep", "invalid_regex", ["RE2", "(?<="]),
        ({"name_regex": "v.*\\Z"}, "name_regex", "invalid_regex", ["\\Z"]),
        ({"name_regex": ["v.*"]}, "name_regex", "type", ["string"]),
        ({"name_regex_delete": ".*"}, "name_regex_delete", "unknown_field", ["known fields", "name_regex_keep"]),
    ],
)
def test_policy_errors(changes, field, code, must_mention):
    result = validate_policy(policy(**changes))
    assert not result.ok
    assert (field, code) in codes(result, "errors")
    issue = next(i for i in result.errors if i.code == code)
    assert issue.message.startswith(f"{field}:")
    assert "\n" not in issue.message
    for text in must_mention:
        assert text in issue.message
    with pytest.raises(InvalidInputError):
        result.raise_for_errors()


def test_regexes_of_a_disabled_policy_are_only_a_warning():
    # GitLab validates name_regex and name_regex_keep only `if: :enabled?`.
    result = validate_policy(policy(enabled=False, name_regex="(a", name_regex_keep=None))
    assert result.ok
    assert ("name_regex", "invalid_regex") in codes(result, "warnings")
    assert "refuse to enable" in str(result.warnings[0])


def test_disabled_policy_may_lack_name_regex():
    assert validate_policy(policy(enabled=False, name_regex=None)).ok


def test_string_booleans_and_digit_strings_are_normalised():
    result = validate_policy(policy(enabled="true", keep_n="25"))
    assert result.ok
    assert result.attributes["enabled"] is True and result.attributes["keep_n"] == 25


@pytest.mark.parametrize(
    "changes, field, code, must_mention",
    [
        ({"name_regex": "C|D"}, "name_regex", "top_level_alternation",
         ["\\AC|D\\z", "start with `C`", "end with `D`", "(?:C|D)"]),
        ({"name_regex": "A|B.*|C"}, "name_regex", "top_level_alternation", ["contain `B.*`"]),
        ({"name_regex_keep": "main|release-.*"}, "name_regex_keep", "top_level_alternation", ["(?:main|release-.*)"]),
        ({"name_regex": "^v.*$"}, "name_regex", "anchor_inside", ["`^`", "`$`", "already anchors"]),
        ({"name_regex": "\\Av.*\\z"}, "name_regex", "anchor_inside", ["`\\A`", "`\\z`"]),
        ({"name_regex": ".*", "name_regex_keep": None}, "name_regex", "match_all_no_keep", ["`latest`"]),
        ({"name_regex_keep": ".*"}, "name_regex_keep", "keep_matches_all", ["nothing"]),
        ({"keep_n": None, "older_than": None}, "keep_n, older_than", "no_limits", ["however new"]),
    ],
)
def test_policy_warnings(changes, field, code, must_mention):
    result = validate_policy(policy(**changes))
    assert result.ok
    assert (field, code) in codes(result, "warnings")
    issue = next(i for i in result.warnings if i.code == code)
    assert "\n" not in issue.message
    for text in must_mention:
        assert text in issue.message


@pytest.mark.parametrize(
    "pattern",
    ["(?:C|D)", "[|]x", "a\\|b", "\\Qa|b\\E", "[^a]x", "v[0-9]+\\.[0-9]+", "(a|b)-(c|d)"],
)
def test_no_false_alarms(pattern):
    result = validate_policy(policy(name_regex=pattern))
    assert result.ok and not result.warnings, result.warnings


def test_partial_attributes_are_checked_field_by_field():
    assert validate_policy({"cadence": "14d"}).ok
    assert validate_policy({}).ok
    result = validate_policy({"keep_n": 7, "cadence": "1y"})
    assert {i.field for i in result.errors} == {"keep_n", "cadence"}
    with pytest.raises(InvalidInputError) as excinfo:
        result.raise_for_errors()
    assert "1 more error" in excinfo.value.one_line()


def test_next_run_at_is_tolerated_as_read_only():
    assert validate_policy(policy(next_run_at="2024-01-01T00:00:00Z")).ok


# --- bulk delete --------------------------------------------------------------------------------


def bulk_codes(params, kind="errors"):
    return codes(validate_bulk_delete(params), kind)


def test_good_bulk_params():
    result = validate_bulk_delete(
        {"name_regex_delete": "(?:feature-.*)", "name_regex_keep": "(?:main)", "keep_n": 5, "older_than": "1month"}
    )
    assert result.ok and not result.warnings
    assert result.attributes["keep_n"] == 5


@pytest.mark.parametrize(
    "params, field, code, must_mention",
    [
        ({"keep_n": 5}, "name_regex_delete", "required", ["at least one of"]),
        ({"name_regex_delete": "(a"}, "name_regex_delete", "invalid_regex", ["is an invalid regexp: missing )"]),
        ({"name_regex": "a)"}, "name_regex", "invalid_regex", ["invalid regexp"]),
        ({"name_regex_delete": ".*", "name_regex_keep": "(\\w)\\1"}, "name_regex_keep", "invalid_regex", ["\\1"]),
        ({"name_regex_delete": ".*", "keep_n": -1}, "keep_n", "negative", ["keeps no tag"]),
        ({"name_regex_delete": ".*", "keep_n": "five"}, "keep_n", "type", ["integer"]),
        ({"name_regex_delete": ".*", "keep_n": 1.5}, "keep_n", "type", ["integer"]),
        ({"name_regex_delete": ".*", "older_than": "7 dayz"}, "older_than", "ignored_words", ["`dayz`", "7 seconds"]),
        ({"name_regex_delete": ".*", "older_than": "soon"}, "older_than", "invalid_duration", ["202"]),
        ({"name_regex_delete": ".*", "older_than": "0d"}, "older_than", "invalid_duration", ["`0d`"]),
        ({"name_regex_delete": ".*", "older_than": ""}, "older_than", "invalid_duration", ["``"]),
        ({"name_regex_delete": ".*", "older_than": 7}, "older_than", "type", ["duration"]),
        ({"name_regex_delete": ".*", "older_than": "3600"}, "older_than", "bare_number", ["seconds", "30d"]),
        ({"name_regex_delete": ".*", "older_than": "1d 30"}, "older_than", "bare_number", ["seconds"]),
        ({"name_regex_delete": ".*", "cadence": "1d"}, "cadence", "unknown_field", ["known fields"]),
    ],
)
def test_bulk_errors(params, field, code, must_mention):
    result = validate_bulk_delete(params)
    assert (field, code) in codes(result, "errors")
    issue = next(i for i in result.errors if i.code == code)
    for text in must_mention:
        assert text in issue.message
    assert "\n" not in issue.message


@pytest.mark.parametrize(
    "params, field, code, must_mention",
    [
        ({"name_regex_delete": ".*", "older_than": "1m"}, "older_than", "minutes_unit", ["1 minute", "`mo`"]),
        ({"name_regex": ".*", "keep_n": 1}, "name_regex", "deprecated", ["name_regex_delete"]),
        ({"name_regex": ".*", "name_regex_delete": "v.*", "keep_n": 1}, "name_regex", "deprecated", ["ignored"]),
        ({"name_regex_delete": "", "name_regex": ".*", "keep_n": 1}, "name_regex_delete", "empty_regex", ["nothing is deleted"]),
        ({"name_regex_delete": "C|D", "keep_n": 1}, "name_regex_delete", "top_level_alternation", ["(?:C|D)"]),
        ({"name_regex_delete": ".*", "keep_n": 1}, "name_regex_delete", "match_all_no_keep", ["`.*`"]),
        ({"name_regex_delete": "v.*"}, "keep_n, older_than", "no_limits", ["however new"]),
    ],
)
def test_bulk_warnings(params, field, code, must_mention):
    result = validate_bulk_delete(params)
    assert result.ok, result.errors
    assert (field, code) in codes(result, "warnings")
    issue = next(i for i in result.warnings if i.code == code)
    for text in must_mention:
        assert text in issue.message


@pytest.mark.parametrize("older_than", ["1h", "1d", "7d", "1month", "1 day", "2 weeks", "90 days", "1mo", "1y"])
def test_bulk_older_than_accepts_chronic_durations(older_than):
    result = validate_bulk_delete({"name_regex_delete": "v.*", "keep_n": 1, "older_than": older_than})
    assert result.ok and not result.warnings


def test_bulk_keep_n_zero_and_digit_strings():
    result = validate_bulk_delete({"name_regex_delete": "v.*", "keep_n": "0"})
    assert result.ok and result.attributes["keep_n"] == 0


@pytest.mark.parametrize("attrs", [
    {"name_regex_keep": "["},
    {"enabled": False, "name_regex_keep": "["},
    {"enabled": False, "name_regex": "(?<=a)b"},
])
def test_given_fields_are_refused_with_an_invalid_regex_enabled_or_not(attrs):
    """GitLab saves an invalid regex into a disabled policy (and refuses to enable it later):
    glcr refuses it before anything is saved."""
    from glcr.policy.validate import validate_policy_fields

    result = validate_policy_fields(attrs)
    assert "invalid_regex" in {i.code for i in result.errors}
    # the merged policy is still judged as GitLab judges it: a warning while disabled
    assert validate_policy({**attrs, "enabled": False}).ok
