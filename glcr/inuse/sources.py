"""GitLab's answers (JSON entities, as glcr.gitlab.inuse reads them) as things in use, each with
the sentence that says why; and image references from a file. Pure: the clock is a parameter.

Field names are those of GitLab's entities: API::Entities::Deployment (id, iid, ref, sha,
status, created_at, updated_at, deployable: the job, with finished_at and tag), MergeRequestBasic (iid, sha, source_branch),
Release (tag_name, commit.id, released_at), Branch (name, commit.id, protected, default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from glcr.errors import InvalidInputError
from glcr.inuse.model import ImageInUse, InUse
from glcr.inuse.slug import short_sha
from glcr.timestamps import optional_time


def ago(moment: datetime | None, now: datetime) -> str:
    """`3 days ago`, `5 hours ago`, `just now`; `at an unknown time` without a moment."""
    if moment is None:
        return "at an unknown time"
    seconds = (now - moment).total_seconds()
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def _object(value: Any) -> dict:
    """A nested entity (a deployment's job, a release's commit); {} when absent or hidden."""
    return value if isinstance(value, dict) else {}


def _sha(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def deployments(environment: str, items: Iterable[dict], now: datetime) -> list[InUse]:
    """The successful deployments of `environment` (newest first, as read)."""
    out = []
    for d in items:
        sha = _sha(d.get("sha"))
        job = _object(d.get("deployable"))
        # A deployment has no finished_at of its own; its job has, and a successful
        # deployment's updated_at is when it finished.
        when = optional_time(job.get("finished_at")) or optional_time(d.get("updated_at")) \
            or optional_time(d.get("created_at"))
        where = f"deployed to {environment} {ago(when, now)}"
        detail = f"deployment {d.get('id')}" + (f", sha {short_sha(sha)}" if sha else "")
        ref = d.get("ref") if isinstance(d.get("ref"), str) else None
        is_tag = bool(job.get("tag"))  # the job ran for a git tag
        out.append(InUse(f"{where} ({detail})", sha=sha, ref=ref, tag=ref if is_tag else None, source="deployed"))
    return out


def merge_requests(items: Iterable[dict]) -> list[InUse]:
    out = []
    for mr in items:
        sha = _sha(mr.get("sha"))
        branch = mr.get("source_branch") if isinstance(mr.get("source_branch"), str) else None
        detail = ", ".join(p for p in (f"branch {branch}" if branch else "", f"sha {short_sha(sha)}" if sha else "") if p)
        out.append(InUse(f"open merge request !{mr.get('iid')} ({detail})", sha=sha, ref=branch, source="open-mr"))
    return out


def releases(items: Iterable[dict]) -> list[InUse]:
    out = []
    for release in items:
        tag = release.get("tag_name") if isinstance(release.get("tag_name"), str) else None
        commit = _object(release.get("commit"))
        sha = _sha(commit.get("id"))
        detail = f" (sha {short_sha(sha)})" if sha else ""
        out.append(InUse(f"release {tag}{detail}", sha=sha, ref=tag, tag=tag, source="release"))
    return out


def branch_heads(items: Iterable[dict]) -> list[InUse]:
    """The heads of the protected branches and of the default branch. GitLab's branch list says
    `protected` after matching the protected branch rules, wildcards (`release/*`) included."""
    out = []
    for branch in items:
        default, protected = bool(branch.get("default")), bool(branch.get("protected"))
        if not (default or protected):
            continue
        name = branch.get("name")
        commit = _object(branch.get("commit"))
        sha = _sha(commit.get("id"))
        kind = "default branch" if default else "protected branch"
        detail = f" (sha {short_sha(sha)})" if sha else ""
        out.append(InUse(f"head of {kind} {name}{detail}", sha=sha, ref=name,
                         source="default-branch" if default else "protected-branch"))
    return out


# kubectl's imageID comes as docker-pullable://host/path@sha256:... (dockershim) or bare.
_SCHEMES = re.compile(r"\A(?:docker-pullable|docker|containerd)://")


def images(text: str, source: str) -> list[ImageInUse]:
    """Image references, separated by whitespace (kubectl's jsonpath output) or one a line;
    `#` starts a comment. A reference must have a tag or a digest."""
    from glcr.reference import parse_image_ref

    out = []
    for number, line in enumerate(text.splitlines(), 1):
        for word in line.split("#", 1)[0].split():
            raw = _SCHEMES.sub("", word)
            try:
                ref = parse_image_ref(raw)
            except InvalidInputError as exc:
                raise InvalidInputError(f"{source} line {number}: {exc.message}") from None
            if not ref.tag and not ref.digest:
                raise InvalidInputError(f"{source} line {number}: {word!r} has neither a tag nor a digest",
                                        hint="give host/group/project[/image]:tag or @sha256:...")
            out.append(ImageInUse(ref.path.lower(), f"listed in {source} ({raw})", host=ref.host,
                                  tag=ref.tag, digest=ref.digest))
    return out
