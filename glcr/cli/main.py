"""glcr's root command: global options, sub-command registration, and the error edge."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from glcr import __version__, settings
from glcr.cli.context import AppContext
from glcr.cli.entry import LazyCommand, lazy_group

EPILOG = (
    "Environment: " + "; ".join(f"{k}: {v}" for k, v in settings.ENVIRONMENT.items()) + ".  "
    "Exit codes: 0 ok, 2 usage, 3 invalid input, 4 not found, 5 authentication, 6 permission, "
    "7 network, 8 refused by server, 9 partial failure, 10 aborted, 11 stale plan."
)

# Sub-commands by module path: `glcr --help` and a TAB import none of them (see entry.py).
# Each help must be the command's own first sentence (tests/cli/test_startup.py checks it).
COMMANDS = {
    "repos": LazyCommand("glcr.cli.repos_cmd:app", "Registry repositories of a project or a group."),
    "tags": LazyCommand("glcr.cli.tags_cmd:app", "Tags of a registry repository.",
                        imports=("glcr.cli.plan_cmds", "glcr.cli.restore_cmd")),  # + tags plan|apply|bulk-delete|restore
    "policy": LazyCommand("glcr.cli.policy_cmd:app",
                          "A project's container cleanup policy (container_expiration_policy)."),
    "cleanup": LazyCommand("glcr.cli.cleanup_cmd:app", "Simulate and apply GitLab's cleanup policy."),
    "protection": LazyCommand("glcr.cli.protection_cmd:app", "A project's container tag protection rules (who may push and delete which tags)."),
    "migrate-project": LazyCommand(
        "glcr.cli.migrate_cmd:app",
        "Move or rename a project whose registry holds images: copy every tag to a holding place, verify it, "
        "delete the tags, move the project, restore every tag under the new path, verify every digest, then "
        "remove the holding copies."),
    "registry": LazyCommand("glcr.cli.registry_cmd:app", "Enable, restrict or disable a project's container registry."),
    "doctor": LazyCommand("glcr.cli.doctor_cmd:app",
                          "Check URL, token, registry, clock and image names; print a fix for each problem."),
    "auth": LazyCommand("glcr.cli.auth_cmd:app", "Store and check GitLab credentials (OS keyring)."),
    "admin": LazyCommand("glcr.cli.admin_cmd:app", "Instance settings for administrators (cleanup limits)."),
    "usage": LazyCommand("glcr.cli.usage_cmd:app", "Registry storage by project and repository, largest first."),
    "ci-template": LazyCommand("glcr.cli.ci_cmd:app",
                               "Print a .gitlab-ci.yml job that runs `glcr cleanup run` on a schedule."),
    "sandbox": LazyCommand("glcr.cli.sandbox_cmd:app",
                           "A local GitLab API sandbox over a real registry, on 127.0.0.1: GitLab's own container "
                           "registry (default; PostgreSQL and Redis run beside it) or Debian's docker-registry."),
}

app = typer.Typer(
    name="glcr",
    cls=lazy_group(COMMANDS),
    rich_markup_mode=None,  # plain root help: rich's help renderer costs ~100 ms of imports
    help="Operate a GitLab Container Registry: list, inspect, plan and delete tags, clean up, migrate.",
    epilog=EPILOG,
    no_args_is_help=True,
    # Tokens live in local variables: never print locals in a traceback.
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    # Defaults come from glcr.settings; each environment variable is parsed and checked as its
    # flag is (a bad GLCR_JOBS is one line and exit 3, see entry._from_environment).
    jobs: int = typer.Option(
        settings.DEFAULT_JOBS, "--jobs", "-j", min=1, max=settings.MAX_JOBS, envvar=settings.envvar("jobs"),
        show_envvar=False,
        help=f"concurrent requests (default {settings.DEFAULT_JOBS}: hides latency, stays far below GitLab's "
             f"rate limits) [env: {settings.envvar('jobs')}]"),
    registry_jobs: int = typer.Option(
        settings.DEFAULT_REGISTRY_JOBS, "--registry-jobs", min=1, max=settings.MAX_REGISTRY_JOBS,
        envvar=settings.envvar("registry_jobs"), show_envvar=False,
        help=f"concurrent registry requests (default {settings.DEFAULT_REGISTRY_JOBS}: the registry serves them "
             f"without GitLab's API limits) [env: {settings.envvar('registry_jobs')}]"),
    insecure_registry: bool = typer.Option(
        False, "--insecure-registry", envvar=settings.envvar("insecure_registry"), show_envvar=False,
        help=f"plain http to the registry (loopback hosts always use http) [env: {settings.envvar('insecure_registry')}]"),
    insecure: bool = typer.Option(
        False, "--insecure", envvar=settings.envvar("insecure"), show_envvar=False,
        help="allow plain http to a GitLab that is not on this machine (the token travels unencrypted) "
             f"[env: {settings.envvar('insecure')}]"),
    ca_file: Optional[str] = typer.Option(
        None, "--ca-file", envvar=settings.envvar("ca_file"), show_envvar=False,
        help="CA bundle (PEM) that GitLab's and the registry's certificates are checked against, for every "
             f"call (default: SSL_CERT_FILE, else certifi's public CAs) [env: {settings.envvar('ca_file')}]"),
    debug: bool = typer.Option(False, "--debug", help="log every request to stderr (tokens redacted)"),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="show the version"),
) -> None:
    """glcr: the GitLab Container Registry from the command line."""
    if token:
        print("glcr: warning: --token is visible in shell history and `ps`; prefer GITLAB_TOKEN "
              "or `glcr auth login`", file=sys.stderr)
    ctx.obj = AppContext(settings.Settings(url=url, token=token, gitlab_section=gitlab, jobs=jobs,
                                           registry_jobs=registry_jobs, debug=debug,
                                           insecure_registry=insecure_registry, insecure=insecure,
                                           ca_file=ca_file or None))
    ctx.call_on_close(ctx.obj.close)  # the command's one session, closed when it ends (or fails)
    if insecure:
        print("glcr: warning: --insecure: plain http to GitLab is allowed; the token can be read on the network",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """Entry point: turn glcr's errors into one stderr line and a documented exit code.

    Typer (standalone mode) handles usage errors itself (exit 2); everything glcr raises on
    purpose is a GlcrError and ends here, without a traceback.
    """
    from glcr.cli.context import Interrupted
    from glcr.errors import GlcrError
    from glcr.transport.redact import redact_text

    import os

    os.umask(os.umask(0o077) | 0o077)  # plans, journals, backups and state glcr writes are private
    try:
        app(args=argv, prog_name="glcr")
    except Interrupted as exc:
        print(f"glcr: {redact_text(exc.one_line())}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except GlcrError as exc:
        print(f"glcr: error: {redact_text(exc.one_line())}", file=sys.stderr)
        sys.exit(int(exc.exit_code))
    except SystemExit as exc:
        if exc.code == 130:  # Typer's answer to Ctrl-C outside journaled work
            print("glcr: interrupted", file=sys.stderr)
        raise
    except KeyboardInterrupt:  # before Typer runs the command (option parsing, imports)
        print("glcr: interrupted", file=sys.stderr)
        sys.exit(130)
