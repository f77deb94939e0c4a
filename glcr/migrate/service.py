"""The migration's "do one thing" API, for the CLI, tests and the benchmark.

prepare()  reads the inventory and the facts, checks, and returns the plan (nothing changes)
start()    writes the plan to a new migration directory
execute()  runs (or resumes, or aborts) the migration in a directory, under its lock
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from glcr.errors import InvalidInputError, NotFoundError
from glcr.migrate.executor import ExecOptions, Executor, Reporter
from glcr.migrate.inventory import read_facts, read_inventory
from glcr.migrate.journal import MigrationDir, list_migrations, named_migration, new_migration_id, utc_now
from glcr.migrate.model import Finding, MigrationPlan, Mode
from glcr.migrate.plan import Progress, blocking, build_plan, choose_mode, evaluate, parse_target, replay


@dataclass(frozen=True)
class Prepared:
    plan: MigrationPlan
    findings: tuple[Finding, ...]

    def blocking(self, skip: Sequence[str] = ()) -> list[Finding]:
        return blocking(self.findings, skip)


async def prepare(session, source: str, target: str, *, holding: str | None = None, backup_dir: str | None = None,
                  remove_backup: bool = False, keep_records: bool = False, migration_id: str | None = None,
                  tick: Callable[[], None] | None = None) -> Prepared:
    try:
        parse_target(source, target)
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None
    if holding and backup_dir:
        raise InvalidInputError("give one holding place: --via or --backup-dir, not both")
    problems: list[str] = []
    inventory = await read_inventory(session, source, tick=tick, problems=problems)
    target = target.strip().strip("/")
    if target == inventory.project.full_path:
        raise InvalidInputError(f"{inventory.project.full_path} is already at {target}: nothing to do")
    mode = choose_mode(inventory, target, holding=holding, backup_dir=backup_dir)
    if mode is Mode.HOLDING and not holding:
        raise InvalidInputError(
            f"{inventory.project.full_path} has {inventory.tag_count} tag(s), and GitLab refuses the move while "
            "tags exist: give a holding place", hint="--via GROUP/HOLDING-PROJECT (same registry, blobs are "
            "mounted) or --backup-dir DIR (a local OCI layout)")
    facts = await read_facts(session, inventory, target=target, holding=holding, backup_dir=backup_dir,
                             problems=problems)
    findings = evaluate(inventory, facts, target=target, mode=mode, holding=holding, backup_dir=backup_dir)
    backup = str(Path(backup_dir).expanduser().resolve()) if backup_dir else None
    plan = build_plan(inventory, migration_id=migration_id or new_migration_id(), created_at=utc_now(),
                      target=target, mode=mode, holding=holding, backup_dir=backup,
                      remove_backup=remove_backup, keep_records=keep_records, findings=findings)
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


async def execute(session, directory: MigrationDir, *, reporter: Reporter | None = None,
                  options: ExecOptions | None = None, abort: bool = False) -> tuple[MigrationPlan, Progress]:
    plan = directory.load_plan()
    with directory.lock():
        executor = Executor(session, directory, plan, reporter=reporter, options=options)
        progress = await executor.run(abort=abort)
    return plan, progress
