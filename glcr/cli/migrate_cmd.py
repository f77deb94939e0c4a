"""`glcr migrate-project`: move or rename a project with registry images, losing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from glcr.cli.context import Interrupted, app_context
from glcr.cli.options import OUTPUT, YES, check_project
from glcr.render.format import OutputFormat


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
    from glcr.migrate import run as api
    from glcr.errors import GlcrError, InvalidInputError, RefusedError, UsageError
    from glcr.migrate import service
    from glcr.migrate.journal import default_state_root, list_migrations
    from glcr.render.migrate import ConsoleReporter, render_dry_run, render_preflight, render_report, render_status, render_steps
    from glcr.statedir import check_directory

    # The command line first (usage: exit 2), then the values (exit 3), then the locations
    # (exit 3): all before the first request, so a mistake costs nothing and changes nothing.
    if source != "status":
        if resume and (source or to):
            raise UsageError("--resume takes no project or --to", hint="add --id ID to pick a migration")
        if abort and not resume:
            raise UsageError("--abort goes with --resume")
        if not resume and (not source or not to):
            raise UsageError("give the project and --to NEWGROUP/NEWPATH", hint="or --resume, or `status`")
        if via is not None and backup_dir is not None:
            raise UsageError("give one holding place: --via or --backup-dir, not both")
    if source and source != "status" and not resume:
        check_project(source)
        if via is not None:
            check_project(via, "holding project")
            if via.strip().strip("/").lower() == source.strip().strip("/").lower():
                raise InvalidInputError(f"--via {via}: the holding project cannot be the project being moved")
    app_ctx = app_context(ctx)
    settings = app_ctx.settings.with_jobs(jobs)  # --jobs here: the copies' concurrency
    console = app_ctx.stderr()
    root = (state_dir or default_state_root(app_ctx.env)).expanduser()
    if source == "status":
        if root.exists() and not root.is_dir():
            check_directory(root, "state directory", "--state-dir")
    else:
        check_directory(root, "state directory", "--state-dir")
        if backup_dir is not None:
            check_directory(backup_dir, "backup directory", "--backup-dir")

    if source == "status":
        wanted = migration_arg or migration_id
        dirs = [service.find_unfinished(root, wanted)] if wanted else list(list_migrations(root))
        render_status([service.progress_of(d) for d in dirs], output, console)
        return
    journal: dict = {}

    def resume_args() -> tuple:
        return ("migrate-project", "--resume", "--id", journal["directory"].id,
                *(("--state-dir", state_dir) if state_dir else ()), *(("--jobs", jobs) if jobs else ()),
                "--abort" if abort else None)

    def started(directory) -> None:
        journal["directory"] = directory

    if resume:
        directory = service.find_unfinished(root, migration_id)
        plan, progress = service.progress_of(directory)
        console.print(f"{'Aborting' if abort else 'Resuming'} migration {plan.id}: {plan.source} -> {plan.target}")
        render_steps(plan, progress, console)
        started(directory)

        async def work(session):
            return await api.resume(session, directory, abort=abort, reporter=ConsoleReporter(console, plan))
    else:
        from glcr.render.progress import counting_progress

        def review(prepared) -> None:
            render_preflight(prepared.plan, prepared.findings, console)
            if not dry_run:
                render_steps(prepared.plan, None, console)

        def announce(directory) -> None:
            started(directory)
            console.print(f"Migration {directory.id}: journal in {directory.path}")

        async def work(session):
            done = await api.migrate(
                session, source, to, state_root=root, holding=via, backup_dir=str(backup_dir) if backup_dir else None,
                remove_backup=remove_backup, keep_records=keep_records, skip_checks=skip_check, dry_run=dry_run,
                reading=lambda: counting_progress(console, f"Reading the registry of {source}"), review=review,
                confirm=lambda question: app_ctx.confirm(question, yes), started=announce,
                reporter_for=lambda plan: ConsoleReporter(console, plan))
            return done.plan, done.progress

    try:
        with app_ctx.resumable(resume_args, journal=lambda: journal["directory"].path if journal else None):
            plan, progress = app_ctx.run(work, settings=settings)
    except GlcrError as exc:
        if isinstance(exc, Interrupted) or not journal:  # nothing started, or the hint names the resume
            raise
        exc.hint = (f"{exc.hint}; " if exc.hint else "") + \
            f"then `glcr migrate-project --resume --id {journal['directory'].id}` (or --abort to put the images back)"
        raise
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
