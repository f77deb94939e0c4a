"""`glcr registry`: a project's container registry on, private, or off."""

from __future__ import annotations

import typer

from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, PROJECT, YES
from glcr.render.format import OutputFormat

app = typer.Typer(help="Enable, restrict or disable a project's container registry.", no_args_is_help=True)

DRY_RUN = typer.Option(False, "--dry-run", help="show the change and stop")


@app.command()
def show(ctx: typer.Context, project: str = PROJECT, output: OutputFormat = OUTPUT) -> None:
    """Show whether a project's container registry is enabled, private or disabled.

    Example:
      glcr registry show mygroup/app
    """
    from glcr.gitlab.rest import GitLabRest
    from glcr.settings_admin.access import level_of

    creds = app_context(ctx).credentials()
    found = GitLabRest(creds).project_object(project)
    _render(found.attributes, level_of(found.attributes), level_of(found.attributes), output)


@app.command()
def enable(
    ctx: typer.Context,
    project: str = PROJECT,
    private: bool = typer.Option(False, "--private", help="visible to project members (Reporter and above) only"),
    yes: bool = YES,
    dry_run: bool = DRY_RUN,
    output: OutputFormat = OUTPUT,
) -> None:
    """Enable a project's container registry (container_registry_access_level: enabled or private).

    Making an enabled registry private asks first: anonymous and non-member pulls stop.

    Examples:
      glcr registry enable mygroup/app
      glcr registry enable mygroup/app --private --yes
    """
    from glcr.settings_admin.access import AccessLevel

    _change(ctx, project, AccessLevel.PRIVATE if private else AccessLevel.ENABLED, yes, dry_run, output)


@app.command()
def disable(
    ctx: typer.Context,
    project: str = PROJECT,
    yes: bool = YES,
    dry_run: bool = DRY_RUN,
    output: OutputFormat = OUTPUT,
) -> None:
    """Disable a project's container registry: images stay stored, but nobody can pull or push them.

    Asks first (--yes in scripts). `glcr registry enable` turns it back on; nothing is deleted.

    Example:
      glcr registry disable mygroup/old-app
    """
    from glcr.settings_admin.access import AccessLevel

    _change(ctx, project, AccessLevel.DISABLED, yes, dry_run, output)


def _change(ctx: typer.Context, project: str, level, yes: bool, dry_run: bool, output: OutputFormat) -> None:
    from glcr.errors import RefusedError
    from glcr.gitlab.rest import GitLabRest
    from glcr.settings_admin.access import MEANING, AccessLevel, level_of

    app_ctx = app_context(ctx)
    creds = app_ctx.credentials()
    rest = GitLabRest(creds)
    found = rest.project_object(project)
    path = found.attributes.get("path_with_namespace", project)
    before = level_of(found.attributes)
    if before is level:
        app_ctx.say(f"{path}: the container registry is already {MEANING[level]}; nothing changed.")
        _render(found.attributes, before, before, output)
        return
    app_ctx.say(f"{path}: container registry {MEANING[before]} -> {MEANING[level]}")
    restricts = level is AccessLevel.DISABLED or (level is AccessLevel.PRIVATE and before is AccessLevel.ENABLED)
    if dry_run:
        app_ctx.say("Dry run: nothing changed.")
        return
    if restricts:
        count = rest.count_repositories(found)
        held = f" Its {count} image repositories stay stored." if count else ""
        who = "nobody" if level is AccessLevel.DISABLED else "only project members"
        app_ctx.confirm(f"Restrict the registry of {path}?{held} Afterwards {who} can pull or push; CI jobs "
                        "that use it may fail. Continue?", yes)
    answer = rest.set_registry_access(found, level.value)
    after = level_of(answer)
    if after is not level:
        raise RefusedError(f"GitLab kept the container registry of {path} {after.value}, not {level.value}",
                           hint="GitLab releases before 14.x only know container_registry_enabled")
    app_ctx.say(f"{path}: container registry now {MEANING[after]}.")
    _render(answer, before, after, output)


def _render(project: dict, before, after, output: OutputFormat) -> None:
    from glcr.render.output import write_json, write_plain, write_table

    data = {"project": project.get("path_with_namespace"), "id": project.get("id"),
            "container_registry_access_level": after.value, "before": before.value,
            "container_registry_image_prefix": project.get("container_registry_image_prefix")}
    if output is OutputFormat.JSON:
        write_json(data)
    elif output is OutputFormat.PLAIN:
        write_plain([after.value])
    else:
        write_table(None, ["project", "container registry", "image prefix"],
                    [[data["project"], after.value, data["container_registry_image_prefix"] or "-"]])
