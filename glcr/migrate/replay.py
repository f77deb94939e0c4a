"""Where a migration stands, replayed from its journal. PURE.

A step is done once the journal holds its `done` entry; a `failed` entry not followed by `done`
is its last failure; a `start` alone means the outcome is unknown (interrupted). A rollback entry
replaces the steps not yet done with the rollback's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from glcr.migrate.model import Event, JournalEntry, MigrationPlan, Step


@dataclass
class Progress:
    """Where a migration stands, replayed from its journal."""

    steps: list[Step]  # the plan's steps, or the steps done before a rollback plus the rollback's
    done: dict[str, JournalEntry] = field(default_factory=dict)  # step id -> its `done` entry
    failed: dict[str, JournalEntry] = field(default_factory=dict)  # last failure not followed by done
    started: set[str] = field(default_factory=set)  # started, outcome unknown
    rolled_back: JournalEntry | None = None
    fallback: JournalEntry | None = None  # the copy-away migration that took over (its id in data)

    @property
    def pending(self) -> list[Step]:
        return [s for s in self.steps if s.id not in self.done]

    @property
    def finished(self) -> bool:
        return not self.pending

    def state(self, step: Step) -> str:
        if step.id in self.done:
            return "done"
        if step.id in self.failed:
            return "failed"
        if step.id in self.started:
            return "interrupted"
        return "pending"


def replay(plan: MigrationPlan, entries: Iterable[JournalEntry]) -> Progress:
    progress = Progress(steps=list(plan.steps))
    for entry in entries:
        if entry.event is Event.START:
            progress.started.add(entry.step)
        elif entry.event is Event.DONE:
            progress.done[entry.step] = entry
            progress.failed.pop(entry.step, None)
            progress.started.discard(entry.step)
        elif entry.event is Event.FAILED:
            progress.failed[entry.step] = entry
            progress.started.discard(entry.step)
        elif entry.event is Event.FALLBACK:
            progress.fallback = entry
        elif entry.event is Event.ROLLBACK:
            progress.rolled_back = entry
            kept = [s for s in progress.steps if s.id in progress.done]
            progress.steps = kept + [Step.from_json(s) for s in entry.data.get("steps") or []]
    return progress
