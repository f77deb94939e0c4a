"""Tag name schemes: how a commit or ref becomes a tag, in GitLab CI's variables.

A template is a tag name with placeholders: `{sha}` (CI_COMMIT_SHA), `{short_sha}`
(CI_COMMIT_SHORT_SHA, 8 characters), `{ref_slug}` (CI_COMMIT_REF_SLUG), `{tag}`
(CI_COMMIT_TAG, a release's tag), and `*` for any characters. A template matches a tag when the
tag is exactly the template rendered for something in use.

The defaults cover the common schemes. A commit's sha (full or short) and a release's tag keep a
tag that is the value itself or has it as a dash-separated part (`1a2b3c4d`, `main-1a2b3c4d`,
`1a2b3c4d-amd64`, `v1.2.0-alpine`). A ref's slug keeps only the tag that is exactly the slug
(`main`, `feature-login`): every image ever built on a branch starts with its slug, and only the
sha says which of them is the head in use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from glcr.errors import InvalidInputError
from glcr.inuse.model import InUse
from glcr.inuse.slug import ref_slug, short_sha

VARIABLES = ("sha", "short_sha", "ref_slug", "tag")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
# What may stand around placeholders: the characters of a tag name, and `*`.
_LITERAL = re.compile(r"[A-Za-z0-9_.*-]*")


@dataclass(frozen=True)
class Template:
    text: str
    part: bool = False  # also matches as a dash-separated part of a tag (the defaults for values)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.text))

    @property
    def glob(self) -> bool:
        return "*" in self.text

    def render(self, item: InUse) -> str | None:
        """The tag (or glob) this template makes for `item`; None when `item` lacks a variable."""
        values = values_of(item)
        known = {k: v for k, v in values.items() if v is not None}
        if any(v not in known for v in self.variables):
            return None
        return _PLACEHOLDER.sub(lambda m: known[m.group(1)], self.text)

    def regex(self, item: InUse) -> re.Pattern[str] | None:
        """A glob template rendered for `item`, as an anchored regex (`*`: any characters)."""
        rendered = self.render(item)
        if rendered is None:
            return None
        return re.compile("".join(".*" if c == "*" else re.escape(c) for c in rendered) + r"\Z")


def values_of(item: InUse) -> dict[str, str | None]:
    return {
        "sha": item.sha,
        "short_sha": short_sha(item.sha) if item.sha else None,
        "ref_slug": ref_slug(item.ref) if item.ref else None,
        "tag": item.tag,
    }


DEFAULT_TEMPLATES = (
    Template("{sha}", part=True),
    Template("{short_sha}", part=True),
    Template("{tag}", part=True),
    Template("{ref_slug}"),
)


def parse_template(text: str) -> Template:
    """A --keep-template, checked: known placeholders, at least one, tag characters around them."""
    names = _PLACEHOLDER.findall(text)
    unknown = [n for n in names if n not in VARIABLES]
    if unknown:
        raise InvalidInputError(f"--keep-template {text!r}: unknown placeholder {{{unknown[0]}}}",
                                hint="use {sha}, {short_sha}, {ref_slug} or {tag}")
    if not names:
        raise InvalidInputError(f"--keep-template {text!r} has no placeholder",
                                hint="e.g. '{ref_slug}.{short_sha}' or 'build-{sha}'; a fixed tag belongs in "
                                     "name_regex_keep")
    literal = _PLACEHOLDER.sub("", text)
    if not _LITERAL.fullmatch(literal) or "{" in literal or "}" in literal:
        raise InvalidInputError(f"--keep-template {text!r}: only tag characters (letters, digits, _ . -), "
                                "placeholders and * may appear")
    return Template(text)
