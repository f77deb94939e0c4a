"""`glcr auth`: store, check and remove the GitLab token in the OS keyring."""

from __future__ import annotations

import typer

from glcr.cli.context import app_context

app = typer.Typer(help="Store and check GitLab credentials (OS keyring).", no_args_is_help=True)


@app.command()
def login(
    ctx: typer.Context,
    token_stdin: bool = typer.Option(False, "--token-stdin", help="read the token from stdin (for scripts)"),
) -> None:
    """Store a token for the GitLab URL in the OS keyring.

    Examples:
      glcr --url https://gitlab.example.com auth login
      echo "$TOKEN" | glcr auth login --token-stdin
    """
    import sys

    from glcr.credentials import keyring_store
    from glcr.errors import InvalidInputError

    app_ctx = app_context(ctx)
    url = app_ctx.credentials(require=False).url
    token = sys.stdin.readline().strip() if token_stdin else typer.prompt("GitLab token", hide_input=True, err=True)
    if not token:
        raise InvalidInputError("empty token", hint="create one with the api scope in GitLab's user settings")
    try:
        keyring_store(url, token)
    except Exception as exc:  # keyring backends raise their own types
        raise InvalidInputError(f"could not store the token in the OS keyring: {type(exc).__name__}",
                                hint="use GITLAB_TOKEN or ~/.python-gitlab.cfg instead") from None
    app_ctx.say(f"Stored a token for {url} in the keyring.")


@app.command()
def status(ctx: typer.Context) -> None:
    """Show where the token comes from, who it is, and its scopes (never the token itself).

    Example:
      glcr auth status
    """
    from glcr.api.auth import token_info

    app_ctx = app_context(ctx)
    creds = app_ctx.credentials()
    info = app_ctx.run(token_info)
    print(f"GitLab:  {creds.url}")
    print(f"Token:   from {creds.source} ({creds.kind.value})")
    print(f"User:    {info.username}")
    if info.scopes is not None:
        print(f"Scopes:  {', '.join(info.scopes)}")
        print(f"Expires: {info.expires_at or 'never'}")


@app.command()
def logout(ctx: typer.Context) -> None:
    """Remove the stored token for the GitLab URL from the keyring."""
    from glcr.credentials import keyring_delete

    app_ctx = app_context(ctx)
    url = app_ctx.credentials(require=False).url
    removed = keyring_delete(url)
    app_ctx.say(f"Removed the token for {url}." if removed else f"No token stored for {url}.")
