"""RE2, compiled one way for all of glcr. PURE.

GitLab compiles every user-given tag pattern with RE2 (`Gitlab::UntrustedRegexp`,
lib/gitlab/untrusted_regexp.rb, with `log_errors: false`), so glcr does too: a pattern glcr
accepts is one GitLab accepts, and RE2 runs in linear time whatever the pattern. A pattern RE2
refuses is an InvalidInputError (exit 3) of one shape:
`<what> is an invalid regexp: <RE2's error> (pattern `<pattern>`; RE2 has no lookaround or
backreferences)`.

How a pattern is anchored and matched is the caller's: GitLab's cleanup pastes `\\A`/`\\z`
around it (glcr.policy.regex), tag protection searches it anywhere (glcr.policy.protection),
glcr's own `--keep-regex`/`--delete-regex` match the whole name (glcr.plan.build).
"""

from __future__ import annotations

from typing import Protocol

import re2

from glcr.errors import InvalidInputError


class Re2Pattern(Protocol):
    """What glcr uses of a compiled google-re2 pattern (re2._Regexp; the package ships no types).
    A match object is only ever tested against None."""

    def search(self, text: str) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...


def _options(*, never_capture: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would also print the error to stderr
    options.never_capture = never_capture
    return options


def _error_text(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else str(exc)
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def re2_error(pattern: str) -> str | None:
    """RE2's error for `pattern`, or None if it compiles (what GitLab's validators check)."""
    try:
        re2.compile(pattern, _options(never_capture=False))
    except re2.error as exc:
        return _error_text(exc)
    return None


def invalid_regexp(what: str, pattern: str, error: str) -> InvalidInputError:
    """The one error for a pattern RE2 refuses; `what` names the option or field."""
    return InvalidInputError(f"{what} is an invalid regexp: {error}",
                             hint=f"pattern `{pattern}`; RE2 has no lookaround or backreferences")


def compile_re2(pattern: str, *, what: str, never_capture: bool = False) -> Re2Pattern:
    """`pattern` compiled as written (no anchors added). `never_capture`: groups are not
    recorded, which is faster when only "does it match" matters."""
    try:
        return re2.compile(pattern, _options(never_capture=never_capture))
    except re2.error as exc:
        raise invalid_regexp(what, pattern, _error_text(exc)) from None

