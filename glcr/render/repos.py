"""Repository tables and JSON."""

from __future__ import annotations

from typing import Sequence

from glcr.gitlab.convert import repository_json
from glcr.models import Repository
from glcr.render.format import OutputFormat, human_size, when
from glcr.render.output import write_json, write_plain, write_table


def render_repositories(repos: Sequence[Repository], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.JSON:
        write_json([repository_json(r) for r in repos])
    elif fmt is OutputFormat.PLAIN:
        write_plain(r.path for r in repos)
    else:
        write_table(None, ["ID", "PATH", "TAGS", "CREATED", "STATUS"],
                    [(r.id, r.path, r.tags_count if r.tags_count is not None else "-", when(r.created_at),
                      r.status or "") for r in repos], justify_right=["ID", "TAGS"])


def render_repository(details, fmt: OutputFormat) -> None:
    repo = details.repository
    if fmt is OutputFormat.JSON:
        data = repository_json(repo)
        data["registry_kind"] = details.kind.mode if details.kind else None  # gitlab, gitlab-legacy, third-party
        write_json(data)
    elif fmt is OutputFormat.PLAIN:
        write_plain([repo.path])
    else:
        rows = [("id", repo.id), ("path", repo.path), ("project", details.project_path),
                ("location", repo.location), ("tags", repo.tags_count),
                ("size", human_size(repo.size) if repo.size is not None else "unknown (registry without GitLab's API)"),
                ("created", when(repo.created_at)), ("cleanup started", when(repo.cleanup_policy_started_at)),
                ("status", repo.status or "-"),
                ("registry", details.kind.label if details.kind else "unknown (unreachable)")]
        write_table(None, ["FIELD", "VALUE"], rows)
