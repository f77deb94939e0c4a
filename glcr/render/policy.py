"""Cleanup policies and dry-run decisions, for people and scripts."""

from __future__ import annotations

from glcr.reference import short_digest
from glcr.render.format import OutputFormat, human_size, when
from glcr.render.output import write_json, write_table


def render_policy(project: str, policy, lines, checks, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json({"project": project, "container_expiration_policy": policy,
                    "warnings": [str(w) for w in (checks.warnings if checks else ())],
                    "errors": [str(e) for e in (checks.errors if checks else ())]})
        return
    if policy is None:
        print(f"{project} has no cleanup policy.")
        return
    rows = [(line.field, "" if line.value is None else line.value, line.meaning) for line in lines]
    rows.append(("next_run_at", policy.get("next_run_at") or "-", "when GitLab's cron picks it up next"))
    write_table(f"Cleanup policy of {project}", ["FIELD", "VALUE", "MEANING"], rows)
    for issue in (checks.errors if checks else ()):
        print(f"error: {issue}")
    for issue in (checks.warnings if checks else ()):
        print(f"warning: {issue}")


def render_policy_change(change, checks, console) -> None:
    from rich.table import Table

    table = Table(title="Cleanup policy change", title_justify="left", box=None, header_style="bold")
    for column in ("FIELD", "BEFORE", "AFTER"):
        table.add_column(column)
    for row in change.rows:
        style = "bold" if row.changed else "dim"
        table.add_row(row.field, repr(row.before), f"[{style}]{row.after!r}[/{style}]")
    console.print(table)
    if len(checks.errors) > 1:  # the first one ends the command as its error line
        for issue in checks.errors:
            console.print(f"[red]error:[/red] {issue}")
    for issue in checks.warnings:
        console.print(f"[yellow]warning:[/yellow] {issue}")


VARIANT_TEXT = {
    "gitlab_api": "GitLab's own-registry variant: push time (updated_at || created_at), keep_n per page "
                  "of 1,000 names in name order",
    "third_party": "third-party variant: the image's created, all tags, random sample per run",
}


def _timestamp(summary) -> tuple[str, str]:
    """(column header, JSON name) of the time each decision read."""
    if summary.approximate:
        return "CREATED (REST, APPROX.)", "rest_created_at"
    if summary.variant.value == "gitlab_api":
        return "PUSHED", "pushed_at"
    return "BUILT", "image_created"


def render_cleanup(reports, fmt: OutputFormat, verbose: bool = True) -> None:
    """`reports`: [(repository path, CleanupResult)]."""
    if fmt is OutputFormat.JSON:
        out = []
        for path, result in reports:
            s = result.summary
            for decision in result.decisions:
                item = decision.to_dict()
                item["repository"] = path
                item["reason"] = decision.reason.value
                # which time `created_at` holds, and whether the decision is exact
                item["variant"] = s.variant.value
                item["timestamp"] = _timestamp(s)[1]
                item["approximate"] = s.approximate
                out.append(item)
        write_json(out)
        return
    for path, result in reports:
        s = result.summary
        approx = " APPROXIMATE:" if s.approximate else ""
        if verbose:
            rows = [(d.action.value, d.name, short_digest(d.digest), when(d.created_at), d.detail)
                    for d in result.decisions]
            title = f"{path}  ({VARIANT_TEXT.get(s.variant.value, s.variant.value)}){' APPROXIMATE' if approx else ''}"
            write_table(title, ["ACTION", "TAG", "DIGEST", _timestamp(s)[0], "WHY"], rows)
        print(f"{path}:{approx} {s.tags} tags, {s.delete} to delete, {s.keep} to keep; about "
              f"{human_size(s.bytes_freed_estimate)} freed ({s.digests_still_tagged} deleted digest(s) "
              f"stay tagged elsewhere; layers shared with kept images are not freed)")
        for note in s.notes:
            print(f"  note: {note}")
        if s.truncated:
            print(f"  GitLab needs several runs: it samples {s.sample_size} of {s.candidates} candidates per run "
                  f"(about {s.runs_needed} runs)")
