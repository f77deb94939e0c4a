"""`glcr admin`: instance settings, for GitLab administrators."""

from __future__ import annotations

from typing import Optional

import typer

from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES
from glcr.render.format import OutputFormat

app = typer.Typer(help="Instance settings for administrators (cleanup limits).", no_args_is_help=True)
limits_app = typer.Typer(
    help="GitLab's instance-wide limits for cleanup policies and registry tokens (admin only).",
    no_args_is_help=True)
app.add_typer(limits_app, name="cleanup-limits")


@limits_app.command()
def show(ctx: typer.Context, output: OutputFormat = OUTPUT) -> None:
    """Show the cleanup limits with their defaults and meaning.

    Example:
      glcr admin cleanup-limits show
    """
    from glcr.api.admin import read_cleanup_limits

    _render_values(app_context(ctx).run(read_cleanup_limits).values, output)


@limits_app.command("set")
def set_(
    ctx: typer.Context,
    worker_capacity: Optional[int] = typer.Option(
        None, "--worker-capacity", help="cleanup-policy workers at once (>= 0; 0 stops cleanup policies) [GitLab default: 4]"),
    delete_timeout: Optional[int] = typer.Option(
        None, "--delete-timeout", help="seconds per cleanup run / delete batch (>= 0; 0: no limit) [GitLab default: 250]"),
    max_list_size: Optional[int] = typer.Option(
        None, "--max-list-size", help="third-party registries: tags per cleanup run (>= 0; 0: no limit) [GitLab default: 200]"),
    caching: Optional[bool] = typer.Option(
        None, "--caching/--no-caching", help="cache tag creation times during cleanup [GitLab default: on]"),
    token_expire_delay: Optional[int] = typer.Option(
        None, "--token-expire-delay", help="registry token lifetime in minutes (>= 1) [GitLab default: 5]"),
    yes: bool = YES,
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show the change, send nothing"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Change cleanup limits: validated first, before/after shown, then asks (--yes in scripts).

    Only the settings given are sent. Values are checked before anything is sent (integers
    >= 0; the token delay >= 1 minute), and GitLab's answer is checked for each of them.

    Examples:
      glcr admin cleanup-limits set --token-expire-delay 15
      glcr admin cleanup-limits set --worker-capacity 8 --delete-timeout 600 --yes
    """
    from glcr.api.admin import change_cleanup_limits
    from glcr.project_settings.cleanup_limits import advice, validate

    given = {"worker-capacity": worker_capacity, "delete-timeout": delete_timeout,
             "max-list-size": max_list_size, "caching": caching, "token-expire-delay": token_expire_delay}
    wanted = validate({k: v for k, v in given.items() if v is not None})
    app_ctx = app_context(ctx)

    def review(changes) -> None:
        _render_changes(changes, app_ctx.stderr())
        for note in advice(wanted):
            app_ctx.say(f"note: {note}")

    done = app_ctx.run(lambda s: change_cleanup_limits(
        s, wanted, review=review, confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    if not done.changes:
        app_ctx.say("Every setting already has that value; nothing changed.")
        _render_values(done.before.values, output)
    elif done.after is None:
        app_ctx.say("Dry run: nothing sent.")
    else:
        app_ctx.say(f"Changed {len(done.changes)} setting(s).")
        _render_values(done.after.values, output)


def _render_values(values, output: OutputFormat) -> None:
    from glcr.render.output import write_json, write_plain, write_table
    from glcr.project_settings.cleanup_limits import LIMITS

    if output is OutputFormat.JSON:
        write_json(dict(values))
    elif output is OutputFormat.PLAIN:
        write_plain(f"{s.key}={'' if values.get(s.key) is None else values[s.key]}" for s in LIMITS)
    else:
        rows = [[s.option, _show(values.get(s.key), s.unit), _show(s.default, s.unit), s.meaning] for s in LIMITS]
        write_table(None, ["setting", "value", "default", "meaning"], rows)


def _render_changes(changes, console) -> None:
    from rich.table import Table

    from glcr.project_settings.cleanup_limits import BY_KEY

    table = Table(title="Instance settings to change", title_justify="left", box=None, header_style="bold")
    for column in ("setting", "before", "after", "GitLab attribute"):
        table.add_column(column)
    for change in changes:
        spec = BY_KEY[change.key]
        table.add_row(spec.option, _show(change.before, spec.unit), _show(change.after, spec.unit), change.key)
    console.print(table)


def _show(value, unit: str) -> str:
    if value is None:
        return "- (not in this GitLab)"
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value} {unit}".strip()
