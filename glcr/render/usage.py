"""`glcr usage` output: a table with a bar chart, JSON, or CSV for spreadsheets."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from glcr.plan.usage import bar, by_project
from glcr.render.format import human_size

CSV_FIELDS = ("project", "project_id", "repository", "tags", "bytes", "source", "upper_bound", "to_delete",
              "reclaim", "error")


def size_text(value: int | None, upper_bound: bool) -> str:
    return "-" if value is None else ("≤ " if upper_bound else "") + human_size(value)


def usage_table(usage, *, width: int = 30):
    from rich.table import Table

    rows = list(usage.rows)
    largest = max((r.bytes or 0 for r in rows), default=0)
    table = Table(title=f"registry storage: {usage.scope}", title_justify="left")
    table.add_column("repository")
    table.add_column("tags", justify="right")
    table.add_column("size", justify="right")
    table.add_column("", no_wrap=True)
    if usage.policy:
        table.add_column("to delete", justify="right")
        table.add_column("reclaim", justify="right")
    for r in rows:
        cells = [r.repository, str(r.tags), size_text(r.bytes, r.upper_bound), bar(r.bytes or 0, largest, width)]
        if r.error:
            cells[3] = f"error: {r.error}"
        if usage.policy:
            cells += ["-" if r.to_delete is None else str(r.to_delete), size_text(r.reclaim, False)]
        table.add_row(*cells)
    projects = by_project(rows)
    if len(projects) > 1:
        table.add_section()
        top = max((p.bytes for p in projects), default=0)
        for p in projects:
            cells = [f"{p.project} ({p.repositories} repositories)", "", size_text(p.bytes, p.upper_bound),
                     bar(p.bytes, top, width)]
            if usage.policy:
                cells += ["", size_text(p.reclaim, False)]
            table.add_row(*cells)
    table.add_section()
    total = sum(r.bytes or 0 for r in rows)
    cells = ["total", str(sum(r.tags for r in rows)), size_text(total, any(r.upper_bound for r in rows)), ""]
    if usage.policy:
        cells += [str(sum(r.to_delete or 0 for r in rows)), size_text(usage.reclaim, False)]
    table.add_row(*cells)
    return table


def usage_json(usage, out: TextIO) -> None:
    json.dump({"scope": usage.scope, "reclaim": usage.reclaim,
               "repositories": [r.to_dict() for r in usage.rows]}, out, indent=2)
    out.write("\n")


def usage_csv(usage, out: TextIO) -> None:
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in usage.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in r.to_dict().items()})
