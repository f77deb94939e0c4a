"""What a project has in use, read from GitLab's REST API: environments and their deployments,
open merge requests, releases, branches. Each list is read to its end (offset pagination),
except the deployments, of which only each environment's newest `n` successful ones are read.

Answers are GitLab's entities (dicts) with the fields glcr.inuse.sources reads. Endpoints, as
lib/api/*.rb declares them:
* GET /projects/:id/environments?states=available (lib/api/environments.rb; `states` filters);
* GET /projects/:id/deployments?environment=E&status=success&order_by=id&sort=desc
  (lib/api/deployments.rb; DeploymentsFinder allows order_by id with any filter, where
  updated_at would need updated_after/updated_before);
* GET /projects/:id/merge_requests?state=opened (lib/api/merge_requests.rb);
* GET /projects/:id/releases (lib/api/releases.rb; `commit` only for callers who may read code);
* GET /projects/:id/repository/branches (lib/api/branches.rb; `protected` is GitLab's own
  match of the protected branch rules, wildcards included, and `default` marks the default
  branch).
"""

from __future__ import annotations

from typing import Any

from glcr.gitlab.api import PER_PAGE, GitLabApi
from glcr.gitlab.convert import encode_id


async def _all(api: GitLabApi, url: str, doing: str, params: dict[str, Any] | None = None) -> list[dict]:
    items: list[dict] = []
    async for page in api.pages(url, doing, params):
        items.extend(i for i in page if isinstance(i, dict))
    return items


async def environments(api: GitLabApi, project: int | str) -> list[dict]:
    return await _all(api, f"projects/{encode_id(project)}/environments",
                      f"listing the environments of project {project}", {"states": "available"})


async def last_deployments(api: GitLabApi, project: int | str, environment: str, n: int) -> list[dict]:
    """The newest `n` successful deployments to `environment`, newest first."""
    from contextlib import aclosing

    out: list[dict] = []
    params = {"environment": environment, "status": "success", "order_by": "id", "sort": "desc",
              "per_page": min(n, PER_PAGE)}
    pages = api.pages(f"projects/{encode_id(project)}/deployments",
                      f"listing the deployments to {environment} of project {project}", params)
    async with aclosing(pages):  # stopping early: close the pages' generator now, not at GC
        async for page in pages:
            out.extend(i for i in page if isinstance(i, dict))
            if len(out) >= n:
                break
    return out[:n]


async def open_merge_requests(api: GitLabApi, project: int | str) -> list[dict]:
    return await _all(api, f"projects/{encode_id(project)}/merge_requests",
                      f"listing the open merge requests of project {project}", {"state": "opened"})


async def releases(api: GitLabApi, project: int | str) -> list[dict]:
    return await _all(api, f"projects/{encode_id(project)}/releases", f"listing the releases of project {project}")


async def branches(api: GitLabApi, project: int | str) -> list[dict]:
    return await _all(api, f"projects/{encode_id(project)}/repository/branches",
                      f"listing the branches of project {project}")
