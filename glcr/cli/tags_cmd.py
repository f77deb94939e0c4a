"""`glcr tags`: list, show and delete tags (plan/apply live in the same group)."""

from __future__ import annotations

from typing import List, Optional

import typer

from glcr.cli.complete import complete_ref, complete_repository, complete_tag
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES, refuse_empty
from glcr.render.format import OutputFormat
from glcr.plan.tag_filters import TagSort

app = typer.Typer(help="Tags of a registry repository.", no_args_is_help=True)

PATH_HELP = "repository path (group/project[/image]) or image name (registry.example.com/group/project/image)"


@app.command("list")
def list_(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    match: Optional[str] = typer.Option(None, "--match", "-m", help="RE2 searched in the name; ^...$ for a full match"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="only tags older than this age, e.g. 30d, 12h, 2w, 2mo (as GitLab reads older_than); the age is GitLab's for this registry: the last push on GitLab's registry with its database, the image's created time elsewhere"),
    sort: TagSort = typer.Option(TagSort.NAME, "--sort", help="name, created (newest first, by the same date as --older-than) or size (biggest first)"),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="at most this many rows"),
    referrers: bool = typer.Option(False, "--referrers", help="list signatures, attestations and SBOMs under their "
                                   "image (JSON always has them: referrer_of, referrers)"),
    output: OutputFormat = OUTPUT,
) -> None:
    """List every tag with digest, date and total_size (all pages, details fetched concurrently).

    Examples:
      glcr tags list mygroup/app
      glcr tags list registry.example.com/mygroup/app/api --match '^v1\\.' --sort created
      glcr tags list mygroup/app --older-than 90d -o plain > list_o_tags.out
      glcr -j 16 tags list mygroup/app -o json | jq '.[].name'
    """
    from datetime import datetime, timezone

    from glcr.api.tags import list_tags
    from glcr.durations import parse_age_option
    from glcr.render.progress import counting_progress
    from glcr.render.tags import render_tags
    from glcr.plan.tag_filters import compile_match, select_tags

    age = parse_age_option(older_than)
    if match is not None:
        refuse_empty("--match", match, "it matches every tag")
        compile_match(match)  # fail on a bad regex before any request
    app_ctx = app_context(ctx)
    listing = app_ctx.run(lambda s: list_tags(
        s, path, progress=lambda repo: counting_progress(app_ctx.stderr(), f"Reading tags of {repo.path}")))
    selected = select_tags(list(listing.tags), match=match, older_than=age, now=datetime.now(timezone.utc),
                           sort=sort, limit=limit)
    render_tags(selected, output, listing.protection, listing.kind, referrers=referrers)
    if listing.kind is not None and output is OutputFormat.TABLE:
        app_ctx.say(f"registry: {listing.kind.label}; dates are {listing.kind.dates}")


@app.command()
def show(ctx: typer.Context, ref: str = typer.Argument(..., help="PATH:TAG", autocompletion=complete_ref), output: OutputFormat = OUTPUT) -> None:
    """Show one tag: digest, created_at, size, and other tags that share its digest.

    Example:
      glcr tags show mygroup/app:v1.2.0
    """
    from glcr.api.tags import show_tag
    from glcr.errors import InvalidInputError
    from glcr.reference import parse_image_ref
    from glcr.render.tags import render_tag

    if not parse_image_ref(ref).tag:
        raise InvalidInputError(f"{ref!r} names no tag", hint="write PATH:TAG, e.g. mygroup/app:v1.0")
    found = app_context(ctx).run(lambda s: show_tag(s, ref))
    render_tag(found.details, list(found.siblings), found.manifest, output)


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
    checks that every named tag is gone and every other tag still has its digest. A named tag that
    a tag protection rule keeps is not deleted: the others are, and glcr exits 6 naming it.

    Examples:
      glcr tags delete mygroup/app v1.0.0 v1.0.1
      glcr tags delete mygroup/app/api feature-x --yes -o json
    """
    from glcr.api.tags import delete_tags
    from glcr.errors import PartialFailureError
    from glcr.reference import validate_tag
    from glcr.registry.delete import Outcome
    from glcr.render.tags import render_delete_preview, render_delete_report

    names = list(dict.fromkeys(validate_tag(t) for t in tags))
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    report = app_ctx.run(lambda s: delete_tags(
        s, path, names, review=lambda preview: render_delete_preview(preview, console),
        confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    if report is None:
        return
    render_delete_report(report, output, console)
    if report.backup is not None and report.count(Outcome.DELETED):
        from glcr.api.restore import gc_note, restore_line
        from glcr.render.restore import render_undo

        render_undo(console, restore_line(report.backup), gc_note(report.kind))
    if report.count(Outcome.FAILED) or report.damage:
        raise PartialFailureError(f"{report.count(Outcome.FAILED)} tag(s) failed, "
                                  f"{len(report.damage)} other tag(s) changed", hint="see the table above")
    if report.protected:  # a named tag a rule keeps was not deleted: not a success (exit 6)
        from glcr.policy.protection import kept_error

        raise kept_error(report.protected, report.count(Outcome.DELETED))
