r"""Tag-name regexes exactly as GitLab compiles and matches them.

* Engine: RE2 (`Gitlab::UntrustedRegexp`, lib/gitlab/untrusted_regexp.rb), default options.
* Anchoring (`CleanupTagsBaseService#filter_by_name!`,
  app/services/projects/container_repository/cleanup_tags_base_service.rb):
  `UntrustedRegexp.new("\\A#{name_regex_delete || name_regex}\\z")` and
  `UntrustedRegexp.new("\\A#{name_regex_keep}\\z")`. The anchors are pasted on by string
  concatenation, not wrapped in a group, so `C|D` becomes `\AC|D\z`: "starts with C, or ends
  with D". A nil pattern interpolates as "" and gives `\A\z`, which matches no tag.
* `match?(text)` is `text.present? && scan(text).present?`: an empty (or blank) name never
  matches; otherwise it is an unanchored search of the anchored pattern.
* Validation (`UntrustedRegexpValidator`, the API's `untrusted_regexp: true`) compiles the bare
  pattern; GitLab's messages are `not valid RE2 syntax: <RE2 error>` (model) and
  `<param> is an invalid regexp: <RE2 error>` (API).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import re2

from glcr.errors import InvalidInputError
from glcr.regex import Re2Pattern, compile_re2, invalid_regexp, re2_error


def anchored(pattern: str | None) -> str:
    """The exact source GitLab compiles: `"\\A" + pattern + "\\z"`, nil as ""."""
    return "\\A" + (pattern or "") + "\\z"


def delete_pattern(name_regex_delete: str | None, name_regex: str | None) -> str | None:
    """Ruby's `name_regex_delete || name_regex`: only nil falls through, "" is truthy."""
    return name_regex_delete if name_regex_delete is not None else name_regex


def _is_blank(text: str) -> bool:
    # ActiveSupport's String#blank?: empty or whitespace only.
    return not text or text.isspace()


@dataclass(frozen=True)
class TagRegex:
    """One anchored pattern, compiled once; `matches` is GitLab's `match?`."""

    pattern: str | None  # as the user gave it (None = not given)
    source: str  # the anchored source GitLab compiles
    _match: Callable[[str], bool] = field(repr=False, compare=False)

    @classmethod
    def compile(cls, pattern: str | None, *, field: str = "name_regex") -> TagRegex:
        """Compile like GitLab; a bad pattern raises InvalidInputError naming `field`."""
        if pattern is not None and not isinstance(pattern, str):
            raise InvalidInputError(f"{field}: expected a regular expression string, got {pattern!r}")
        source = anchored(pattern)
        if not pattern:
            # `\A\z` matches only the empty string, and `match?` never tests an empty name.
            return cls(pattern, source, _never)
        error = re2_error(pattern)  # GitLab's validators check the pattern as given
        if error is not None:
            raise invalid_regexp(field, pattern, error)
        # never_capture: groups cannot change whether it matches, and skipping them is faster.
        compiled = compile_re2(source, what=field, never_capture=True)
        return cls(pattern, source, _matcher(compiled))

    @property
    def matches_nothing(self) -> bool:
        return not self.pattern

    def matches(self, name: str) -> bool:
        return self._match(name)

    @property
    def matcher(self) -> Callable[[str], bool]:
        """`matches` without the method call, for hot loops."""
        return self._match


def _never(name: str) -> bool:
    return False


def _matcher(compiled: Re2Pattern) -> Callable[[str], bool]:
    """A fast `match?`: google-re2's public `search` builds a Match object per call, which costs
    several times the match itself; the underlying RE2 object answers directly (spans only)."""
    inner = getattr(compiled, "_regexp", None)
    anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
    null_span: object = getattr(re2, "_NULL_SPAN", None)
    if inner is None or anchor is None or null_span is None:  # pragma: no cover - other re2 builds
        search = compiled.search

        def slow(name: str) -> bool:
            return not _is_blank(name) and search(name) is not None

        return slow
    # RE2.Match(anchor, text, pos, endpos): one span per group, group 0 first (re2.py's search).
    match: Callable[[object, bytes, int, int], Sequence[object]] = inner.Match

    def fast(name: str) -> bool:
        if not name or name.isspace():
            return False
        data = name.encode("utf-8", "surrogatepass")
        return match(anchor, data, 0, len(data))[0] != null_span

    return fast


# --- reading a pattern the way RE2 parses it (for warnings, never for matching) ----------------


@dataclass(frozen=True)
class PatternShape:
    branches: tuple[str, ...]  # top-level alternatives; one item if there is no top-level `|`
    inner_anchors: tuple[str, ...]  # `^`, `$`, `\A`, `\z`, `\Z` found outside character classes


def pattern_shape(pattern: str) -> PatternShape:
    """Split at top-level `|` and find anchors, skipping escapes, `\\Q...\\E` and classes."""
    branches: list[str] = []
    anchors: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
                continue
            if nxt in ("A", "z", "Z"):
                anchors.append("\\" + nxt)
            i += 2
            continue
        if ch == "[":
            i = _skip_class(pattern, i)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        elif ch in "^$":
            anchors.append(ch)
        i += 1
    branches.append(pattern[start:])
    return PatternShape(tuple(branches), tuple(anchors))


def _skip_class(pattern: str, i: int) -> int:
    """Index just past the character class starting at `pattern[i] == "["`."""
    n = len(pattern)
    i += 1
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":  # a leading ] is literal
        i += 1
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            if end >= 0:
                i = end + 2
                continue
        if ch == "]":
            return i + 1
        i += 1
    return n


def describe_alternation(branches: tuple[str, ...]) -> str:
    """What `\\A` + `b1|b2|...|bn` + `\\z` matches, in words."""
    if len(branches) < 2:
        return "names that match it whole"
    parts = [f"start with `{branches[0]}`"]
    parts += [f"contain `{b}`" for b in branches[1:-1]]
    parts.append(f"end with `{branches[-1]}`")
    return "names that " + ", or ".join(parts)
