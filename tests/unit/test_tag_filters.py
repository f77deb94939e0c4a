from datetime import datetime, timedelta, timezone

import pytest

from glcr.durations import parse_age
from glcr.errors import InvalidInputError
from glcr.models import TagDetails
from glcr.plan.tag_filters import TagSort, select_tags

NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)


def tag(name, days=None, size=None):
    created = NOW - timedelta(days=days) if days is not None else None
    return TagDetails(name, f"g/p:{name}", f"r/g/p:{name}", "sha256:" + "a" * 64, created, size)


TAGS = [tag("v1", 100, 10), tag("v2", 10, 30), tag("main", 1, 20), tag("nodate")]


@pytest.mark.parametrize("kwargs,expected", [
    ({}, ["main", "nodate", "v1", "v2"]),
    ({"match": "^v"}, ["v1", "v2"]),
    ({"match": "ai"}, ["main"]),
    ({"older_than": timedelta(days=30)}, ["v1"]),
    ({"older_than": timedelta(days=5)}, ["v1", "v2"]),  # no date: never older than anything
    ({"sort": TagSort.CREATED}, ["main", "v2", "v1", "nodate"]),
    ({"sort": TagSort.SIZE}, ["v2", "main", "v1", "nodate"]),
    ({"sort": TagSort.SIZE, "limit": 2}, ["v2", "main"]),
])
def test_select_tags(kwargs, expected):
    assert [t.name for t in select_tags(TAGS, now=NOW, **kwargs)] == expected


def test_bad_regex_is_invalid_input():
    with pytest.raises(InvalidInputError):
        select_tags(TAGS, now=NOW, match="(?<=x)")


@pytest.mark.parametrize("text,seconds", [("30d", 30 * 86400), ("12h", 43200), ("2w", 14 * 86400), ("1month", 30 * 86400)])
def test_parse_age(text, seconds):
    assert parse_age(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "  ", "30", "1d 30", "d", "3x", "-1d", "6m"])
def test_parse_age_rejects(text):
    with pytest.raises(InvalidInputError):
        parse_age(text)


def test_older_than_and_sort_read_the_last_push_where_the_registry_has_push_times():
    def pushed(name, first, last):
        return TagDetails(name=name, path=name, location=name, digest=None, total_size=None,
                          created_at=NOW - timedelta(days=first),
                          updated_at=None if last is None else NOW - timedelta(days=last), push_times=True)

    main, old, mid = pushed("main", 300, 1), pushed("old", 200, None), pushed("mid", 100, None)
    picked = select_tags([main, old, mid], older_than=parse_age("90d", "--older-than"), now=NOW, sort=TagSort.CREATED)
    assert [t.name for t in picked] == ["mid", "old"]  # main was pushed yesterday
    assert [t.name for t in select_tags([old, main, mid], now=NOW, sort=TagSort.CREATED)] == ["main", "mid", "old"]
