"""`glcr tags`: list, show and delete tags (plan/apply live in the same group)."""

from __future__ import annotations

from typing import List, Optional

import typer

from glcr.cli.complete import complete_ref, complete_repository, complete_tag
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES
from glcr.render.format import OutputFormat
from glcr.tag_filters import TagSort

app = typer.Typer(help="Tags of a registry repository.", no_args_is_help=True)

PATH_HELP = "repository path (group/project[/image]) or image name (registry.example.com/group/project/image)"


@app.command("list")
def list_(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    match: Optional[str] = typer.Option(None, "--match", "-m", help="RE2 searched in the name; ^...$ for a full match"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="only tags created before this age, e.g. 30d, 12h, 2w, 2mo (as GitLab reads older_than)"),
    sort: TagSort = typer.Option(TagSort.NAME, "--sort", help="name, created (newest first) or size (biggest first)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most this many rows"),
    output: OutputFormat = OUTPUT,
) -> None:
    """List every tag with digest, created_at and total_size (all pages, details fetched concurrently).

    Examples:
      glcr tags list mygroup/app
      glcr tags list registry.example.com/mygroup/app/api --match '^v1\\.' --sort created
      glcr tags list mygroup/app --older-than 90d -o plain > list_o_tags.out
      glcr -j 16 tags list mygroup/app -o json | jq '.[].name'
    """
    from datetime import datetime, timezone

    from glcr.durations import parse_age
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import list_tag_details
    from glcr.render.progress import counting_progress
    from glcr.render.tags import render_tags
    from glcr.tag_filters import compile_match, select_tags

    age = parse_age(older_than, "--older-than") if older_than else None
    if match:
        compile_match(match)  # fail on a bad regex before any request
    app_ctx = app_context(ctx)

    async def work(session):
        resolved = await resolve_repository(session, path)
        with counting_progress(app_ctx.stderr(), f"Reading tags of {resolved.repository.path}") as bar:
            found = await list_tag_details(session, resolved.repository, bar.set_total, bar.advance)
        from glcr.api.protection import for_project

        return found, await for_project(session, resolved.repository.project_id)

    details, protection = app_ctx.run(work)
    selected = select_tags(details, match=match, older_than=age, now=datetime.now(timezone.utc),
                           sort=sort, limit=limit)
    render_tags(selected, output, protection)


@app.command()
def show(ctx: typer.Context, ref: str = typer.Argument(..., help="PATH:TAG", autocompletion=complete_ref), output: OutputFormat = OUTPUT) -> None:
    """Show one tag: digest, created_at, size, and other tags that share its digest.

    Example:
      glcr tags show mygroup/app:v1.2.0
    """
    from glcr.errors import InvalidInputError, NotFoundError
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import tag_with_siblings
    from glcr.reference import parse_image_ref
    from glcr.render.tags import render_tag

    if not parse_image_ref(ref).tag:
        raise InvalidInputError(f"{ref!r} names no tag", hint="write PATH:TAG, e.g. mygroup/app:v1.0")

    async def work(session):
        resolved = await resolve_repository(session, ref)
        found = await tag_with_siblings(session, resolved.repository, resolved.ref.tag)
        if found is None:
            raise NotFoundError(f"no tag {resolved.ref.tag} in {resolved.repository.path}")
        return found

    details, siblings, manifest = app_context(ctx).run(work)
    render_tag(details, siblings, manifest, output)


@app.command()
def delete(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    tags: List[str] = typer.Argument(..., help="tag names to delete (only these: never a sibling)",
                                     autocompletion=complete_tag),
    yes: bool = YES,
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would happen and stop"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Delete the named tags, and only them: other tags with the same digest stay.

    Shows first which other tags share each digest, then asks (--yes in scripts). Afterwards it
    checks that every named tag is gone and every other tag still has its digest.

    Examples:
      glcr tags delete mygroup/app v1.0.0 v1.0.1
      glcr tags delete mygroup/app/api feature-x --yes -o json
    """
    from glcr.errors import PartialFailureError
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import execute_delete, preview_delete
    from glcr.reference import validate_tag
    from glcr.registry.delete import DeleteRequest, Outcome
    from glcr.render.tags import render_delete_preview, render_delete_report

    names = list(dict.fromkeys(validate_tag(t) for t in tags))
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()

    async def preview_work(session):
        resolved = await resolve_repository(session, path)
        return await preview_delete(session, resolved.repository, [DeleteRequest(n) for n in names])

    preview = app_ctx.run(preview_work)
    render_delete_preview(preview, console)
    todo = len(preview.requested) - len(preview.missing)  # protected tags are not requested
    if preview.missing and todo == 0 and not preview.protected:
        from glcr.errors import NotFoundError

        raise NotFoundError(f"{preview.repository.path} has no tag {', '.join(sorted(preview.missing)[:3])}"
                            + (" (and more)" if len(preview.missing) > 3 else "") + "; nothing was deleted",
                            hint=f"see `glcr tags list {preview.repository.path}`")
    if dry_run or todo == 0:
        if preview.protected and not dry_run:
            from glcr.api.tags import DeleteReport

            render_delete_report(DeleteReport([], [], "none", preview.protected), output, console)
        return
    app_ctx.confirm(f"Delete {todo} tag(s) from {preview.repository.path}?", yes)

    async def delete_work(session):
        return await execute_delete(session, preview)

    report = app_ctx.run(delete_work)
    render_delete_report(report, output, console)
    if report.count(Outcome.FAILED) or report.damage:
        raise PartialFailureError(f"{report.count(Outcome.FAILED)} tag(s) failed, "
                                  f"{len(report.damage)} other tag(s) changed", hint="see the table above")
