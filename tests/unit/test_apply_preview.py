"""What `tags apply` says before it asks: a list's tags the repository does not have are said
apart from what an earlier run of the same list settled."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from glcr.plan.journal_records import pending_entries, summarize
from glcr.plan.model import Action, Plan, PlanEntry
from glcr.render.plans import render_apply_preview

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)


def preview(entries: list[PlanEntry]) -> str:
    plan = Plan(project_id=1, project_path="g/p", repository_id=2, repository_path="g/p", repository_location="r/g/p",
                created_at=NOW, entries=tuple(entries), rules={})
    out = io.StringIO()
    render_apply_preview(plan, pending_entries(plan, {}), summarize(plan, {}), Console(file=out, width=200))
    return " ".join(out.getvalue().split())


def test_a_listed_tag_the_repository_lacks_is_not_said_to_be_settled_by_an_earlier_run():
    said = preview([PlanEntry("main", "sha256:" + "a" * 64, Action.DELETE, "listed", None, 10),
                    PlanEntry("v1", "sha256:" + "b" * 64, Action.DELETE, "listed", None, 10),
                    PlanEntry("gone", None, Action.SKIP, "not in the repository", None, None)])
    assert "2 tag(s) to delete, 1 not in the repository, 0 already settled by an earlier run, 2 to do now." in said


def test_without_missing_tags_the_line_is_as_before():
    said = preview([PlanEntry("main", "sha256:" + "a" * 64, Action.DELETE, "listed", None, 10)])
    assert "1 tag(s) to delete, 0 already settled by an earlier run, 1 to do now." in said
