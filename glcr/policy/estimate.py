"""What a cleanup would do in total: tags deleted and kept, bytes freed (an estimate), and for a
truncated third-party repository how many runs GitLab needs to reach the decisions.
"""

from __future__ import annotations

import operator
from collections import Counter
from datetime import datetime
from itertools import compress, repeat

from glcr.policy.types import Action, CleanupSummary, Reason, Variant

# Above this many estimated runs the estimate stops counting (tiny max_list_size, huge repos).
RUNS_ESTIMATE_CAP = 100_000


def estimate_runs(candidates: int, deletable: int, sample_size: int, keep_n: int) -> tuple[int, bool]:
    """Expected number of third-party runs until every deletable candidate is gone.

    A run samples `sample_size` of the `candidates`. Every tag that is not deletable is newer
    than every deletable one (it is in the newest keep_n, newer than older_than, or has no date
    and counts as now), so a run deletes the sampled deletable tags except those that fill the
    sample's keep_n: on average min(sample_size * d / n, sample_size - keep_n). Once no more
    than sample_size candidates remain, one run finishes. Returns (runs, capped).
    """
    if deletable <= 0:
        return 0, False
    n = float(candidates)
    d = float(deletable)
    m = float(sample_size - keep_n)
    runs = 0
    while d >= 0.5:
        if runs >= RUNS_ESTIMATE_CAP:
            return runs, True
        runs += 1
        if n <= sample_size:
            break
        gone = min(sample_size * d / n, m)
        n -= gone
        d -= gone
    return runs, False


def summarize(actions: list[Action], reasons: list[Reason | None], digests: list[str | None],
              sizes: list[int | None], variant: Variant, candidates: int, n_pages: int, page_size: int,
              truncated: bool, max_list_size: int, sample_size: int | None, keep_n: int | None,
              now: datetime, cutoff: datetime | None) -> CleanupSummary:
    by_reason = Counter(reasons)
    # Expired, orphaned referrers (every tag has its reason by now: None is never counted).
    delete = sum(n for r, n in by_reason.items() if r is not None and r.action is Action.DELETE)
    freed: dict[str, int | None] = {}
    still_tagged: set[str] = set()
    loose_sizes: list[int | None] = []
    if delete:
        is_kept = list(map(operator.is_, actions, repeat(Action.KEEP)))
        kept_digests = set(compress(digests, is_kept))
        is_deleted = [not k for k in is_kept]
        for digest, size in zip(compress(digests, is_deleted), compress(sizes, is_deleted)):
            if digest is None:
                loose_sizes.append(size)
            elif digest in kept_digests:
                still_tagged.add(digest)
            elif freed.get(digest) is None:
                freed[digest] = size
    all_sizes = list(freed.values()) + loose_sizes
    bytes_freed = sum(s for s in all_sizes if s is not None)
    unknown = sum(1 for s in all_sizes if s is None)

    notes = []
    gitlab = variant is Variant.GITLAB_API
    if gitlab and n_pages > 1:
        notes.append(
            f"GitLab handles this repository in {n_pages} pages of {page_size} tags in name order and "
            "applies keep_n and the date order to each page on its own, so up to keep_n tags are kept "
            "per page, not per repository"
        )
    if truncated and sample_size is not None:  # truncated: there is a sample size
        runs, capped = estimate_runs(candidates, delete, sample_size, keep_n or 0)
        more = "more than " if capped else "about "
        notes.append(
            f"{candidates} tags match, more than max_list_size + keep_n = {sample_size}: each GitLab run "
            f"handles a random sample of {sample_size}, so it takes {more}{runs} runs (policy runs, or "
            "bulk-delete calls at most once an hour) to reach the decisions shown"
        )
    else:
        runs, capped = (1 if delete else 0), False
    if delete:
        notes.append(
            "bytes freed is an estimate: total_size of deleted tags, each digest once, leaving out "
            "digests a kept tag still points to; layers shared with kept images are not freed, and "
            "nothing is freed until the registry's garbage collection runs"
        )
    return CleanupSummary(
        variant=variant,
        tags=len(reasons),
        delete=delete,
        keep=len(reasons) - delete,
        by_reason={r: by_reason[r] for r in Reason if by_reason[r]},
        candidates=candidates,
        bytes_freed_estimate=bytes_freed,
        digests_freed=len(freed),
        digests_still_tagged=len(still_tagged),
        sizes_unknown=unknown,
        pages=n_pages,
        page_size=page_size,
        truncated=truncated,
        max_list_size=max_list_size,
        sample_size=sample_size if not gitlab else None,
        runs_needed=runs,
        runs_estimate_capped=capped,
        now=now,
        cutoff=cutoff,
        notes=tuple(notes),
    )
