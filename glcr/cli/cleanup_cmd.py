"""`glcr cleanup`: what GitLab's cleanup policy would delete, tag by tag; and doing it now."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from glcr.cli.complete import complete_repository
from glcr.cli.context import app_context
from glcr.cli.inuse_options import (
    KEEP_DEPLOYED,
    KEEP_DEPLOYED_LAST,
    KEEP_IMAGES_FROM,
    KEEP_OPEN_MRS,
    KEEP_PROTECTED,
    KEEP_RELEASES,
    KEEP_TEMPLATE,
)
from glcr.cli.group_cleanup import GROUP, JUNIT, PROJECT_JOBS, RUN_ID, SHARD, SUBGROUPS
from glcr.cli.options import OUTPUT, PROJECT_OR_GROUP, YES
from glcr.render.format import OutputFormat

app = typer.Typer(help="Simulate and apply GitLab's cleanup policy.", no_args_is_help=True)


class VariantChoice(str, Enum):
    AUTO = "auto"
    GITLAB = "gitlab"
    THIRD_PARTY = "third-party"


def _simulation_args(ctx: typer.Context, project: Optional[str], repo: Optional[str], name_regex, name_regex_keep, keep_n,
                     older_than, variant: VariantChoice, max_list_size: int):
    """The flags checked (before anything is read), and the keywords of glcr.api.cleanup's calls."""
    from datetime import datetime, timezone

    from rich.markup import escape

    from glcr.cli.options import refuse_empty
    from glcr.durations import parse_age_option
    from glcr.policy import Variant, describe_params
    from glcr.policy.validate import validate_policy_fields

    # One age parser for every command: '' and `30` are refused here with the same words as in
    # `tags plan`, before the check against GitLab's set of policy values below.
    parse_age_option(older_than)
    # An empty override would replace the saved policy's keep regex: it fails closed.
    refuse_empty("--name-regex-keep", name_regex_keep, "it would replace the policy's keep regex with none")
    overrides = {"name_regex": name_regex, "name_regex_keep": name_regex_keep, "keep_n": keep_n,
                 "older_than": older_than}
    # The flags are checked as GitLab checks a policy it runs, before the saved one is read.
    validate_policy_fields({k: v for k, v in overrides.items() if v is not None},
                           enabled=True).raise_for_errors("this policy cannot run")
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()

    def on_policy(policy) -> None:
        note = {False: "  [dim](saved policy is disabled)[/dim]",
                None: "  [dim](from the flags only)[/dim]"}.get(policy.enabled, "")
        console.print(f"Policy: {escape(describe_params(policy.params))}{note}")
        for warning in policy.warnings:
            app_ctx.warn(warning)

    def seen(repository, count):
        console.print(f"  {repository.path}: {count} tags")

    chosen = {VariantChoice.AUTO: None, VariantChoice.GITLAB: Variant.GITLAB_API,
              VariantChoice.THIRD_PARTY: Variant.THIRD_PARTY}[variant]
    return app_ctx, dict(overrides=overrides, now=datetime.now(timezone.utc), repository=repo, variant=chosen,
                         max_list_size=max_list_size, on_policy=on_policy, on_repository=seen)


def _say_variants(console, simulation) -> None:
    for item in simulation.items:
        label = item.result.summary.variant.value
        console.print(f"  {item.repository.path}: simulated the {label} variant (registry: {item.kind.label})")


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
def dry_run(ctx: typer.Context, project: Optional[str] = PROJECT_OR_GROUP,
            repo: Optional[str] = REPO, name_regex: Optional[str] = NAME_REGEX,
            name_regex_keep: Optional[str] = NAME_REGEX_KEEP, keep_n: Optional[int] = KEEP_N,
            older_than: Optional[str] = OLDER_THAN, variant: VariantChoice = VARIANT, max_list_size: int = MAX_LIST,
            keep_deployed: bool = KEEP_DEPLOYED, keep_deployed_last: Optional[int] = KEEP_DEPLOYED_LAST,
            keep_open_mrs: bool = KEEP_OPEN_MRS, keep_releases: bool = KEEP_RELEASES,
            keep_protected_branches: bool = KEEP_PROTECTED, keep_images_from: Optional[str] = KEEP_IMAGES_FROM,
            keep_template: Optional[List[str]] = KEEP_TEMPLATE,
            group: Optional[str] = GROUP, include_subgroups: bool = SUBGROUPS, shard: Optional[str] = SHARD,
            junit: Optional[Path] = JUNIT, project_jobs: int = PROJECT_JOBS,
            output: OutputFormat = OUTPUT) -> None:
    """Exactly which tags GitLab's cleanup would delete, and why, tag by tag. Changes nothing.

    Uses the saved policy; the flags override it, to try a policy before saving it.

    Examples:
      glcr cleanup dry-run mygroup/app
      glcr cleanup dry-run mygroup/app --name-regex '.*' --keep-n 5 --older-than 30d
      glcr cleanup dry-run mygroup/app -o json | jq '.[] | select(.action=="delete") | .name'
      glcr cleanup dry-run mygroup/app --keep-deployed --keep-open-mrs --keep-releases
      glcr cleanup dry-run --group mygroup --include-subgroups -o json
    """
    from glcr.api.cleanup import simulate_policy
    from glcr.cli.group_cleanup import check_target, run_group
    from glcr.cli.inuse_options import in_use_options, say_in_use
    from glcr.render.policy import render_cleanup

    app_ctx, args = _simulation_args(ctx, project, repo, name_regex, name_regex_keep, keep_n, older_than, variant,
                                     max_list_size)
    check_target(project, group, shard, junit)
    args["in_use"] = in_use_options(keep_deployed, keep_deployed_last, keep_open_mrs, keep_releases,
                                    keep_protected_branches, keep_images_from, keep_template)
    if group:
        run_group(app_ctx, group, args, apply=False, include_subgroups=include_subgroups, shard=shard, junit=junit,
                  project_jobs=project_jobs, output=output)
        return
    assert project is not None  # check_target: a PROJECT when there is no --group
    simulation = app_ctx.run(lambda s: simulate_policy(s, project, **args))
    _say_variants(app_ctx.stderr(), simulation)
    say_in_use(app_ctx, simulation)
    _say_referrers(app_ctx, simulation)
    render_cleanup([(i.repository.path, i.result) for i in simulation.items], output)


@app.command()
def run(ctx: typer.Context, project: Optional[str] = PROJECT_OR_GROUP,
        repo: Optional[str] = REPO, name_regex: Optional[str] = NAME_REGEX,
        name_regex_keep: Optional[str] = NAME_REGEX_KEEP, keep_n: Optional[int] = KEEP_N,
        older_than: Optional[str] = OLDER_THAN, variant: VariantChoice = VARIANT, max_list_size: int = MAX_LIST,
        keep_deployed: bool = KEEP_DEPLOYED, keep_deployed_last: Optional[int] = KEEP_DEPLOYED_LAST,
        keep_open_mrs: bool = KEEP_OPEN_MRS, keep_releases: bool = KEEP_RELEASES,
        keep_protected_branches: bool = KEEP_PROTECTED, keep_images_from: Optional[str] = KEEP_IMAGES_FROM,
        keep_template: Optional[List[str]] = KEEP_TEMPLATE,
        state_dir: Optional[Path] = typer.Option(None, "--state-dir", help="where plans and journals go"),
        keep_orphan_referrers: bool = typer.Option(
            False, "--keep-orphan-referrers",
            help="keep the signatures, attestations and SBOMs of the images this run deletes"),
        group: Optional[str] = GROUP, include_subgroups: bool = SUBGROUPS, shard: Optional[str] = SHARD,
        junit: Optional[Path] = JUNIT, project_jobs: int = PROJECT_JOBS, run_id: str = RUN_ID,
        output: OutputFormat = OUTPUT, yes: bool = YES) -> None:
    """Apply the policy's decisions now, client-side, journaled and resumable.

    For projects whose server-side cleanup times out, is rate-limited or stops on expired tokens.
    Third-party registries: all candidates at once (no random truncation). Unlike GitLab's run,
    a signature, attestation or SBOM (`sha256-<digest>.sig|.att|.sbom`, OCI referrers tags)
    stays while its image keeps a tag, and goes after its image when the run deletes the image's
    last tag (not with --keep-orphan-referrers).

    Examples:
      glcr cleanup run mygroup/app            # shows the dry-run, then asks
      glcr cleanup run mygroup/app --yes      # in a scheduled CI job
      glcr cleanup run mygroup/app --keep-deployed --keep-open-mrs --keep-releases --yes
      glcr cleanup run --group mygroup --yes  # every project under its own policy; resumable
    """
    from glcr.errors import PartialFailureError
    from glcr.api.cleanup import CleanupSimulation, RepositoryApplied, default_state_dir, run_policy
    from glcr.cli.ui import ConsoleUI
    from glcr.cli.inuse_options import in_use_options, resume_flags, say_in_use
    from glcr.render.policy import render_cleanup
    from glcr.statedir import check_directory, state_path

    from glcr.cli.group_cleanup import check_target

    check_target(project, group, shard, junit)
    app_ctx, args = _simulation_args(ctx, project, repo, name_regex, name_regex_keep, keep_n, older_than, variant,
                                     max_list_size)
    in_use_flags = (keep_deployed, keep_deployed_last, keep_open_mrs, keep_releases, keep_protected_branches,
                    keep_images_from, keep_template)
    args["in_use"] = in_use_options(*in_use_flags)
    # Plans and journals go there: an unusable place is refused before the policy is read.
    check_directory(state_dir or state_path("cleanup", env=app_ctx.env), "state directory", "--state-dir")
    if group:
        _run_group(app_ctx, group, args, in_use_flags, name_regex=name_regex, name_regex_keep=name_regex_keep,
                   keep_n=keep_n, older_than=older_than, variant=variant, max_list_size=max_list_size,
                   include_subgroups=include_subgroups, shard=shard, junit=junit, project_jobs=project_jobs,
                   output=output, state_dir=state_dir, run_id=run_id, yes=yes)
        return
    assert project is not None  # check_target: a PROJECT when there is no --group
    console = app_ctx.stderr()
    journals: dict = {}

    def review(simulation) -> None:
        _say_variants(console, simulation)
        render_cleanup([(i.repository.path, i.result) for i in simulation.items], OutputFormat.TABLE, verbose=False)
        say_in_use(app_ctx, simulation)
        if simulation.to_delete == 0:
            app_ctx.say("Nothing to delete.")
        journals["base"] = state_dir or default_state_dir(simulation.project.path_with_namespace, app_ctx.env)

    def applied(outcome: RepositoryApplied) -> None:
        summary = outcome.summary
        console.print(f"{outcome.repository.path}: deleted {summary.deleted}, already absent {summary.already_absent}, "
                      f"stale {summary.stale}, failed {summary.failed}  (journal {outcome.journal})", markup=False)

    ui = ConsoleUI(app_ctx, yes=yes, console=console, reviews={CleanupSimulation: review, RepositoryApplied: applied})
    # The same command resumes: each repository's plan and journal in the state dir skip what is done.
    resume = ("cleanup", "run", project, *_flag("--repo", repo), *_flag("--name-regex", name_regex),
              *_flag("--name-regex-keep", name_regex_keep), *_flag("--keep-n", keep_n),
              *_flag("--older-than", older_than),
              *_flag("--variant", None if variant is VariantChoice.AUTO else variant.value),
              *_flag("--max-list-size", None if max_list_size == DEFAULT_MAX_LIST_SIZE else max_list_size),
              *_flag("--state-dir", state_dir), *resume_flags(*in_use_flags),
              *(("--keep-orphan-referrers",) if keep_orphan_referrers else ()), "--yes")
    with app_ctx.resumable(*resume, journal=lambda: journals.get("base")):
        outcome = app_ctx.run(lambda s: run_policy(
            s, project, ui=ui, state_dir=state_dir, env=app_ctx.env, keep_orphan_referrers=keep_orphan_referrers,
            **args))
    _say_undo(console, outcome)
    if outcome.failed:
        raise PartialFailureError(f"{outcome.failed} tag(s) failed", hint="run the same command again to retry")


def _say_undo(console, outcome) -> None:
    """The one line that puts back what this run deleted, and how long it can."""
    from glcr.api.restore import gc_note, restore_line
    from glcr.plan.backup import backup_path
    from glcr.render.restore import render_undo

    deleted = [a for a in outcome.applied if a.summary.deleted]
    if not deleted:
        return
    kinds = {i.repository.path: i.kind for i in outcome.simulation.items}
    line = restore_line(backup_path(deleted[0].journal) if len(deleted) == 1 else None)
    render_undo(console, line, gc_note(kinds.get(deleted[0].repository.path)))


def _run_group(app_ctx, group, args, in_use_flags, *, name_regex, name_regex_keep, keep_n, older_than, variant,
               max_list_size, include_subgroups, shard, junit, project_jobs, output, state_dir, run_id, yes) -> None:
    from glcr.cli.group_cleanup import run_group
    from glcr.cli.inuse_options import resume_flags
    from glcr.statedir import state_path

    whose = f"{group} and its subgroups" if include_subgroups else group
    app_ctx.confirm(f"Delete the tags each policy selects in every project of {whose}?", yes)
    base = state_dir or Path(state_path("cleanup-group", group.strip("/").replace("/", "__"), env=app_ctx.env))
    resume = ("cleanup", "run", "--group", group, *(("--include-subgroups",) if include_subgroups else ()),
              *_flag("--shard", shard), *_flag("--run-id", run_id or None), *_flag("--name-regex", name_regex),
              *_flag("--name-regex-keep", name_regex_keep), *_flag("--keep-n", keep_n),
              *_flag("--older-than", older_than),
              *_flag("--variant", None if variant is VariantChoice.AUTO else variant.value),
              *_flag("--max-list-size", None if max_list_size == DEFAULT_MAX_LIST_SIZE else max_list_size),
              *_flag("--state-dir", state_dir), *resume_flags(*in_use_flags), "--yes")
    run_group(app_ctx, group, args, apply=True, include_subgroups=include_subgroups, shard=shard, junit=junit,
              project_jobs=project_jobs, output=output, state_dir=base, run_id=run_id, resume_args=resume)


def _flag(name: str, value) -> tuple:
    return () if value is None else (name, value)


@app.command("merge-reports")
def merge_reports(ctx: typer.Context,
                  reports: List[Path] = typer.Argument(..., help="JSON-lines reports of `--group ... -o json` runs"),
                  junit: Optional[Path] = JUNIT, title: str = typer.Option("glcr cleanup", "--title"),
                  output: OutputFormat = OUTPUT) -> None:
    """One summary of several group runs' reports (the shards of `glcr ci-template --shards`).

    Examples:
      glcr cleanup merge-reports reports/shard-*.jsonl --junit reports/summary.xml
    """
    from glcr.cli.group_cleanup import merge_reports as merge

    merge(app_context(ctx), reports, junit=junit, output=output, title=title)


def _say_referrers(app_ctx, simulation) -> None:
    """What GitLab's run would do to signatures, attestations and SBOMs (the decisions stay exact)."""
    from glcr.reference import short_digest

    for path, warnings in simulation.referrer_warnings:
        for referrer, subject, kept in warnings.deleted_while_kept:
            app_ctx.warn(f"{path}: GitLab's cleanup deletes {referrer}, a referrer of {short_digest(subject)}, "
                         f"while the image stays ({', '.join(kept[:3]) or 'in a kept index'}); "
                         "`glcr cleanup run` keeps it")
        for images, subject, left in warnings.left_behind:
            app_ctx.warn(f"{path}: GitLab's cleanup deletes {', '.join(images[:3]) or short_digest(subject)} and "
                         f"leaves its referrer(s) {', '.join(left[:3])}{' ...' if len(left) > 3 else ''} behind; "
                         "`glcr cleanup run` deletes them after the image")
