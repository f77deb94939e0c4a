"""Applying a tag plan: re-check each digest, delete safely, journal every outcome.

Re-running the same plan resumes: the journal says what is final (deleted, already absent,
stale) and only the rest is attempted. A tag whose digest moved since the plan was made is
reported stale and left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from glcr.models import Digest, Repository
from glcr.api.tags import DeleteReport, execute_delete, preview_delete, save_for_restore
from glcr.api.ui import UI
from glcr.plan.backup import backup_path
from glcr.plan.journal import JournalPaths, JournalWriter
from glcr.plan.model import Plan, PlanEntry
from glcr.plan.journal_records import ApplySummary, Event, JournalRecord, Replayed, pending_entries
from glcr.registry.delete import DeleteRequest, DeleteResult, Outcome
from glcr.session import Session

if TYPE_CHECKING:
    from glcr.plan.listfile import TagList
    from glcr.policy.protection import TagRule


_EVENT = {Outcome.DELETED: Event.DELETED, Outcome.ALREADY_ABSENT: Event.ALREADY_ABSENT,
          Outcome.STALE: Event.STALE, Outcome.FAILED: Event.FAILED}


@dataclass(frozen=True)
class ApplyRun:
    pending: list[PlanEntry]
    report: DeleteReport | None


async def apply_plan(session: Session, plan: Plan, repo: Repository, journal: JournalWriter,
                     replayed: Replayed, *, run_id: str, current: dict[str, Digest] | None = None,
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
    # Before any DELETE: what it removes, saved beside the journal for `glcr tags restore`.
    await save_for_restore(session, preview, backup_path(journal.path), run_id)
    # Before anything changes: a kill from here on is retried on resume.
    journal.write_many([JournalRecord(clock(), run_id, repo.path, e.tag, e.digest, Event.START) for e in pending])

    def on_progress(result: DeleteResult) -> None:
        event, detail = _EVENT[result.outcome], result.detail
        earlier = replayed.get((plan.repository_path, result.tag))
        if (result.outcome is Outcome.ALREADY_ABSENT and earlier is not None and earlier.event is Event.START
                and earlier.digest == expected.get(result.tag)):
            # The interrupted run had started on it and it is gone: that run deleted it (its
            # outcome was lost with the kill). Counted as deleted, so a resumed summary tells the
            # whole operation, not "deleted 0, already absent 300".
            event, detail = Event.DELETED, f"by the interrupted run {earlier.run_id}"
        record(result.tag, event, detail)
        if on_result:
            on_result(result)

    try:
        report = await execute_delete(session, preview, on_progress)
    finally:
        journal.sync()
    for result in report.results:  # verification may have turned a "deleted" into "failed" or "stale"
        if result.outcome is Outcome.FAILED and result.detail.startswith("still present"):
            record(result.tag, Event.FAILED, result.detail)
        elif result.outcome is Outcome.STALE and result.detail.startswith("pushed again"):
            record(result.tag, Event.STALE, result.detail)
    journal.sync()
    return ApplyRun(pending, report)


@dataclass(frozen=True)
class PreparedPlan:
    repository: Repository
    plan: Plan
    current: dict[str, Digest] | None  # the registry's digests when the plan was prepared (list files only)
    protected: dict[str, TagRule] = field(default_factory=dict)  # tag -> the protection rule that keeps it


async def prepare_plan(session: Session, path: str, loaded: Plan | TagList, source: str, *,
                       journal: Path | None = None) -> PreparedPlan:
    """A loaded plan checked against its repository, or a list file turned into a plan.

    A list names tags only: what each points at now becomes the digest to expect, except for
    tags an earlier run of the same list (its `journal`) already worked on (see resume_list_plan).
    """
    from glcr.models import TagDetails
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import current_digests
    from glcr.plan.build import plan_from_list
    from glcr.plan.listfile import TagList
    from glcr.api.protection import guard_plan
    from glcr.plan.model import ensure_for_repository

    resolved = await resolve_repository(session, path)
    repo = resolved.repository
    if isinstance(loaded, TagList):
        current = await current_digests(session, repo)
        details = {n: TagDetails(n, f"{repo.path}:{n}", f"{repo.location}:{n}", d, None, None)
                   for n, d in current.items()}
        plan = plan_from_list(loaded.tags, details, repo, now=datetime.now(timezone.utc), source=source,
                              project=resolved.project)
        if journal is not None:
            from glcr.plan.journal import replay

            plan = resume_list_plan(plan, replay(journal))
        plan, protected = await guard_plan(session, plan, repo.project_id)
        return PreparedPlan(repo, plan, current, protected)
    ensure_for_repository(loaded, repo.path, filename=source)
    plan, protected = await guard_plan(session, loaded, repo.project_id)  # protected tags become keeps
    return PreparedPlan(repo, plan, None, protected)


def resume_list_plan(plan: Plan, replayed: Replayed) -> Plan:
    """A list re-applied after an interrupted (or finished) run of it: each tag that run worked on
    keeps the digest that run expected, rather than what the tag shows now.

    Now, such a tag may be absent (the killed run deleted it: counted as deleted, so the summary
    tells the whole operation), on the killed run's placeholder (finished), or on an image
    pushed meanwhile (stale: a re-run of the same command never deletes what was pushed since).
    """
    from dataclasses import replace

    from glcr.plan.model import Action

    entries = []
    for entry in plan.entries:
        record = replayed.get((plan.repository_path, entry.tag))
        if record is not None and record.digest and record.digest != entry.digest:
            reason = entry.reason if entry.action is Action.DELETE else "listed; an earlier run of this list started on it"
            entry = replace(entry, digest=record.digest, action=Action.DELETE, reason=reason)
        entries.append(entry)
    return replace(plan, entries=tuple(entries))


async def apply_with_journal(session: Session, plan: Plan, repo: Repository, paths: JournalPaths,
                             replayed: Replayed, *, current: dict[str, Digest] | None = None,
                             on_result: Callable[[DeleteResult], None] | None = None) -> ApplyRun:
    """apply_plan with the journal and human log at `paths` (glcr.plan.journal.JournalPaths)."""
    from glcr.plan.journal import new_run_id, replay

    with JournalWriter(paths.journal, log_path=paths.log) as writer:
        # Read again under the journal's lock: a run that finished while this one waited for
        # confirmation has already done part of the work.
        replayed = replay(paths.journal)
        return await apply_plan(session, plan, repo, writer, replayed, current=current,
                                run_id=new_run_id(datetime.now(timezone.utc)), on_result=on_result)


# A snapshot of the registry read this recently is reused for the delete (no second read of
# every tag); older, it is read again, since the tags may have moved in the meantime.
FRESH_SECONDS = 30.0


@dataclass(frozen=True)
class AppliedPlan:
    prepared: PreparedPlan
    summary: ApplySummary | None  # after the run; None when nothing ran
    report: DeleteReport | None
    # the journal's unreadable lines (other than one a kill cut off), read before the run: what
    # they recorded is checked again; `damage_note` says so in one line
    damage_note: str | None = None


@dataclass(frozen=True)
class ApplyPreview:
    """What `apply_plan_file` shows (`UI.review`) before it asks."""

    prepared: PreparedPlan
    pending: tuple[PlanEntry, ...]  # what this run will try
    summary: ApplySummary  # what earlier runs of the same plan settled


async def apply_plan_file(session: Session, path: str, loaded: Plan | TagList, source: str, paths: JournalPaths, *,
                          ui: UI, dry_run: bool = False, keep_orphan_referrers: bool = False) -> AppliedPlan:
    """A plan or list (`loaded`, from `source`) applied to the repository at `path`, journaled at
    `paths` (glcr.plan.journal.JournalPaths); a re-run resumes.

    The `ui` is shown an ApplyPreview (`review`), asked before anything is deleted (`confirm`,
    raises to stop), and given a bar (`progress`, one step per tag) while tags are deleted.
    """
    import time

    from glcr.plan.journal import read_journal, replay
    from glcr.plan.journal_records import replay_records, summarize

    from glcr.api.referrers import apply_phased, cascade_plan

    prepared = await prepare_plan(session, path, loaded, source, journal=paths.journal)
    # Signatures, attestations and SBOMs follow their image (glcr.referrers).
    cascaded, orphans = await cascade_plan(session, prepared.plan, prepared.repository, prepared.current,
                                           keep_orphans=keep_orphan_referrers)
    prepared = replace(prepared, plan=cascaded)
    read_at = time.monotonic()
    contents = read_journal(paths.journal)
    replayed = replay_records(contents.records)
    note = contents.damage_note()
    pending = pending_entries(prepared.plan, replayed)
    ui.review(ApplyPreview(prepared, tuple(pending), summarize(prepared.plan, replayed)))
    if dry_run or not pending:
        return AppliedPlan(prepared, None, None, note)
    ui.confirm(f"Delete {len(pending)} tag(s) from {prepared.repository.path}?")
    # A person who took a while to answer gets the registry read again.
    current = prepared.current if time.monotonic() - read_at <= FRESH_SECONDS else None
    with ui.progress(f"Deleting from {prepared.repository.path}") as bar:
        bar.set_total(len(pending))
        run = await apply_phased(session, prepared.plan, prepared.repository, paths, orphans, current=current,
                                 on_result=lambda r: bar.advance())
    return AppliedPlan(prepared, summarize(prepared.plan, replay(paths.journal)), run.report, note)
