"""Issue 21: the pure pieces of a group run: shards, the group journal's replay, totals, JUnit."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest

from glcr.errors import InvalidInputError
from glcr.plan.group import (DONE, FAILED, SKIPPED, ProjectRow, finished, in_shard, journal_line, parse_shard,
                             replay, run_key, totals)
from glcr.render.group import junit


@pytest.mark.parametrize("text, expected", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 3/3", (3, 3))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["", "0/4", "5/4", "1/0", "a/b", "2", "-1/2", "1/2/3"])
def test_parse_shard_refuses(text):
    with pytest.raises(InvalidInputError):
        parse_shard(text)


@pytest.mark.parametrize("total", [1, 2, 3, 7])
def test_every_project_is_in_exactly_one_shard(total):
    for pid in range(1, 200):
        owners = [i for i in range(1, total + 1) if in_shard(pid, (i, total))]
        assert owners == [pid % total + 1]
    assert in_shard(5, None)


def test_replay_keeps_the_last_row_and_ignores_a_torn_line():
    lines = [journal_line(ProjectRow(1, "g/a", FAILED, error="500")),
             journal_line(ProjectRow(2, "g/b", DONE, tags=3, to_delete=2)),
             journal_line(ProjectRow(1, "g/a", DONE, tags=1)),
             journal_line(ProjectRow(3, "g/c", SKIPPED)),
             journal_line(ProjectRow(4, "g/d", DONE))[:-5]]  # cut by a kill -9
    rows = replay(lines)
    assert rows[1].status == DONE and rows[2].to_delete == 2 and 4 not in rows
    assert finished(rows) == {1, 2, 3}
    assert finished(replay([journal_line(ProjectRow(9, "g/x", FAILED))])) == set()  # failed: tried again


def test_run_key_separates_policies_and_shards_but_not_case():
    key = run_key("G/x", include_subgroups=False, overrides={"keep_n": None}, shard=None)
    assert key == run_key("g/X", include_subgroups=False, overrides={}, shard=None)
    assert key != run_key("g/x", include_subgroups=True, overrides={}, shard=None)
    assert key != run_key("g/x", include_subgroups=False, overrides={"keep_n": 5}, shard=None)
    assert key != run_key("g/x", include_subgroups=False, overrides={}, shard=(1, 2))


def test_totals_and_errors():
    rows = [ProjectRow(1, "g/a", DONE, 2, 10, 4, 100, 1, deleted=3, failed_tags=1),
            ProjectRow(2, "g/b", FAILED, 1, error="boom"), ProjectRow(3, "g/c", SKIPPED, 1)]
    t = totals(rows)
    assert (t.projects, t.failed, t.repositories, t.tags, t.to_delete, t.bytes, t.in_use_kept, t.deleted, t.errors) \
        == (3, 1, 4, 10, 4, 100, 1, 3, 2)
    assert totals([ProjectRow(1, "g/a", DONE)]).deleted is None  # a dry-run deletes nothing


def test_junit_one_case_per_project_failed_when_it_failed():
    out = io.StringIO()
    junit([ProjectRow(1, "g/a", DONE, 1, 3, 2), ProjectRow(2, "g/<b>", FAILED, error="500 & more"),
           ProjectRow(3, "g/c", SKIPPED, note="cleanup policy disabled")], out, suite="glcr cleanup g")
    suite = ET.fromstring(out.getvalue()).find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["g/<b>"].find("failure").get("message") == "500 & more"
    assert cases["g/a"].find("failure") is None and cases["g/c"].find("skipped") is not None
