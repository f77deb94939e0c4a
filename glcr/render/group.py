"""A group cleanup's results: the summary table, JSON lines, and a JUnit report for GitLab CI."""

from __future__ import annotations

import json
from typing import Iterable, TextIO
from xml.sax.saxutils import escape, quoteattr

from glcr.plan.group import FAILED, SKIPPED, ProjectRow, totals
from glcr.render.format import human_size


def json_line(row: ProjectRow) -> str:
    return json.dumps(row.to_dict(), sort_keys=True)


def summary_table(rows: Iterable[ProjectRow], *, title: str, applied: bool):
    from rich.table import Table

    rows = list(rows)
    table = Table(title=title, title_justify="left")
    for name in ("project", "repositories", "tags", "to delete", *(("deleted",) if applied else ()),
                 "bytes", "in use kept", "errors"):
        table.add_column(name, justify="left" if name == "project" else "right")
    for row in rows:
        name = row.project + (" (resumed)" if row.resumed else "")
        errors = str(row.errors) if row.errors else ""
        if row.status == FAILED:
            errors = f"1: {row.error}" if row.error else errors
        elif row.status == SKIPPED:
            name += f" ({row.note})" if row.note else " (skipped)"
        cells = [name, str(row.repositories), str(row.tags), str(row.to_delete),
                 *((str(row.deleted or 0),) if applied else ()), human_size(row.bytes), str(row.in_use_kept), errors]
        table.add_row(*cells)
    t = totals(rows)
    table.add_section()
    table.add_row(f"{t.projects} projects", str(t.repositories), str(t.tags), str(t.to_delete),
                  *((str(t.deleted or 0),) if applied else ()), human_size(t.bytes), str(t.in_use_kept),
                  str(t.errors) if t.errors else "")
    return table


def junit(rows: Iterable[ProjectRow], out: TextIO, *, suite: str) -> None:
    """One test case per project, failed when the project failed (GitLab shows it on the
    pipeline's Tests tab); skipped projects are <skipped/>."""
    rows = list(rows)
    failures = sum(r.errors > 0 for r in rows)
    skipped = sum(r.status == SKIPPED for r in rows)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(f"<testsuites><testsuite name={quoteattr(suite)} tests=\"{len(rows)}\" failures=\"{failures}\" "
              f"skipped=\"{skipped}\">\n")
    for r in rows:
        out.write(f"  <testcase classname={quoteattr(suite)} name={quoteattr(r.project)}>")
        summary = (f"{r.repositories} repositories, {r.tags} tags, {r.to_delete} to delete"
                   + (f", {r.deleted} deleted" if r.deleted is not None else ""))
        if r.errors:
            message = r.error or f"{r.failed_tags} tag(s) failed"
            out.write(f"<failure message={quoteattr(message)}>{escape(message)}</failure>")
        elif r.status == SKIPPED:
            out.write(f"<skipped message={quoteattr(r.note or 'skipped')}/>")
        out.write(f"<system-out>{escape(summary)}</system-out></testcase>\n")
    out.write("</testsuite></testsuites>\n")
