"""`glcr tags restore`: put back the tags a glcr delete removed (its manifests were saved first)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES
from glcr.cli.tags_cmd import app
from glcr.render.format import OutputFormat


@app.command()
def restore(
    ctx: typer.Context,
    journal: Optional[Path] = typer.Argument(None, help="the journal (or plan, or *.manifests.jsonl) of a glcr delete"),
    last: bool = typer.Option(False, "--last", help="what the last glcr delete command on this machine removed"),
    tag: List[str] = typer.Option([], "--tag", help="only this tag; repeatable"),
    dry_run: bool = typer.Option(False, "--dry-run", help="check what each tag needs; put nothing back"),
    yes: bool = YES,
    output: OutputFormat = OUTPUT,
) -> None:
    """Put back deleted tags, each on the digest it had: an index's child manifests first.

    Every glcr delete (tags delete, tags apply, cleanup run) saves the manifests it deletes
    before it deletes them. They can be put back until the registry's garbage collection removes
    their blobs; a tag whose blobs are gone is named with what it lacks (exit 9), and a tag that
    exists again on another digest is left alone (stale).

    Examples:
      glcr tags restore --last --dry-run
      glcr tags restore plan.json.journal.jsonl --tag v1.0.0 --yes
    """
    from glcr.api.restore import RestoreOutcome, restore_tags
    from glcr.errors import PartialFailureError, UsageError
    from glcr.render.restore import render_restore_plan, render_restore_report

    if (journal is None) == (not last):
        raise UsageError("name a JOURNAL or give --last (one of them)")
    app_ctx = app_context(ctx)
    # A journal without saved manifests (or no delete at all for --last) is refused before any request.
    from glcr.plan.backup import find_backup, last_command

    if last:
        last_command(app_ctx.env)
    elif journal is not None:
        find_backup(journal)
    console = app_ctx.stderr()
    report = app_ctx.run(lambda s: restore_tags(
        s, None if last else str(journal), last=last, tags=tag, dry_run=dry_run,
        review=lambda plan: render_restore_plan(plan, console),
        confirm=lambda question: app_ctx.confirm(question, yes), env=app_ctx.env))
    render_restore_report(report, output, console)
    if report.failed:
        missing = report.count(RestoreOutcome.MISSING)
        raise PartialFailureError(f"{report.failed} tag(s) not restored ({missing} lack garbage-collected blobs)",
                                  hint="see the table above")
