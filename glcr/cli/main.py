"""glcr's root command: global options, sub-command registration, and the error edge."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from glcr import __version__
from glcr.cli import auth_cmd, cleanup_cmd, plan_cmds, policy_cmd, repos_cmd, sandbox_cmd, tags_cmd  # noqa: F401 (plan_cmds adds to tags)
from glcr.cli.context import ENVIRONMENT, AppContext

EPILOG = (
    "Environment: " + "; ".join(f"{k}: {v}" for k, v in ENVIRONMENT.items()) + ".  "
    "Exit codes: 0 ok, 2 usage, 3 invalid input, 4 not found, 5 authentication, 6 permission, "
    "7 network, 8 refused by server, 9 partial failure, 10 aborted, 11 stale plan."
)

app = typer.Typer(
    name="glcr",
    help="Operate a GitLab Container Registry: list, inspect, plan and delete tags, clean up, migrate.",
    epilog=EPILOG,
    no_args_is_help=True,
    # Tokens live in local variables: never print locals in a traceback.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(repos_cmd.app, name="repos")
app.add_typer(tags_cmd.app, name="tags")
app.add_typer(policy_cmd.app, name="policy")
app.add_typer(cleanup_cmd.app, name="cleanup")
app.add_typer(auth_cmd.app, name="auth")
app.add_typer(sandbox_cmd.app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        print(f"glcr {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    url: Optional[str] = typer.Option(None, "--url", help="GitLab URL [env: GITLAB_URL, CI_SERVER_URL]"),
    token: Optional[str] = typer.Option(
        None, "--token", help="GitLab token (discouraged: visible in shell history; use GITLAB_TOKEN)"),
    gitlab: Optional[str] = typer.Option(None, "--gitlab", help="python-gitlab config section to use"),
    jobs: int = typer.Option(
        int(os.environ.get("GLCR_JOBS", "8")), "--jobs", "-j", min=1, max=64,
        help="concurrent requests (default 8: hides latency, stays far below GitLab's rate limits)"),
    insecure_registry: bool = typer.Option(
        os.environ.get("GLCR_INSECURE_REGISTRY") == "1", "--insecure-registry",
        help="plain http to the registry (loopback hosts always use http)"),
    debug: bool = typer.Option(False, "--debug", help="log every request to stderr (tokens redacted)"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="show the version"),
) -> None:
    """glcr: the GitLab Container Registry from the command line."""
    if token:
        print("glcr: warning: --token is visible in shell history and `ps`; prefer GITLAB_TOKEN "
              "or `glcr auth login`", file=sys.stderr)
    ctx.obj = AppContext(url=url, token=token, gitlab_section=gitlab, jobs=jobs, debug=debug,
                         insecure_registry=insecure_registry)


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn glcr's errors into one stderr line and a documented exit code.

    Typer (standalone mode) handles usage errors itself (exit 2); everything glcr raises on
    purpose is a GlcrError and ends here, without a traceback.
    """
    from glcr.errors import GlcrError
    from glcr.transport.redact import redact_text

    try:
        app(args=argv, prog_name="glcr")
    except GlcrError as exc:
        print(f"glcr: error: {redact_text(exc.one_line())}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        print("glcr: interrupted; re-run the same command to resume where a journal is kept", file=sys.stderr)
        sys.exit(130)
