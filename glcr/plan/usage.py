"""Registry storage by project and repository, and what a policy would reclaim. Pure.

GitLab's registry stores each blob once per root namespace (the metadata database deduplicates
layers across the repositories below a top-level group), so the bytes a policy reclaims are the
blobs only deleted images reference: a layer that a kept image (of any repository read) still
uses stays on disk and is not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Mapping

# Where a repository's size came from, best first.
GITLAB = "gitlab"  # GitLab's REST API (ContainerRepository#size)
REGISTRY = "registry"  # the registry's /gitlab/v1 API, ?size=self (metadata database)
TAGS = "tags"  # the sum of distinct images' sizes: an upper bound (shared layers counted again)


@dataclass(frozen=True)
class RepositoryUsage:
    project: str
    project_id: int
    repository: str
    tags: int
    bytes: int | None
    source: str  # GITLAB | REGISTRY | TAGS
    reclaim: int | None = None  # with a policy: bytes only the images it deletes use
    to_delete: int | None = None
    error: str | None = None

    @property
    def upper_bound(self) -> bool:
        return self.source == TAGS

    def to_dict(self) -> dict:
        return {**asdict(self), "upper_bound": self.upper_bound}


def largest_first(rows: Iterable[RepositoryUsage]) -> list[RepositoryUsage]:
    return sorted(rows, key=lambda r: (-(r.bytes or 0), r.repository))


@dataclass(frozen=True)
class ProjectUsage:
    project: str
    bytes: int
    upper_bound: bool
    repositories: int
    reclaim: int | None


def by_project(rows: Iterable[RepositoryUsage]) -> list[ProjectUsage]:
    """Each project's total, largest first; an upper bound when any of its sizes is one."""
    grouped: dict[str, list[RepositoryUsage]] = {}
    for row in rows:
        grouped.setdefault(row.project, []).append(row)
    out = []
    for project, items in grouped.items():
        reclaims = [r.reclaim for r in items if r.reclaim is not None]
        out.append(ProjectUsage(project, sum(r.bytes or 0 for r in items), any(r.upper_bound for r in items),
                                len(items), sum(reclaims) if reclaims else None))
    return sorted(out, key=lambda p: (-p.bytes, p.project))


def distinct_size(sizes: Mapping[str, int | None]) -> int:
    """{digest: total_size} of a repository's tags -> the sum over distinct images."""
    return sum(size or 0 for size in sizes.values())


def reclaimable(deleted: Iterable[Mapping[str, int]], kept: Iterable[Mapping[str, int]]) -> int:
    """Bytes of the blobs ({digest: size}) only deleted images use: a blob a kept image also
    uses, or two deleted images share, counts once or not at all, as GitLab stores it."""
    keep: set[str] = set()
    for blobs in kept:
        keep.update(blobs)
    freed: dict[str, int] = {}
    for blobs in deleted:
        for digest, size in blobs.items():
            if digest not in keep:
                freed[digest] = size
    return sum(freed.values())


def bar(value: int, largest: int, width: int = 30) -> str:
    """A bar of `width` cells at most, in eighths of a cell."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, rest = divmod(eighths, 8)
    return "█" * full + ("" if not rest else " ▏▎▍▌▋▊▉"[rest])
