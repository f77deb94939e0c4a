"""Gitlab::UntrustedRegexp in Python: RE2, the only engine GitLab uses for user-supplied patterns."""

from __future__ import annotations

import functools

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would otherwise print every bad pattern to stderr


class InvalidRegexp(ValueError):
    """Carries RE2's own error text, e.g. 'missing ): ('."""


@functools.lru_cache(maxsize=512)
def compile_untrusted(pattern: str) -> "re2._Regexp":
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else str(exc)
        raise InvalidRegexp(detail.decode() if isinstance(detail, bytes) else str(detail)) from None


def anchored(pattern: str | None) -> "re2._Regexp":
    """CleanupTagsBaseService: "\\A#{pattern}\\z", pasted on, not grouped (so `a|b` anchors loosely)."""
    return compile_untrusted(f"\\A{pattern or ''}\\z")


def matches(regexp: "re2._Regexp", text: str) -> bool:
    """UntrustedRegexp#match?: false for an empty string, else an unanchored search."""
    return bool(text) and regexp.search(text) is not None
