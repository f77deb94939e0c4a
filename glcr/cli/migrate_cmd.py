"""`glcr migrate-project`: move or rename a project with registry images, losing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Awaitable, Callable, List, Optional

import typer

from glcr.cli.context import AppContext, Interrupted, app_context
from glcr.cli.options import OUTPUT, YES, check_project
from glcr.cli.ui import ConsoleUI
from glcr.errors import GlcrError, InvalidInputError, RefusedError, UsageError
from glcr.render.format import OutputFormat
from glcr.statedir import check_directory


def migrate_project(
    ctx: typer.Context,
    source: Optional[str] = typer.Argument(
        None, metavar="GROUP/PROJECT | status", help="the project to move, or `status` to show migrations"),
    migration_arg: Optional[str] = typer.Argument(None, metavar="[ID]", help="with `status`: one migration"),
    to: Optional[str] = typer.Option(None, "--to", metavar="NEWGROUP/NEWPATH",
                                     help="the project's new full path: a transfer, a rename, or both"),
    via: Optional[str] = typer.Option(None, "--via", metavar="GROUP/HOLDING-PROJECT",
                                      help="hold the images in this project's registry (blobs are mounted: no layer bytes move)"),
    backup_dir: Optional[Path] = typer.Option(None, "--backup-dir", metavar="DIR",
                                              help="hold the images in a local OCI image layout directory (pulled once, kept)"),
    remove_backup: bool = typer.Option(False, "--remove-backup", help="delete the --backup-dir after a verified migration"),
    keep_records: bool = typer.Option(False, "--keep-repository-records",
                                      help="keep GitLab's emptied repository records (and their ids) instead of deleting them"),
    dry_run: bool = typer.Option(False, "--dry-run", help="read, check and show the plan; change nothing"),
    yes: bool = YES,
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, max=64, help="concurrent copies (default: glcr's --jobs)"),
    resume: bool = typer.Option(False, "--resume", help="finish the newest unfinished migration (or --id)"),
    abort: bool = typer.Option(False, "--abort", help="with --resume: put every image back under the project's current path"),
    migration_id: Optional[str] = typer.Option(None, "--id", help="the migration to resume or show"),
    state_dir: Optional[Path] = typer.Option(None, "--state-dir", metavar="DIR",
                                             help="where migrations keep plan and journal [default: ~/.local/state/glcr/migrations]"),
    skip_check: List[str] = typer.Option([], "--skip-check", metavar="CODE", help="proceed despite this preflight error (repeatable)"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Move or rename a project whose registry holds images: copy every tag to a holding place,
    verify it, delete the tags, move the project, restore every tag under the new path, verify
    every digest, then remove the holding copies. Journaled; `--resume` finishes a killed run;
    a refused transfer puts the images back under the original path.

    Examples:
      glcr migrate-project mygroup/app --to newgroup/app --via mygroup/holding --dry-run
      glcr migrate-project mygroup/app --to mygroup/app2 --backup-dir ./app-images --yes
      glcr migrate-project --resume
      glcr migrate-project status
    """
    # The command line first (usage: exit 2), then the values (exit 3), then the locations
    # (exit 3): all before the first request, so a mistake costs nothing and changes nothing.
    if source != "status":
        check_command_line(source, to, via, backup_dir, resume=resume, abort=abort)
    from glcr.migrate.journal import default_state_root

    app_ctx = app_context(ctx)
    root = (state_dir or default_state_root(app_ctx.env)).expanduser()
    if source == "status":
        show_status(app_ctx, root, migration_arg or migration_id, output)
        return
    check_directory(root, "state directory", "--state-dir")
    if backup_dir is not None:
        check_directory(backup_dir, "backup directory", "--backup-dir")
    if resume:
        resume_migration(app_ctx, root, migration_id, abort=abort, jobs=jobs, state_dir=state_dir, output=output)
        return
    assert source is not None and to is not None  # check_command_line
    start_migration(app_ctx, root, source, to, via=via, backup_dir=backup_dir, remove_backup=remove_backup,
                    keep_records=keep_records, dry_run=dry_run, yes=yes, jobs=jobs, skip_check=skip_check,
                    state_dir=state_dir, output=output)


def check_command_line(source: str | None, to: str | None, via: str | None, backup_dir: Path | None, *,
                       resume: bool, abort: bool) -> None:
    """Options that do not go together (exit 2), then a project path that cannot be one (exit 3)."""
    if resume and (source or to):
        raise UsageError("--resume takes no project or --to", hint="add --id ID to pick a migration")
    if abort and not resume:
        raise UsageError("--abort goes with --resume")
    if not resume and (not source or not to):
        raise UsageError("give the project and --to NEWGROUP/NEWPATH", hint="or --resume, or `status`")
    if via is not None and backup_dir is not None:
        raise UsageError("give one holding place: --via or --backup-dir, not both")
    if source and not resume:
        check_project(source)
        if via is not None:
            check_project(via, "holding project")
            if via.strip().strip("/").lower() == source.strip().strip("/").lower():
                raise InvalidInputError(f"--via {via}: the holding project cannot be the project being moved")


def show_status(app_ctx: AppContext, root: Path, migration_id: str | None, output: OutputFormat) -> None:
    """`migrate-project status [ID]`: every migration under the state root, or one; no request."""
    from glcr.api import migrate as api
    from glcr.render.migrate import render_status

    if root.exists() and not root.is_dir():
        check_directory(root, "state directory", "--state-dir")
    statuses = api.status(root, migration_id)
    for status in statuses:
        if status.damage_note:
            app_ctx.warn(status.damage_note)
    render_status([(s.plan, s.progress) for s in statuses], output, app_ctx.stderr())


def resume_migration(app_ctx: AppContext, root: Path, migration_id: str | None, *, abort: bool, jobs: int | None,
                     state_dir: Path | None, output: OutputFormat) -> None:
    """`migrate-project --resume [--abort]`: finish (or undo) the newest unfinished migration, or --id."""
    from glcr.api import migrate as api
    from glcr.render.migrate import render_steps

    console = app_ctx.stderr()
    migration = api.unfinished(root, migration_id)
    if migration.damage_note:
        app_ctx.warn(migration.damage_note)
    console.print(f"{'Aborting' if abort else 'Resuming'} migration {migration.id}: "
                  f"{migration.plan.source} -> {migration.plan.target}")
    render_steps(migration.plan, migration.progress, console)
    resume_args = ("migrate-project", "--resume", "--id", migration.id,
                   *(("--state-dir", state_dir) if state_dir else ()), *(("--jobs", jobs) if jobs else ()),
                   "--abort" if abort else None)
    ui = migration_ui(app_ctx, console, yes=True)
    run = api.abort if abort else api.resume
    done = run_journaled(app_ctx, jobs, lambda session: run(session, migration, ui=ui),
                         lambda: (migration.id, migration.path, resume_args))
    finish(app_ctx, console, done, output)


def start_migration(app_ctx: AppContext, root: Path, source: str, to: str, *, via: str | None,
                    backup_dir: Path | None, remove_backup: bool, keep_records: bool, dry_run: bool, yes: bool,
                    jobs: int | None, skip_check: List[str], state_dir: Path | None, output: OutputFormat) -> None:
    """`migrate-project SRC --to DST`: preflight, confirm, then run it journaled under the state root."""
    from glcr.api import migrate as api
    from glcr.migrate.service import Prepared
    from glcr.render.migrate import render_preflight, render_steps

    console = app_ctx.stderr()
    started: list[api.Started] = []

    def review(prepared: Prepared) -> None:
        render_preflight(prepared.plan, prepared.findings, console)
        if not dry_run:
            render_steps(prepared.plan, None, console)

    def announce(where: api.Started) -> None:
        started.append(where)
        console.print(f"Migration {where.id}: journal in {where.path}")

    def journal() -> tuple[str, Path, tuple] | None:
        if not started:
            return None
        return (started[0].id, started[0].path,
                ("migrate-project", "--resume", "--id", started[0].id,
                 *(("--state-dir", state_dir) if state_dir else ()),
                 *(("--jobs", jobs) if jobs else ())))

    ui = migration_ui(app_ctx, console, yes=yes, reviews={Prepared: review, api.Started: announce})
    done = run_journaled(app_ctx, jobs, lambda session: api.start(
        session, source, to, state_root=root, ui=ui, holding=via, backup_dir=str(backup_dir) if backup_dir else None,
        remove_backup=remove_backup, keep_records=keep_records, skip_checks=skip_check, dry_run=dry_run), journal)
    finish(app_ctx, console, done, output)


def migration_ui(app_ctx: AppContext, console: Any, *, yes: bool,
                 reviews: dict[type, Callable[[Any], None]] | None = None) -> ConsoleUI:
    """The terminal UI of a migration: each step's line as it starts and ends, besides `reviews`."""
    from glcr.migrate.model import StepUpdate
    from glcr.render.migrate import render_step_update

    return ConsoleUI(app_ctx, yes=yes, console=console,
                     reviews={**(reviews or {}), StepUpdate: lambda update: render_step_update(update, console)})


def run_journaled(app_ctx: AppContext, jobs: int | None, work: Callable[[Any], Awaitable[Any]],
                  journal: Callable[[], tuple[str, Path, tuple] | None]) -> Any:
    """Run `work` on the command's session; once a migration has a journal (`journal()`: its id,
    directory and the arguments that resume it), Ctrl-C and errors name the command that finishes it."""
    settings = app_ctx.settings.with_jobs(jobs)  # --jobs here: the copies' concurrency

    def resume_args() -> tuple:
        found = journal()
        assert found is not None  # asked only once there is a journal
        return found[2]

    def journal_path() -> Path | None:
        found = journal()
        return found[1] if found else None

    try:
        with app_ctx.resumable(resume_args, journal=journal_path):
            return app_ctx.run(work, settings=settings)
    except GlcrError as exc:
        found = journal()
        if isinstance(exc, Interrupted) or found is None:  # nothing started, or the hint names the resume
            raise
        exc.hint = (f"{exc.hint}; " if exc.hint else "") + \
            f"then `glcr migrate-project --resume --id {found[0]}` (or --abort to put the images back)"
        raise


def finish(app_ctx: AppContext, console: Any, done: Any, output: OutputFormat) -> None:
    """The report on stdout; a rollback said on stderr, and the exit code a refusal ends with."""
    from glcr.render.migrate import render_dry_run, render_report

    plan, progress = done.plan, done.progress
    if progress is None:  # a dry run
        render_dry_run(plan, output)
        return
    render_report(plan, progress, output)
    if progress.rolled_back is not None and progress.rolled_back.step == "abort":
        console.print(f"Aborted: every image is back under {progress.rolled_back.data.get('path')} and verified")
    elif progress.rolled_back is not None:
        raise RefusedError(f"{progress.rolled_back.detail}; every image is back under "
                           f"{progress.rolled_back.data.get('path')} and verified")


# One command, as an app: mount it as `glcr migrate-project` (a lazy target "glcr.cli.migrate_cmd:app"
# becomes a plain command), or register the function: app.command("migrate-project")(migrate_project).
app = typer.Typer(help="Move or rename a project with registry images, losing nothing.")
app.command("migrate-project")(migrate_project)
