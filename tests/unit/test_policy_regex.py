r"""Regexes compiled and matched exactly as GitLab does (CleanupTagsBaseService#filter_by_name!,
Gitlab::UntrustedRegexp#match?): RE2, `"\A" + pattern + "\z"` by concatenation, empty names
never match, nil/"" patterns match nothing, `name_regex_delete || name_regex` with Ruby truthiness.
"""

from __future__ import annotations

import random

import pytest
import re2

from glcr.errors import InvalidInputError
from glcr.policy import TagRegex, anchored, delete_pattern, pattern_shape, re2_error
from glcr.policy.regex import describe_alternation


@pytest.mark.parametrize(
    "pattern, source",
    [
        (None, "\\A\\z"),
        ("", "\\A\\z"),
        (".*", "\\A.*\\z"),
        ("C|D", "\\AC|D\\z"),  # concatenation, not \A(?:C|D)\z
        ("(?:C|D)", "\\A(?:C|D)\\z"),
    ],
)
def test_anchored_source(pattern, source):
    assert anchored(pattern) == source
    assert TagRegex.compile(pattern).source == source


@pytest.mark.parametrize(
    "pattern, name, matches",
    [
        (".*", "v1.0", True),
        (".*", "", False),  # match? of an empty name is false
        (".*", "   ", False),  # ...and of a blank one (String#present?)
        (".*", "a\nb", False),  # `.` stops at a newline and \z needs the end of text
        ("v.*", "v1", True),
        ("v.*", "xv1", False),  # anchored at the start
        ("v1", "v10", False),  # anchored at the end
        ("C|D", "C", True),
        ("C|D", "D", True),
        ("C|D", "Cfoo", True),  # \AC: starts with C
        ("C|D", "fooD", True),  # D\z: ends with D
        ("C|D", "fooC", False),
        ("C|D", "Dfoo", False),
        ("A|B.*|C", "xxBxx", True),  # a middle branch matches anywhere
        ("A|B.*|C", "xxCxx", False),
        ("(?:C|D)", "Cfoo", False),
        ("(?:C|D)", "D", True),
        ("(?i)main", "MAIN", True),
        ("main", "MAIN", False),  # case-sensitive by default
        ("ü.*", "über", True),  # UTF-8, as Ruby strings
        ("\\w+", "tag_1", True),
        ("", "", False),
        ("", "x", False),
        (None, "x", False),
        ("|x", "anything", True),  # \A|x\z: an empty first branch matches at the start
    ],
)
def test_matches(pattern, name, matches):
    assert TagRegex.compile(pattern).matches(name) is matches


@pytest.mark.parametrize(
    "name_regex_delete, name_regex, chosen",
    [
        (None, None, None),
        (None, ".*", ".*"),
        ("D", "C|D", "D"),
        ("", ".*", ""),  # "" is truthy in Ruby: it wins and matches nothing
        (".*", None, ".*"),
    ],
)
def test_delete_pattern_uses_ruby_truthiness(name_regex_delete, name_regex, chosen):
    assert delete_pattern(name_regex_delete, name_regex) == chosen


@pytest.mark.parametrize(
    "pattern, fragment",
    [
        ("(a", "missing )"),
        ("a)", "unexpected )"),
        ("(?<=a)b", "invalid perl operator"),
        ("(?!a)", "invalid perl operator"),
        ("(a)\\1", "invalid escape sequence"),
        ("v\\Z", "invalid escape sequence: \\Z"),
        ("a{2,1}", "invalid repetition size"),
        ("[z-a]", "invalid character class range"),
    ],
)
def test_re2_errors(pattern, fragment):
    error = re2_error(pattern)
    assert error is not None and fragment in error
    with pytest.raises(InvalidInputError) as excinfo:
        TagRegex.compile(pattern, field="name_regex_delete")
    assert excinfo.value.one_line().startswith("name_regex_delete is an invalid regexp: ")
    assert fragment in excinfo.value.one_line()


@pytest.mark.parametrize("pattern", [".*", "v[0-9]+", "(?P<x>a)", "\\Qa.b\\E", "[[:alpha:]]+", "\\pL+"])
def test_re2_accepts(pattern):
    assert re2_error(pattern) is None


def test_compile_refuses_non_strings():
    with pytest.raises(InvalidInputError):
        TagRegex.compile(5)


@pytest.mark.parametrize(
    "pattern", ["C|D", "A|B.*|C", "(v)(\\d+)", ".*-(?:main|dev)", "[a-c]+\\d?", "x*", "(?i)TAG.*|z"]
)
def test_fast_matcher_agrees_with_the_public_re2_api(pattern):
    rng = random.Random(pattern)
    alphabet = "abcxyzABCDTGv0123456789-._\n"
    names = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 8))) for _ in range(3000)]
    options = re2.Options()
    options.log_errors = False
    reference = re2.compile(anchored(pattern), options)
    regex = TagRegex.compile(pattern)
    for name in names:
        expected = bool(name.strip()) and reference.search(name) is not None
        assert regex.matches(name) is expected, name


@pytest.mark.parametrize(
    "pattern, branches, anchors",
    [
        ("C|D", ("C", "D"), ()),
        ("(?:C|D)", ("(?:C|D)",), ()),
        ("[|]|x", ("[|]", "x"), ()),
        ("[]|]|[^]|]", ("[]|]", "[^]|]"), ()),
        ("a\\|b", ("a\\|b",), ()),
        ("\\Qa|b\\E|c", ("\\Qa|b\\E", "c"), ()),
        ("[[:alpha:]|]x", ("[[:alpha:]|]x",), ()),
        ("^v.*$", ("^v.*$",), ("^", "$")),
        ("[^^$]", ("[^^$]",), ()),
        ("\\Av\\z|\\Z", ("\\Av\\z", "\\Z"), ("\\A", "\\z", "\\Z")),
        ("((a|b)|c)|d", ("((a|b)|c)", "d"), ()),
    ],
)
def test_pattern_shape(pattern, branches, anchors):
    shape = pattern_shape(pattern)
    assert shape.branches == branches
    assert shape.inner_anchors == anchors


def test_describe_alternation():
    assert describe_alternation(("C", "D")) == "names that start with `C`, or end with `D`"
    assert "contain `B.*`" in describe_alternation(("A", "B.*", "C"))
