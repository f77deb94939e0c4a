"""The referrer cascade applied to a cleanup's decisions (glcr.policy's CleanupResult).

Like protection and in-use keeps, sparing a referrer only removes deletions. The cascade's
other half adds deletions GitLab's policy would not make: the referrers of an image whose last
tag the run deletes. They go in a batch of their own, after the images (`delete_batches`).
"""

from __future__ import annotations

from dataclasses import replace

from glcr.policy.types import Action, CleanupResult, Reason
from glcr.referrers.cascade import Cascade


class _ReferrerContext:
    """A decision's `detail` for the cascade's reasons (duck-typed, as glcr.inuse's context)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def detail(self, reason, rank, page) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ReferrerContext) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def _short(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


def apply_cascade(result: CleanupResult, found: Cascade) -> CleanupResult:
    """`result` with the spared referrers kept and the orphaned ones deleted (last)."""
    from glcr.policy.estimate import summarize

    if not found.deleting_changes:
        return result

    def text(subject: str, kept: bool) -> str:
        tags = ", ".join(found.subject_tags.get(subject, ())[:3]) or "untagged"
        if kept:
            return f"referrer of {_short(subject)} ({tags}), which keeps a tag: kept with its image"
        return f"referrer of {_short(subject)} ({tags}), whose last tag this run deletes: deleted after it"

    decisions = []
    for d in result.decisions:
        if d.name in found.spared and d.action is Action.DELETE:
            d = d._replace(action=Action.KEEP, reason=Reason.REFERRER_OF_KEPT,
                           context=_ReferrerContext(text(found.spared[d.name], True)))
        elif d.name in found.orphaned and d.action is Action.KEEP:
            d = d._replace(action=Action.DELETE, reason=Reason.ORPHANED_REFERRER,
                           context=_ReferrerContext(text(found.orphaned[d.name], False)))
        decisions.append(d)
    s = result.summary
    summary = summarize([d.action for d in decisions], [d.reason for d in decisions],
                        [d.digest for d in decisions], [d.total_size for d in decisions], s.variant,
                        s.candidates, s.pages, s.page_size, s.truncated, s.max_list_size,
                        s.max_list_size + (result.params.keep_n or 0) if s.max_list_size else None,
                        result.params.keep_n, s.now, s.cutoff)
    notes = []
    if found.spared:
        notes.append(f"{len(found.spared)} referrer(s) the policy selects are kept with their image")
    if found.orphaned:
        notes.append(f"{len(found.orphaned)} referrer(s) of deleted images are deleted after them")
    summary = replace(summary, notes=s.notes + tuple(notes), approximate=s.approximate)
    batches = tuple(b for b in (tuple(n for n in batch if n not in found.spared) for batch in result.delete_batches)
                    if b)
    if found.orphaned:
        batches += (tuple(found.orphaned),)
    run = result.simulated_run
    if run is not None:
        run = replace(run, deleted=tuple(n for n in run.deleted if n not in found.spared) + tuple(found.orphaned))
    return replace(result, decisions=tuple(decisions), summary=summary, simulated_run=run, delete_batches=batches)
