"""Tag tables, JSON and plain lists; delete previews and reports."""

from __future__ import annotations

from typing import Sequence

from glcr.gitlab.convert import iso, tag_details_json
from glcr.models import TagDetails
from glcr.reference import short_digest
from glcr.render.format import OutputFormat, human_size, when
from glcr.render.output import write_json, write_plain, write_table


def tag_json(details: TagDetails) -> dict:
    """GitLab's TagDetails fields, plus `published_at`: when the tag was last pushed, from GitLab's
    registry (null where the registry or GitLab's REST API does not say), and the date glcr's
    age rules read: `age_at`, with `age_source` "pushed" (the registry's push time) or "created"
    (the image's)."""
    return {**tag_details_json(details), "published_at": iso(details.published_at),
            "age_at": iso(details.age_at), "age_source": details.age_source}


def age_column(tags: Sequence[TagDetails]) -> str:
    """The date column's title says which date it is: PUSHED on GitLab's registry with its
    database, CREATED (the image's) elsewhere."""
    return "PUSHED" if tags and all(t.push_times for t in tags) else "CREATED"


def render_tags(tags: Sequence[TagDetails], fmt: OutputFormat, protection=None, kind=None,
                referrers: bool = False) -> None:
    """`protection`: the project's tag rules (glcr.policy.protection.Protection), for the
    `protected` field and column; None or unreadable: neither is shown. `kind`: the registry's
    mode (glcr.models.RegistryKind), named in JSON (`registry_mode`) and under the table.
    Signatures, attestations and SBOMs (glcr.referrers): in JSON every tag has `referrer_of` (its
    subject's digest, or null) and `referrers` (its referrer tags); the table lists them under
    their image with `referrers`, else only counts them."""
    from glcr.policy.protection import describe_tag_protection, tag_protection
    from glcr.referrers import group_by_image

    shown = protection is not None and protection.readable
    mode = {"registry_mode": kind.mode if kind is not None else None}
    grouped, subject_of = group_by_image({t.name: t.digest for t in tags})
    if fmt is OutputFormat.JSON:
        write_json([{**tag_json(t), **mode, **({"protected": tag_protection(t.name, protection)} if shown else {}),
                     "referrer_of": subject_of.get(t.name), "referrers": list(grouped.get(t.name, ()))}
                    for t in tags])
    elif fmt is OutputFormat.PLAIN:
        write_plain(t.name for t in tags)  # the docs' list_o_tags.out format
    else:
        rows = _grouped_rows(tags, grouped, subject_of, referrers) if subject_of else [(t.name, t) for t in tags]
        extra = shown and bool(protection.rules)
        write_table(None, ["TAG", "DIGEST", age_column(tags), "SIZE"] + (["PROTECTED"] if extra else []),
                    [(name, short_digest(t.digest), when(t.age_at), human_size(t.total_size))
                     + ((describe_tag_protection(tag_protection(t.name, protection)),) if extra else ())
                     for name, t in rows],
                    justify_right=["SIZE"])


def _grouped_rows(tags: Sequence[TagDetails], grouped: dict, subject_of: dict,
                  show: bool) -> list[tuple[str, TagDetails]]:
    """(shown name, tag): images, each followed (`show`) by its referrers as `  └ name`;
    referrers of untagged digests last. Without `show`, referrers are left out and counted."""
    by_name = {t.name: t for t in tags}
    rows: list[tuple[str, TagDetails]] = []
    placed: set[str] = set()
    for t in tags:
        if t.name in subject_of:
            continue
        rows.append((t.name, t))
        if show:
            for name in grouped.get(t.name, ()):
                if name in by_name and name not in placed:
                    rows.append((f"  └ {name}", by_name[name]))
                    placed.add(name)
    if show:
        rows.extend((f"{t.name} (no tag on its image)", t) for t in tags if t.name in subject_of and t.name not in placed)
    else:
        import sys

        print(f"{len(subject_of)} signature/attestation/SBOM tag(s) not shown; --referrers lists them under "
              "their image", file=sys.stderr)
    return rows


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
    from rich.markup import escape

    from glcr.policy.protection import kept_reason

    siblings = preview.siblings()
    console.print(f"Repository {preview.repository.path} (registry: {preview.kind.label})")
    for tag, rule in sorted(getattr(preview, "protected", {}).items()):
        console.print(f"  [yellow]keep {escape(tag)}: {escape(kept_reason(rule))}[/yellow] (not deleted)")
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
    from rich.markup import escape

    from glcr.policy.protection import kept_reason

    if fmt is OutputFormat.JSON:
        write_json({"method": report.method,
                    "results": [{"name": r.tag, "outcome": r.outcome.value, "digest": r.digest, "detail": r.detail}
                                for r in report.results]
                    + [{"name": tag, "outcome": "kept", "digest": None, "detail": kept_reason(rule)}
                       for tag, rule in sorted(getattr(report, "protected", {}).items())],
                    "changed_siblings": [{"name": d.tag, "before": d.before, "after": d.after} for d in report.damage]})
        return
    for r in report.results:
        style = {"deleted": "green", "already_absent": "dim", "stale": "yellow", "failed": "red"}[r.outcome.value]
        detail = f": {r.detail}" if r.detail else ""
        console.print(f"  [{style}]{r.outcome.value}[/{style}] {r.tag}{detail}")
    for tag, rule in sorted(getattr(report, "protected", {}).items()):
        console.print(f"  [yellow]kept[/yellow] {escape(tag)}: {escape(kept_reason(rule))}")
    for d in report.damage:
        console.print(f"  [red]changed[/red] {d.tag}: was {short_digest(d.before)}, now {short_digest(d.after)}")
    console.print(f"Done via {report.method}: verified every deleted tag is gone and the other tags kept their digests."
                  if not report.damage else "Verification found changes to other tags (above).")
