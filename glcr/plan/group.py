"""A cleanup over a whole group: one row per project, shards, and the group journal's replay. Pure.

The group journal is JSON lines, one per finished project (its row). A resumed run replays it
and skips the projects whose last line says `done` or `skipped`; a `failed` project is tried
again. A line cut off by a kill (no newline, or not JSON) is ignored: that project runs again,
and its per-repository tag journals skip what it had already deleted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Iterable

from glcr.errors import InvalidInputError

DONE, FAILED, SKIPPED = "done", "failed", "skipped"


@dataclass(frozen=True)
class ProjectRow:
    """What happened to one project: the summary table's row and the JSON line."""

    project_id: int
    project: str
    status: str  # done | failed | skipped
    repositories: int = 0
    tags: int = 0
    to_delete: int = 0
    bytes: int = 0  # estimate: digests no kept tag still points to (CleanupSummary.bytes_freed_estimate)
    in_use_kept: int = 0
    deleted: int | None = None  # `cleanup run` only
    failed_tags: int = 0
    error: str | None = None
    note: str | None = None
    resumed: bool = False  # read back from the group journal, not run again

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ProjectRow":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def errors(self) -> int:
        """The table's `errors` column: a failed project, or the tags whose delete failed."""
        return (1 if self.status == FAILED else 0) + self.failed_tags


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (CI_NODE_INDEX/CI_NODE_TOTAL, 1-based) -> (I, N)."""
    index, sep, total = (text or "").partition("/")
    if not sep or not index.strip().isdigit() or not total.strip().isdigit():
        raise InvalidInputError(f"--shard {text!r}: give INDEX/TOTAL, e.g. 2/4 (CI_NODE_INDEX/CI_NODE_TOTAL)")
    i, n = int(index), int(total)
    if n < 1 or not 1 <= i <= n:
        raise InvalidInputError(f"--shard {text!r}: INDEX counts from 1 to TOTAL, as CI_NODE_INDEX does")
    return i, n


def in_shard(project_id: int, shard: tuple[int, int] | None) -> bool:
    """Shard I of N takes the projects whose id % N == I - 1: every project in exactly one shard,
    whatever order GitLab lists them in, and stable while projects come and go."""
    if shard is None:
        return True
    index, total = shard
    return project_id % total == index - 1


def run_key(group: str, *, include_subgroups: bool, overrides: dict, shard: tuple[int, int] | None,
            in_use: object = None, run_id: str = "") -> str:
    """Names the group journal: the same command resumes it, another policy or shard starts afresh."""
    text = json.dumps({"run": run_id, "group": group.lower(), "subgroups": include_subgroups, "shard": shard,
                       "overrides": {k: v for k, v in sorted(overrides.items()) if v is not None},
                       "in_use": repr(in_use)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def replay(lines: Iterable[str]) -> dict[int, ProjectRow]:
    """The last row written for each project."""
    rows: dict[int, ProjectRow] = {}
    for line in lines:
        if not line.endswith("\n"):
            continue  # torn by a kill
        try:
            row = ProjectRow.from_dict(json.loads(line))
        except (ValueError, TypeError):
            continue
        rows[row.project_id] = row
    return rows


def finished(rows: dict[int, ProjectRow]) -> set[int]:
    return {pid for pid, row in rows.items() if row.status in (DONE, SKIPPED)}


def journal_line(row: ProjectRow) -> str:
    return json.dumps({k: v for k, v in row.to_dict().items() if k != "resumed"}, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Totals:
    projects: int
    failed: int
    repositories: int
    tags: int
    to_delete: int
    bytes: int
    in_use_kept: int
    deleted: int | None
    errors: int


def totals(rows: Iterable[ProjectRow]) -> Totals:
    rows = list(rows)
    deleted = [r.deleted for r in rows if r.deleted is not None]
    return Totals(
        projects=len(rows), failed=sum(r.status == FAILED for r in rows),
        repositories=sum(r.repositories for r in rows), tags=sum(r.tags for r in rows),
        to_delete=sum(r.to_delete for r in rows), bytes=sum(r.bytes for r in rows),
        in_use_kept=sum(r.in_use_kept for r in rows), deleted=sum(deleted) if deleted else None,
        errors=sum(r.errors for r in rows))
