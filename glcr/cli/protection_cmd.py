"""`glcr protection`: a project's container tag protection rules (GitLab 18.7+)."""

from __future__ import annotations

from typing import Optional

import typer

from glcr.cli.complete import complete_project
from glcr.cli.context import app_context
from glcr.cli.options import OUTPUT, YES
from glcr.render.format import OutputFormat

app = typer.Typer(help="A project's container tag protection rules (who may push and delete which tags).",
                  no_args_is_help=True)

PROJECT = typer.Argument(..., help="project path or id", autocompletion=complete_project)
RULE = typer.Argument(..., help="the rule's id, or its exact pattern")
LEVELS = "maintainer, owner or admin"


def _show_matches(app_ctx, pattern: str, matches, console) -> None:
    """What the pattern matches among the project's tags now (nothing when they were unreadable)."""
    from glcr.policy.protection import anchoring_hint
    from glcr.render.protection import render_matching_tags

    hint = anchoring_hint(pattern)
    if hint:
        app_ctx.warn(hint)
    if matches is not None:
        render_matching_tags(matches, console)


@app.command("list")
def list_(ctx: typer.Context, project: str = PROJECT, output: OutputFormat = OUTPUT) -> None:
    """List the rules: pattern, and the lowest role that may push and delete matching tags.

    Read through GitLab's GraphQL API (17.8+), which shows immutable rules (Ultimate) too, marked
    `immutable`; else through REST (18.7+), which shows mutable rules only. Reading them needs
    the Maintainer role. On a GitLab with neither, glcr says so and lists none.

    Examples:
      glcr protection list mygroup/app
      glcr protection list mygroup/app -o json | jq '.[].tag_name_pattern'
    """
    from glcr.api.protection import OLD_GITLAB, project_rules
    from glcr.render.protection import render_rules

    app_ctx = app_context(ctx)
    found = app_ctx.run(lambda s: project_rules(s, project))
    if found.rules is None:
        app_ctx.say(f"note: {OLD_GITLAB}")
        render_rules(found.project_path, [], output, note="no rules API on this GitLab")
        return
    if found.note:
        app_ctx.say(f"note: {found.note}")
    render_rules(found.project_path, list(found.rules), output)


@app.command()
def add(
    ctx: typer.Context,
    project: str = PROJECT,
    pattern: str = typer.Argument(..., help="RE2 searched in the tag name (unanchored: ^...$ for a whole name)"),
    push: Optional[str] = typer.Option(None, "--push",
                                       help=f"lowest role that may push matching tags: {LEVELS} (default maintainer)"),
    delete: Optional[str] = typer.Option(None, "--delete",
                                         help=f"lowest role that may delete them: {LEVELS} (default maintainer)"),
    immutable: bool = typer.Option(False, "--immutable",
                                   help="an immutable rule: nobody may delete or overwrite matching tags "
                                        "(GitLab 18.2+, Ultimate, Owner)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show what would be sent; send nothing"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Add a rule, checked before anything is sent.

    The checks: RE2, at most 100 characters, the roles, and at most 5 rules in the project
    (immutable ones count).

    GitLab's cleanup policy never deletes a tag a rule matches; a user below the delete role
    cannot delete it, nor push it below the push role. An immutable rule (--immutable, created
    through GraphQL) lets new matching tags be pushed but nobody overwrite or delete them; GitLab
    ignores it without the Ultimate licence.

    Examples:
      glcr protection add mygroup/app '^v\\d+\\.\\d+\\.\\d+$' --push maintainer --delete owner
      glcr protection add mygroup/app '^release-' --delete admin --dry-run
      glcr protection add mygroup/app '^v1\\.' --immutable
    """
    from glcr.api.protection import add_rule
    from glcr.policy.protection import validate_new_rule
    from glcr.render.protection import render_rule

    validate_new_rule(pattern, push, delete, (), immutable=immutable)  # bad input fails before any request
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    done = app_ctx.run(lambda s: add_rule(s, project, pattern, push, delete, dry_run=dry_run, immutable=immutable,
                                          review=lambda body, matches: _show_matches(app_ctx, pattern, matches,
                                                                                     console)))
    if not done.sent:
        body = done.body
        levels = ("immutable" if immutable else f"push: {body['minimum_access_level_for_push']}, delete: "
                                                f"{body['minimum_access_level_for_delete']}")
        app_ctx.say(f"Would add to {done.project_path}: `{body['tag_name_pattern']}` ({levels}). Nothing sent.")
        return
    render_rule(done.after, output, f"Added to {done.project_path}:", console)


@app.command()
def update(
    ctx: typer.Context,
    project: str = PROJECT,
    rule: str = RULE,
    pattern: Optional[str] = typer.Option(None, "--pattern", help="new RE2 pattern"),
    push: Optional[str] = typer.Option(None, "--push", help=f"new lowest role to push: {LEVELS}"),
    delete: Optional[str] = typer.Option(None, "--delete", help=f"new lowest role to delete: {LEVELS}"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show the change; send nothing"),
    yes: bool = YES,
    output: OutputFormat = OUTPUT,
) -> None:
    """Change a rule's pattern or roles; shows before and after, then asks (--yes in scripts).

    Examples:
      glcr protection update mygroup/app 3 --delete owner
      glcr protection update mygroup/app '^v1\\.' --pattern '^v1\\.\\d+' --yes
    """
    from glcr.api.protection import update_rule
    from glcr.policy.protection import validate_pattern
    from glcr.render.protection import render_rule, render_rule_change

    if pattern is not None:
        validate_pattern(pattern)
    app_ctx = app_context(ctx)
    console = app_ctx.stderr()

    def review(before, body, matches) -> None:
        render_rule_change(before, body, console)
        if pattern is not None and pattern != before.pattern:
            _show_matches(app_ctx, pattern, matches, console)

    done = app_ctx.run(lambda s: update_rule(s, project, rule, pattern=pattern, push=push, delete=delete,
                                             review=review, confirm=lambda question: app_ctx.confirm(question, yes),
                                             dry_run=dry_run))
    if not done.sent:
        console.print("Nothing sent.")
        return
    render_rule(done.after, output, "Updated", console)


@app.command()
def remove(
    ctx: typer.Context,
    project: str = PROJECT,
    rule: str = RULE,
    dry_run: bool = typer.Option(False, "--dry-run", help="show the rule; remove nothing"),
    yes: bool = YES,
    output: OutputFormat = OUTPUT,
) -> None:
    """Remove a rule; the tags it matched are no longer protected. Asks first (--yes in scripts).

    Examples:
      glcr protection remove mygroup/app 3
      glcr protection remove mygroup/app '^v1\\.' --yes
    """
    from glcr.api.protection import remove_rule
    from glcr.render.output import write_json

    app_ctx = app_context(ctx)
    console = app_ctx.stderr()
    done = app_ctx.run(lambda s: remove_rule(
        s, project, rule, review=lambda path, found: app_ctx.say(f"Rule {found.id} of {path}: {found.describe()}"),
        confirm=lambda question: app_ctx.confirm(question, yes), dry_run=dry_run))
    found = done.before
    assert found is not None  # remove_rule always names the rule it found
    if not done.sent:
        console.print("Nothing removed.")
    elif output is OutputFormat.JSON:
        write_json({"removed": found.to_dict()})
    else:
        app_ctx.say(f"Removed rule {found.id}: tags matching `{found.pattern}` are no longer protected by it.")
