"""Ages on the command line (`--older-than 30d`). Pure.

One duration grammar for every `--older-than`: GitLab's ChronicDuration (glcr.policy.duration),
the one a cleanup policy's and the bulk delete's `older_than` use, so `2mo`, `90d`, `2 weeks`,
`12h` or `1y` mean the same in `glcr tags list`, `tags plan`, `tags bulk-delete` and
`glcr cleanup`. Stricter than GitLab where a slip would select far too many tags for deletion:
words GitLab ignores, a number without a unit (seconds to GitLab), and a bare `m` (minutes to
GitLab, months to many people) are refused here.
"""

from __future__ import annotations

from datetime import timedelta

from glcr.errors import InvalidInputError

HINT = "use a number and a unit: h, d, w, mo (30 days) or y, e.g. 30d, 2mo, `2 weeks`"


def parse_age(text: str, option: str = "age") -> timedelta:
    from glcr.policy.duration import analyze_chronic_duration

    parsed = analyze_chronic_duration(text)
    if (parsed.seconds is None or parsed.ignored_words or parsed.bare_number
            or not any(c.isdigit() for c in text)):
        raise InvalidInputError(f"{option} {text!r} is not an age", hint=HINT)
    if any(word == "m" for word, _ in parsed.unit_words):
        raise InvalidInputError(f"{option} {text!r}: `m` means minutes to GitLab, not months",
                                hint="write `min` for minutes or `mo` for months")
    return timedelta(seconds=parsed.seconds)
