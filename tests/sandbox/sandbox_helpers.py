"""Helpers shared by the sandbox tests (imported by name: pytest puts this directory on sys.path)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from glcr.models import Project
from glcr_sandbox.runtime import Sandbox


def api_client(sandbox: Sandbox, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{sandbox.url}/api/v4", headers={"PRIVATE-TOKEN": token}, timeout=30)


def encoded(project: Project) -> str:
    return quote(project.path_with_namespace, safe="")


def repository_id(api: httpx.Client, project: Project, name: str = "") -> int:
    resp = api.get(f"/projects/{encoded(project)}/registry/repositories")
    resp.raise_for_status()
    return next(r["id"] for r in resp.json() if r["name"] == name)
