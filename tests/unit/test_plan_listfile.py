"""The one-tag-a-line list (GitLab docs' list_o_tags.out) and plan-or-list detection."""

from __future__ import annotations

import pytest

from glcr.errors import InvalidInputError
from glcr.plan.listfile import TagList, load_plan_or_list, parse_tag_list
from glcr.plan.model import Plan

PLAN_JSON = """{
  "kind": "glcr/tag-plan", "version": 1, "created_at": "2026-11-27T05:40:00Z",
  "project": {"id": 7, "path": "group/app"},
  "repository": {"id": 3, "path": "group/app/api", "location": "reg.example.com/group/app/api"},
  "entries": [{"tag": "v1", "action": "delete", "digest": null}]
}
"""


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("v1\nv2\n", ("v1", "v2")),
        ("v1\nv2", ("v1", "v2")),  # no final newline (the docs' `|| [[ -n $LINE ]]`)
        ("v1\r\nv2\r\n", ("v1", "v2")),  # CRLF
        ("v1\rv2\r", ("v1", "v2")),  # CR only
        ("\ufeffv1\nv2\n", ("v1", "v2")),  # UTF-8 BOM
        ("  v1  \n\tv2\t\n", ("v1", "v2")),  # surrounding whitespace
        ("\n\nv1\n\n   \nv2\n\n", ("v1", "v2")),  # blank lines
        ("# tags to delete\nv1\n  # indented comment\nv2\n", ("v1", "v2")),
        ("v1   # too old\nv2\t# trailing comment after a tab\n", ("v1", "v2")),
        ("_private\n1.0\nA-b_c.d\n" + "x" * 128 + "\n", ("_private", "1.0", "A-b_c.d", "x" * 128)),
        ("v2\nv1\n", ("v2", "v1")),  # file order is kept
        ("Latest\nlatest\n", ("Latest", "latest")),  # tags are case-sensitive
    ],
)
def test_parses(text: str, tags: tuple[str, ...]) -> None:
    result = parse_tag_list(text, "list.txt")
    assert result.tags == tags
    assert result.warnings == ()


def test_duplicates_are_listed_once_with_a_warning() -> None:
    result = parse_tag_list("v1\nv2\nv1\n\nv2 # again\nv1\n", "list.txt")
    assert result.tags == ("v1", "v2")
    assert result.warnings == (
        "list.txt line 3: 'v1' repeats line 1; listed once",
        "list.txt line 5: 'v2' repeats line 2; listed once",
        "list.txt line 6: 'v1' repeats line 1; listed once",
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing\n", "\ufeff"])
def test_empty_list_warns(text: str) -> None:
    result = parse_tag_list(text, "list.txt")
    assert result.tags == ()
    assert result.warnings == ("list.txt lists no tags",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("v1\nfoo bar\n", "list.txt line 2: 'foo bar' is not a valid tag name "
                          "(letters, digits, _ . -; at most 128; no leading . or -)"),
        ("-v1\n", "list.txt line 1: '-v1' is not a valid tag name"),
        (".hidden\n", "list.txt line 1: '.hidden' is not a valid tag name"),
        ("x" * 129 + "\n", "list.txt line 1: '" + "x" * 80 + "…' is not a valid tag name"),
        ("v1\nv1#2\n", "list.txt line 2: 'v1#2' is not a valid tag name"),
        ("tag\x07\n", "list.txt line 1: 'tag\\x07' is not a valid tag name"),
        ("v1\r\nv2\r\nbad tag\r\n", "list.txt line 3: 'bad tag' is not a valid tag name"),
        ("\ufeffnicht-gültig\n", "list.txt line 1: 'nicht-gültig' is not a valid tag name"),
        ("app:v1\n", "list.txt line 1: 'app:v1' is an image reference, not a tag name "
                     "(list bare tag names; give the repository separately)"),
        ("registry.example.com/group/app:v1\n", "'registry.example.com/group/app:v1' is an image reference"),
        ("group/app@sha256:" + "a" * 64 + "\n", "is an image reference"),
        ('"v1"\n', "list.txt line 1: '\"v1\"' is quoted; write bare tag names"),
        (PLAN_JSON, "list.txt line 1: '{' starts JSON, not a list of tag names"),
        ('[{"name": "v1"}]\n', "starts JSON, not a list of tag names"),
    ],
)
def test_bad_lines(text: str, expected: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_tag_list(text, "list.txt")
    line = caught.value.one_line()
    assert expected in line
    assert "\n" not in line


def test_every_bad_line_is_counted_in_one_line() -> None:
    text = "ok\nbad one\nok2\nbad:two\n" + "".join(f"bad {n}\n" for n in range(6))
    with pytest.raises(InvalidInputError) as caught:
        parse_tag_list(text, "list.txt")
    assert caught.value.one_line() == (
        "list.txt line 2: 'bad one' is not a valid tag name (letters, digits, _ . -; at most 128; "
        "no leading . or -); 7 more bad lines: 4, 5, 6, 7, 8, …"
    )


def test_load_plan_or_list_detects_a_plan() -> None:
    result = load_plan_or_list(PLAN_JSON, "plan.json")
    assert isinstance(result, Plan)
    assert result.repository_path == "group/app/api"
    assert isinstance(load_plan_or_list("\ufeff  \n" + PLAN_JSON, "plan.json"), Plan)


def test_load_plan_or_list_reads_a_list() -> None:
    assert load_plan_or_list("v1\nv2\n", "list.txt") == TagList("list.txt", ("v1", "v2"))


def test_load_plan_or_list_reports_a_broken_plan_as_a_plan() -> None:
    with pytest.raises(InvalidInputError, match=r"^plan\.json is not valid JSON \(line 1"):
        load_plan_or_list("{not json", "plan.json")


def test_load_plan_or_list_refuses_a_json_list() -> None:
    with pytest.raises(InvalidInputError, match="starts JSON"):
        load_plan_or_list('["v1", "v2"]', "tags.json")
