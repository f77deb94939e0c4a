"""Referrers in a cleanup: GitLab's decisions checked (dry-run) and corrected (run) so that
signatures, attestations and SBOMs follow their image (glcr/referrers decides)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from glcr.models import Digest, Repository, TagDetails
from glcr.referrers import ReferrerWarnings, cascade, referrer_map, warn_gitlab_run
from glcr.referrers.cleanup import apply_cascade
from glcr.session import Session

if TYPE_CHECKING:
    from glcr.api.apply import ApplyRun
    from glcr.api.cleanup import RepositoryCleanup
    from glcr.api.handle import RepositoryHandle
    from glcr.plan.journal import JournalPaths
    from glcr.plan.model import Plan
    from glcr.registry.delete import DeleteResult


@dataclass(frozen=True)
class RepositoryReferrers:
    referrers: dict[str, Digest]  # referrer tag -> subject digest
    children: Mapping[Digest, frozenset[Digest]]  # index -> child digests (only read when a subject needs it)
    tags: dict[str, Digest | None]  # tag -> digest


async def read_referrers(session: Session, handle: RepositoryHandle, tags: list[TagDetails]) -> RepositoryReferrers:
    """The repository's referrer tags; the children of its indexes only when a referrer's subject
    has no tag of its own (it may be a platform of a tagged index): a HEAD per tagged digest."""
    digests = {t.name: t.digest for t in tags}
    found = referrer_map(digests)
    tagged = {d for n, d in digests.items() if d and n not in found}
    children: Mapping[Digest, frozenset[Digest]] = {}
    if any(subject not in tagged for subject in found.values()):
        from glcr.api.tags import index_children

        children = await index_children(session, handle, sorted(tagged))
    return RepositoryReferrers(found, children, digests)


def deleting(item: RepositoryCleanup) -> set[str]:
    return {d.name for d in item.result.decisions if d.action.value == "delete"}


def gitlab_warnings(item: RepositoryCleanup) -> ReferrerWarnings | None:
    """What GitLab's run of these decisions breaks (None: the repository has no referrers)."""
    found = item.referrers
    if found is None or not found.referrers:
        return None
    return warn_gitlab_run(found.tags, deleting(item), found.referrers, children=found.children)


def with_cascade(item: RepositoryCleanup, *, keep_orphans: bool) -> RepositoryCleanup:
    """The item with its decisions corrected: referrers of kept images kept, referrers of images
    that lose their last tag deleted after them (unless `keep_orphans`)."""
    found = item.referrers
    if found is None or not found.referrers:
        return item
    result = apply_cascade(item.result, cascade(found.tags, deleting(item), found.referrers,
                                                keep_orphans=keep_orphans, children=found.children))
    return replace(item, result=result)


# --- tag plans (`tags apply`, `cleanup run`): the same cascade, and the images before their referrers


ORPHAN_REASON = "a signature, attestation or SBOM of {subject}, whose last tag this run deletes"
SPARED_REASON = "a signature, attestation or SBOM of {subject}, which keeps a tag (kept with its image)"


async def cascade_plan(session: Session, plan: Plan, repo: Repository, current: dict[str, Digest] | None, *,
                       keep_orphans: bool) -> tuple[Plan, dict[str, Digest]]:
    """`plan` (glcr.plan.model.Plan) with its referrers following their images, and the orphaned
    referrers it now deletes (tag -> subject digest), which go after the images (apply_phased)."""
    from glcr.api.tags import current_digests, index_children
    from glcr.plan.model import Action, PlanEntry
    from glcr.reference import short_digest

    if current is None:
        current = await current_digests(session, repo)
    found = referrer_map(current)
    if not found:
        return plan, {}
    tagged = {d for n, d in current.items() if d and n not in found}
    children = (await index_children(session, repo, sorted(tagged))
                if any(s not in tagged for s in found.values()) else {})
    deleting = {e.tag for e in plan.entries if e.action is Action.DELETE and e.tag in current}
    decided = cascade(current, deleting, found, keep_orphans=keep_orphans, children=children)
    if not decided.deleting_changes:
        return plan, {}

    def name(subject: str) -> str:
        tags = decided.subject_tags.get(subject, ())
        return f"{short_digest(subject)} ({', '.join(tags[:3])})" if tags else short_digest(subject)

    entries = []
    for e in plan.entries:
        if e.tag in decided.spared and e.action is Action.DELETE:
            e = replace(e, action=Action.KEEP, reason=SPARED_REASON.format(subject=name(decided.spared[e.tag])))
        elif e.tag in decided.orphaned:
            e = replace(e, action=Action.DELETE, digest=current[e.tag],
                        reason=ORPHAN_REASON.format(subject=name(decided.orphaned[e.tag])))
        entries.append(e)
    listed = {e.tag for e in entries}
    entries += [PlanEntry(tag, current[tag], Action.DELETE, ORPHAN_REASON.format(subject=name(subject)))
                for tag, subject in decided.orphaned.items() if tag not in listed]
    return replace(plan, entries=tuple(entries)), dict(decided.orphaned)


async def apply_phased(session: Session, plan: Plan, repo: Repository, paths: JournalPaths,
                       orphans: Mapping[str, Digest | None], *, current: dict[str, Digest] | None = None,
                       on_result: Callable[[DeleteResult], None] | None = None) -> ApplyRun:
    """Apply `plan` with its journal at `paths`: the images first, then the orphaned referrers
    of those whose tags are all gone (a referrer stays when its image's delete did not go through)."""
    from glcr.api.apply import apply_with_journal
    from glcr.plan.journal import replay
    from glcr.plan.model import Action
    from glcr.plan.journal_records import Event

    earlier = None
    if orphans:
        first = replace(plan, entries=tuple(replace(e, action=Action.KEEP) if e.tag in orphans else e
                                            for e in plan.entries))
        earlier = await apply_with_journal(session, first, repo, paths, replay(paths.journal), current=current,
                                           on_result=on_result)
        replayed = replay(paths.journal)
        gone = (Event.DELETED, Event.ALREADY_ABSENT)
        stayed = {e.digest for e in plan.entries if e.action is Action.DELETE and e.tag not in orphans
                  and (r := replayed.get((plan.repository_path, e.tag))) is not None and r.event not in gone}
        plan = replace(plan, entries=tuple(
            replace(e, action=Action.KEEP, reason="its image kept a tag (the delete did not go through)")
            if e.tag in orphans and orphans[e.tag] in stayed else e for e in plan.entries))
        current = None  # the first phase changed the repository
    last = await apply_with_journal(session, plan, repo, paths, replay(paths.journal), current=current,
                                    on_result=on_result)
    if earlier is None or earlier.report is None:
        return last
    if last.report is None:
        return earlier
    # One report of the run: the images' outcomes, then the referrers'.
    merged = replace(last.report, results=earlier.report.results + last.report.results,
                     damage=earlier.report.damage + last.report.damage)
    return replace(last, pending=earlier.pending + last.pending, report=merged)
