"""`glcr policy set`: merge changes into the current policy and show before/after rows."""

from __future__ import annotations

import pytest

from glcr.errors import InvalidInputError
from glcr.models import ExpirationPolicy
from glcr.policy import merge_policy, policy_attributes, validate_policy

CURRENT = {
    "cadence": "1d", "enabled": False, "keep_n": 10, "older_than": "90d",
    "name_regex": ".*", "name_regex_keep": None, "next_run_at": "2024-01-01T00:00:00Z",
}


def test_only_given_fields_change():
    change = merge_policy(CURRENT, {"enabled": True, "keep_n": 5, "older_than": "90d"})
    assert change.after == {
        "enabled": True, "cadence": "1d", "keep_n": 5, "older_than": "90d",
        "name_regex": ".*", "name_regex_keep": None,
    }
    assert [(r.field, r.before, r.after, r.changed) for r in change.rows] == [
        ("enabled", False, True, True),
        ("keep_n", 10, 5, True),
        ("older_than", "90d", "90d", False),
    ]
    assert change.changed
    assert change.payload() == {"enabled": True, "keep_n": 5}
    assert validate_policy(change.after).ok


def test_none_clears_a_field():
    change = merge_policy(CURRENT, {"keep_n": None})
    assert change.after["keep_n"] is None and change.payload() == {"keep_n": None}


def test_no_change():
    change = merge_policy(CURRENT, {"cadence": "1d"})
    assert not change.changed and change.payload() == {}


def test_from_the_model_and_from_nothing():
    model = ExpirationPolicy(cadence="7d", enabled=True, keep_n=5, older_than="14d", name_regex="v.*")
    assert policy_attributes(model) == {
        "enabled": True, "cadence": "7d", "keep_n": 5, "older_than": "14d",
        "name_regex": "v.*", "name_regex_keep": None,
    }
    change = merge_policy(None, {"cadence": "7d"})
    assert change.before == {} and change.rows[0].before is None


def test_bool_vs_int_counts_as_a_change():
    assert merge_policy({"keep_n": 1}, {"keep_n": True}).changed


def test_unknown_field_is_refused():
    with pytest.raises(InvalidInputError) as excinfo:
        merge_policy(CURRENT, {"name_regex_delete": ".*"})
    assert "`name_regex_delete`" in excinfo.value.one_line()
    assert "name_regex_keep" in excinfo.value.one_line()
