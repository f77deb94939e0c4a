"""`glcr cleanup dry-run|run --group GROUP`: the cleanup commands over every project of a group."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

GROUP = typer.Option(None, "--group", help="every project of this group that has a registry (instead of PROJECT)")
SUBGROUPS = typer.Option(False, "--include-subgroups", help="with --group: the subgroups' projects too")
SHARD = typer.Option(None, "--shard", metavar="I/N",
                     help="with --group: only the projects whose id % N == I-1 (\"$CI_NODE_INDEX/$CI_NODE_TOTAL\")")
JUNIT = typer.Option(None, "--junit", help="with --group: also write a JUnit report here (one test case per project)")
RUN_ID = typer.Option("", "--run-id", help="with --group: names the group journal, e.g. \"$CI_PIPELINE_ID\" "
                      "(a retried job resumes, the next pipeline starts afresh)")
PROJECT_JOBS = typer.Option(4, "--project-jobs", min=1, max=32, help="with --group: projects worked on at once")


def check_junit(junit: Optional[Path]) -> None:
    from glcr.errors import InvalidInputError

    if junit is not None and not junit.parent.is_dir():
        raise InvalidInputError(f"--junit {junit}: no directory {junit.parent}", hint="create it first")


def check_target(project: Optional[str], group: Optional[str], shard: Optional[str] = None,
                 junit: Optional[Path] = None) -> None:
    """PROJECT or --group, and a well-formed group and shard: checked before anything is read or asked."""
    from glcr.cli.options import check_project
    from glcr.errors import UsageError
    from glcr.plan.group import parse_shard

    if bool(project) == bool(group):
        raise UsageError("give a PROJECT or --group GROUP (one of them)")
    if group:
        check_project(group, "group")
        if shard is not None:
            parse_shard(shard)
        check_junit(junit)
    elif shard is not None:
        raise UsageError("--shard needs --group")


def run_group(app_ctx, group: str, args: dict, *, apply: bool, include_subgroups: bool, shard: Optional[str],
              junit: Optional[Path], project_jobs: int, output, state_dir: Optional[Path] = None, run_id: str = "",
              resume_args: tuple = ()) -> None:
    """Decide (and with `apply`, delete) in every project of `group`; the table or JSON lines to
    stdout as projects finish; exit 9 when a project failed."""
    from glcr.api.group import group_cleanup
    from glcr.cli.options import check_project
    from glcr.errors import PartialFailureError
    from glcr.plan.group import parse_shard
    from glcr.render.format import OutputFormat
    from glcr.render.group import json_line, junit as write_junit, summary_table

    group = check_project(group, "group")
    chosen_shard = parse_shard(shard) if shard is not None else None
    check_junit(junit)
    console = app_ctx.stderr()
    journal = {}

    def on_projects(todo: int, resumed: int) -> None:
        skipped = f", {resumed} already done (from the journal)" if resumed else ""
        console.print(f"{group}: {todo} project(s) to {'clean up' if apply else 'simulate'}{skipped}", markup=False)

    def on_row(row) -> None:
        if output is OutputFormat.JSON:
            print(json_line(row), flush=True)
        state = row.status if row.status != "failed" else f"FAILED: {row.error}"
        console.print(f"  {row.project}: {row.to_delete} to delete ({state})", markup=False)

    work = dict(overrides=args["overrides"], now=args["now"], apply=apply, include_subgroups=include_subgroups,
                shard=chosen_shard, state_dir=state_dir, variant=args["variant"],
                max_list_size=args["max_list_size"], in_use=args.get("in_use"), project_jobs=project_jobs, run_id=run_id,
                on_projects=on_projects, on_row=on_row)
    if state_dir is not None:
        journal["path"] = state_dir
    with app_ctx.resumable(*resume_args, journal=lambda: journal.get("path")):
        outcome = app_ctx.run(lambda s: group_cleanup(s, group, **work))
    if output is OutputFormat.JSON:
        for row in outcome.rows:  # rows read back from the journal were not printed as they ran
            if row.resumed:
                print(json_line(row), flush=True)
    else:
        from rich.console import Console

        title = f"cleanup {'run' if apply else 'dry-run'}: {outcome.group}" + (f" (shard {shard})" if shard else "")
        Console(no_color="NO_COLOR" in app_ctx.env).print(summary_table(outcome.rows, title=title, applied=apply))
    if junit is not None:
        with open(junit, "w", encoding="utf-8") as fh:
            write_junit(outcome.rows, fh, suite=f"glcr cleanup {outcome.group}" + (f" shard {shard}" if shard else ""))
    if outcome.journal is not None:
        console.print(f"journal: {outcome.journal}", markup=False)
    failed = [r for r in outcome.rows if r.errors]
    if failed:
        raise PartialFailureError(f"{len(failed)} of {len(outcome.rows)} project(s) failed: "
                                  + ", ".join(r.project for r in failed[:5]) + ("..." if len(failed) > 5 else ""),
                                  hint="run the same command again: finished projects are skipped"
                                  if apply else "see the errors column")


def merge_reports(app_ctx, files: list[Path], *, junit: Optional[Path], output, title: str) -> None:
    """The shards' JSON lines as one report: the table (or JSON lines) and a JUnit file."""
    import json

    from glcr.cli.options import read_input_file
    from glcr.errors import InvalidInputError
    from glcr.plan.group import ProjectRow
    from glcr.render.format import OutputFormat
    from glcr.render.group import json_line, junit as write_junit, summary_table

    rows: dict[int, ProjectRow] = {}
    for path in files:
        for number, line in enumerate(read_input_file(path, "REPORT").decode("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = ProjectRow.from_dict(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(f"{path} line {number}: not a project row ({exc})") from None
            rows[row.project_id] = row
    ordered = [rows[k] for k in sorted(rows)]
    if output is OutputFormat.JSON:
        for row in ordered:
            print(json_line(row))
    else:
        from rich.console import Console

        applied = any(r.deleted is not None for r in ordered)
        Console(no_color="NO_COLOR" in app_ctx.env).print(summary_table(ordered, title=title, applied=applied))
    if junit is not None:
        with open(junit, "w", encoding="utf-8") as fh:
            write_junit(ordered, fh, suite=title)


def plan_group(app_ctx, group: str, rules, *, include_subgroups: bool, in_use, output: Optional[Path]) -> None:
    """`tags plan --group`: a plan per repository (written into the directory `output`), and one
    summary table; exit 9 when a repository could not be planned."""
    from datetime import datetime, timezone

    from rich.console import Console
    from rich.table import Table

    from glcr.api.group import group_plans
    from glcr.cli.options import check_project
    from glcr.errors import InvalidInputError, PartialFailureError
    from glcr.render.format import human_size
    from glcr.api.plans import write_plan_file

    group = check_project(group, "group")
    if output is not None and not output.is_dir():
        raise InvalidInputError(f"--output {output}: with --group, give an existing directory (a plan file per "
                                "repository goes there)")

    def write(plan) -> str | None:  # as each plan is built: the group's plans are not all held at once
        if output is None:
            return None
        target = output / (plan.repository_path.replace("/", "__") + ".plan.json")
        write_plan_file(plan, target)
        return str(target)

    scope, plans = app_ctx.run(lambda s: group_plans(s, group, rules, now=datetime.now(timezone.utc),
                                                     include_subgroups=include_subgroups, in_use=in_use,
                                                     on_plan=write))
    table = Table(title=f"tags plan: {scope}", title_justify="left")
    for name in ("repository", "tags", "to delete", "bytes", "plan"):
        table.add_column(name, justify="left" if name in ("repository", "plan") else "right")
    for item in plans:
        if item.failed:
            table.add_row(item.repository, "", "", "", f"error: {item.error}")
        else:
            table.add_row(item.repository, str(item.tags), str(item.to_delete), human_size(item.delete_size),
                          item.written or "")
    Console(no_color="NO_COLOR" in app_ctx.env).print(table)
    if output is not None:
        app_ctx.say(f"Review the plans in {output}, then for each: glcr tags apply REPOSITORY --from-file PLAN")
    failed = [p for p in plans if p.failed]
    if failed:
        raise PartialFailureError(f"{len(failed)} of {len(plans)} repository(ies) could not be planned: "
                                  + ", ".join(p.repository for p in failed[:5]))
