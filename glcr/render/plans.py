"""Plans and apply runs, for people (plan files are written by glcr.api.plans.write_plan_file)."""

from __future__ import annotations

from glcr.plan.model import Plan
from glcr.reference import short_digest
from glcr.render.format import human_size


def render_plan(plan: Plan, console, messages) -> None:
    """The decision table on `console` (stdout when the table is the data, stderr when the plan
    itself goes to a file); the summary and the plan's warnings on `messages` (stderr)."""
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("ACTION", "TAG", "DIGEST", "SIZE", "REASON"):
        table.add_column(column)
    for e in sorted(plan.entries, key=lambda e: (e.action.value != "delete", e.tag)):
        table.add_row(e.action.value, e.tag, short_digest(e.digest), human_size(e.total_size), e.reason)
    console.print(table)
    messages.print(f"{plan.repository_path}: {len(plan.to_delete)} to delete "
                  f"(up to {human_size(plan.delete_size)}; layers shared with kept tags are not freed), "
                  f"{len(plan.entries) - len(plan.to_delete)} kept")
    for warning in plan.warnings:
        messages.print(f"[yellow]warning:[/yellow] {warning}")


def render_apply_preview(plan: Plan, pending, summary, console) -> None:
    # A list's tags the repository does not have count as already absent: said apart, since no
    # earlier run had anything to do with them.
    done = summary.deleted + summary.already_absent - summary.missing + summary.stale
    console.print(f"Plan for {plan.repository_path}: {summary.to_delete} tag(s) to delete, "
                  + (f"{summary.missing} not in the repository, " if summary.missing else "")
                  + f"{done} already settled by an earlier run, {len(pending)} to do now.")
    for entry in pending[:50]:
        console.print(f"  delete {entry.tag}  {short_digest(entry.digest)}")
    if len(pending) > 50:
        console.print(f"  … and {len(pending) - 50} more")


def render_apply_summary(summary, report, paths, console) -> None:
    console.print(
        f"deleted {summary.deleted}, already absent {summary.already_absent}, stale {summary.stale} "
        f"(left alone: they point at another digest now), failed {summary.failed}, "
        f"not started {summary.not_started}; up to {human_size(summary.freed_size)} freed after garbage collection.")
    if report is not None:
        console.print(f"Method: {report.method}.")
        for damage in report.damage:
            console.print(f"[red]changed:[/red] {damage.tag} was {short_digest(damage.before)}, "
                          f"now {short_digest(damage.after)}")
    console.print(f"Journal: {paths.journal}   Log: {paths.log}")
