"""Policy files (JSON or YAML text) into container_expiration_policy_attributes."""

from __future__ import annotations

import pytest

from glcr.errors import InvalidInputError
from glcr.policy import parse_policy_text

ATTRS = {"enabled": True, "cadence": "7d", "keep_n": 10, "older_than": "90d", "name_regex": ".*", "name_regex_keep": None}


@pytest.mark.parametrize(
    "text, fmt",
    [
        ('{"enabled": true, "cadence": "7d", "keep_n": 10, "older_than": "90d", "name_regex": ".*", "name_regex_keep": null}', "json"),
        ('{"container_expiration_policy_attributes": {"enabled": true, "cadence": "7d", "keep_n": 10, '
         '"older_than": "90d", "name_regex": ".*", "name_regex_keep": null}}', "json"),
        ("enabled: true\ncadence: 7d\nkeep_n: 10\nolder_than: 90d\nname_regex: .*\nname_regex_keep: null\n", "yaml"),
        ("container_expiration_policy_attributes:\n  enabled: true\n  cadence: 7d\n  keep_n: 10\n"
         "  older_than: 90d\n  name_regex: '.*'\n  name_regex_keep: ~\n", "yml"),
        # what `GET /projects/:id` shows, next_run_at included
        ('{"container_expiration_policy": {"cadence": "7d", "enabled": true, "keep_n": 10, "older_than": "90d", '
         '"name_regex": ".*", "name_regex_keep": null, "next_run_at": "2020-01-01T00:00:00.000Z"}}', "JSON"),
    ],
)
def test_accepted_shapes(text, fmt):
    assert parse_policy_text(text, fmt) == ATTRS


def test_only_given_fields_are_returned_in_gitlab_order():
    assert list(parse_policy_text('{"keep_n": 5, "cadence": "1d"}', "json")) == ["cadence", "keep_n"]


@pytest.mark.parametrize(
    "text, fmt, must_mention",
    [
        ('{"cadence": "7d", "keep": 5}', "json", ["`keep`", "keep_n", "name_regex_keep"]),
        ("name_regex_delete: .*\n", "yaml", ["`name_regex_delete`", "known keys"]),
        ('{"container_expiration_policy_attributes": {"cadance": "7d"}}', "json", ["`cadance`"]),
        ('{"container_expiration_policy_attributes": {}, "cadence": "7d"}', "json", ["`cadence`", "inside"]),
        ('{"container_expiration_policy_attributes": "7d"}', "json", ["mapping"]),
        ('{"cadence": "7d",}', "json", ["invalid JSON", "line 1"]),
        ("cadence: [7d\n", "yaml", ["invalid YAML"]),
        ("- 7d\n", "yaml", ["mapping", "list"]),
        ("", "yaml", ["empty"]),
        ("   ", "json", ["empty"]),
        ("{}", "toml", ["unknown format", "json or yaml"]),
    ],
)
def test_rejections_are_one_line_and_name_the_problem(text, fmt, must_mention):
    with pytest.raises(InvalidInputError) as excinfo:
        parse_policy_text(text, fmt, source="policy.file")
    line = excinfo.value.one_line()
    assert "\n" not in line and line.startswith("policy.file: ")
    for text_ in must_mention:
        assert text_ in line
