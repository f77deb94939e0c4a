"""`glcr cleanup`: what GitLab's cleanup policy would delete, tag by tag; and doing it now."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from glcr.cli.complete import complete_repository
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, PROJECT, YES
from glcr.render.format import OutputFormat

app = typer.Typer(help="Simulate and apply GitLab's cleanup policy.", no_args_is_help=True)


class VariantChoice(str, Enum):
    AUTO = "auto"
    GITLAB = "gitlab"
    THIRD_PARTY = "third-party"


def _common(ctx: typer.Context, project: str, repo: Optional[str], name_regex, name_regex_keep, keep_n,
            older_than, variant: VariantChoice, max_list_size: int):
    from datetime import datetime, timezone

    from rich.markup import escape

    from glcr.api.cleanup import effective_params, simulate_cleanup
    from glcr.policy import Variant, describe_params
    from glcr.policy.validate import validate_policy_fields

    overrides = {"name_regex": name_regex, "name_regex_keep": name_regex_keep, "keep_n": keep_n,
                 "older_than": older_than}
    # The flags are checked as GitLab checks a policy it runs, before the saved one is read.
    validate_policy_fields({k: v for k, v in overrides.items() if v is not None},
                           enabled=True).raise_for_errors("this policy cannot run")
    app_ctx = app_context(ctx)
    params, warnings, enabled = effective_params(app_ctx.credentials(), project, overrides)
    console = app_ctx.stderr()
    note = {False: "  [dim](saved policy is disabled)[/dim]", None: "  [dim](from the flags only)[/dim]"}.get(enabled, "")
    console.print(f"Policy: {escape(describe_params(params))}{note}")
    for warning in warnings:
        app_ctx.warn(warning)
    chosen = {VariantChoice.AUTO: None, VariantChoice.GITLAB: Variant.GITLAB_API,
              VariantChoice.THIRD_PARTY: Variant.THIRD_PARTY}[variant]
    now = datetime.now(timezone.utc)

    def seen(repository, count):
        console.print(f"  {repository.path}: {count} tags")

    project_obj, items = app_ctx.run(lambda s: simulate_cleanup(
        s, project, params, now=now, repository=repo, variant=chosen, max_list_size=max_list_size, on_repository=seen))
    for item in items:
        label = item.result.summary.variant.value
        console.print(f"  {item.repository.path}: simulated the {label} variant (registry: {item.kind.label})")
    return app_ctx, params, project_obj, items, now


REPO = typer.Option(None, "--repo", help="only this repository path", autocompletion=complete_repository)
NAME_REGEX = typer.Option(None, "--name-regex", help="override the policy's name_regex")
NAME_REGEX_KEEP = typer.Option(None, "--name-regex-keep", help="override name_regex_keep")
KEEP_N = typer.Option(None, "--keep-n", help="override keep_n")
OLDER_THAN = typer.Option(None, "--older-than", help="override older_than")
VARIANT = typer.Option(VariantChoice.AUTO, "--variant", help="auto: detected from the registry")
# GitLab's default for container_registry_cleanup_tags_service_max_list_size.
DEFAULT_MAX_LIST_SIZE = 200
MAX_LIST = typer.Option(DEFAULT_MAX_LIST_SIZE, "--max-list-size", min=0,
                        help="GitLab's container_registry_cleanup_tags_service_max_list_size (third-party registries)")


@app.command("dry-run")
def dry_run(ctx: typer.Context, project: str = PROJECT,
            repo: Optional[str] = REPO, name_regex: Optional[str] = NAME_REGEX,
            name_regex_keep: Optional[str] = NAME_REGEX_KEEP, keep_n: Optional[int] = KEEP_N,
            older_than: Optional[str] = OLDER_THAN, variant: VariantChoice = VARIANT, max_list_size: int = MAX_LIST,
            output: OutputFormat = OUTPUT) -> None:
    """Exactly which tags GitLab's cleanup would delete, and why, tag by tag. Changes nothing.

    Uses the saved policy; the flags override it, to try a policy before saving it.

    Examples:
      glcr cleanup dry-run mygroup/app
      glcr cleanup dry-run mygroup/app --name-regex '.*' --keep-n 5 --older-than 30d
      glcr cleanup dry-run mygroup/app -o json | jq '.[] | select(.action=="delete") | .name'
    """
    from glcr.render.policy import render_cleanup

    _, _, _, items, _ = _common(ctx, project, repo, name_regex, name_regex_keep, keep_n, older_than, variant,
                                max_list_size)
    render_cleanup([(i.repository.path, i.result) for i in items], output)


@app.command()
def run(ctx: typer.Context, project: str = PROJECT,
        repo: Optional[str] = REPO, name_regex: Optional[str] = NAME_REGEX,
        name_regex_keep: Optional[str] = NAME_REGEX_KEEP, keep_n: Optional[int] = KEEP_N,
        older_than: Optional[str] = OLDER_THAN, variant: VariantChoice = VARIANT, max_list_size: int = MAX_LIST,
        state_dir: Optional[Path] = typer.Option(None, "--state-dir", help="where plans and journals go"),
        yes: bool = YES) -> None:
    """Apply the policy's decisions now, client-side, journaled and resumable.

    For projects whose server-side cleanup times out, is rate-limited or stops on expired tokens.
    Third-party registries: all candidates at once (no random truncation).

    Examples:
      glcr cleanup run mygroup/app            # shows the dry-run, then asks
      glcr cleanup run mygroup/app --yes      # in a scheduled CI job
    """
    from glcr.errors import PartialFailureError
    from glcr.api.cleanup import apply_cleanup
    from glcr.policy import describe_params
    from glcr.render.policy import render_cleanup
    from glcr.render.progress import counting_progress

    app_ctx, params, project_obj, items, now = _common(ctx, project, repo, name_regex, name_regex_keep, keep_n,
                                                       older_than, variant, max_list_size)
    render_cleanup([(i.repository.path, i.result) for i in items], OutputFormat.TABLE, verbose=False)
    total = sum(i.result.summary.delete for i in items)
    if total == 0:
        app_ctx.say("Nothing to delete.")
        return
    app_ctx.confirm(f"Delete {total} tag(s) from {project_obj.path_with_namespace}?", yes)
    base = state_dir or _default_state_dir(project_obj.path_with_namespace)
    console = app_ctx.stderr()
    failed = 0
    # The same command resumes: each repository's plan and journal in `base` skip what is done.
    resume = ("cleanup", "run", project, *_flag("--repo", repo), *_flag("--name-regex", name_regex),
              *_flag("--name-regex-keep", name_regex_keep), *_flag("--keep-n", keep_n),
              *_flag("--older-than", older_than),
              *_flag("--variant", None if variant is VariantChoice.AUTO else variant.value),
              *_flag("--max-list-size", None if max_list_size == DEFAULT_MAX_LIST_SIZE else max_list_size),
              *_flag("--state-dir", state_dir), "--yes")
    for item in (i for i in items if i.result.summary.delete):
        async def work(session, item=item):
            with counting_progress(console, f"Deleting from {item.repository.path}") as bar:
                bar.set_total(item.result.summary.delete)
                return await apply_cleanup(session, project_obj, item, now, describe_params(params), base,
                                           on_result=lambda r: bar.advance())

        with app_ctx.resumable(*resume, journal=base):
            summary, journal = app_ctx.run(work)
        failed += summary.failed
        console.print(f"{item.repository.path}: deleted {summary.deleted}, already absent {summary.already_absent}, "
                      f"stale {summary.stale}, failed {summary.failed}  (journal {journal})", markup=False)
    if failed:
        raise PartialFailureError(f"{failed} tag(s) failed", hint="run the same command again to retry")


def _flag(name: str, value) -> tuple:
    return () if value is None else (name, value)


def _default_state_dir(project_path: str) -> Path:
    import os

    root = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return root / "glcr" / "cleanup" / project_path.replace("/", "__")
