"""Applying a tag plan: re-check each digest, delete safely, journal every outcome.

Re-running the same plan resumes: the journal says what is final (deleted, already absent,
stale) and only the rest is attempted. A tag whose digest moved since the plan was made is
reported stale and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from glcr.models import Repository
from glcr.ops.tags import DeleteReport, execute_delete, preview_delete
from glcr.plan.journal import JournalWriter
from glcr.plan.model import Plan, PlanEntry
from glcr.plan.progress import Event, JournalRecord, pending_entries
from glcr.registry.delete import DeleteRequest, DeleteResult, Outcome
from glcr.session import Session

_EVENT = {Outcome.DELETED: Event.DELETED, Outcome.ALREADY_ABSENT: Event.ALREADY_ABSENT,
          Outcome.STALE: Event.STALE, Outcome.FAILED: Event.FAILED}


@dataclass
class ApplyRun:
    pending: list[PlanEntry]
    report: DeleteReport | None


async def apply_plan(session: Session, plan: Plan, repo: Repository, journal: JournalWriter,
                     replayed: dict, *, run_id: str, current: dict | None = None,
                     clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                     on_result: Callable[[DeleteResult], None] | None = None) -> ApplyRun:
    """`current`: the repository's digests read moments ago (None: read them now)."""
    pending = pending_entries(plan, replayed)
    if not pending:
        return ApplyRun([], None)
    expected = {e.tag: e.digest for e in pending}

    def record(tag: str, event: Event, detail: str = "") -> None:
        # Outcomes are fsynced once per run (below): one lost by a kill is only re-checked.
        journal.write(JournalRecord(clock(), run_id, repo.path, tag, expected.get(tag), event, detail), durable=False)

    preview = await preview_delete(session, repo, [DeleteRequest(e.tag, e.digest) for e in pending], current)
    # Before anything changes: a kill from here on is retried on resume.
    journal.write_many([JournalRecord(clock(), run_id, repo.path, e.tag, e.digest, Event.START) for e in pending])

    def on_progress(result: DeleteResult) -> None:
        record(result.tag, _EVENT[result.outcome], result.detail)
        if on_result:
            on_result(result)

    try:
        report = await execute_delete(session, preview, on_progress)
    finally:
        journal.sync()
    for result in report.results:  # verification may have turned a "deleted" into "failed"
        if result.outcome is Outcome.FAILED and result.detail.startswith("still present"):
            record(result.tag, Event.FAILED, result.detail)
    journal.sync()
    return ApplyRun(pending, report)


@dataclass
class PreparedPlan:
    repository: Repository
    plan: Plan
    current: dict | None  # the registry's digests when the plan was prepared (list files only)


async def prepare_plan(session: Session, path: str, loaded, source: str) -> PreparedPlan:
    """A loaded plan checked against its repository, or a list file turned into a plan.

    A list names tags only: what each points at now becomes the digest to expect.
    """
    from glcr.models import TagDetails
    from glcr.ops.resolve import resolve_repository
    from glcr.ops.tags import current_digests
    from glcr.plan.build import plan_from_list
    from glcr.plan.listfile import TagList
    from glcr.plan.model import ensure_for_repository

    resolved = await resolve_repository(session, path)
    repo = resolved.repository
    if isinstance(loaded, TagList):
        current = await current_digests(session, repo)
        details = {n: TagDetails(n, f"{repo.path}:{n}", f"{repo.location}:{n}", d, None, None)
                   for n, d in current.items()}
        plan = plan_from_list(loaded.tags, details, repo, now=datetime.now(timezone.utc), source=source,
                              project=resolved.project)
        return PreparedPlan(repo, plan, current)
    ensure_for_repository(loaded, repo.path, filename=source)
    return PreparedPlan(repo, loaded, None)


async def apply_with_journal(session: Session, plan: Plan, repo: Repository, paths, replayed: dict, *,
                             current: dict | None = None,
                             on_result: Callable[[DeleteResult], None] | None = None) -> ApplyRun:
    """apply_plan with the journal and human log at `paths` (glcr.plan.journal.JournalPaths)."""
    from glcr.plan.journal import new_run_id

    with JournalWriter(paths.journal, log_path=paths.log) as writer:
        return await apply_plan(session, plan, repo, writer, replayed, current=current,
                                run_id=new_run_id(datetime.now(timezone.utc)), on_result=on_result)
