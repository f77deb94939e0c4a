"""The plain tag list: one tag name a line, as GitLab's docs build `list_o_tags.out`. Pure.

The docs' recipe fetches every page of tag names with curl and jq, trims the list with sed, and
loops over it with `curl --request DELETE`. glcr reads the same file (`glcr tags apply --from-file`
takes it, or a JSON plan) and turns it into a plan that records each tag's digest first.

Rules for the text:
- lines end in LF, CRLF or CR; a leading UTF-8 byte order mark is dropped;
- surrounding whitespace is trimmed; blank lines are skipped;
- `#` starts a comment, on its own line or after the name and a space (`#` is never part of a tag);
- a name listed twice is kept once, with a warning;
- anything else must be a tag name: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. A `repo:tag` or a full
  image reference is refused, because the repository is given separately, on the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from glcr.errors import InvalidInputError
from glcr.plan.model import Plan, is_tag_name

TAG_RULE = "letters, digits, _ . -; at most 128; no leading . or -"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_TRAILING_COMMENT = re.compile(r"\s+#.*\Z", re.DOTALL)
_SHOWN_BAD_LINES = 5  # line numbers listed in the hint after the first bad line


@dataclass(frozen=True)
class TagList:
    filename: str
    tags: tuple[str, ...]  # in file order, each once
    warnings: tuple[str, ...] = ()


def parse_tag_list(text: str, filename: str = "list") -> TagList:
    """Parse the list; InvalidInputError names the first bad line, and how many more there are."""
    tags: list[str] = []
    first_line: dict[str, int] = {}
    warnings: list[str] = []
    errors: list[tuple[int, str]] = []
    for number, line in enumerate(_LINE_BREAK.split(text.removeprefix("\ufeff")), start=1):
        name = _TRAILING_COMMENT.sub("", line.strip())
        if not name or name.startswith("#"):
            continue
        problem = _problem(name, first=not tags and not errors)
        if problem:
            errors.append((number, problem))
        elif name in first_line:
            warnings.append(f"{filename} line {number}: {name!r} repeats line {first_line[name]}; "
                            "listed once")
        else:
            first_line[name] = number
            tags.append(name)
    if errors:
        number, problem = errors[0]
        more = [str(n) for n, _ in errors[1:]]
        hint = None
        if more:
            shown = ", ".join(more[:_SHOWN_BAD_LINES]) + (", …" if len(more) > _SHOWN_BAD_LINES else "")
            hint = f"{len(more)} more bad line{'s' if len(more) > 1 else ''}: {shown}"
        raise InvalidInputError(f"{filename} line {number}: {problem}", hint=hint)
    if not tags:
        warnings.append(f"{filename} lists no tags")
    return TagList(filename=filename, tags=tuple(tags), warnings=tuple(warnings))


def decode_text(data: bytes | str, filename: str) -> str:
    """UTF-8 (a byte order mark is dropped); a binary file is refused in one line."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{filename} is not a text file (not UTF-8 at byte {exc.start})",
                                hint="give a plan from `glcr tags plan -o FILE` or a list of tag names, one a line") from None


def load_plan_or_list(text: bytes | str, filename: str) -> Plan | TagList:
    """A JSON plan when the text starts with `{` (never the start of a tag name), else a list."""
    text = decode_text(text, filename)
    if text.removeprefix("\ufeff").lstrip().startswith("{"):
        return Plan.from_json(text, filename)
    return parse_tag_list(text, filename)


def _problem(name: str, *, first: bool) -> str | None:
    if is_tag_name(name):
        return None
    shown = _show(name)
    if first and name[0] in "{[":
        return (f"{shown} starts JSON, not a list of tag names "
                "(a glcr plan goes to `glcr tags apply --from-file`; for GitLab's tag JSON, "
                "write the names with `jq -r '.[].name'`)")
    if any(mark in name for mark in ":/@"):
        return (f"{shown} is an image reference, not a tag name "
                "(list bare tag names; give the repository separately)")
    if len(name) > 1 and name[0] == name[-1] and name[0] in "\"'":
        return f"{shown} is quoted; write bare tag names (jq -r prints them without quotes)"
    return f"{shown} is not a valid tag name ({TAG_RULE})"


def _show(text: str, limit: int = 80) -> str:
    """repr() keeps the message on one line (control characters are escaped)."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
