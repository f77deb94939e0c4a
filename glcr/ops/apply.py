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
