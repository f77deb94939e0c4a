"""`glcr usage`: registry storage by project and repository, largest first."""

from __future__ import annotations

from enum import Enum
from typing import Optional

import typer

from glcr.cli.group_cleanup import GROUP, SUBGROUPS
from glcr.cli.options import PROJECT_OR_GROUP

app = typer.Typer(help="Registry storage by project and repository, largest first.")


class UsageFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@app.command("usage")
def usage(ctx: typer.Context, project: Optional[str] = PROJECT_OR_GROUP, group: Optional[str] = GROUP,
          include_subgroups: bool = SUBGROUPS,
          policy: bool = typer.Option(False, "--policy", help="what each project's saved policy would reclaim"),
          name_regex: Optional[str] = typer.Option(None, "--name-regex", help="with --policy: override name_regex"),
          name_regex_keep: Optional[str] = typer.Option(None, "--name-regex-keep", help="override name_regex_keep"),
          keep_n: Optional[int] = typer.Option(None, "--keep-n", help="override keep_n"),
          older_than: Optional[str] = typer.Option(None, "--older-than", help="override older_than"),
          output: UsageFormat = typer.Option(UsageFormat.TABLE, "--output", "-o", help="table, json, or csv")) -> None:
    """Registry storage by project and repository, largest first.

    Sizes come from GitLab where it has them (its API, or the registry's metadata database);
    otherwise the sum of the images' sizes, shown as an upper bound (≤). With --policy (or
    policy flags): the tags each project's saved policy, with the flags on top, would delete,
    and the bytes that frees; layers that kept images share are not counted.

    Examples:
      glcr usage mygroup/app
      glcr usage --group mygroup --include-subgroups --policy
      glcr usage --group mygroup --name-regex '.*' --older-than 90d -o csv > usage.csv
    """
    import sys
    from datetime import datetime, timezone

    from glcr.api.usage import storage_usage
    from glcr.cli.context import app_context
    from glcr.cli.group_cleanup import check_target
    from glcr.cli.options import refuse_empty
    from glcr.durations import parse_age_option
    from glcr.policy.validate import validate_policy_fields
    from glcr.render.usage import usage_csv, usage_json, usage_table

    check_target(project, group)
    overrides = {"name_regex": name_regex, "name_regex_keep": name_regex_keep, "keep_n": keep_n,
                 "older_than": older_than}
    given = {k: v for k, v in overrides.items() if v is not None}
    if given:
        parse_age_option(older_than)
        refuse_empty("--name-regex-keep", name_regex_keep, "it would replace the policy's keep regex with none")
        validate_policy_fields(given, enabled=True).raise_for_errors("this policy cannot run")
    app_ctx = app_context(ctx)
    result = app_ctx.run(lambda s: storage_usage(
        s, project=project, group=group, include_subgroups=include_subgroups, policy=policy or bool(given),
        overrides=overrides, now=datetime.now(timezone.utc)))
    if output is UsageFormat.JSON:
        usage_json(result, sys.stdout)
    elif output is UsageFormat.CSV:
        usage_csv(result, sys.stdout)
    else:
        from rich.console import Console

        Console(no_color="NO_COLOR" in app_ctx.env).print(usage_table(result))
    failed = [r for r in result.rows if r.error]
    if failed:
        from glcr.errors import PartialFailureError

        raise PartialFailureError(f"{len(failed)} repository(ies) could not be read: {failed[0].error}")
