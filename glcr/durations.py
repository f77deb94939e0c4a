"""Ages on the command line (`--older-than 30d`). Pure.

One duration grammar and one parser for every `--older-than` (`glcr tags list|plan|bulk-delete`,
`glcr cleanup`, `glcr policy set`): GitLab's ChronicDuration (glcr.policy.duration), the one a
cleanup policy's and the bulk delete's `older_than` use, so `2mo`, `90d`, `2 weeks`, `12h` or
`1y` mean the same everywhere. Stricter than GitLab where a slip would select far too many tags
for deletion, and an age narrows a deletion, so it fails closed:

* an empty value (`--older-than "$UNSET"`) is refused, never read as "no age rule";
* a number without a unit is refused: GitLab reads `30` as 30 *seconds* (no GitLab field
  reads a bare number as days);
* words GitLab ignores (`7 dayz` is 7 seconds to GitLab) are refused;
* a bare `m` (minutes to GitLab, months to many people) is refused.
"""

from __future__ import annotations

from datetime import timedelta

from glcr.errors import InvalidInputError

HINT = "use a number and a unit: h, d, w, mo (30 days) or y, e.g. 30d, 2mo, `2 weeks`"


def parse_age(text: str, option: str = "age") -> timedelta:
    from glcr.policy.duration import analyze_chronic_duration

    if not text.strip():
        # `--older-than "$AGE"` with AGE unset: dropping the rule would delete every new tag too.
        raise InvalidInputError(f"{option} is empty: an empty age would drop the age rule",
                                hint=f"{HINT}; or leave {option} out")
    parsed = analyze_chronic_duration(text)
    if parsed.bare_number and parsed.seconds is not None and not parsed.unit_words:
        raise InvalidInputError(f"{option} {text!r} is not an age: a number without a unit is seconds to GitLab",
                                hint=HINT)
    if (parsed.seconds is None or parsed.ignored_words or parsed.bare_number
            or not any(c.isdigit() for c in text)):
        raise InvalidInputError(f"{option} {text!r} is not an age", hint=HINT)
    if any(word == "m" for word, _ in parsed.unit_words):
        raise InvalidInputError(f"{option} {text!r}: `m` means minutes to GitLab, not months",
                                hint="write `min` for minutes or `mo` for months")
    return timedelta(seconds=parsed.seconds)


def parse_age_option(text: str | None, option: str = "--older-than") -> timedelta | None:
    """`parse_age` for an optional flag: None when the flag is not given (and only then)."""
    return None if text is None else parse_age(text, option)
