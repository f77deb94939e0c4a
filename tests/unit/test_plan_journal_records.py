"""What a resumed apply still has to do, and the summary (pure; the journal file is elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from glcr.plan.model import Action, Plan, PlanEntry
from glcr.plan.journal_records import (
    ApplySummary,
    Event,
    JournalRecord,
    pending_entries,
    replay_records,
    summarize,
)

NOW = datetime(2026, 11, 27, 5, 40, tzinfo=UTC)
REPO = "group/app/api"


def digest(seed: str) -> str:
    return "sha256:" + seed * 64


PLAN = Plan(
    project_id=7, project_path="group/app", repository_id=3, repository_path=REPO,
    repository_location="r/group/app/api", created_at=NOW,
    entries=(
        PlanEntry("a", digest("a"), Action.DELETE, "", total_size=10),
        PlanEntry("b", digest("b"), Action.DELETE, "", total_size=20),
        PlanEntry("c", digest("c"), Action.DELETE, "", total_size=None),
        PlanEntry("gone", None, Action.SKIP, "already absent"),
        PlanEntry("latest", digest("d"), Action.KEEP, "named latest"),
    ),
)


def record(tag: str, event: Event, seed: str | None = None, repository: str = REPO) -> JournalRecord:
    return JournalRecord(ts=NOW, run_id="r1", repository=repository, tag=tag,
                         digest=digest(seed or tag), event=event)


def pending(*records: JournalRecord) -> list[str]:
    return [e.tag for e in pending_entries(PLAN, replay_records(records))]


def test_nothing_done_yet() -> None:
    assert pending() == ["a", "b", "c"]  # keep and skip entries are never pending


@pytest.mark.parametrize(
    ("event", "is_pending"),
    [
        (Event.DELETED, False),
        (Event.ALREADY_ABSENT, False),
        (Event.STALE, False),
        (Event.START, True),  # killed mid-delete: outcome unknown, try again
        (Event.FAILED, True),
        (Event.SKIPPED, True),
    ],
)
def test_final_events_are_not_retried(event: Event, is_pending: bool) -> None:
    assert ("a" in pending(record("a", event))) is is_pending


def test_last_record_wins() -> None:
    assert pending(record("a", Event.START), record("a", Event.FAILED), record("a", Event.START),
                   record("a", Event.DELETED)) == ["b", "c"]
    assert pending(record("a", Event.FAILED), record("a", Event.START)) == ["a", "b", "c"]


def test_a_record_for_another_digest_does_not_count() -> None:
    # An old journal next to a new plan of the same name: the tag was re-pushed meanwhile.
    assert pending(record("a", Event.DELETED, seed="f")) == ["a", "b", "c"]


def test_a_record_for_another_repository_does_not_count() -> None:
    assert pending(record("a", Event.DELETED, repository="group/app/web")) == ["a", "b", "c"]


def test_summary() -> None:
    replayed = replay_records([
        record("a", Event.START), record("a", Event.DELETED),
        record("b", Event.START), record("b", Event.FAILED),
        record("c", Event.STALE),
    ])
    summary = summarize(PLAN, replayed)
    assert summary == ApplySummary(to_delete=3, deleted=1, already_absent=1, stale=1, failed=1,
                                   not_started=0, kept=1, freed_size=10, missing=1)
    assert not summary.complete


def test_summary_of_a_finished_run_and_of_a_fresh_one() -> None:
    done = summarize(PLAN, replay_records([record("a", Event.DELETED), record("b", Event.ALREADY_ABSENT),
                                           record("c", Event.DELETED)]))
    assert (done.deleted, done.already_absent, done.freed_size, done.complete) == (2, 2, 10, True)
    fresh = summarize(PLAN, {})
    assert (fresh.not_started, fresh.complete) == (3, False)


def test_record_line_round_trip() -> None:
    rec = JournalRecord(ts=NOW, run_id="r1", repository=REPO, tag="v1", digest=None,
                        event=Event.STALE, detail="now sha256:ff…")
    line = rec.to_line()
    assert "\n" not in line
    assert line.startswith('{"detail":"now sha256:ff…","digest":null,"event":"stale"')
    assert JournalRecord.from_line(line) == rec


@pytest.mark.parametrize(
    "line",
    ['{"ts":"2026-11-27T05:40:01Z","run_id":"r","repository":"g/a","tag":"v1","event":"exploded"}',
     '{"run_id":"r","repository":"g/a","tag":"v1","event":"deleted"}',
     '{"ts":"not a time","run_id":"r","repository":"g/a","tag":"v1","event":"deleted"}',
     '{"ts":"2026-11-27T05:40:01Z","run_id":"r","repository":"g/a","tag":1,"event":"deleted"}',
     '{"ts":"2026-11-27T05:40:01Z","run_id":"r","repository":"g/a","tag":"v","event":"deleted","digest":5}',
     '["not", "a", "record"]', '{"ts":"2026-11-27T05:4'])
def test_bad_record_lines(line: str) -> None:
    with pytest.raises(ValueError):
        JournalRecord.from_line(line)
