"""Tag tables, JSON and plain lists; delete previews and reports."""

from __future__ import annotations

from typing import Sequence

from glcr.gitlab.convert import iso, tag_details_json
from glcr.models import TagDetails
from glcr.render.format import OutputFormat, human_size, short_digest, when
from glcr.render.output import write_json, write_plain, write_table


def tag_json(details: TagDetails) -> dict:
    """GitLab's TagDetails fields, plus `published_at`: when the tag was last pushed, from GitLab's
    registry (null where the registry or GitLab's REST API does not say)."""
    return {**tag_details_json(details), "published_at": iso(details.published_at)}


def render_tags(tags: Sequence[TagDetails], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json([tag_json(t) for t in tags])
    elif fmt is OutputFormat.PLAIN:
        write_plain(t.name for t in tags)  # the docs' list_o_tags.out format
    else:
        write_table(None, ["TAG", "DIGEST", "CREATED", "SIZE"],
                    [(t.name, short_digest(t.digest), when(t.created_at), human_size(t.total_size)) for t in tags],
                    justify_right=["SIZE"])


def render_tag(details: TagDetails, siblings: list[str], manifest, fmt: OutputFormat) -> None:
    platforms = [c.platform for c in manifest.children if c.platform]
    if fmt is OutputFormat.JSON:
        data = tag_json(details)
        data.update({"media_type": manifest.media_type, "same_digest_tags": siblings,
                     "platforms": [f"{p.get('os')}/{p.get('architecture')}" for p in platforms]})
        write_json(data)
        return
    if fmt is OutputFormat.PLAIN:
        write_plain([details.name])
        return
    rows = [("tag", details.name), ("location", details.location), ("digest", details.digest),
            ("media type", manifest.media_type), ("created", when(details.created_at)),
            ("size", human_size(details.total_size)), ("revision", details.short_revision or "-"),
            ("same digest", ", ".join(siblings) or "-")]
    if platforms:
        rows.append(("platforms", ", ".join(f"{p.get('os')}/{p.get('architecture')}" for p in platforms)))
    write_table(None, ["FIELD", "VALUE"], rows)


def render_delete_preview(preview, console) -> None:
    siblings = preview.siblings()
    console.print(f"Repository {preview.repository.path} (registry: {preview.kind.label})")
    for request in preview.requested:
        digest = preview.current.get(request.tag)
        if digest is None:
            console.print(f"  [dim]{request.tag}: not present (nothing to do)[/dim]")
            continue
        line = f"  delete {request.tag}  {short_digest(digest)}"
        if request.tag in siblings:
            line += f"  [yellow](same digest as {', '.join(siblings[request.tag])}: those stay)[/yellow]"
        console.print(line)


def render_delete_report(report, fmt: OutputFormat, console) -> None:
    if fmt is OutputFormat.JSON:
        write_json({"method": report.method,
                    "results": [{"name": r.tag, "outcome": r.outcome.value, "digest": r.digest, "detail": r.detail}
                                for r in report.results],
                    "changed_siblings": [{"name": d.tag, "before": d.before, "after": d.after} for d in report.damage]})
        return
    for r in report.results:
        style = {"deleted": "green", "already_absent": "dim", "stale": "yellow", "failed": "red"}[r.outcome.value]
        detail = f": {r.detail}" if r.detail else ""
        console.print(f"  [{style}]{r.outcome.value}[/{style}] {r.tag}{detail}")
    for d in report.damage:
        console.print(f"  [red]changed[/red] {d.tag}: was {short_digest(d.before)}, now {short_digest(d.after)}")
    console.print(f"Done via {report.method}: verified every deleted tag is gone and the other tags kept their digests."
                  if not report.damage else "Verification found changes to other tags (above).")
