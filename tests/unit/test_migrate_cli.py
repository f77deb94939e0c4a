"""The `migrate-project` command's edges that need no server: usage errors, status, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glcr.cli.migrate_cmd import app
from glcr.errors import InvalidInputError, NotFoundError, UsageError
from glcr.migrate.journal import MigrationDir
from glcr.migrate.model import Event, Inventory, MigrationPlan, Mode, ProjectRef, RepoInventory, Step, StepKind

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"NO_COLOR": "1"})


def make(root: Path, migration_id: str, done: list[str]) -> MigrationDir:
    repo = RepoInventory("", "g/app", 1, {"v1": "sha256:" + "1" * 64}, {})
    inv = Inventory(ProjectRef(1, "g/app", "g", "app"), "reg.test", False, False, False, (repo,))
    plan = MigrationPlan(migration_id, "2026-01-01T00:00:00Z", "g/app", "h/app", Mode.NATIVE, inv,
                         (Step("transfer", StepKind.TRANSFER, args={"namespace": "h"}),
                          Step("verify", StepKind.VERIFY, args={"project_path": "h/app"})))
    directory = MigrationDir.create(root, plan)
    with directory.journal() as journal:
        for step in done:
            journal.write(step, Event.START)
            journal.write(step, Event.DONE, f"{step} ok")
    return directory


@pytest.mark.parametrize("args, error", [
    (["g/app"], UsageError),  # no --to
    (["--to", "h/app"], UsageError),  # no project
    (["g/app", "--to", "h/app", "--abort"], UsageError),
    (["g/app", "--to", "h/app", "--resume"], UsageError),
    (["g/app", "--to", "h/app", "--via", "g/hold", "--backup-dir", "x"], UsageError),
    (["g/app", "--to", "h/app", "--via", "G/App/"], InvalidInputError),  # the project itself
])
def test_usage_errors(args, error, tmp_path: Path) -> None:
    result = invoke(*args, "--state-dir", str(tmp_path))
    assert isinstance(result.exception, error), result.output


def test_resume_without_a_migration(tmp_path: Path) -> None:
    result = invoke("--resume", "--state-dir", str(tmp_path))
    assert isinstance(result.exception, NotFoundError)


def test_status(tmp_path: Path) -> None:
    make(tmp_path, "20260101t000000z-aaaaaa", ["transfer", "verify"])
    make(tmp_path, "20260102t000000z-bbbbbb", ["transfer"])
    result = invoke("status", "-o", "json", "--state-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(m["id"], m["state"]) for m in data] == [("20260102t000000z-bbbbbb", "unfinished"),
                                                    ("20260101t000000z-aaaaaa", "done")]
    one = invoke("status", "20260102t000000z-bbbbbb", "--state-dir", str(tmp_path))
    assert one.exit_code == 0 and "transfer ok" in one.stdout and "pending" in one.stdout
