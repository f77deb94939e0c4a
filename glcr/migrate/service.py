"""The migration's "do one thing" API, for the CLI, tests and the benchmark.

prepare()  reads the inventory and the facts, checks, and returns the plan (nothing changes)
start()    writes the plan to a new migration directory
execute()  runs (or resumes, or aborts) the migration in a directory, under its lock; when GitLab
           refuses a native move, the copy-away migration that takes over (route.py)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from glcr.errors import InvalidInputError, NotFoundError, RefusedError, UsageError
from glcr.api.ui import UI
from glcr.migrate.executor import ExecOptions, Executor
from glcr.migrate.inventory import read_facts, read_inventory
from glcr.migrate.journal import (
    MigrationDir, default_state_root, list_migrations, named_migration, new_migration_id, utc_now,
)
from glcr.migrate.model import Event, Finding, Level, MigrationPlan, Mode
from glcr.migrate.planner import blocking, build_plan, evaluate, parse_target
from glcr.migrate.replay import Progress, replay
from glcr.migrate.route import choose_route

# Where images go when no holding place was given and GitLab will not move them itself:
# beside the migration's plan and journal, so `status` and `--resume` find everything together.
DEFAULT_BACKUP_SUBDIR = "images"


@dataclass(frozen=True)
class Prepared:
    plan: MigrationPlan
    findings: tuple[Finding, ...]

    def blocking(self, skip: Sequence[str] = ()) -> list[Finding]:
        return blocking(self.findings, skip)


async def prepare(session, source: str, target: str, *, holding: str | None = None, backup_dir: str | None = None,
                  remove_backup: bool = False, keep_records: bool = False, migration_id: str | None = None,
                  tick: Callable[[], None] | None = None, state_root: Path | None = None,
                  refused: str | None = None, continues: str | None = None) -> Prepared:
    """`refused`/`continues`: GitLab refused migration `continues` in place with this message;
    plan the copy-away path from where the project is now."""
    try:
        parse_target(source, target)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if holding and backup_dir:
        raise UsageError("give one holding place: --via or --backup-dir, not both")
    problems: list[str] = []
    inventory = await read_inventory(session, source, tick=tick, problems=problems)
    target = target.strip().strip("/")
    if target == inventory.project.full_path:
        raise InvalidInputError(f"{inventory.project.full_path} is already at {target}: nothing to do")
    migration_id = migration_id or new_migration_id()
    default_dir = (state_root or default_state_root()).expanduser() / migration_id / DEFAULT_BACKUP_SUBDIR
    route = choose_route(inventory, target, holding=holding, backup_dir=backup_dir,
                         default_backup_dir=str(default_dir.resolve()), refused=refused)
    holding, backup_dir, mode = route.holding, route.backup_dir, route.mode
    facts = await read_facts(session, inventory, target=target, holding=holding, backup_dir=backup_dir,
                             problems=problems)
    checked = evaluate(inventory, facts, target=target, mode=mode, holding=holding, backup_dir=backup_dir)
    # the route's sentence says what evaluate()'s "native" note says, and why
    findings = [Finding(Level.INFO, "route", route.why), *(f for f in checked if f.code != "native")]
    backup = str(Path(backup_dir).expanduser().resolve()) if backup_dir else None
    plan = build_plan(inventory, migration_id=migration_id, created_at=utc_now(),
                      target=target, mode=mode, holding=holding, backup_dir=backup,
                      remove_backup=remove_backup, keep_records=keep_records, findings=findings)
    plan = replace(plan, fallback=route.fallback, continues=continues)
    return Prepared(plan, tuple(findings))


def start(root: Path, plan: MigrationPlan) -> MigrationDir:
    return MigrationDir.create(root, plan)


def progress_of(directory: MigrationDir) -> tuple[MigrationPlan, Progress]:
    plan = directory.load_plan()
    return plan, replay(plan, directory.entries())


def find_unfinished(root: Path, migration_id: str | None = None) -> MigrationDir:
    """The given migration, or the newest one that is not finished."""
    if migration_id:
        return named_migration(root, migration_id)
    for directory in list_migrations(root):
        _, progress = progress_of(directory)
        if not progress.finished:
            return directory
    raise NotFoundError(f"no unfinished migration under {root}", hint="`glcr migrate-project status` lists them")


async def execute(session, directory: MigrationDir, *, ui: UI | None = None,
                  options: ExecOptions | None = None, abort: bool = False) -> tuple[MigrationPlan, Progress]:
    """Run the migration; if GitLab refused to move a native one in place, run (or resume) the
    copy-away migration that takes over, and return that one's plan and progress."""
    plan = directory.load_plan()
    with directory.lock():
        executor = Executor(session, directory, plan, ui=ui, options=options)
        progress = await executor.run(abort=abort)
    successor = await _copy_away_after_refusal(session, directory, plan, progress, ui)
    if successor is None:
        return plan, progress
    return await execute(session, successor, ui=ui, options=options, abort=abort)


def refused_in_place(plan: MigrationPlan, progress: Progress) -> str | None:
    """GitLab's refusal of a native move that has a copy-away fallback; None otherwise."""
    entry = progress.rolled_back
    if plan.mode is not Mode.NATIVE or plan.fallback is None or entry is None or entry.step == "abort":
        return None
    return entry.detail or "refused"


async def _copy_away_after_refusal(session, directory: MigrationDir, plan: MigrationPlan, progress: Progress,
                                   ui: UI | None) -> MigrationDir | None:
    refusal = refused_in_place(plan, progress)
    if refusal is None or not progress.finished:
        return None
    root = directory.path.parent
    if progress.fallback is not None:  # decided in an earlier run: continue that migration
        return named_migration(root, progress.fallback.data["id"])
    current = str((progress.rolled_back.data if progress.rolled_back else {}).get("path") or plan.source)
    fallback = plan.fallback or {}
    prepared = await prepare(session, current, plan.target, holding=fallback.get("holding"),
                             backup_dir=fallback.get("backup_dir"), state_root=root, refused=refusal,
                             continues=plan.id)
    blocked = prepared.blocking()
    if blocked:
        raise RefusedError(f"GitLab refused to move {current} in place ({refusal}), and copying the images away "
                           f"is blocked: {blocked[0].message}",
                           hint=f"nothing was deleted; fix it and run `glcr migrate-project {current} --to "
                                f"{plan.target}` again")
    successor = start(root, prepared.plan)
    with directory.lock(), directory.journal() as journal:
        journal.write("fallback", Event.FALLBACK, prepared.plan.findings[0].message, {"id": successor.id})
    if ui is not None:
        ui.note(f"{prepared.plan.findings[0].message}. Migration {successor.id} takes over "
                      f"(journal in {successor.path}).")
    return successor
