"""What a deletion does to referrers: kept while their image keeps a tag, deleted after it when
it loses its last one.

`tags`: every tag of a repository -> its digest, before the run; `deleting`: the tags the run
deletes; `referrers`: referrer tag -> its subject's digest (referrer_map). A subject "keeps a
tag" while a tag that stays points at it, or at an index that lists it (a signature of one
platform of a kept multi-arch image stays). A referrer whose subject had no tag before the run
(an image pushed by digest, or already untagged) is left to the policy: the run did not change it.

GitLab's cleanup knows none of this: it deletes `sha256-<hex>.sig` of an image it keeps when the
name matches, and keeps the signatures of images it deletes. `warn_gitlab_run` lists both for a
dry-run that stays exact about GitLab; `cascade` is what `glcr cleanup run` applies on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from glcr.referrers.schemes import parse_referrer_tag


def referrer_map(tags: Mapping[str, str | None], *, media_types: Mapping[str, str] | None = None,
                 subjects: Mapping[str, str] | None = None) -> dict[str, str]:
    """Referrer tag -> subject digest: tags named after their subject (schemes.py), and tags whose
    manifest has a `subject` field (`subjects`: tag -> subject digest, read from the manifests;
    what the referrers API would list). A tag that points at the digest it names (impossible for a
    real referrer) is not one."""
    media_types = media_types or {}
    found: dict[str, str] = {}
    for name, digest in tags.items():
        parsed = parse_referrer_tag(name, media_types.get(name))
        if parsed is not None and parsed.subject != digest:
            found[name] = parsed.subject
    for name, subject in (subjects or {}).items():
        if name in tags and subject != tags[name]:
            found.setdefault(name, subject)
    return found


def _reachable(tags: Mapping[str, str | None], staying: set[str],
               children: Mapping[str, frozenset[str]]) -> set[str]:
    digests = {d for t in staying if (d := tags.get(t))}
    return digests | {c for d in list(digests) for c in children.get(d, ())}


@dataclass(frozen=True)
class Cascade:
    spared: dict[str, str]  # referrer tag the run would delete -> its subject, which stays
    orphaned: dict[str, str]  # referrer tag the run adds -> its subject, which loses its last tag
    subject_tags: dict[str, tuple[str, ...]]  # subject digest -> its tags before the run

    @property
    def deleting_changes(self) -> bool:
        return bool(self.spared or self.orphaned)


def cascade(tags: Mapping[str, str | None], deleting: set[str] | frozenset[str], referrers: Mapping[str, str], *,
            keep_orphans: bool = False, children: Mapping[str, frozenset[str]] | None = None) -> Cascade:
    """The run's deletions with referrers following their subjects (to a fixpoint: a signature of
    an SBOM follows the SBOM)."""
    children = children or {}
    before = _reachable(tags, set(tags), children)
    subject_tags: dict[str, list[str]] = {}
    for name, digest in sorted(tags.items()):
        if digest and name not in referrers:
            subject_tags.setdefault(digest, []).append(name)
    current = set(deleting)
    spared: dict[str, str] = {}
    orphaned: dict[str, str] = {}
    for _ in range(len(tags) + 1):
        after = _reachable(tags, set(tags) - current, children)
        spare = {r for r in current & set(referrers) if referrers[r] in after}
        orphan = set() if keep_orphans else {
            r for r in set(referrers) - current if referrers[r] in before and referrers[r] not in after}
        if not spare and not orphan:
            break
        for r in spare:
            spared[r] = referrers[r]
            orphaned.pop(r, None)
        for r in orphan:
            orphaned[r] = referrers[r]
        current = (current - spare) | orphan
    spared = {r: s for r, s in spared.items() if r in deleting and r not in current}
    orphaned = {r: s for r, s in orphaned.items() if r not in deleting and r in current}
    return Cascade(dict(sorted(spared.items())), dict(sorted(orphaned.items())),
                   {d: tuple(t) for d, t in subject_tags.items()})


@dataclass(frozen=True)
class ReferrerWarnings:
    """What GitLab's run would break: signatures deleted while their image stays, and images
    deleted while their signatures stay behind."""

    deleted_while_kept: tuple[tuple[str, str, tuple[str, ...]], ...]  # (referrer, subject, its kept tags)
    left_behind: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]  # (image tags, subject, referrers left)

    def __bool__(self) -> bool:
        return bool(self.deleted_while_kept or self.left_behind)


def warn_gitlab_run(tags: Mapping[str, str | None], deleting: set[str] | frozenset[str],
                    referrers: Mapping[str, str], *,
                    children: Mapping[str, frozenset[str]] | None = None) -> ReferrerWarnings:
    children = children or {}
    staying = set(tags) - set(deleting)
    after = _reachable(tags, staying, children)
    before = _reachable(tags, set(tags), children)
    kept_by: dict[str, list[str]] = {}
    for name in sorted(staying):
        digest = tags.get(name)
        if name not in referrers and digest:
            kept_by.setdefault(digest, []).append(name)
            for child in children.get(digest, ()):
                kept_by.setdefault(child, []).append(name)
    deleted_while_kept = tuple((r, s, tuple(kept_by.get(s, ()))) for r, s in sorted(referrers.items())
                               if r in deleting and s in after)
    by_subject: dict[str, list[str]] = {}
    for r, s in sorted(referrers.items()):
        if r not in deleting and s in before and s not in after:
            by_subject.setdefault(s, []).append(r)
    left_behind = tuple((tuple(sorted(t for t in deleting if tags.get(t) == s and t not in referrers)), s, tuple(rs))
                        for s, rs in sorted(by_subject.items()))
    return ReferrerWarnings(deleted_while_kept, left_behind)


def group_by_image(tags: Mapping[str, str | None]) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """For `tags list`: (image tag -> its referrer tags, referrer tag -> its subject). A referrer
    whose subject has no tag here is in the second mapping only."""
    found = referrer_map(tags)
    by_digest: dict[str, list[str]] = {}
    for referrer, subject in sorted(found.items()):
        by_digest.setdefault(subject, []).append(referrer)
    grouped = {name: tuple(by_digest[digest]) for name, digest in tags.items()
               if name not in found and digest in by_digest}
    return grouped, found
