"""`glcr policy show`: one line of meaning per policy field."""

from __future__ import annotations

from glcr.models import ExpirationPolicy
from glcr.policy import describe_policy


def test_describe_policy():
    lines = {
        line.field: line.meaning
        for line in describe_policy(
            {"enabled": True, "cadence": "1month", "keep_n": 5, "older_than": "180d",
             "name_regex": "C|D", "name_regex_keep": "(?:main)"}
        )
    }
    assert list(lines) == ["enabled", "cadence", "keep_n", "older_than", "name_regex", "name_regex_keep"]
    assert "30 days" in lines["cadence"]
    assert "newest 5" in lines["keep_n"] and "1,000" in lines["keep_n"]
    assert "180 days" in lines["older_than"] and "recent GitLab" in lines["older_than"]
    assert "start with `C`" in lines["name_regex"] and "\\AC|D\\z" in lines["name_regex"]
    assert "`(?:main)`" in lines["name_regex_keep"]


def test_describe_the_model_defaults():
    lines = {line.field: line for line in describe_policy(ExpirationPolicy())}
    assert lines["enabled"].value is False and "never runs" in lines["enabled"].meaning
    assert "every GitLab version" in lines["older_than"].meaning
    assert lines["name_regex"].meaning.startswith("empty")
