"""What `glcr migrate-project` calls: a new migration from preflight to report, or an unfinished one resumed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from glcr.migrate import service


@dataclass(frozen=True)
class Migration:
    prepared: Any  # glcr.migrate.service.Prepared: the plan and the preflight's findings
    directory: Any | None  # glcr.migrate.journal.MigrationDir; None for a dry run
    plan: Any  # glcr.migrate.model.MigrationPlan (the copy-away one when GitLab refused in place)
    progress: Any | None  # glcr.migrate.replay.Progress; None for a dry run


async def migrate(session, source: str, target: str, *, state_root: Path, holding: str | None = None,
                  backup_dir: str | None = None, remove_backup: bool = False, keep_records: bool = False,
                  skip_checks: Sequence[str] = (), dry_run: bool = False, reading=None,
                  review: Callable[[Any], None], confirm: Callable[[str], None],
                  started: Callable[[Any], None] | None = None, reporter_for=None) -> Migration:
    """Preflight, `review(prepared)`, refuse what would stop half-way (unless skipped),
    `confirm(question)` (raises to stop), then run it journaled under `state_root`.

    `reading()`: a context manager (a bar with `advance()`) open while the registry is read;
    `started(directory)` is told where the journal is before anything changes;
    `reporter_for(plan)`: the executor's reporter.
    """
    from contextlib import nullcontext

    with (reading() if reading else nullcontext()) as bar:
        prepared = await service.prepare(session, source, target, holding=holding, backup_dir=backup_dir,
                                         remove_backup=remove_backup, keep_records=keep_records,
                                         tick=bar.advance if bar else None, state_root=state_root)
    plan = prepared.plan
    review(prepared)
    blocked = prepared.blocking(list(skip_checks))
    if blocked:
        # The first problem's own exit code (README, migrate section): not found 4, permission 6,
        # invalid input 3, else refused 8.
        raise preflight_error(blocked[0].exit_code)(
            f"the preflight found {len(blocked)} problem(s) that would stop the migration half-way: "
            f"{blocked[0].message}", hint=f"nothing changed; `--skip-check {blocked[0].code}` overrides it")
    if dry_run:
        return Migration(prepared, None, plan, None)
    confirm(f"Migrate {plan.source} to {plan.target} ({plan.inventory.tag_count} tag(s))?")
    directory = service.start(state_root, plan)
    if started:
        started(directory)
    plan, progress = await service.execute(session, directory, reporter=reporter_for(plan) if reporter_for else None)
    return Migration(prepared, directory, plan, progress)


def preflight_error(exit_code: int | None) -> type:
    """The error kind that ends the command with `exit_code` (RefusedError when None)."""
    from glcr.errors import (
        ExitCode, InvalidInputError, NotFoundError, PermissionDeniedError, RefusedError,
    )

    kinds = {ExitCode.INVALID_INPUT: InvalidInputError, ExitCode.NOT_FOUND: NotFoundError,
             ExitCode.PERMISSION: PermissionDeniedError}
    return kinds.get(exit_code, RefusedError)


async def resume(session, directory: Any, *, abort: bool = False, reporter=None) -> tuple[Any, Any]:
    """Finish (or, `abort`, undo) the migration journaled in `directory`: (plan, progress)."""
    return await service.execute(session, directory, reporter=reporter, abort=abort)
