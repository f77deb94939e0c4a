"""glcr.regex: every pattern a user gives is compiled by RE2, and refused with one error shape."""

from __future__ import annotations

import pytest

from glcr.errors import ExitCode, InvalidInputError
from glcr.plan.build import PlanRules
from glcr.policy import TagRegex
from glcr.policy.protection import validate_pattern
from glcr.regex import compile_re2, re2_error
from glcr.plan.tag_filters import compile_match

BAD = "(?<=v)1"  # lookbehind: Python's re accepts it, RE2 (and so GitLab) does not


@pytest.mark.parametrize(
    ("compile_it", "what"),
    [
        (lambda p: compile_re2(p, what="--thing"), "--thing"),
        (compile_match, "--match"),
        (lambda p: PlanRules(keep_regexes=(p,)), "keep regex"),
        (lambda p: PlanRules(delete_regex=p), "delete regex"),
        (lambda p: TagRegex.compile(p, field="name_regex_keep"), "name_regex_keep"),
        (validate_pattern, "tag name pattern"),
    ],
    ids=["compile_re2", "tags list --match", "tags plan --keep-regex", "tags plan --delete-regex",
         "cleanup policy regex", "protection rule pattern"],
)
def test_every_compiler_refuses_with_one_shape(compile_it, what):
    with pytest.raises(InvalidInputError) as caught:
        compile_it(BAD)
    error = re2_error(BAD)
    assert error and "invalid perl operator" in error
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert caught.value.one_line() == (
        f"{what} is an invalid regexp: {error} (pattern `{BAD}`; RE2 has no lookaround or backreferences)")


def test_compiled_as_written_without_anchors():
    regex = compile_re2("b|c", what="x")
    assert regex.search("abc") and not regex.search("xyz")
    assert regex.fullmatch("b") and not regex.fullmatch("bc")


def test_never_capture_still_matches():
    assert compile_re2("(a+)b", what="x", never_capture=True).search("xaab")


def test_nothing_is_printed_for_a_bad_pattern(capfd):
    with pytest.raises(InvalidInputError):
        compile_re2("(", what="x")
    assert capfd.readouterr() == ("", "")
