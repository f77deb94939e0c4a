"""Referrers in a cleanup: GitLab's decisions checked (dry-run) and corrected (run) so that
signatures, attestations and SBOMs follow their image (glcr/referrers decides)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from glcr.models import TagDetails
from glcr.referrers import ReferrerWarnings, cascade, referrer_map, warn_gitlab_run
from glcr.referrers.cleanup import apply_cascade
from glcr.session import Session


@dataclass(frozen=True)
class RepositoryReferrers:
    referrers: dict  # referrer tag -> subject digest
    children: dict  # index digest -> frozenset of child digests (only read when a subject needs it)
    tags: dict  # tag -> digest


async def read_referrers(session: Session, handle, tags: list[TagDetails]) -> RepositoryReferrers:
    """The repository's referrer tags; the children of its indexes only when a referrer's subject
    has no tag of its own (it may be a platform of a tagged index): a HEAD per tagged digest."""
    digests = {t.name: t.digest for t in tags}
    found = referrer_map(digests)
    tagged = {d for n, d in digests.items() if d and n not in found}
    children: dict = {}
    if any(subject not in tagged for subject in found.values()):
        from glcr.api.tags import index_children

        children = await index_children(session, handle, sorted(tagged))
    return RepositoryReferrers(found, children, digests)


def deleting(item) -> set[str]:
    return {d.name for d in item.result.decisions if d.action.value == "delete"}


def gitlab_warnings(item) -> ReferrerWarnings | None:
    """What GitLab's run of these decisions breaks (None: the repository has no referrers)."""
    found = item.referrers
    if found is None or not found.referrers:
        return None
    return warn_gitlab_run(found.tags, deleting(item), found.referrers, children=found.children)


def with_cascade(item, *, keep_orphans: bool):
    """The item with its decisions corrected: referrers of kept images kept, referrers of images
    that lose their last tag deleted after them (unless `keep_orphans`)."""
    found = item.referrers
    if found is None or not found.referrers:
        return item
    result = apply_cascade(item.result, cascade(found.tags, deleting(item), found.referrers,
                                                keep_orphans=keep_orphans, children=found.children))
    return replace(item, result=result)
