"""The migration directory: plan written once, journal appended durably, a cut-off line skipped,
one run at a time, and purity of the planner modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from glcr.errors import NotFoundError
from glcr.migrate.journal import (
    MigrationDir, MigrationLockedError, default_state_root, find_migration, list_migrations, new_migration_id,
    read_entries,
)
from glcr.migrate.model import Event, Inventory, MigrationPlan, Mode, ProjectRef, Step, StepKind
from glcr.reference import REPOSITORY_PATH_RE


def plan(migration_id: str) -> MigrationPlan:
    inv = Inventory(ProjectRef(1, "g/app", "g", "app"), "reg.test", False, False, False, ())
    return MigrationPlan(migration_id, "2026-01-01T00:00:00Z", "g/app", "h/app", Mode.NATIVE, inv,
                         (Step("transfer", StepKind.TRANSFER, args={"namespace": "h"}), Step("verify", StepKind.VERIFY)))


def test_plan_and_journal(tmp_path: Path) -> None:
    directory = MigrationDir.create(tmp_path, plan("m1"))
    assert directory.load_plan() == plan("m1")
    with directory.journal() as journal:
        journal.write("transfer", Event.START)
        journal.write("transfer", Event.DONE, "moved", {"path": "h/app"})
    entries = directory.entries()
    assert [(x.step, x.event) for x in entries] == [("transfer", Event.START), ("transfer", Event.DONE)]
    assert entries[1].data == {"path": "h/app"} and entries[1].detail == "moved"
    with pytest.raises(FileExistsError):
        MigrationDir.create(tmp_path, plan("m1"))  # a plan is written once


def test_a_line_cut_off_by_a_kill_is_skipped_and_ended(tmp_path: Path) -> None:
    directory = MigrationDir.create(tmp_path, plan("m1"))
    with directory.journal() as journal:
        journal.write("transfer", Event.START)
    with open(directory.journal_path, "ab") as handle:
        handle.write(b'{"step":"transfer","event":"do')  # the kill
    assert [x.event for x in read_entries(directory.journal_path)] == [Event.START]
    with directory.journal() as journal:  # the next run starts on a fresh line
        journal.write("transfer", Event.DONE)
    assert [x.event for x in directory.entries()] == [Event.START, Event.DONE]


def test_one_run_at_a_time(tmp_path: Path) -> None:
    directory = MigrationDir.create(tmp_path, plan("m1"))
    with directory.lock():
        with pytest.raises(MigrationLockedError):
            with directory.lock():
                pass
    with directory.lock():  # released
        pass


def test_listing_newest_first(tmp_path: Path) -> None:
    for name in ("20260101t000000z-aaaaaa", "20260301t000000z-bbbbbb", "20260201t000000z-cccccc"):
        MigrationDir.create(tmp_path, plan(name))
    (tmp_path / "stray").mkdir()
    assert [m.id for m in list_migrations(tmp_path)] == ["20260301t000000z-bbbbbb", "20260201t000000z-cccccc",
                                                        "20260101t000000z-aaaaaa"]
    assert find_migration(tmp_path, None).id == "20260301t000000z-bbbbbb"
    assert find_migration(tmp_path, "20260101t000000z-aaaaaa").id == "20260101t000000z-aaaaaa"
    with pytest.raises(NotFoundError):
        find_migration(tmp_path, "nope")
    with pytest.raises(NotFoundError):
        find_migration(tmp_path / "empty", None)


def test_ids_fit_in_a_registry_path() -> None:
    assert REPOSITORY_PATH_RE.match(f"g/p/glcr-{new_migration_id()}/0-root")


def test_state_root() -> None:
    assert default_state_root({"XDG_STATE_HOME": "/s"}) == Path("/s/glcr/migrations")
    assert default_state_root({"HOME": "/h"}) == Path("/h/.local/state/glcr/migrations")
