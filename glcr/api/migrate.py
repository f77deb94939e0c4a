"""Moving or renaming a project with registry images (glcr.migrate), as the library calls it.

    status(root, id)          every migration under `root` (or one), with where it stands
    unfinished(root, id)      the one `resume`/`abort` take: the given one, or the newest unfinished
    start(session, ...)       preflight, review, confirm, then run it journaled
    resume(session, m)        finish an unfinished migration
    abort(session, m)         put every image back under the project's current path

Nothing here prints: the person running it is reached through a glcr.api.ui.UI, which is shown
(`review`) the preflight (glcr.migrate.service.Prepared), `Started` before anything changes, and
each step as it starts and ends (glcr.migrate.model.StepUpdate).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from glcr.api.ui import UI
from glcr.migrate import service
from glcr.migrate.journal import MigrationDir, list_migrations
from glcr.migrate.model import Finding, MigrationPlan
from glcr.migrate.replay import Progress, replay
from glcr.migrate.run import refuse_blocked
from glcr.session import Session


@dataclass(frozen=True)
class MigrationStatus:
    path: Path  # the migration's directory: plan.json, journal.jsonl
    plan: MigrationPlan
    progress: Progress
    damage_note: str | None = None  # the journal's damaged lines, in one line (glcr.durable.LogContents)

    @property
    def id(self) -> str:
        return self.plan.id


@dataclass(frozen=True)
class Started:
    """Told to `UI.review` once the plan is written, before anything changes: where the journal is
    (a migration stopped from here on is finished with `resume`)."""

    id: str
    path: Path


@dataclass(frozen=True)
class Migration:
    plan: MigrationPlan  # the copy-away one, when GitLab refused to move the project in place
    progress: Progress | None  # None for a dry run
    findings: tuple[Finding, ...] = ()  # the preflight's (`start` only)
    started: Started | None = None  # None for a dry run


def _status(directory: MigrationDir) -> MigrationStatus:
    plan = directory.load_plan()
    contents = directory.read_journal()
    return MigrationStatus(directory.path, plan, replay(plan, contents.records), contents.damage_note())


def status(state_root: Path, migration_id: str | None = None) -> tuple[MigrationStatus, ...]:
    """One migration (`migration_id`), or every one under `state_root`, newest first."""
    if migration_id:
        return (_status(service.find_unfinished(state_root, migration_id)),)
    return tuple(_status(d) for d in list_migrations(state_root))


def unfinished(state_root: Path, migration_id: str | None = None) -> MigrationStatus:
    """The given migration, or the newest one that is not finished (NotFoundError: none)."""
    return _status(service.find_unfinished(state_root, migration_id))


async def start(session: Session, source: str, target: str, *, state_root: Path, ui: UI,
                holding: str | None = None, backup_dir: str | None = None, remove_backup: bool = False,
                keep_records: bool = False, skip_checks: Sequence[str] = (), dry_run: bool = False) -> Migration:
    """Read the project's registry (`ui.progress`), preflight, `ui.review(prepared)`, refuse what
    would stop half-way (unless its check is in `skip_checks`), `ui.confirm(question)`, then
    write the plan under `state_root` (`ui.review(Started)`) and run it journaled."""
    with ui.progress(f"Reading the registry of {source}") as bar:
        prepared = await service.prepare(session, source, target, holding=holding, backup_dir=backup_dir,
                                         remove_backup=remove_backup, keep_records=keep_records,
                                         tick=bar.advance, state_root=state_root)
    ui.review(prepared)
    refuse_blocked(prepared, skip_checks)
    if dry_run:
        return Migration(prepared.plan, None, prepared.findings)
    plan = prepared.plan
    ui.confirm(f"Migrate {plan.source} to {plan.target} ({plan.inventory.tag_count} tag(s))?")
    directory = service.start(state_root, plan)
    started = Started(directory.id, directory.path)
    ui.review(started)
    plan, progress = await service.execute(session, directory, ui=ui)
    return Migration(plan, progress, prepared.findings, started)


async def resume(session: Session, migration: MigrationStatus, *, ui: UI) -> Migration:
    """Finish the migration (from `unfinished`): each step not done is run again (they are idempotent)."""
    plan, progress = await service.execute(session, MigrationDir(migration.path), ui=ui)
    return Migration(plan, progress, started=Started(migration.id, migration.path))


async def abort(session: Session, migration: MigrationStatus, *, ui: UI) -> Migration:
    """Undo the migration (from `unfinished`): every image back under the project's current path,
    verified, and the holding copies dropped."""
    plan, progress = await service.execute(session, MigrationDir(migration.path), ui=ui, abort=True)
    return Migration(plan, progress, started=Started(migration.id, migration.path))
