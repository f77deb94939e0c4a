"""`glcr tags restore`: what each saved tag needs, and what was put back; the undo line of deletes."""

from __future__ import annotations

from glcr.reference import short_digest
from glcr.render.format import OutputFormat
from glcr.render.output import write_json, write_table


def restore_json(result) -> dict:
    return {"repository": result.repository, "tag": result.tag, "digest": result.digest,
            "outcome": result.outcome.value, "detail": result.detail, "missing": list(result.missing),
            "children": result.children}


def render_restore_plan(plan, console) -> None:
    for result in plan.checked:
        what = f"{result.repository}:{result.tag} {short_digest(result.digest)}"
        if result.children:
            what += f" (index, {result.children} child manifest(s))"
        line = f"{result.outcome.value.replace('_', ' ')}: {what}"
        if result.detail:
            line += f"  {result.detail}"
        console.print(line, markup=False)
        for digest in result.missing:
            console.print(f"    missing {digest}", markup=False)
    console.print(f"{plan.todo} tag(s) to restore from {', '.join(str(p) for p in plan.source)}", markup=False)


def render_restore_report(report, fmt: OutputFormat, console) -> None:
    if fmt is OutputFormat.JSON:
        write_json([restore_json(r) for r in report.results])
        return
    if fmt is OutputFormat.PLAIN:
        for r in report.results:
            print(f"{r.repository}:{r.tag} {r.outcome.value}")
        return
    write_table(None, ["repository", "tag", "digest", "outcome", "detail"],
                [(r.repository, r.tag, short_digest(r.digest), r.outcome.value,
                  r.detail + (f" (missing {', '.join(short_digest(m) for m in r.missing)})" if r.missing else ""))
                 for r in report.results])


def render_undo(console, line: str, note: str) -> None:
    """The one line that puts back what a delete removed, and how long it can."""
    console.print(f"To undo: {line}   ({note})", markup=False, soft_wrap=True)
