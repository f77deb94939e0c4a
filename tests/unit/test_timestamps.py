"""glcr.timestamps: one way to write times, one way to read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from glcr.gitlab.convert import iso, tag_details
from glcr.registry.details import config_created
from glcr.timestamps import as_utc, format_time, optional_time, parse_time

PLUS2 = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),  # naive is UTC
        (datetime(2026, 1, 2, 5, 4, 5, tzinfo=PLUS2), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 456789, tzinfo=UTC), "2026-01-02T03:04:05.456789Z"),
    ],
)
def test_written_in_utc_and_read_back(moment, text):
    assert format_time(moment) == text
    assert parse_time(text) == as_utc(moment)
    assert iso(moment) == text


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05", "yesterday", ""])
def test_strict_reading_refuses(text):
    with pytest.raises(ValueError):
        parse_time(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-02T05:04:05.000+02:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.000Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (None, None), ("", None), ("not a time", None), (12, None),
    ],
)
def test_times_from_gitlab_and_registries(value, expected):
    moment = optional_time(value)
    assert moment == expected
    assert moment is None or moment.tzinfo is UTC
    assert tag_details({"name": "t", "created_at": value}).created_at == expected
    if isinstance(value, str):
        assert config_created(f'{{"created": "{value}"}}'.encode()) == expected
