"""ChronicDuration, as GitLab parses `older_than` (and a policy's cadence).

A line-by-line port of `ChronicDuration.parse` from gitlab-chronic-duration 0.12.0 (GitLab's fork,
with 30-day months; the older in-tree patch lib/gitlab/patch/chronic_duration.rb did the same):

* units: s/sec/secs/second(s), m/min/mins/minute(s), h/hr/hrs/hour(s), d/dy/day(s),
  w/wk/wks/week(s), mo/mos/month(s), y/yr/yrs/year(s). **`m` is a minute**; a month is `mo`.
* month = 30 days, week = 7 days, year = 365.25 days (31,557,600 s).
* a bare number is seconds; `3:41:59` is h:m:s; `and`, `with`, `plus` are ignored.
* unknown words are dropped *silently* (GitLab leaves raise_exceptions off): `7 dayz` is 7
  seconds. A result of 0 is nil, and GitLab's cleanup job then fails after the API said 202.

`parse_chronic_duration` reproduces GitLab exactly (None where GitLab gets nil);
`parse_older_than` is what glcr uses: it also refuses input whose words GitLab would ignore.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from glcr.errors import InvalidInputError

SECONDS_PER_YEAR = 31_557_600
HOURS_PER_DAY = 24
DAYS_PER_MONTH = 30
FULL_WEEKS_PER_MONTH = 4

_UNIT_SECONDS: dict[str, int] = {
    "years": SECONDS_PER_YEAR,
    "months": 3600 * HOURS_PER_DAY * DAYS_PER_MONTH,
    "weeks": 3600 * HOURS_PER_DAY * (DAYS_PER_MONTH // FULL_WEEKS_PER_MONTH),
    "days": 3600 * HOURS_PER_DAY,
    "hours": 3600,
    "minutes": 60,
    "seconds": 1,
}

MAPPINGS: dict[str, str] = {
    "seconds": "seconds", "second": "seconds", "secs": "seconds", "sec": "seconds", "s": "seconds",
    "minutes": "minutes", "minute": "minutes", "mins": "minutes", "min": "minutes", "m": "minutes",
    "hours": "hours", "hour": "hours", "hrs": "hours", "hr": "hours", "h": "hours",
    "days": "days", "day": "days", "dy": "days", "d": "days",
    "weeks": "weeks", "week": "weeks", "wks": "weeks", "wk": "weeks", "w": "weeks",
    "months": "months", "mo": "months", "mos": "months", "month": "months",
    "years": "years", "year": "years", "yrs": "years", "yr": "years", "y": "years",
}
JOIN_WORDS = ("and", "with", "plus")

_FLOAT = re.compile(r"[0-9]*\.?[0-9]+")
# Ruby's ^ and $ are line anchors, hence MULTILINE.
_TIME = re.compile(r"^[0-9]+:[0-9]+(:[0-9]+){0,4}(\.[0-9]*)?$", re.MULTILINE)
_CHRONO_UNITS = ("seconds", "minutes", "hours", "days", "months", "years")
# Ruby's String#split with no argument splits on ASCII whitespace; strip also drops NUL.
_RUBY_SPACE = re.compile(r"[ \t\n\v\f\r]+")
_RUBY_STRIP = " \t\n\v\f\r\0"


@dataclass(frozen=True)
class DurationParse:
    """What ChronicDuration made of a string, with what it silently dropped."""

    text: str
    seconds: int | float | None  # None: GitLab's nil (unparseable or zero)
    ignored_words: tuple[str, ...] = ()
    unit_words: tuple[tuple[str, str], ...] = ()  # (word as written, unit), e.g. ("m", "minutes")
    bare_number: bool = False  # a number with no unit after it, read as seconds

    @property
    def timedelta(self) -> timedelta | None:
        return None if self.seconds is None else timedelta(seconds=self.seconds)


def _ruby_split(text: str) -> list[str]:
    return [w for w in _RUBY_SPACE.split(text) if w]


def _filter_by_type(text: str) -> str:
    """`3:41:59` -> `3 hours 41 minutes 59 seconds`."""
    compact = text.replace(" ", "")
    if not _TIME.search(compact):
        return text
    parts = []
    for k, value in enumerate(reversed(compact.split(":"))):
        parts.append(f"{value} {_CHRONO_UNITS[k]}")
    return " ".join(reversed(parts))


def _strip_commas(word: str) -> str:
    word = word.strip(_RUBY_STRIP)
    if word.startswith(","):
        word = word[1:]
    if word.endswith(","):
        word = word[:-1]
    return word


def _convert_to_number(text: str) -> int | float:
    value = float(text)
    return value if value % 1 > 0 else int(value)


def _unit_seconds(unit: str) -> int:
    return _UNIT_SECONDS.get(unit, 0)


def analyze_chronic_duration(text: str, *, default_unit: str = "seconds") -> DurationParse:
    """Parse like `ChronicDuration.parse(text)` and report what was ignored on the way."""
    # cleanup
    res = _filter_by_type(text.lower())
    res = _FLOAT.sub(lambda m: f" {m.group(0)} ", res)
    res = re.sub(" +", " ", res).strip(_RUBY_STRIP)
    # filter_through_white_list
    kept: list[str] = []
    ignored: list[str] = []
    unit_words: list[tuple[str, str]] = []
    for word in _ruby_split(res):
        if _FLOAT.search(word):
            kept.append(word.strip(_RUBY_STRIP))
            continue
        stripped = _strip_commas(word)
        if stripped in MAPPINGS:
            kept.append(MAPPINGS[stripped])
            unit_words.append((stripped, MAPPINGS[stripped]))
        elif stripped not in JOIN_WORDS:
            ignored.append(word)
    if kept and kept[0] in MAPPINGS:  # "day" -> "1 day"
        kept.insert(0, "1")
    # calculate_from_words
    total: int | float = 0
    bare = False
    for k, word in enumerate(kept):
        if not _FLOAT.search(word):
            continue
        if k + 1 < len(kept):
            unit = kept[k + 1]
            if _FLOAT.search(unit):  # "1 2 days": the 1 is multiplied by 0
                ignored.append(word)
        else:
            unit = default_unit
            bare = True
        total += _convert_to_number(word) * _unit_seconds(unit)
    return DurationParse(
        text=text,
        seconds=None if total == 0 else total,
        ignored_words=tuple(ignored),
        unit_words=tuple(unit_words),
        bare_number=bare,
    )


def parse_chronic_duration(text: str) -> int | float | None:
    """Exactly `ChronicDuration.parse(text)` as GitLab calls it: seconds, or None for nil."""
    return analyze_chronic_duration(text).seconds


def parse_older_than(text: str, *, field: str = "older_than") -> timedelta:
    """The duration GitLab will use for `older_than`, or InvalidInputError.

    Stricter than GitLab on purpose: words GitLab would drop silently (`7 dayz` = 7 seconds to
    GitLab) are an error here, since acting on them deletes far more than intended.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"{field}: expected a duration such as 90d or `1 day`, got {text!r}")
    parsed = analyze_chronic_duration(text)
    if parsed.seconds is None:
        raise InvalidInputError(
            f"{field}: `{text}` is not a duration GitLab can parse (it must be more than zero, "
            "e.g. 1h, 7d, `2 weeks`, 1month); GitLab would accept the request and the job would fail"
        )
    if parsed.ignored_words:
        words = ", ".join(f"`{w}`" for w in parsed.ignored_words)
        raise InvalidInputError(
            f"{field}: `{text}` has words GitLab ignores ({words}), so GitLab would read it as "
            f"{format_seconds(parsed.seconds)}; use units s, m (minutes), h, d, w, mo (30 days), y"
        )
    return timedelta(seconds=parsed.seconds)


def format_seconds(seconds: int | float | None) -> str:
    """A short human reading: `90 days`, `1 minute`, `36 hours`, `1.5 seconds`."""
    if seconds is None:
        return "nothing"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}" + ("" if count == 1 else "s")
    return f"{seconds:g} seconds"


def format_timedelta(value: timedelta) -> str:
    return format_seconds(value.total_seconds())
