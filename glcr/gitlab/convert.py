"""GitLab JSON → glcr models. Pure."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from glcr.models import ExpirationPolicy, Project, Repository, Tag, TagDetails
from glcr.timestamps import format_time, optional_time


def encode_id(id_or_path: int | str) -> str:
    """GitLab takes a numeric id or the URL-encoded full path (group%2Fproject)."""
    text = str(id_or_path).strip().strip("/")
    return text if text.isdigit() else quote(text, safe="")


def repository(data: dict) -> Repository:
    return Repository(
        id=int(data["id"]), name=data.get("name") or "", path=data["path"],
        project_id=int(data.get("project_id") or 0), location=data.get("location") or "",
        created_at=optional_time(data.get("created_at")),
        cleanup_policy_started_at=optional_time(data.get("cleanup_policy_started_at")),
        status=data.get("status"), tags_count=data.get("tags_count"), size=data.get("size"),
    )


def tag(data: dict) -> Tag:
    return Tag(name=data["name"], path=data.get("path", ""), location=data.get("location", ""))


def tag_details(data: dict) -> TagDetails:
    return TagDetails(
        name=data["name"], path=data.get("path", ""), location=data.get("location", ""),
        digest=data.get("digest"), created_at=optional_time(data.get("created_at")),
        total_size=data.get("total_size"), revision=data.get("revision"),
        short_revision=data.get("short_revision"),
    )


def project(data: dict) -> Project:
    return Project(
        id=int(data["id"]), path_with_namespace=data.get("path_with_namespace", ""),
        name=data.get("name", ""), path=data.get("path", ""),
        container_registry_image_prefix=data.get("container_registry_image_prefix"),
        container_registry_access_level=data.get("container_registry_access_level"),
        web_url=data.get("web_url"),
    )


def policy(data: dict | None) -> ExpirationPolicy | None:
    if not data:
        return None
    return ExpirationPolicy(
        cadence=data.get("cadence") or "1d", enabled=bool(data.get("enabled")),
        keep_n=data.get("keep_n"), older_than=data.get("older_than"),
        name_regex=data.get("name_regex"), name_regex_keep=data.get("name_regex_keep"),
        next_run_at=optional_time(data.get("next_run_at")),
    )


def repository_json(repo: Repository) -> dict:
    """GitLab's field names, for `-o json`."""
    out = {
        "id": repo.id, "name": repo.name, "path": repo.path, "project_id": repo.project_id,
        "location": repo.location, "created_at": iso(repo.created_at),
        "cleanup_policy_started_at": iso(repo.cleanup_policy_started_at), "status": repo.status,
        "tags_count": repo.tags_count,
    }
    if repo.size is not None:
        out["size"] = repo.size
    return out


def tag_details_json(details: TagDetails) -> dict:
    return {
        "name": details.name, "path": details.path, "location": details.location,
        "revision": details.revision, "short_revision": details.short_revision,
        "digest": details.digest, "created_at": iso(details.created_at), "total_size": details.total_size,
    }


def iso(value: datetime | None) -> str | None:
    return format_time(value) if value else None
