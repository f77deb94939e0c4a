"""From what a user types (`group/app/api`, `registry.example.com/group/app:v1`) to GitLab objects."""

from __future__ import annotations

from dataclasses import dataclass

from glcr.errors import InvalidInputError, NotFoundError
from glcr.gitlab import convert
from glcr.models import ImageRef, Project, Repository
from glcr.reference import parse_image_ref, project_candidates
from glcr.session import Session

@dataclass(frozen=True)
class Resolved:
    project: Project
    repository: Repository
    ref: ImageRef


async def project_repositories(session: Session, text: str) -> tuple[Project, list[Repository]] | None:
    """The project at this path and its registry repositories; None when there is no such project.

    Asks the registry-repositories endpoint first: unlike GET /projects/:id it accepts a CI job
    token (GitLab marks it job_token_allowed), and one call answers both questions when the
    project has images.
    """
    try:
        repositories = await session.api.project_repositories(text)
    except NotFoundError:
        return None
    if repositories:
        first = repositories[0]
        path = first.path[: len(first.path) - len(first.name)].rstrip("/") if first.name else first.path
        return Project(id=first.project_id, path_with_namespace=path), repositories
    return convert.project(await session.api.project(text)), []


async def resolve_repository(session: Session, text: str, *, project_hint: str | None = None) -> Resolved:
    ref = parse_image_ref(text)
    path = ref.path.lower()
    candidates = [project_hint] if project_hint else project_candidates(path)
    tried = []
    for candidate in candidates:
        found = await project_repositories(session, candidate)
        if found is None:
            tried.append(candidate)
            continue
        project, repositories = found
        for repo in repositories:
            if repo.path == path:
                if ref.host and repo.registry_host != ref.host:
                    raise InvalidInputError(
                        f"{text}: the project's registry is {repo.registry_host}, not {ref.host}")
                return Resolved(project, repo, ref)
        names = ", ".join(sorted(r.path for r in repositories)) or "none"
        raise NotFoundError(f"no registry repository {path} in project {project.path_with_namespace}",
                            hint=f"its repositories: {names}")
    raise NotFoundError(f"no project found for {path} (tried {', '.join(tried)})",
                        hint="check the path and that your token can see the project")
