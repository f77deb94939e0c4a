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
    from glcr.api.registry_access import registry_access

    found = app_context(ctx).run(lambda s: registry_access(s, project))
    _render(found, found, output)


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
    from glcr.project_settings.access import AccessLevel

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
    from glcr.project_settings.access import AccessLevel

    _change(ctx, project, AccessLevel.DISABLED, yes, dry_run, output)


def _change(ctx: typer.Context, project: str, level, yes: bool, dry_run: bool, output: OutputFormat) -> None:
    from glcr.api.registry_access import change_registry_access
    from glcr.project_settings.access import MEANING

    app_ctx = app_context(ctx)

    def review(before) -> None:
        path = before.project_path or project
        if before.level is level:
            app_ctx.say(f"{path}: the container registry is already {MEANING[level]}; nothing changed.")
        else:
            app_ctx.say(f"{path}: container registry {MEANING[before.level]} -> {MEANING[level]}")

    done = app_ctx.run(lambda s: change_registry_access(
        s, project, level, review=review, confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    if done.after is None:
        app_ctx.say("Dry run: nothing changed.")
    elif not done.changed:
        _render(done.before, done.before, output)
    else:
        app_ctx.say(f"{done.after.project_path or project}: container registry now {MEANING[done.after.level]}.")
        _render(done.before, done.after, output)


def _render(before, after, output: OutputFormat) -> None:
    """`after` as GitLab answered (a glcr.api.registry_access.RegistryAccess), with the level before."""
    from glcr.render.output import write_json, write_plain, write_table

    data = {"project": after.project_path, "id": after.project_id,
            "container_registry_access_level": after.level.value, "before": before.level.value,
            "container_registry_image_prefix": after.image_prefix}
    if output is OutputFormat.JSON:
        write_json(data)
    elif output is OutputFormat.PLAIN:
        write_plain([after.level.value])
    else:
        write_table(None, ["project", "container registry", "image prefix"],
                    [[data["project"], after.level.value, data["container_registry_image_prefix"] or "-"]])
