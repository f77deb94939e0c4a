"""The --keep-* options of the cleanup commands (never delete what is in use), and what they say.

`--keep-deployed` keeps each environment's last successful deployment; `--keep-deployed-last N`
the last N (the CLI library has no options with an optional value, so no `--keep-deployed=N`).
"""

from __future__ import annotations

from typing import List, Optional

import typer

KEEP_DEPLOYED = typer.Option(False, "--keep-deployed",
                             help="keep what each available environment runs: its last successful deployment")
KEEP_DEPLOYED_LAST = typer.Option(None, "--keep-deployed-last", metavar="N",
                                  help="keep each environment's last N successful deployments (implies --keep-deployed)")
KEEP_OPEN_MRS = typer.Option(False, "--keep-open-mrs", help="keep the head commit and source branch of open merge requests")
KEEP_RELEASES = typer.Option(False, "--keep-releases", help="keep every release's tag and commit")
KEEP_PROTECTED = typer.Option(False, "--keep-protected-branches",
                              help="keep the heads of protected branches (wildcards expanded) and of the default branch")
KEEP_IMAGES_FROM = typer.Option(None, "--keep-images-from", metavar="FILE|-",
                                help="keep these image references (by tag or @digest; whitespace-separated, "
                                     "e.g. kubectl get pods -A -o jsonpath='{..imageID}')")
KEEP_TEMPLATE = typer.Option(None, "--keep-template", metavar="TEMPLATE",
                             help="another tag scheme: {sha} {short_sha} {ref_slug} {tag} and *, e.g. '{ref_slug}.{short_sha}'")


def in_use_options(deployed: bool, deployed_last: Optional[int], open_mrs: bool, releases: bool,
                   protected_branches: bool, images_from: Optional[str], templates: Optional[List[str]]):
    """The flags checked, as glcr.api.inuse.InUseOptions (None: no flag given)."""
    import sys

    from glcr.api.inuse import options_from_flags

    return options_from_flags(deployed=deployed, deployed_last=deployed_last, open_mrs=open_mrs, releases=releases,
                              protected_branches=protected_branches, images_from=images_from,
                              templates=templates or (), read_stdin=sys.stdin.read)


def resume_flags(deployed: bool, deployed_last: Optional[int], open_mrs: bool, releases: bool,
                 protected_branches: bool, images_from: Optional[str], templates: Optional[List[str]]) -> tuple:
    """The same flags again, for the resume line."""
    out: list = []
    out += ["--keep-deployed"] if deployed else []
    out += ["--keep-deployed-last", deployed_last] if deployed_last is not None else []
    out += ["--keep-open-mrs"] if open_mrs else []
    out += ["--keep-releases"] if releases else []
    out += ["--keep-protected-branches"] if protected_branches else []
    out += ["--keep-images-from", images_from] if images_from is not None else []
    for template in templates or ():
        out += ["--keep-template", template]
    return tuple(out)


def say_in_use(app_ctx, simulation) -> None:
    """To stderr: what was kept because it is in use, and why; or, without the flags, the in-use
    tags GitLab's own schedule would delete, with the name_regex_keep that would save them."""
    report = simulation.in_use
    if report is None:
        return
    console = app_ctx.stderr()

    def say(text: str) -> None:  # one line each, never wrapped: tags and regexes are copied from here
        console.print(text, markup=False, soft_wrap=True)

    if report.warning_mode:
        for problem in report.unread:
            say(f"note: could not check what is in use: {problem}")
        if not report.at_risk:
            return
        app_ctx.warn(f"GitLab's scheduled cleanup would delete {len(report.at_risk)} tag(s) still in use:")
        for path, name, whys in report.at_risk:
            say(f"  {path}:{name}  in use: {'; '.join(whys)}")
        say(f"  To save them, set name_regex_keep to {report.suggestion}")
        say("  (glcr policy set PROJECT --name-regex-keep '...'), or disable the schedule and run "
            "`glcr cleanup run --keep-deployed --keep-open-mrs --keep-releases --yes` in a scheduled CI job.")
        return
    say_kept(app_ctx, report.options, report.kept, found=report.found)


def say_kept(app_ctx, options, kept, *, found: int | None = None) -> None:
    """`kept`: [(repository path, tag, whys)] that would have been deleted."""
    console = app_ctx.stderr()
    counted = f"{found} found; " if found is not None else ""
    console.print(f"In use ({options.describe()}): {counted}{len(kept)} tag(s) that would go are kept.",
                  markup=False, soft_wrap=True)
    for path, name, whys in kept:
        console.print(f"  kept {path}:{name}  in use: {'; '.join(whys)}", markup=False, soft_wrap=True)
