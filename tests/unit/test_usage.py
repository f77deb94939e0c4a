"""Issue 21: `glcr usage`'s pure pieces: reclaim without shared layers, totals, the bar chart."""

from __future__ import annotations

import io

import pytest

from glcr.plan.usage import GITLAB, REGISTRY, TAGS, RepositoryUsage, bar, by_project, largest_first, reclaimable


@pytest.mark.parametrize("deleted, kept, freed", [
    ([{"a": 10, "b": 5}], [], 15),
    ([{"a": 10, "b": 5}], [{"b": 5}], 10),  # a layer a kept image uses stays
    ([{"a": 10}, {"a": 10, "c": 1}], [], 11),  # shared by two deleted images: counted once
    ([{"a": 10}], [{"a": 10}, {"z": 3}], 0),
    ([], [{"a": 1}], 0),
])
def test_reclaimable(deleted, kept, freed):
    assert reclaimable(deleted, kept) == freed


def rows():
    return [RepositoryUsage("g/a", 1, "g/a", 3, 100, REGISTRY, reclaim=40, to_delete=2),
            RepositoryUsage("g/a", 1, "g/a/api", 1, 50, TAGS),
            RepositoryUsage("g/b", 2, "g/b", 2, 300, GITLAB, reclaim=0, to_delete=0),
            RepositoryUsage("g/c", 3, "g/c", 0, None, TAGS, error="500")]


def test_largest_first_and_by_project():
    assert [r.repository for r in largest_first(rows())] == ["g/b", "g/a", "g/a/api", "g/c"]
    projects = by_project(rows())
    assert [(p.project, p.bytes, p.upper_bound, p.repositories, p.reclaim) for p in projects] == [
        ("g/b", 300, False, 1, 0), ("g/a", 150, True, 2, 40), ("g/c", 0, True, 1, None)]


def test_bar_is_proportional_and_never_empty_for_a_size():
    assert bar(100, 100, 10) == "█" * 10
    assert bar(50, 100, 10) == "█" * 5
    assert bar(1, 1000, 10) != ""
    assert bar(0, 100) == "" and bar(5, 0) == ""


def test_csv_and_json_carry_the_upper_bound():
    import csv
    import json

    from glcr.api.usage import Usage
    from glcr.render.usage import usage_csv, usage_json

    usage = Usage("g", tuple(largest_first(rows())), 40, True)
    out = io.StringIO()
    usage_csv(usage, out)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["repository"], r["upper_bound"], r["reclaim"]) for r in parsed][:2] == [("g/b", "False", "0"),
                                                                                       ("g/a", "False", "40")]
    out = io.StringIO()
    usage_json(usage, out)
    doc = json.loads(out.getvalue())
    assert doc["reclaim"] == 40 and doc["repositories"][2]["upper_bound"] is True
