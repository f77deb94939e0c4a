"""Selecting and ordering tags for listings (`glcr tags list` filters). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Sequence

from glcr.models import TagDetails

if TYPE_CHECKING:
    from glcr.regex import Re2Pattern


class TagSort(str, Enum):
    NAME = "name"
    CREATED = "created"
    SIZE = "size"


def compile_match(pattern: str) -> Re2Pattern:
    """RE2, searched anywhere in the name (like grep); anchor with ^...$ for a full match."""
    from glcr.regex import compile_re2  # here: `glcr tags list` without --match loads no re2

    return compile_re2(pattern, what="--match")


def select_tags(tags: Sequence[TagDetails], *, match: str | None = None, older_than: timedelta | None = None,
                now: datetime, sort: TagSort = TagSort.NAME, limit: int | None = None) -> list[TagDetails]:
    selected = list(tags)
    if match:
        regex = compile_match(match)
        selected = [t for t in selected if regex.search(t.name)]
    if older_than is not None:
        cutoff = now - older_than
        # Like GitLab's cleanup: a tag without a date is never "older than" anything; the date
        # is the push time where the registry has one (TagDetails.age_at), never the first push.
        selected = [t for t in selected if t.age_at is not None and t.age_at < cutoff]
    if sort is TagSort.NAME:
        selected.sort(key=lambda t: t.name)
    elif sort is TagSort.CREATED:  # newest first; undated last
        selected.sort(key=lambda t: (t.age_at is None, -(t.age_at.timestamp() if t.age_at else 0), t.name))
    else:  # biggest first
        selected.sort(key=lambda t: (-(t.total_size or 0), t.name))
    return selected[:limit] if limit else selected
