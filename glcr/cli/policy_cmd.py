"""`glcr policy`: show and edit a project's cleanup policy, validated as GitLab validates it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, PROJECT, YES, read_input_file
from glcr.render.format import OutputFormat

app = typer.Typer(help="A project's container cleanup policy (container_expiration_policy).", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context, project: str = PROJECT,
         output: OutputFormat = OUTPUT) -> None:
    """Show the policy, what each field means, when it runs next, and its traps.

    Examples:
      glcr policy show mygroup/app
      glcr policy show mygroup/app -o json
    """
    from glcr.api.policy import read_policy
    from glcr.render.policy import render_policy

    found = app_context(ctx).run(lambda s: read_policy(s, project))
    render_policy(found.project_path, dict(found.policy) if found.policy else None, found.described,
                  found.checks, output)


@app.command("set")
def set_(
    ctx: typer.Context,
    project: str = PROJECT,
    enable: Optional[bool] = typer.Option(None, "--enable/--disable", help="turn the policy on or off"),
    cadence: Optional[str] = typer.Option(None, "--cadence", help="1d, 7d, 14d, 1month or 3month"),
    keep_n: Optional[int] = typer.Option(None, "--keep-n", help="1, 5, 10, 25, 50 or 100"),
    older_than: Optional[str] = typer.Option(None, "--older-than", help="7d, 14d, 30d, 90d (newer GitLab: 1d … 1095d)"),
    name_regex: Optional[str] = typer.Option(None, "--name-regex", help="RE2: tags to delete (GitLab anchors it)"),
    name_regex_keep: Optional[str] = typer.Option(None, "--name-regex-keep", help="RE2: tags to keep (wins)"),
    from_file: Optional[Path] = typer.Option(None, "--from-file",
                                             help="policy.json or policy.yaml with any of the fields"),
    keep_in_use: bool = typer.Option(False, "--keep-in-use",
                                     help="set name_regex_keep so that GitLab's schedule spares the tags in use "
                                          "(deployed, open merge requests, releases, protected branches)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show the diff; send nothing"),
    yes: bool = YES,
) -> None:
    """Change only the given fields; validate first, show before/after, then send.

    Nothing is sent when a value is outside GitLab's sets or a regex is not valid RE2.

    Examples:
      glcr policy set mygroup/app --enable --cadence 7d --keep-n 10 --older-than 30d --name-regex '.*'
      glcr policy set mygroup/app --name-regex-keep '(?:main|release-.*)'
      glcr policy set mygroup/app --from-file policy.yaml --yes
      glcr policy set mygroup/app --keep-in-use    # name_regex_keep: what the schedule would delete in use
    """
    from glcr.api.policy import update_policy
    from glcr.durations import parse_age_option
    from glcr.errors import UsageError
    from glcr.policy import parse_policy_text
    from glcr.policy.validate import validate_policy_fields
    from glcr.render.policy import render_policy_change

    parse_age_option(older_than)  # the CLI's one age parser first: '' and `30` say what they are
    changes: dict = {}
    if from_file:
        fmt = "yaml" if from_file.suffix.lower() in (".yaml", ".yml") else "json"
        changes.update(parse_policy_text(read_input_file(from_file, "--from-file"), fmt, source=str(from_file)))
    flags = {"enabled": enable, "cadence": cadence, "keep_n": keep_n, "older_than": older_than,
             "name_regex": name_regex, "name_regex_keep": name_regex_keep}
    changes.update({k: v for k, v in flags.items() if v is not None})
    if keep_in_use and "name_regex_keep" in changes:
        raise UsageError("--keep-in-use writes name_regex_keep itself", hint="give one or the other")
    if not changes and not keep_in_use:
        raise UsageError("nothing to change", hint="give at least one of the options, or --from-file")
    # Everything the given fields say on their own is checked before the policy is read.
    validate_policy_fields(changes).raise_for_errors("the policy was not sent")
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    if keep_in_use:
        changes.update(_in_use_keep(app_ctx, project, changes))
        if not changes:
            return
    done = app_ctx.run(lambda s: update_policy(
        s, project, changes, review=lambda change, checks: render_policy_change(change, checks, console),
        confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    if not done.sent:
        app_ctx.say("Nothing sent." if dry_run else "No change: the policy already has these values.")
        return
    app_ctx.say(f"Updated. Next run: {done.next_run_at or 'not scheduled'}")


def _in_use_keep(app_ctx, project: str, changes: dict) -> dict:
    """{"name_regex_keep": the smallest regex that spares the in-use tags the policy (with
    `changes`) would delete}, after showing them; {} when there are none."""
    from datetime import datetime, timezone

    from glcr.api.inuse import schedule_in_use

    overrides = {k: changes.get(k) for k in ("name_regex", "keep_n", "older_than")}
    report = app_ctx.run(lambda s: schedule_in_use(s, project, overrides, now=datetime.now(timezone.utc)))
    console = app_ctx.stderr()
    for problem in report.unread:
        console.print(f"note: could not check what is in use: {problem}", markup=False, soft_wrap=True)
    if not report.at_risk:
        app_ctx.say(f"Nothing in use ({report.found} found) would be deleted by this policy.")
        return {}
    console.print(f"In use and deleted by this policy: {len(report.at_risk)} tag(s):", markup=False)
    for path, name, whys in report.at_risk:
        console.print(f"  {path}:{name}  in use: {'; '.join(whys)}", markup=False, soft_wrap=True)
    return {"name_regex_keep": report.suggestion}
