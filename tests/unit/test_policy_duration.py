"""ChronicDuration as GitLab parses older_than. Exemplars from gitlab-chronic-duration's spec
(spec/lib/chronic_duration_spec.rb, version 0.12.0) and GitLab's 30-day-month patch spec."""

from __future__ import annotations

from datetime import timedelta

import pytest

from glcr.errors import InvalidInputError
from glcr.policy import analyze_chronic_duration, format_seconds, parse_chronic_duration, parse_older_than

YEAR = 31_557_600
DAY = 24 * 3600


@pytest.mark.parametrize(
    "text, seconds",
    [
        # gitlab-chronic-duration's exemplars
        ("1:20", 60 + 20),
        ("1:20.51", 60 + 20.51),
        ("4:01:01", 4 * 3600 + 60 + 1),
        ("3 mins 4 sec", 3 * 60 + 4),
        ("3 Mins 4 Sec", 3 * 60 + 4),
        ("2 hrs 20 min", 2 * 3600 + 20 * 60),
        ("2h20min", 2 * 3600 + 20 * 60),
        ("6 mos 1 day", 6 * 30 * DAY + DAY),
        ("1 year 6 mos 1 day", YEAR + 6 * 30 * DAY + DAY),
        ("2.5 hrs", 2.5 * 3600),
        ("47 yrs 6 mos and 4.5d", 47 * YEAR + 6 * 30 * DAY + 4.5 * DAY),
        ("3 weeks and, 2 days", 3 * 7 * DAY + 2 * DAY),
        ("3 weeks, plus 2 days", 3 * 7 * DAY + 2 * DAY),
        ("3 weeks with 2 days", 3 * 7 * DAY + 2 * DAY),
        ("1 month", 30 * DAY),
        ("2 months", 60 * DAY),
        ("18 months", 18 * 30 * DAY),
        ("1 year 6 months", int(DAY * (365.25 + 6 * 30))),
        ("day", DAY),
        ("minute 30s", 90),
        # what the bulk API's docs and glcr users write
        ("1h", 3600),
        ("1d", DAY),
        ("7d", 7 * DAY),
        ("90d", 90 * DAY),
        ("1 day", DAY),
        ("2 weeks", 14 * DAY),
        ("1w", 7 * DAY),
        ("1wk", 7 * DAY),
        ("1month", 30 * DAY),  # GitLab's patch: a month is 30 days
        ("1mo", 30 * DAY),
        ("3month", 90 * DAY),
        ("1m", 60),  # m is a MINUTE
        ("1y", YEAR),
        ("5", 5),  # bare number: seconds
    ],
)
def test_parse_like_gitlab(text, seconds):
    assert parse_chronic_duration(text) == seconds


@pytest.mark.parametrize("text", ["gobblygoo", "0", "0d", "", "   ", "0:00"])
def test_nil_cases(text):
    assert parse_chronic_duration(text) is None
    with pytest.raises(InvalidInputError):
        parse_older_than(text)


def test_ignored_words_are_reported_and_refused():
    parsed = analyze_chronic_duration("7 dayz")
    assert parsed.seconds == 7  # what GitLab does: 7 seconds
    assert parsed.ignored_words == ("dayz",)
    with pytest.raises(InvalidInputError) as excinfo:
        parse_older_than("7 dayz")
    assert "7 seconds" in excinfo.value.one_line() and "`dayz`" in excinfo.value.one_line()


def test_a_number_followed_by_a_number_is_ignored():
    parsed = analyze_chronic_duration("1 2 days")
    assert parsed.seconds == 2 * DAY and parsed.ignored_words == ("1",)


def test_parse_older_than_returns_a_timedelta():
    assert parse_older_than("90d") == timedelta(days=90)
    assert parse_older_than("1.5h") == timedelta(minutes=90)
    with pytest.raises(InvalidInputError):
        parse_older_than(None)


@pytest.mark.parametrize(
    "seconds, text",
    [(60, "1 minute"), (90 * DAY, "90 days"), (36 * 3600, "36 hours"), (1.5, "1.5 seconds"), (None, "nothing")],
)
def test_format_seconds(seconds, text):
    assert format_seconds(seconds) == text
