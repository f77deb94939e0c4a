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
        # An image config's `created` is read strictly, as GitLab reads it: no zone, no date.
        strict = None if value == "2026-01-02T03:04:05" else expected
        assert config_created(f'{{"created": "{value}"}}'.encode()) == strict


@pytest.mark.parametrize(
    "text, expected",
    [
        # Dated, as Ruby's DateTime.rfc3339 dates them (GitLab's third-party Tag#created_at)
        ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
        ("2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456Z"),  # Go writes nanoseconds
        ("2024-01-02t03:04:05z", "2024-01-02T03:04:05Z"),  # any case
        ("2024-01-02 03:04:05+01:00", "2024-01-02T02:04:05Z"),  # a space for the T, an offset
        ("  2024-01-02T03:04:05-02:30 ", "2024-01-02T05:34:05Z"),  # blanks around
        ("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z"),  # a leap second carries over
        # Undated in GitLab (ArgumentError -> nil), so undated here
        ("2024-01-01", None),
        ("2024-01-02T03:04:05", None),  # no zone
        ("2024-01-02T03:04:05+0100", None),  # offset without a colon
        ("20240102T030405Z", None),  # basic format
        ("2024-01-02T03:04Z", None),  # no seconds
        ("2024-13-02T03:04:05Z", None),  # no such month
        ("2024-01-02T03:04:05+24:00", None),
        ("", None),
        (None, None),
        (1704164645, None),
    ],
)
def test_rfc3339_time_reads_config_created_as_gitlab_does(text, expected):
    from glcr.timestamps import format_time, rfc3339_time

    got = rfc3339_time(text)
    assert (format_time(got) if got else None) == expected
