"""Which tags of one repository are in use, and why."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from glcr.inuse.model import ImageInUse, InUse
from glcr.inuse.templates import DEFAULT_TEMPLATES, Template


def dash_runs(tag: str) -> set[str]:
    """Every run of consecutive dash-separated parts of `tag`, the whole tag included:
    `main-1a2b-amd64` -> main, 1a2b, amd64, main-1a2b, 1a2b-amd64, main-1a2b-amd64."""
    parts = tag.split("-")
    return {"-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}


def in_use_tags(tags: Sequence[tuple[str, str | None]], items: Iterable[InUse], *,
                templates: Sequence[Template] = (), images: Iterable[ImageInUse] = (),
                repository_path: str = "", repository_location: str = "",
                index_children: Mapping[str, frozenset[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """{tag: (why, ...)} for the tags (name, digest) that something in use names.

    `items` match through the default templates and `templates`; `images` that name this
    repository keep their tag, or every tag on their digest, and every tag on an index
    (`index_children`: index digest -> child digests) that contains that digest.
    """
    exact: dict[str, list[str]] = defaultdict(list)
    part: dict[str, list[str]] = defaultdict(list)
    globs = []
    for item in items:
        for template in (*DEFAULT_TEMPLATES, *templates):
            if template.glob:
                pattern = template.regex(item)
                if pattern is not None:
                    globs.append((pattern, item.why))
                continue
            rendered = template.render(item)
            if rendered:
                (part if template.part else exact)[rendered].append(item.why)

    found: dict[str, list[str]] = defaultdict(list)
    for name, _digest in tags:
        whys = found[name]
        whys.extend(exact.get(name, ()))
        if part:
            for run in sorted(dash_runs(name), key=len, reverse=True):
                whys.extend(part.get(run, ()))
        whys.extend(why for pattern, why in globs if pattern.match(name))

    ours = [i for i in images if i.names(repository_path, repository_location)]
    if ours:
        by_digest: dict[str, list[str]] = defaultdict(list)
        for image in ours:
            if image.digest:
                by_digest[image.digest].append(image.why)
            elif image.tag:
                found[image.tag if any(n == image.tag for n, _ in tags) else ""].append(image.why)
        for index, children in (index_children or {}).items():
            for child in children:
                if child in by_digest and index not in by_digest:
                    by_digest[index].extend(f"{why} (in this index)" for why in by_digest[child])
        for name, digest in tags:
            if digest in by_digest:
                found[name].extend(by_digest[digest])
    return {name: tuple(dict.fromkeys(whys)) for name, whys in found.items() if name and whys}
