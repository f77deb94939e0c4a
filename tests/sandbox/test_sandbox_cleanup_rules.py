"""The sandbox's third-party cleanup follows GitLab's order of operations (no registry needed)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest

from glcr_sandbox import cleanup
from glcr_sandbox.cleanup import CleanupParams, cleanup_tags
from glcr_sandbox.durations import parse_duration
from glcr_sandbox.tag_details import TagInfo

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)


class FakeRegistry:
    def __init__(self, tags: list[str]) -> None:
        self._tags = tags

    def tags(self, repo: str) -> list[str]:
        return sorted(self._tags)


class FakeInspector:
    def __init__(self, ages: dict[str, int | None]) -> None:
        self.ages = ages

    def inspect(self, repo: str, tag: str) -> TagInfo:
        age = self.ages.get(tag)
        created = NOW - dt.timedelta(days=age) if age is not None else None
        return TagInfo(tag, "sha256:" + "0" * 64, "", None, created, None)


def run(ages: dict[str, int | None], monkeypatch: pytest.MonkeyPatch, max_list_size: int = 0, **params: Any) -> list[str]:
    monkeypatch.setattr(cleanup, "delete_tags_service", lambda registry, repo, names, **_: (sorted(names), None))
    result = cleanup_tags(
        FakeRegistry(list(ages)), FakeInspector(ages), "g/p", CleanupParams(**params),  # type: ignore[arg-type]
        max_list_size=max_list_size, now=NOW, rng=random.Random(1),
    )  # fmt: skip
    return result.deleted


def test_latest_is_kept_and_anchoring_is_loose(monkeypatch: pytest.MonkeyPatch) -> None:
    ages = {"latest": 1, "C1": 1, "xD": 1, "xCx": 1, "v1": 1}
    # "\AC.*|.*D\z" as GitLab builds it: starts with C, or ends with D; latest never goes.
    assert run(ages, monkeypatch, name_regex_delete="C.*|.*D") == ["C1", "xD"]
    assert run(ages, monkeypatch, name_regex_delete=".*", name_regex_keep="v.*") == ["C1", "xCx", "xD"]
    assert run(ages, monkeypatch, name_regex_delete="", name_regex=".*") == []  # Ruby: "" || x is ""


def test_keep_n_and_older_than(monkeypatch: pytest.MonkeyPatch) -> None:
    ages = {"a": 100, "b": 50, "c": 10, "d": 1, "undated": None}
    assert run(ages, monkeypatch, name_regex_delete=".*", keep_n=2) == ["a", "b", "c"]  # undated counts as now
    assert run(ages, monkeypatch, name_regex_delete=".*", older_than="30d") == ["a", "b"]  # undated: kept
    assert run(ages, monkeypatch, name_regex_delete=".*", keep_n=1, older_than="1month") == ["a", "b"]
    ties = {"x1": 5, "x2": 5, "x3": 5}
    assert run(ties, monkeypatch, name_regex_delete=".*", keep_n=1) == ["x1", "x2"]  # ties: last name is newest


def test_truncation_samples_max_list_size_plus_keep_n(monkeypatch: pytest.MonkeyPatch) -> None:
    ages: dict[str, int | None] = {f"t{i:02d}": i for i in range(30)}
    deleted = run(ages, monkeypatch, max_list_size=5, name_regex_delete=".*", keep_n=2)
    assert len(deleted) == 5  # 7 sampled, the newest 2 of them kept


def test_durations() -> None:
    assert parse_duration("1d") == 86400
    assert parse_duration("1month") == 30 * 86400 == parse_duration("1mo")
    assert parse_duration("2 days") == 2 * 86400
    assert parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    assert parse_duration("soon") is None and parse_duration("") is None


@pytest.mark.parametrize("created,expected", [
    ("2024-01-01T10:00:00Z", dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)),
    ("2024-01-01t10:00:00.123456789+01:00",
     dt.datetime(2024, 1, 1, 10, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))),
    (" 2024-01-01 10:00:00z ", dt.datetime(2024, 1, 1, 10, tzinfo=dt.timezone.utc)),
    # What DateTime.rfc3339 refuses (no zone, no time, basic format, +hhmm, impossible dates)
    # is undated to GitLab, so older_than keeps the tag.
    ("2024-01-01T10:00:00", None), ("2024-01-01", None), ("20240101T100000Z", None),
    ("2024-01-01T10:00:00+0100", None), ("2024-02-30T10:00:00Z", None), (None, None), (1704103200, None),
])  # fmt: skip
def test_config_created_is_parsed_as_strictly_as_gitlab_parses_it(created: object, expected: object) -> None:
    from glcr_sandbox.tag_details import parse_rfc3339

    assert parse_rfc3339(created) == expected
