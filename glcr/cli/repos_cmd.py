"""`glcr repos`: list, show and delete registry repositories."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from glcr.cli.complete import complete_group, complete_project, complete_repository
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES, check_project
from glcr.render.format import OutputFormat

app = typer.Typer(help="Registry repositories of a project or a group.", no_args_is_help=True)


class RepoSort(str, Enum):
    NAME = "name"
    CREATED = "created"
    TAGS = "tags"


@app.command("list")
def list_(
    ctx: typer.Context,
    project: Optional[str] = typer.Option(None, "--project", "-p", help="project path or id",
                                           autocompletion=complete_project),
    group: Optional[str] = typer.Option(None, "--group", "-g", help="group path or id (includes subgroups)",
                                         autocompletion=complete_group),
    search: Optional[str] = typer.Option(None, "--search", "-s", help="only paths containing this text"),
    sort: RepoSort = typer.Option(RepoSort.NAME, "--sort", help="name, created (newest first) or tags (most first)"),
    output: OutputFormat = OUTPUT,
) -> None:
    """List the registry repositories of a project or of a whole group, all pages.

    Examples:
      glcr repos list --project mygroup/app
      glcr repos list --group mygroup --sort tags -o json
      glcr repos list --group mygroup --search api -o plain
    """
    from glcr.api.repos import find_repositories
    from glcr.errors import UsageError
    from glcr.render.repos import render_repositories

    if (project is None) == (group is None):  # options that do not go together: usage (2)
        raise UsageError("give exactly one of --project or --group")
    project = None if project is None else check_project(project)
    group = None if group is None else check_project(group, "group")
    repos = app_context(ctx).run(lambda s: find_repositories(s, project=project, group=group, search=search,
                                                             sort=sort.value))
    render_repositories(repos, output)


@app.command()
def show(ctx: typer.Context, path: str = typer.Argument(..., help="repository path, e.g. group/app/api", autocompletion=complete_repository),
         output: OutputFormat = OUTPUT) -> None:
    """Show one repository: id, location, tag count, size, status and the registry's kind.

    Example:
      glcr repos show mygroup/app/api
    """
    from glcr.api.repos import repository_details
    from glcr.render.repos import render_repository

    details = app_context(ctx).run(lambda s: repository_details(s, path))
    render_repository(details, output)


@app.command()
def delete(
    ctx: typer.Context,
    path: str = typer.Argument(..., help="repository path", autocompletion=complete_repository),
    yes: bool = YES,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="poll until GitLab has removed it"),
    timeout: float = typer.Option(900, "--timeout", min=1, help="seconds to wait for the removal"),
) -> None:
    """Delete a repository and ALL its tags (GitLab deletes asynchronously, `latest` included).

    Examples:
      glcr repos delete mygroup/app/old-image
      glcr repos delete mygroup/app/old-image --yes --no-wait
    """
    from glcr.api.repos import delete_repository_at

    app_ctx = app_context(ctx)
    console = app_ctx.stderr()

    def review(details) -> None:
        repo = details.repository
        app_ctx.say(f"Repository {repo.path} (id {repo.id}) holds {repo.tags_count} tag(s); "
                    "all of them will be deleted.")
        for warning in details.delete_warnings:
            app_ctx.say(f"warning: {warning}")

    repo, final = app_ctx.run(lambda s: delete_repository_at(
        s, path, review=review, confirm=lambda question: app_ctx.confirm(question, yes), wait=wait,
        timeout=timeout, waiting=lambda r: console.status(f"Deleting {r.path}…")))
    app_ctx.say(f"{repo.path}: {final}")
