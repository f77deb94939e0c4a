"""`glcr tags plan` and `glcr tags apply`: reviewable bulk deletion (replacing the docs' scripts)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from glcr.cli.complete import complete_repository
from glcr.cli.context import app_context
from glcr.cli.inuse_options import (
    KEEP_DEPLOYED,
    KEEP_DEPLOYED_LAST,
    KEEP_IMAGES_FROM,
    KEEP_OPEN_MRS,
    KEEP_PROTECTED,
    KEEP_RELEASES,
    KEEP_TEMPLATE,
)
from glcr.cli.group_cleanup import GROUP, SUBGROUPS, check_target, plan_group
from glcr.cli.options import YES, read_input_file, refuse_empty
from glcr.cli.tags_cmd import PATH_HELP, app


@app.command()
def plan(
    ctx: typer.Context,
    path: Optional[str] = typer.Argument(None, help=PATH_HELP + "; or give --group", autocompletion=complete_repository,
                                         show_default=False),
    keep_latest: bool = typer.Option(True, "--keep-latest/--no-keep-latest", help="never delete `latest`"),
    keep_first: Optional[int] = typer.Option(None, "--keep-first", min=1, help="keep the N newest candidates"),
    keep_regex: List[str] = typer.Option([], "--keep-regex", help="keep tags matching this RE2 (whole name); repeatable"),
    delete_regex: Optional[str] = typer.Option(None, "--delete-regex", help="only tags matching this RE2 (whole name) may go"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="only delete tags older than this, e.g. 30d, 2mo (as GitLab reads older_than)"),
    keep_semver_latest: Optional[int] = typer.Option(None, "--keep-semver-latest", min=1,
                                                      help="keep the N highest semantic versions"),
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="write the plan: *.json = plan with digests, anything else = one tag a line"),
    keep_deployed: bool = KEEP_DEPLOYED, keep_deployed_last: Optional[int] = KEEP_DEPLOYED_LAST,
    keep_open_mrs: bool = KEEP_OPEN_MRS, keep_releases: bool = KEEP_RELEASES,
    keep_protected_branches: bool = KEEP_PROTECTED, keep_images_from: Optional[str] = KEEP_IMAGES_FROM,
    keep_template: Optional[List[str]] = KEEP_TEMPLATE,
    group: Optional[str] = GROUP, include_subgroups: bool = SUBGROUPS,
) -> None:
    """Decide which tags to delete and write a reviewable plan. Deletes nothing.

    Regexes here match the WHOLE tag name (unlike GitLab's cleanup policy, see `glcr cleanup`).

    Examples:
      glcr tags plan mygroup/app --older-than 90d --keep-semver-latest 5 -o plan.json
      glcr tags plan mygroup/app --delete-regex 'feature-.*' --keep-first 3 -o list_o_tags.out
      glcr tags apply mygroup/app --from-file plan.json
      glcr tags plan mygroup/app --older-than 30d --keep-deployed --keep-open-mrs -o plan.json
      glcr tags plan --group mygroup --older-than 90d -o plans/   # a plan file per repository
    """
    from datetime import datetime, timezone

    from glcr.api.plans import build_plan
    from glcr.cli.inuse_options import in_use_options, say_kept
    from glcr.durations import parse_age_option
    from glcr.plan.build import PlanRules
    from glcr.api.plans import write_plan_file
    from glcr.render.plans import render_plan
    from glcr.render.progress import counting_progress

    for pattern in keep_regex:
        refuse_empty("--keep-regex", pattern, "it would keep no tag")
    refuse_empty("--delete-regex", delete_regex, "it matches no tag name")
    rules = PlanRules(keep_latest=keep_latest, keep_first=keep_first, keep_regexes=tuple(keep_regex),
                      delete_regex=delete_regex, older_than=parse_age_option(older_than),
                      keep_semver_latest=keep_semver_latest)
    in_use = in_use_options(keep_deployed, keep_deployed_last, keep_open_mrs, keep_releases, keep_protected_branches,
                            keep_images_from, keep_template)
    check_target(path, group)
    if group:
        plan_group(app_context(ctx), group, rules, include_subgroups=include_subgroups, in_use=in_use, output=output)
        return
    assert path is not None  # check_target: a PATH when there is no --group
    if output is not None:
        from glcr.statedir import check_file

        check_file(output, "plan file", "--output")  # before reading a tag, not after
    app_ctx = app_context(ctx)
    kept: list = []
    the_plan = app_ctx.run(lambda s: build_plan(
        s, path, rules, now=datetime.now(timezone.utc),
        progress=lambda repo: counting_progress(app_ctx.stderr(), f"Reading tags of {repo.path}"),
        in_use=in_use, on_in_use=kept.extend))
    if in_use is not None:
        say_kept(app_ctx, in_use, [(the_plan.repository_path, tag, whys) for tag, whys in kept])
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
    from_file: Path = typer.Option(..., "--from-file", "-f",
                                   help="a plan (JSON from `glcr tags plan`) or a list, one tag a line"),
    journal: Optional[Path] = typer.Option(None, "--journal", help="journal file (default: FILE.journal.jsonl beside FILE)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="show what would be deleted and stop"),
    keep_orphan_referrers: bool = typer.Option(
        False, "--keep-orphan-referrers", help="keep the signatures, attestations and SBOMs of the images this run deletes"),
    yes: bool = YES,
) -> None:
    """Delete the tags a plan or list names, re-checking each digest; resumable.

    Every outcome goes to a JSON-lines journal and a human log beside the file. Run the same
    command again after an interruption: finished tags are skipped, "already gone" counts as done,
    and a tag that now points at another digest is reported stale and never deleted.
    A signature, attestation or SBOM (`sha256-<digest>.sig|.att|.sbom`, OCI referrers tags) of
    an image that keeps a tag is kept; those of an image whose last tag goes are deleted after it.

    Examples:
      glcr tags apply mygroup/app --from-file plan.json --dry-run
      glcr tags apply mygroup/app --from-file list_o_tags.out --yes
    """
    from glcr.api.apply import ApplyPreview, apply_plan_file
    from glcr.cli.ui import ConsoleUI
    from glcr.errors import PartialFailureError
    from glcr.plan.journal import JournalPaths, default_paths
    from glcr.plan.listfile import load_plan_or_list
    from glcr.render.plans import render_apply_preview, render_apply_summary
    from glcr.statedir import check_file

    loaded = load_plan_or_list(read_input_file(from_file, "--from-file"), str(from_file))
    # An unusable journal would stop the apply at its first write: refuse it before any request.
    if journal is not None:
        check_file(journal, "journal", "--journal")
    paths = default_paths(from_file) if not journal else JournalPaths(journal, journal.with_suffix(".log"))
    check_file(paths.journal, "journal", "--journal")
    check_file(paths.log, "journal's log", "--journal")
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    for warning in getattr(loaded, "warnings", ()):
        app_ctx.warn(warning)

    def review(preview: ApplyPreview) -> None:
        for tag, rule in sorted(preview.prepared.protected.items()):
            console.print(f"keep {tag}: protected by rule {rule.pattern} (not deleted)", markup=False)
        render_apply_preview(preview.prepared.plan, list(preview.pending), preview.summary, console)

    ui = ConsoleUI(app_ctx, yes=yes, console=console, reviews={ApplyPreview: review})

    # The same command resumes: the journal skips what is done, re-checks the rest.
    resume = ("tags", "apply", path, "--from-file", from_file, *(("--journal", journal) if journal else ()),
              "--keep-orphan-referrers" if keep_orphan_referrers else None, "--yes" if yes else None)
    with app_ctx.resumable(*resume, journal=paths.journal):
        done = app_ctx.run(lambda s: apply_plan_file(
            s, path, loaded, from_file.name, paths, ui=ui, dry_run=dry_run,
            keep_orphan_referrers=keep_orphan_referrers))
    if done.damage_note:
        app_ctx.warn(done.damage_note)
    if done.summary is None:
        return
    render_apply_summary(done.summary, done.report, paths, console)
    if done.summary.deleted:
        from glcr.api.restore import gc_note, restore_line
        from glcr.plan.backup import backup_path
        from glcr.render.restore import render_undo

        render_undo(console, restore_line(backup_path(paths.journal)), gc_note(done.report.kind if done.report else None))
    if done.summary.failed or (done.report and done.report.damage):
        raise PartialFailureError(f"{done.summary.failed} tag(s) failed", hint="re-run the same command to retry them")


@app.command("bulk-delete")
def bulk_delete(
    ctx: typer.Context,
    path: str = typer.Argument(..., help=PATH_HELP, autocompletion=complete_repository),
    name_regex_delete: str = typer.Option(..., "--name-regex-delete", help="RE2; GitLab anchors it (\\A…\\z)"),
    name_regex_keep: Optional[str] = typer.Option(None, "--name-regex-keep", help="RE2; matching tags stay"),
    keep_n: Optional[int] = typer.Option(None, "--keep-n", min=0, help="keep the N newest matching tags"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="only tags older than this, e.g. 12h, 7d, 2mo (as GitLab reads older_than; a number needs a unit)"),
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

    from glcr.api.plans import bulk_delete as schedule_bulk_delete
    from glcr.durations import parse_age_option
    from glcr.policy import validate_bulk_delete
    from glcr.render.format import OutputFormat
    from glcr.render.policy import render_cleanup

    # The same ages as `tags plan`, checked before anything is sent: GitLab would read `30` as
    # 30 seconds and delete every matching tag.
    parse_age_option(older_than)
    refuse_empty("--name-regex-keep", name_regex_keep, "it would keep no tag")
    params = {"name_regex_delete": name_regex_delete, "name_regex_keep": name_regex_keep,
              "keep_n": keep_n, "older_than": older_than}
    checks = validate_bulk_delete({k: v for k, v in params.items() if v is not None})
    checks.raise_for_errors("nothing was sent")
    app_ctx = app_context(ctx)
    for warning in checks.warnings:
        app_ctx.warn(warning)
    done = app_ctx.run(lambda s: schedule_bulk_delete(
        s, path, dict(checks.attributes), now=datetime.now(timezone.utc),
        review=lambda decided: render_cleanup([(decided.repository.path, decided.result)], OutputFormat.TABLE),
        confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    if done.scheduled:
        app_ctx.say("Scheduled: GitLab deletes in the background (202 Accepted). "
                    "Check later with `glcr tags list`; the next bulk call for this repository is allowed in an hour.")
