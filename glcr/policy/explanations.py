"""Cleanup decisions and params in words: the `detail` sentence of every decision (with its
rank, page and the params), and `describe_params` for headers and logs.

What each field of a policy means is glcr.policy.field_meanings.
"""

from __future__ import annotations

from datetime import datetime

from glcr.policy.duration import format_timedelta, parse_older_than
from glcr.policy.types import CleanupParams, Reason, Variant


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st, 112th."""
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"



class DecisionContext:
    """What every decision of one run shares: the texts built from the params. Decisions keep a
    reference and build their `detail` sentence on demand, so deciding 100k tags formats none."""

    __slots__ = ("keep_n", "n_pages", "on_page", "_fixed", "_matched", "_beyond", "_key")

    def __init__(self, params: CleanupParams, variant: Variant, n_pages: int, cutoff: datetime | None):
        self._key = (params, variant, n_pages, cutoff)
        delete_field = params.delete_field
        delete_regex = params.delete_regex
        older = params.older_than
        self.keep_n = params.keep_n
        self.n_pages = n_pages
        self.on_page = variant is Variant.GITLAB_API and n_pages > 1
        self._matched = f"matches {delete_field} `{delete_regex}`"
        self._beyond = f" and older than {older}" if older is not None else ""
        self._fixed = {
            Reason.LATEST: "tag `latest` is never deleted (keep_latest)",
            Reason.NOT_MATCHING: (
                f"does not match {delete_field} `{delete_regex}`" if delete_regex
                else f"{delete_field} is empty, which matches no tag"
            ),
            Reason.MATCHES_KEEP_REGEX: f"matches name_regex_keep `{params.name_regex_keep}` (keep wins over delete)",
            Reason.NO_DATE: "has no date, so older_than keeps it",
            Reason.NEWER_THAN_OLDER_THAN: (
                f"newer than older_than={older} (cutoff {cutoff.isoformat(timespec='seconds')})"
                if cutoff else ""
            ),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DecisionContext) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def detail(self, reason: Reason, rank: int | None, page: int | None) -> str:
        where = f" on page {page} of {self.n_pages}" if self.on_page else ""
        keep_n = self.keep_n
        if reason is Reason.WITHIN_KEEP_N:
            assert rank is not None  # every tag within keep_n was ranked (stages._decide_group)
            return f"{ordinal(rank)} newest{where}, within keep_n={keep_n}"
        if reason is Reason.EXPIRED:
            if rank is not None:
                return f"{self._matched}, {ordinal(rank)} newest{where} so beyond keep_n={keep_n}{self._beyond}"
            return f"{self._matched}{self._beyond}"
        text = self._fixed[reason]
        if rank is not None:  # NO_DATE / NEWER_THAN_OLDER_THAN, after keep_n let them through
            text = f"{text}; {ordinal(rank)} newest{where}, beyond keep_n={keep_n}"
        return text



def describe_params(params: CleanupParams) -> str:
    """`name_regex_delete=.* keep_n=5 older_than=90d (90 days)`, for headers and logs."""
    parts = [f"{params.delete_field}={params.delete_regex!s}"]
    if params.name_regex_keep is not None:
        parts.append(f"name_regex_keep={params.name_regex_keep}")
    if params.keep_n is not None:
        parts.append(f"keep_n={params.keep_n}")
    if params.older_than is not None:
        parts.append(f"older_than={params.older_than} ({format_timedelta(parse_older_than(params.older_than))})")
    if not params.keep_latest:
        parts.append("keep_latest=false")
    return " ".join(parts)
