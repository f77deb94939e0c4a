"""Tag protection rules, for people and scripts."""

from __future__ import annotations

from typing import Sequence

from rich.markup import escape

from glcr.render.format import OutputFormat
from glcr.render.output import write_json, write_plain, write_table


def _level(value: str | None) -> str:
    return value or "-"


def render_rules(project: str, rules: Sequence, fmt: OutputFormat, note: str = "") -> None:
    if fmt is OutputFormat.JSON:
        write_json([r.to_dict() for r in rules])
        return
    if fmt is OutputFormat.PLAIN:
        write_plain(r.pattern for r in rules)
        return
    if not rules:
        print(f"{project} has no tag protection rules." if not note else f"{project}: {note}")
        return
    write_table(f"Tag protection rules of {project} (unanchored RE2 search in the tag name)",
                ["ID", "PATTERN", "PUSH", "DELETE"],
                [(r.id, r.pattern, *(("immutable", "immutable") if r.immutable else (_level(r.min_push),
                                                                                   _level(r.min_delete))))
                 for r in rules])


def render_rule(rule, fmt: OutputFormat, what: str, console) -> None:
    if fmt is OutputFormat.JSON:
        write_json(rule.to_dict())
        return
    console.print(escape(f"{what} rule {rule.id}: {rule.describe()}"))


def render_rule_change(before, body: dict, console) -> None:
    fields = {"tag_name_pattern": ("pattern", before.pattern),
              "minimum_access_level_for_push": ("push", before.min_push),
              "minimum_access_level_for_delete": ("delete", before.min_delete)}
    console.print(f"Rule {before.id}:")
    for key, (label, old) in fields.items():
        new = body.get(key, old)
        mark = "" if new == old else "   [bold](changed)[/bold]"
        console.print(f"  {label:8} {escape(str(old or '-'))} -> {escape(str(new or '-'))}{mark}")


def render_matching_tags(matches: dict[str, list[str]], console, limit: int = 10) -> None:
    """{repository: [tags the pattern matches]}: what a rule would protect."""
    total = sum(len(v) for v in matches.values())
    console.print(f"The pattern matches {total} existing tag(s).")
    for path, names in sorted(matches.items()):
        if names:
            shown = ", ".join(names[:limit]) + (f", … ({len(names) - limit} more)" if len(names) > limit else "")
            console.print(escape(f"  {path}: {shown}"))
