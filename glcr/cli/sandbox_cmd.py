"""`glcr sandbox`: a local GitLab API sandbox over a real registry, for trying glcr safely.

The sandbox is the package glcr_sandbox, beside glcr and installed with the extra `glcr[sandbox]`;
only the bodies of these commands import it, so their help pages and the rest of glcr need neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help=(
        "A local GitLab API sandbox over a real registry, on 127.0.0.1: GitLab's own container "
        "registry (default; PostgreSQL and Redis run beside it) or Debian's docker-registry.\n\n"
        "It answers GitLab's REST API for the registry endpoints glcr uses, signs registry tokens "
        "like GitLab's /jwt/auth, and deletes tags the way GitLab does with that registry.\n\n"
        'Try it:  eval "$(glcr sandbox up)"  then  glcr repos list --group demo'
    ),
    no_args_is_help=True,
)


def default_state_dir() -> Path:
    """$XDG_STATE_HOME/glcr/sandbox, else ~/.local/state/glcr/sandbox (XDG base directory spec)."""
    from glcr.statedir import state_path

    return Path(state_path("sandbox"))


STATE_DIR = typer.Option(
    None,
    "--state-dir",
    help=(
        "where the sandbox keeps its world, keys and images "
        "(default: $XDG_STATE_HOME/glcr/sandbox, else ~/.local/state/glcr/sandbox)"
    ),
)
REGISTRY = typer.Option(
    None,
    "--registry",
    help=(
        "gitlab: GitLab's own registry with its metadata database (GitLab.com, opted-in installs); "
        "gitlab-legacy: the same registry without it (the self-managed default; no PostgreSQL); "
        "distribution: Debian's docker-registry (a third-party registry). "
        "Default: what the state directory was made with, else gitlab"
    ),
    case_sensitive=False,
)
USER = typer.Option(
    "maintainer", "--user", "-u", help="whose token to export: root (admin), maintainer, developer, reporter"
)


def _require_extra() -> None:
    """Import the sandbox and what it needs beyond glcr; when one is missing, say what to install."""
    from glcr.errors import InvalidInputError

    try:
        import glcr_sandbox.keys  # noqa: F401 (signs tokens with cryptography, the extra's dependency)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in ("glcr_sandbox", "cryptography"):
            raise
        raise InvalidInputError(f"`glcr sandbox` needs {missing}, which is not installed",
                                hint="install glcr[sandbox]: pip install 'glcr[sandbox]'") from None


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _exports(info: dict, user: str) -> str:
    import shlex

    tokens = info.get("tokens", {})
    if user not in tokens:
        raise typer.BadParameter(f"no user {user!r}; choose one of {', '.join(tokens)}", param_hint="--user")
    lines = [f"export GITLAB_URL={info['url']}", f"export GITLAB_TOKEN={tokens[user]}"]
    if info.get("ca_file"):  # --tls: the throwaway CA glcr (and curl, skopeo...) must trust
        lines.append(f"export SSL_CERT_FILE={shlex.quote(info['ca_file'])}")
    return "\n".join(lines)


def _recorded_kind(state_dir: Path) -> str | None:
    """The registry kind a state directory was made with (None: a new directory)."""
    import json

    try:
        data = json.loads((state_dir / "world.json").read_text())
    except (OSError, ValueError):
        return None
    return data.get("registry_kind") or "distribution"  # worlds from before the choice


def _running(state_dir: Path) -> dict | None:
    from glcr_sandbox.daemon import healthy, read_info

    info = read_info(state_dir)
    return info if info and healthy(info) else None


@app.command()
def up(
    state_dir: Optional[Path] = STATE_DIR,
    port: int = typer.Option(0, "--port", help="API port on 127.0.0.1 (0: any free port)"),
    latency_ms: int = typer.Option(0, "--latency-ms", min=0, help="sleep this long before every GitLab API answer"),
    registry_latency_ms: int = typer.Option(0, "--registry-latency-ms", min=0,
                                            help="delay every registry request this long (a relay in front of it)"),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="push the demo images (group demo, project demo/app)"),
    registry: Optional[str] = REGISTRY,
    tls: bool = typer.Option(False, "--tls", help="serve the API and the registry over https with a throwaway "
                                                  "CA (STATE_DIR/tls/ca.pem, exported as SSL_CERT_FILE)"),
    user: str = USER,
) -> None:
    """Start the sandbox in the background; print GITLAB_URL and GITLAB_TOKEN export lines.

    The world and the images persist in the state directory across `down` and `up`. With
    --tls, the GitLab API and the registry serve https with a certificate signed by a throwaway
    CA, and an `export SSL_CERT_FILE=` line names that CA.

    Examples:
      eval "$(glcr sandbox up)"
      eval "$(glcr sandbox up --latency-ms 50 --no-seed)"
      eval "$(glcr sandbox up --registry distribution --state-dir /tmp/sb-third-party)"
      glcr sandbox up --state-dir /tmp/sb --port 8929 --user root
      eval "$(glcr sandbox up --tls --state-dir /tmp/sb-tls)"
    """
    _require_extra()
    from glcr_sandbox.daemon import spawn
    from glcr_sandbox.registry_kinds import KINDS, check_available
    from glcr_sandbox.registry_process import RegistryBinaryMissing

    state_dir = state_dir or default_state_dir()
    made_with = _recorded_kind(state_dir)
    kind = (registry or made_with or "gitlab").lower()
    if kind not in KINDS:
        raise typer.BadParameter(f"{registry!r} is not one of {', '.join(KINDS)}", param_hint="--registry")
    info = _running(state_dir)
    if info:
        running_kind = info.get("registry_kind", "distribution")
        if registry and running_kind != kind:
            _say(f"glcr: the sandbox in {state_dir} runs the {running_kind} registry; "
                 f"stop it first (`glcr sandbox down`) or use another --state-dir")  # fmt: skip
            raise typer.Exit(1)
        if tls != bool(info.get("ca_file")):
            _say(f"glcr: the sandbox in {state_dir} runs {'with' if info.get('ca_file') else 'without'} TLS; "
                 f"stop it first (`glcr sandbox down`) or use another --state-dir")  # fmt: skip
            raise typer.Exit(1)
        _say(f"the sandbox is already running at {info['url']} (state in {state_dir})")
    else:
        if made_with and made_with != kind:
            _say(f"glcr: the state directory {state_dir} holds images of the {made_with} registry; "
                 f"use --registry {made_with}, or another --state-dir")  # fmt: skip
            raise typer.Exit(1)
        try:
            check_available(kind)
        except RegistryBinaryMissing as exc:
            _say(f"glcr: {exc}")
            raise typer.Exit(1) from None
        _say(f"starting the sandbox on the {kind} registry" + (" and pushing the demo images" if seed else "") + " ...")
        try:
            info = spawn(state_dir, port=port, latency_ms=latency_ms, seed=seed,
                         registry_latency_ms=registry_latency_ms, registry_kind=kind, tls=tls)  # fmt: skip
        except RuntimeError as exc:
            _say(f"glcr: {exc}")
            raise typer.Exit(1) from None
        _say(f"sandbox at {info['url']}, {kind} registry at {info['registry_host']}, state in {state_dir}")
        _say("users: root (admin), maintainer, developer, reporter; `glcr sandbox env --user root` for another token")
    typer.echo(_exports(info, user))


@app.command()
def env(state_dir: Optional[Path] = STATE_DIR, user: str = USER) -> None:
    """Print the export lines of a running sandbox again.

    Examples:
      eval "$(glcr sandbox env)"
      eval "$(glcr sandbox env --user root)"
    """
    _require_extra()
    state_dir = state_dir or default_state_dir()
    info = _require_running(state_dir, "the sandbox is not running; start it with `glcr sandbox up`")
    typer.echo(_exports(info, user))


def _require_running(state_dir: Path, message: str) -> dict:
    """The running sandbox's info, or the message on stderr and exit 1."""
    info = _running(state_dir)
    if not info:
        _say(message)
        raise typer.Exit(1)
    return info


@app.command()
def status(state_dir: Optional[Path] = STATE_DIR) -> None:
    """Show whether the sandbox runs, where, and what it holds (exit 1 when it is down).

    Example:
      glcr sandbox status
    """
    _require_extra()
    import httpx

    state_dir = state_dir or default_state_dir()
    info = _require_running(state_dir, f"the sandbox is not running (state in {state_dir})")
    from glcr_sandbox.tls import verify_for_ca

    world = httpx.get(f"{info['url']}/-/sandbox/state", timeout=10, verify=verify_for_ca(info.get("ca_file"))).json()
    typer.echo(f"url:           {info['url']}")
    typer.echo(f"registry:      {info['registry_host']} ({info.get('registry_kind', 'distribution')})")
    typer.echo(f"pid:           {info['pid']}")
    typer.echo(f"state dir:     {state_dir}")
    typer.echo(f"projects:      {len(world['projects'])}")
    typer.echo(f"repositories:  {len(world['repositories'])}")
    typer.echo(f"latency (ms):  {world['config']['latency_ms']}")


@app.command("seed")
def seed_cmd(state_dir: Optional[Path] = STATE_DIR,
             in_use: bool = typer.Option(False, "--in-use",
                                         help="also give demo/app deployments, an open merge request, releases "
                                              "and protected branches pointing at its images"),
             projects: int = typer.Option(0, "--projects", min=0, max=100_000,
                                          help="instead: a group of this many projects (shared layers)"),
             tags: int = typer.Option(20, "--tags", min=1, max=100_000, help="with --projects: tags per project"),
             group: str = typer.Option("demo/fleet", "--group", help="with --projects: the group to create")) -> None:
    """Push the demo images into a running sandbox (again): demo/app, demo/app/api, demo/app/web.

    With --projects N --tags M: a group of N projects of M tags each instead, over a few images
    every project shares, half of them with a saved cleanup policy (for group runs and benchmarks).

    Example:
      glcr sandbox seed
      glcr sandbox seed --in-use   # then: glcr cleanup dry-run demo/app --name-regex '.*' --older-than 30d --keep-releases
      glcr sandbox seed --projects 200 --tags 20   # then: glcr cleanup dry-run --group demo/fleet
    """
    _require_extra()
    from glcr_sandbox.keys import SigningKey
    from glcr_sandbox.registry_client import RegistryClient
    from glcr_sandbox.seed import seed_demo

    state_dir = state_dir or default_state_dir()
    info = _require_running(state_dir, "the sandbox is not running; start it with `glcr sandbox up`")
    key = SigningKey.load_or_create(state_dir / "keys")
    from glcr_sandbox.tls import verify_for_ca

    verify = verify_for_ca(info.get("ca_file"))
    if projects:
        from glcr_sandbox.seed import seed_group

        with RegistryClient(info["registry_url"], key, verify=verify) as registry:
            seeded = seed_group(info["url"], registry, token=info["root_token"], group=group, projects=projects,
                                tags=tags)
        typer.echo(f"{group}: {len(seeded['projects'])} projects x {tags} tags, "
                   f"{len(seeded['with_policy'])} with a saved cleanup policy")
        return
    with RegistryClient(info["registry_url"], key, verify=verify) as registry:
        pushed = seed_demo(info["url"], registry)
    for repo, tags in pushed.items():
        typer.echo(f"{info['registry_host']}/{repo}: {len(tags)} tags")
    if in_use:
        from glcr_sandbox.seed import seed_in_use

        history = seed_in_use(info["url"])
        typer.echo(f"demo/app: {len(history['deployments'])} deployments, {len(history['merge_requests'])} merge "
                   f"requests, {len(history['releases'])} releases, {len(history['branches'])} branches")


@app.command()
def down(state_dir: Optional[Path] = STATE_DIR) -> None:
    """Stop the sandbox (its world and images stay in the state directory).

    Example:
      glcr sandbox down
    """
    _require_extra()
    from glcr_sandbox.daemon import stop

    state_dir = state_dir or default_state_dir()
    _say("sandbox stopped" if stop(state_dir) else "the sandbox was not running")
