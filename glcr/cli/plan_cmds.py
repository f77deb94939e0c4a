"""`glcr tags plan` and `glcr tags apply`: reviewable bulk deletion (replacing the docs' scripts)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from glcr.cli.complete import complete_repository
from glcr.cli.context import app_context
from glcr.cli.options import YES
from glcr.cli.tags_cmd import PATH_HELP, app

# A snapshot of the registry read this recently is reused for the delete (no second read of
# every tag); older, it is read again, since the tags may have moved in the meantime.
FRESH_SECONDS = 30.0


@app.command()
def plan(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    keep_latest: bool = typer.Option(True, "--keep-latest/--no-keep-latest", help="never delete `latest`"),
    keep_first: Optional[int] = typer.Option(None, "--keep-first", min=1, help="keep the N newest candidates"),
    keep_regex: List[str] = typer.Option([], "--keep-regex", help="keep tags matching this RE2 (whole name); repeatable"),
    delete_regex: Optional[str] = typer.Option(None, "--delete-regex", help="only tags matching this RE2 (whole name) may go"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="only delete tags older than this, e.g. 30d, 2mo (as GitLab reads older_than)"),
    keep_semver_latest: Optional[int] = typer.Option(None, "--keep-semver-latest", min=1,
                                                      help="keep the N highest semantic versions"),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="write the plan: *.json = plan with digests, anything else = one tag a line"),
) -> None:
    """Decide which tags to delete and write a reviewable plan. Deletes nothing.

    Regexes here match the WHOLE tag name (unlike GitLab's cleanup policy, see `glcr cleanup`).

    Examples:
      glcr tags plan mygroup/app --older-than 90d --keep-semver-latest 5 -o plan.json
      glcr tags plan mygroup/app --delete-regex 'feature-.*' --keep-first 3 -o list_o_tags.out
      glcr tags apply mygroup/app --from-file plan.json
    """
    from datetime import datetime, timezone

    from glcr.durations import parse_age
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import index_children, list_tag_details
    from glcr.plan.build import PlanRules, build_tag_plan
    from glcr.render.plans import render_plan, write_plan_file
    from glcr.render.progress import counting_progress

    rules = PlanRules(keep_latest=keep_latest, keep_first=keep_first, keep_regexes=tuple(keep_regex),
                      delete_regex=delete_regex, older_than=parse_age(older_than, "--older-than") if older_than else None,
                      keep_semver_latest=keep_semver_latest)
    app_ctx = app_context(ctx)

    async def work(session):
        resolved = await resolve_repository(session, path)
        repo = resolved.repository
        with counting_progress(app_ctx.stderr(), f"Reading tags of {repo.path}") as bar:
            tags = await list_tag_details(session, repo, bar.set_total, bar.advance)
        children = await index_children(session, repo, [t.digest for t in tags if t.digest])
        built = build_tag_plan(tags, rules, now=datetime.now(timezone.utc), repository=repo,
                               index_children=children, project=resolved.project)
        from glcr.api.protection import guard_plan

        return (await guard_plan(session, built, repo.project_id))[0]  # protected tags are kept, with the rule

    the_plan = app_ctx.run(work)
    from rich.console import Console

    render_plan(the_plan, app_ctx.stderr() if output else Console(soft_wrap=False), app_ctx.stderr())
    if output:
        write_plan_file(the_plan, output)
        app_ctx.say(f"Wrote {output}: {len(the_plan.to_delete)} tag(s) to delete. "
                    f"Review it, then: glcr tags apply {the_plan.repository_path} --from-file {output}")


@app.command()
def apply(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    from_file: Path = typer.Option(..., "--from-file", "-f", exists=True, dir_okay=False,
                                   help="a plan (JSON from `glcr tags plan`) or a list, one tag a line"),
    journal: Optional[Path] = typer.Option(None, "--journal", help="journal file (default: FILE.journal.jsonl beside FILE)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be deleted and stop"),
    yes: bool = YES,
) -> None:
    """Delete the tags a plan or list names, re-checking each digest; resumable.

    Every outcome goes to a JSON-lines journal and a human log beside the file. Run the same
    command again after an interruption: finished tags are skipped, "already gone" counts as done,
    and a tag that now points at another digest is reported stale and never deleted.

    Examples:
      glcr tags apply mygroup/app --from-file plan.json --dry-run
      glcr tags apply mygroup/app --from-file list_o_tags.out --yes
    """
    from glcr.errors import PartialFailureError
    from glcr.api.apply import apply_with_journal, prepare_plan
    from glcr.plan.journal import JournalPaths, default_paths, replay
    from glcr.plan.listfile import load_plan_or_list
    from glcr.plan.progress import pending_entries, summarize
    from glcr.render.plans import render_apply_preview, render_apply_summary
    from glcr.render.progress import counting_progress

    loaded = load_plan_or_list(from_file.read_bytes(), str(from_file))
    paths = default_paths(from_file) if not journal else JournalPaths(journal, journal.with_suffix(".log"))
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    for warning in getattr(loaded, "warnings", ()):
        app_ctx.warn(warning)
    prepared = app_ctx.run(lambda s: prepare_plan(s, path, loaded, from_file.name, journal=paths.journal))
    for tag, rule in sorted(prepared.protected.items()):
        console.print(f"keep {tag}: protected by rule {rule.pattern} (not deleted)", markup=False)
    read_at = time.monotonic()
    replayed = replay(paths.journal)
    pending = pending_entries(prepared.plan, replayed)
    render_apply_preview(prepared.plan, pending, summarize(prepared.plan, replayed), console)
    if dry_run or not pending:
        return
    app_ctx.confirm(f"Delete {len(pending)} tag(s) from {prepared.repository.path}?", yes)
    # A person who took a while to answer gets the registry read again.
    current = prepared.current if time.monotonic() - read_at <= FRESH_SECONDS else None

    async def work(session):
        with counting_progress(console, f"Deleting from {prepared.repository.path}") as bar:
            bar.set_total(len(pending))
            return await apply_with_journal(session, prepared.plan, prepared.repository, paths, replayed,
                                            current=current, on_result=lambda r: bar.advance())

    # The same command resumes: the journal skips what is done, re-checks the rest.
    resume = ("tags", "apply", path, "--from-file", from_file, *(("--journal", journal) if journal else ()),
              "--yes" if yes else None)
    with app_ctx.resumable(*resume, journal=paths.journal):
        run = app_ctx.run(work)
    final = summarize(prepared.plan, replay(paths.journal))
    render_apply_summary(final, run.report, paths, console)
    if final.failed or (run.report and run.report.damage):
        raise PartialFailureError(f"{final.failed} tag(s) failed", hint="re-run the same command to retry them")


@app.command("bulk-delete")
def bulk_delete(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    name_regex_delete: str = typer.Option(..., "--name-regex-delete", help="RE2; GitLab anchors it (\\A…\\z)"),
    name_regex_keep: Optional[str] = typer.Option(None, "--name-regex-keep", help="RE2; matching tags stay"),
    keep_n: Optional[int] = typer.Option(None, "--keep-n", min=0, help="keep the N newest matching tags"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="ChronicDuration: 1h, 7d, 1month"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what GitLab would delete; send nothing"),
    yes: bool = YES,
) -> None:
    """GitLab's asynchronous bulk delete API, with a preview of what the server will delete.

    GitLab runs it in the background, reports nothing back, and accepts it at most once an hour
    per repository (it answers 400 before that). `latest` is never deleted. For a journaled,
    immediate and verified delete, use `glcr tags plan` + `glcr tags apply` instead.

    Examples:
      glcr tags bulk-delete mygroup/app --name-regex-delete '.*' --keep-n 5 --older-than 30d --dry-run
      glcr tags bulk-delete mygroup/app --name-regex-delete 'feature-.*' --yes
    """
    from datetime import datetime, timezone

    from glcr.errors import RefusedError
    from glcr.gitlab.rest import GitLabRest
    from glcr.api.cleanup import policy_tags
    from glcr.api.resolve import resolve_repository
    from glcr.api.tags import list_tag_details, registry_path
    from glcr.policy import CleanupParams, Variant, decide, validate_bulk_delete
    from glcr.render.format import OutputFormat
    from glcr.render.policy import render_cleanup

    params = {"name_regex_delete": name_regex_delete, "name_regex_keep": name_regex_keep,
              "keep_n": keep_n, "older_than": older_than}
    checks = validate_bulk_delete({k: v for k, v in params.items() if v is not None})
    checks.raise_for_errors("nothing was sent")
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    for warning in checks.warnings:
        app_ctx.warn(warning)

    async def preview(session):
        resolved = await resolve_repository(session, path)
        repo = resolved.repository
        kind = await session.registry(repo.registry_host).kind(registry_path(repo))
        tags = await list_tag_details(session, repo)
        variant = Variant.for_registry(kind)
        result = decide(policy_tags(tags, variant), CleanupParams.from_bulk_delete(checks.attributes), variant=variant,
                        now=datetime.now(timezone.utc))
        from glcr.api.protection import guard_cleanup

        result = await guard_cleanup(session, repo.project_id, result, user=True)  # GitLab skips protected tags
        return repo, result

    repo, result = app_ctx.run(preview)
    render_cleanup([(repo.path, result)], OutputFormat.TABLE)
    if dry_run or not result.summary.delete:
        return
    app_ctx.confirm(f"Ask GitLab to delete {result.summary.delete} tag(s) from {repo.path} in the background?", yes)
    try:
        GitLabRest(app_ctx.credentials()).bulk_delete_tags(repo.project_id, repo.id, dict(checks.attributes))
    except RefusedError as exc:
        if "once an hour" in exc.message:
            raise RefusedError(exc.message, hint="GitLab allows one bulk delete per repository per hour; "
                                                 "use `glcr tags plan/apply` to delete now") from None
        raise
    app_ctx.say("Scheduled: GitLab deletes in the background (202 Accepted). "
                "Check later with `glcr tags list`; the next bulk call for this repository is allowed in an hour.")
