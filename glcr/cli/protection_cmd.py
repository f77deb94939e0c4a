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


def _show_matches(app_ctx, project_id: int, pattern: str, console) -> None:
    """What the pattern matches among the project's tags now (skipped quietly when unreadable)."""
    from glcr.errors import GlcrError
    from glcr.policy.protection import anchoring_hint, matching_tags
    from glcr.render.protection import render_matching_tags

    hint = anchoring_hint(pattern)
    if hint:
        app_ctx.warn(hint)

    async def names(session):
        repos = await session.api.project_repositories(project_id, tags_count=False)
        return {r.path: [t.name for t in await session.api.tags(r)] for r in repos}

    try:
        render_matching_tags(matching_tags(app_ctx.run(names), pattern), console)
    except GlcrError:
        pass


def _project(app_ctx, project: str):
    from glcr.gitlab.rest import GitLabRest

    rest = GitLabRest(app_ctx.credentials())
    data = rest.project(project)
    return rest, data, data.get("path_with_namespace", project)


@app.command("list")
def list_(ctx: typer.Context, project: str = PROJECT, output: OutputFormat = OUTPUT) -> None:
    """List the rules: pattern, and the lowest role that may push and delete matching tags.

    GitLab's REST API shows mutable rules only; immutable rules (Ultimate) are not listed.
    On a GitLab before 18.7 the rules cannot be read: glcr says so and lists none.

    Examples:
      glcr protection list mygroup/app
      glcr protection list mygroup/app -o json | jq '.[].tag_name_pattern'
    """
    from glcr.errors import NotFoundError
    from glcr.gitlab.protection import OLD_GITLAB, list_rules
    from glcr.render.protection import render_rules

    app_ctx = app_context(ctx)
    rest, data, name = _project(app_ctx, project)
    try:
        rules = list_rules(rest, data["id"])
    except NotFoundError:
        app_ctx.say(f"note: {OLD_GITLAB}")
        render_rules(name, [], output, note="no rules API on this GitLab")
        return
    render_rules(name, rules, output)


@app.command()
def add(
    ctx: typer.Context,
    project: str = PROJECT,
    pattern: str = typer.Argument(..., help="RE2 searched in the tag name (unanchored: ^...$ for a whole name)"),
    push: str = typer.Option("maintainer", "--push", help=f"lowest role that may push matching tags: {LEVELS}"),
    delete: str = typer.Option("maintainer", "--delete", help=f"lowest role that may delete them: {LEVELS}"),
    dry_run: bool = typer.Option(False, "--dry-run", help="validate and show what would be sent; send nothing"),
    output: OutputFormat = OUTPUT,
) -> None:
    """Add a rule. Checked before sending: RE2, at most 100 characters, the roles, 5 rules a project.

    GitLab's cleanup policy never deletes a tag a rule matches; a user below the delete role
    cannot delete it, nor push it below the push role.

    Examples:
      glcr protection add mygroup/app '^v\\d+\\.\\d+\\.\\d+$' --push maintainer --delete owner
      glcr protection add mygroup/app '^release-' --delete admin --dry-run
    """
    from glcr.gitlab.protection import create_rule, list_rules
    from glcr.policy.protection import validate_new_rule, validate_pattern
    from glcr.render.protection import render_rule

    validate_pattern(pattern)  # a bad pattern fails before any request
    app_ctx = app_context(ctx)
    rest, data, name = _project(app_ctx, project)
    existing = list_rules(rest, data["id"])
    body = validate_new_rule(pattern, push, delete, existing)
    console = app_ctx.stderr()
    _show_matches(app_ctx, data["id"], pattern, console)
    if dry_run:
        app_ctx.say(f"Would add to {name}: `{body['tag_name_pattern']}` (push: "
                    f"{body['minimum_access_level_for_push']}, delete: {body['minimum_access_level_for_delete']}). "
                    "Nothing sent.")
        return
    rule = create_rule(rest, data["id"], body)
    render_rule(rule, output, f"Added to {name}:", console)


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
    from glcr.gitlab.protection import list_rules, update_rule
    from glcr.policy.protection import find_rule, validate_pattern, validate_update
    from glcr.render.protection import render_rule, render_rule_change

    if pattern is not None:
        validate_pattern(pattern)
    app_ctx = app_context(ctx)
    rest, data, name = _project(app_ctx, project)
    existing = list_rules(rest, data["id"])
    before = find_rule(existing, rule)
    body = validate_update(before, existing, pattern=pattern, min_push=push, min_delete=delete)
    console = app_ctx.stderr()
    render_rule_change(before, body, console)
    if pattern is not None and pattern != before.pattern:
        _show_matches(app_ctx, data["id"], pattern, console)
    if dry_run:
        console.print("Nothing sent.")
        return
    app_ctx.confirm(f"Update tag protection rule {before.id} of {name}?", yes)
    after = update_rule(rest, data["id"], before.id, body)
    render_rule(after, output, "Updated", console)


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
    from glcr.gitlab.protection import delete_rule, list_rules
    from glcr.policy.protection import find_rule
    from glcr.render.output import write_json

    app_ctx = app_context(ctx)
    rest, data, name = _project(app_ctx, project)
    found = find_rule(list_rules(rest, data["id"]), rule)
    console = app_ctx.stderr()
    app_ctx.say(f"Rule {found.id} of {name}: {found.describe()}")
    if dry_run:
        console.print("Nothing removed.")
        return
    app_ctx.confirm(f"Remove tag protection rule {found.id} (`{found.pattern}`) from {name}?", yes)
    delete_rule(rest, data["id"], found.id)
    if output is OutputFormat.JSON:
        write_json({"removed": found.to_dict()})
    else:
        app_ctx.say(f"Removed rule {found.id}: tags matching `{found.pattern}` are no longer protected by it.")
