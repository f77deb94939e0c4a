"""The final report of a migration: per repository and per tag, the digest before and the one
found at the final path. PURE.
"""

from __future__ import annotations

from dataclasses import dataclass

from glcr.migrate.model import MigrationPlan, StepKind, repository_path
from glcr.migrate.replay import Progress
from glcr.models import Digest


@dataclass(frozen=True)
class TagCheck:
    repository: str  # final path
    tag: str
    old: Digest
    new: Digest | None

    @property
    def ok(self) -> bool:
        return self.old == self.new


@dataclass(frozen=True)
class RepoRow:
    old_path: str
    new_path: str
    tags: int
    bytes: int
    verified: int
    uploaded: int  # bytes glcr uploaded to restore it (0 when every blob was mounted)


def report_rows(plan: MigrationPlan, progress: Progress) -> tuple[list[RepoRow], list[TagCheck]]:
    """Per repository, and per tag: the digest before and the one found at the final path."""
    verify = next((s for s in reversed(progress.steps) if s.kind is StepKind.VERIFY), None)
    final_path = (verify.args.get("project_path") if verify else None) or plan.target
    verified = progress.done.get(verify.id) if verify else None
    found = verified.data.get("found", {}) if verified is not None else {}
    uploads: dict[int, int] = {}
    for step in progress.steps:
        entry = progress.done.get(step.id)
        if step.kind is StepKind.RESTORE and entry is not None and step.repo is not None:
            uploads[step.repo] = uploads.get(step.repo, 0) + int(entry.data.get("uploaded_bytes") or 0)
    rows, checks = [], []
    for i, repo in enumerate(plan.inventory.repositories):
        new_path = repository_path(final_path, repo.name)
        seen = found.get(new_path, {})
        repo_checks = [TagCheck(new_path, t, d, seen.get(t)) for t, d in sorted(repo.tags.items())]
        checks += repo_checks
        rows.append(RepoRow(repo.path, new_path, len(repo.tags), repo.size,
                            sum(1 for c in repo_checks if c.ok), uploads.get(i, 0)))
    return rows, checks
