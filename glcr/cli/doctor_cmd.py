"""`glcr doctor`: is everything set up for glcr to work, and if not, what to change."""

from __future__ import annotations

from typing import Optional

import typer

from glcr.cli.complete import complete_repository
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT
from glcr.render.format import OutputFormat

app = typer.Typer(help="Check URL, token, registry, clock and image names; print a fix for each problem.")


def http_options():
    """Fail fast: a doctor should report a dead host in seconds, not after a minute of retries."""
    import httpx

    from glcr.transport.backoff import RetryPolicy
    from glcr.transport.factory import HttpOptions

    return HttpOptions(retry=RetryPolicy(max_attempts=2, max_delay=5.0), timeout=httpx.Timeout(15.0, connect=5.0))


@app.command()
def doctor(
    ctx: typer.Context,
    path: Optional[str] = typer.Argument(
        None, help="project, repository or image to check (group/project[/image], host/group/project...)",
        autocompletion=complete_repository),
    registry: Optional[str] = typer.Option(
        None, "--registry", help="registry host[:port], when neither PATH nor CI_REGISTRY names it"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Check URL, token, registry, clock and image names; print a fix for each problem.

    Checks in order: the GitLab URL; the token, its scopes and expiry
    (GET /personal_access_tokens/self); the project and its registry setting; the
    registry's /v2/ and its token realm; the token flow (pull and delete rights on PATH);
    clock skew between this machine, GitLab and the registry (tokens have 60 s leeway);
    and GitLab's image-name rules (two levels below the project, no leading underscore or
    trailing hyphen). Exits 0 when nothing failed (warnings allowed), otherwise with the
    exit code of the first failed check (5 token, 6 permission, 7 network, ...).

    Examples:
      glcr doctor
      glcr doctor mygroup/app/api
      glcr doctor registry.example.com/mygroup/app -o json | jq '.checks[] | select(.status != "ok")'
    """
    from glcr.api.doctor import diagnose
    from glcr.doctor.checks import DoctorRequest

    app_ctx = app_context(ctx)
    request = DoctorRequest(path=path, registry=registry, env=app_ctx.env)
    report = app_ctx.run(lambda s: diagnose(s, request), require_token=False, http=http_options())
    render_report(report, output, app_ctx.credentials(require=False).url, no_color="NO_COLOR" in app_ctx.env)
    if report.failed:
        raise typer.Exit(report.exit_code)


def render_report(report, output: OutputFormat, url: str, *, no_color: bool = False) -> None:
    """The report on stdout: aligned lines with the fix under each problem, JSON, or TSV."""
    from glcr.doctor.model import Status
    from glcr.render.output import write_json, write_plain

    if output is OutputFormat.JSON:
        write_json({"url": url, **report.to_dict()})
        return
    if output is OutputFormat.PLAIN:
        write_plain("\t".join([r.status.value, r.check, r.message, r.fix or ""]) for r in report.results)
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, no_color=no_color, soft_wrap=True)
    style = {Status.OK: ("ok", "green"), Status.WARN: ("warn", "yellow"),
             Status.FAIL: ("FAIL", "bold red"), Status.SKIP: ("skip", "dim")}
    width = max(len(r.check) for r in report.results)
    for result in report.results:
        label, colour = style[result.status]
        console.print(f"[{colour}]{label:<4}[/] {result.check:<{width}}  {escape(result.message)}")
        if result.fix and result.status is not Status.OK:
            console.print(f"     {'':<{width}}  [bold]fix:[/] {escape(result.fix)}")
    counts = {s: len(report.with_status(s)) for s in Status}
    console.print(f"\n{counts[Status.OK]} ok, {counts[Status.WARN]} warning(s), {counts[Status.FAIL]} failed, "
                  f"{counts[Status.SKIP]} skipped")
