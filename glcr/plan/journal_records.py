"""Journal records, and what a resumed apply still has to do. Pure (`journal` does the file I/O).

One record per step of `glcr tags apply` (and `glcr cleanup run`), one JSON object a line:

    {"detail":"","digest":"sha256:<64 hex>","event":"deleted","repository":"group/app/api",
     "run_id":"20261127T054000Z-3fa2c1","tag":"v1.0","ts":"2026-11-27T05:40:01Z"}

`digest` is always the digest the plan expected for the tag (null if it had none), whatever the
registry showed; `detail` says more (for `stale`: the digest found instead; for `failed`: the
error). Events:

- `start`: about to delete; a kill after it leaves the outcome unknown, so it is retried;
- `deleted`, `already_absent` (404: gone before or by an earlier try), `stale` (the tag no longer
  points to the expected digest; left alone, a new plan is needed): final, not retried;
- `failed`: retried on the next run;
- `skipped`: not attempted this run (e.g. the run was stopped); retried.

A record counts as done for a plan entry only when its digest is the entry's: a journal kept from
an older plan of the same file does not mark a re-pushed tag as done.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from glcr.models import Digest
from glcr.plan.model import Action, Plan, PlanEntry
from glcr.timestamps import format_time, parse_time


class Event(StrEnum):
    START = "start"
    DELETED = "deleted"
    ALREADY_ABSENT = "already_absent"
    STALE = "stale"
    FAILED = "failed"
    SKIPPED = "skipped"


FINAL_EVENTS = frozenset({Event.DELETED, Event.ALREADY_ABSENT, Event.STALE})


@dataclass(frozen=True)
class JournalRecord:
    ts: datetime
    run_id: str
    repository: str
    tag: str
    digest: Digest | None
    event: Event
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.repository, self.tag)

    def to_line(self) -> str:
        """One JSON line, no newline; sorted keys so journals diff and grep predictably."""
        return json.dumps({
            "ts": format_time(self.ts), "run_id": self.run_id, "repository": self.repository,
            "tag": self.tag, "digest": self.digest, "event": self.event.value, "detail": self.detail,
        }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_line(cls, line: str) -> JournalRecord:
        """ValueError (or a subclass) for anything that is not a whole record."""
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        texts: dict[str, str] = {}
        for key in ("ts", "run_id", "repository", "tag", "event"):
            value = data.get(key)
            if not isinstance(value, str):
                raise ValueError("a field is missing or not a string")
            texts[key] = value
        digest, detail = data.get("digest"), data.get("detail") or ""
        if not (digest is None or isinstance(digest, str)) or not isinstance(detail, str):
            raise ValueError("digest or detail is not a string")
        return cls(ts=parse_time(texts["ts"]), run_id=texts["run_id"], repository=texts["repository"],
                   tag=texts["tag"], digest=digest, event=Event(texts["event"]), detail=detail)


Replayed = Mapping[tuple[str, str], JournalRecord]


def replay_records(records: Iterable[JournalRecord]) -> dict[tuple[str, str], JournalRecord]:
    """The last record for each (repository, tag), in journal order."""
    return {record.key: record for record in records}


def is_done(entry: PlanEntry, record: JournalRecord | None) -> bool:
    return record is not None and record.event in FINAL_EVENTS and record.digest == entry.digest


def pending_entries(plan: Plan, replayed: Replayed) -> list[PlanEntry]:
    """Delete entries not yet done, in plan order: never tried, started, failed or skipped."""
    return [entry for entry in plan.to_delete
            if not is_done(entry, replayed.get((plan.repository_path, entry.tag)))]


@dataclass(frozen=True)
class ApplySummary:
    """Where each entry of a plan stands. `freed_size` sums `total_size` of deleted entries: an
    upper bound, since layers can be shared with tags that stay."""

    to_delete: int = 0
    deleted: int = 0
    already_absent: int = 0  # includes the plan's `skip` entries (absent when planned)
    missing: int = 0  # of already_absent, the `skip` entries: a list's tags the repository did not have
    stale: int = 0
    failed: int = 0
    not_started: int = 0  # no final record and no failure: never tried, started, or skipped
    kept: int = 0
    freed_size: int = 0

    @property
    def complete(self) -> bool:
        """Nothing left to retry (stale entries need a new plan, not a retry)."""
        return self.failed == 0 and self.not_started == 0


def summarize(plan: Plan, replayed: Replayed) -> ApplySummary:
    counts = {"deleted": 0, "already_absent": 0, "stale": 0, "failed": 0, "not_started": 0}
    freed = 0
    for entry in plan.to_delete:
        record = replayed.get((plan.repository_path, entry.tag))
        if record is not None and is_done(entry, record):
            counts[record.event.value] += 1
            if record.event == Event.DELETED:
                freed += entry.total_size or 0
        elif record is not None and record.event == Event.FAILED and record.digest == entry.digest:
            counts["failed"] += 1
        else:
            counts["not_started"] += 1
    missing = len(plan.with_action(Action.SKIP))
    counts["already_absent"] += missing
    return ApplySummary(to_delete=len(plan.to_delete), kept=len(plan.with_action(Action.KEEP)),
                        freed_size=freed, missing=missing, **counts)
