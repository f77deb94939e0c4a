"""glcr.api.migrate: what the UI is told, and in which order (no server: glcr.migrate.service's
reading and running are stubbed), the status it returns, and a damaged journal said in one line."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from pathlib import Path

import pytest
from typer.testing import CliRunner

from glcr.api import migrate as api
from glcr.api.ui import QuietUI
from glcr.errors import AbortedError, ExitCode, GlcrError
from glcr.migrate import service
from glcr.migrate.journal import MigrationDir
from glcr.migrate.model import Event, Finding, Inventory, Level, MigrationPlan, Mode, ProjectRef, Step, StepKind

STEPS = (Step("transfer", StepKind.TRANSFER, args={"namespace": "h"}),
         Step("verify", StepKind.VERIFY, args={"project_path": "h/app"}))


def make_plan(migration_id: str = "20260101t000000z-aaaaaa") -> MigrationPlan:
    inv = Inventory(ProjectRef(1, "g/app", "g", "app"), "reg.test", False, False, False, ())
    return MigrationPlan(migration_id, "2026-01-01T00:00:00Z", "g/app", "h/app", Mode.NATIVE, inv, STEPS)


class Recorder(QuietUI):
    def __init__(self, answer: bool = True) -> None:
        self.calls: list[str] = []
        self.answer = answer

    def confirm(self, question: str) -> None:
        self.calls.append("confirm")
        if not self.answer:
            raise AbortedError("declined")

    def review(self, item: object) -> None:
        self.calls.append(f"review {type(item).__name__}")

    def progress(self, description: str):
        self.calls.append(f"progress {description}")
        return nullcontext(_Bar())

    def note(self, message: str) -> None:
        self.calls.append("note")


class _Bar:
    def set_total(self, total: int) -> None:
        pass

    def advance(self, step: int = 1) -> None:
        pass


@pytest.fixture
def stubbed(monkeypatch, tmp_path: Path):
    """service.prepare returns a plan with `findings`; execute records that it ran."""
    ran: list[str] = []

    def install(findings: tuple[Finding, ...] = ()) -> list[str]:
        async def prepare(session, source, target, **kwargs):
            kwargs["tick"]()  # the reading bar advances
            return service.Prepared(make_plan(), findings)

        async def execute(session, directory, *, ui=None, options=None, abort=False):
            ran.append(f"execute abort={abort}")
            plan = directory.load_plan()
            return plan, service.replay(plan, directory.entries())

        monkeypatch.setattr(service, "prepare", prepare)
        monkeypatch.setattr(service, "execute", execute)
        return ran

    return install


ERROR = Finding(Level.ERROR, "target_taken", "h/app exists", exit_code=ExitCode.NOT_FOUND)


@pytest.mark.parametrize("findings, skip, dry_run, answer, calls, ran, error", [
    ((), (), False, True,
     ["progress Reading the registry of g/app", "review Prepared", "confirm", "review Started"], ["execute abort=False"],
     None),
    ((), (), True, True, ["progress Reading the registry of g/app", "review Prepared"], [], None),  # dry run: no question
    ((), (), False, False, ["progress Reading the registry of g/app", "review Prepared", "confirm"], [], AbortedError),
    ((ERROR,), (), False, True, ["progress Reading the registry of g/app", "review Prepared"], [], GlcrError),
    ((ERROR,), ("target_taken",), False, True,
     ["progress Reading the registry of g/app", "review Prepared", "confirm", "review Started"], ["execute abort=False"],
     None),
], ids=["runs", "dry-run", "declined", "blocked", "skipped-check"])
def test_start_tells_the_ui_in_order(stubbed, tmp_path: Path, findings, skip, dry_run, answer, calls, ran, error):
    executed = stubbed(findings)
    ui = Recorder(answer)
    work = api.start(object(), "g/app", "h/app", state_root=tmp_path, ui=ui, skip_checks=skip, dry_run=dry_run)
    if error is not None:
        with pytest.raises(error) as caught:
            asyncio.run(work)
        if findings:
            assert caught.value.exit_code == ExitCode.NOT_FOUND  # the finding's own exit code
    else:
        done = asyncio.run(work)
        assert (done.progress is None) == dry_run and (done.started is None) == dry_run
        if not dry_run:
            assert done.started.path == tmp_path / done.plan.id and (done.started.path / "plan.json").is_file()
    assert ui.calls == calls
    assert executed == ran
    assert list(tmp_path.iterdir()) == ([tmp_path / make_plan().id] if ran else [])  # nothing written unless it ran


def test_status_unfinished_resume_and_abort(stubbed, tmp_path: Path) -> None:
    executed = stubbed()
    done = MigrationDir.create(tmp_path, make_plan("20260101t000000z-aaaaaa"))
    with done.journal() as journal:
        for step in ("transfer", "verify"):
            journal.write(step, Event.START)
            journal.write(step, Event.DONE)
    MigrationDir.create(tmp_path, make_plan("20260102t000000z-bbbbbb"))
    MigrationDir.create(tmp_path, make_plan("20260103t000000z-cccccc"))
    assert [(s.id, s.progress.finished) for s in api.status(tmp_path)] == [
        ("20260103t000000z-cccccc", False), ("20260102t000000z-bbbbbb", False), ("20260101t000000z-aaaaaa", True)]
    assert [s.id for s in api.status(tmp_path, "20260101t000000z-aaaaaa")] == ["20260101t000000z-aaaaaa"]
    newest = api.unfinished(tmp_path)
    assert newest.id == "20260103t000000z-cccccc" and newest.damage_note is None
    resumed = asyncio.run(api.resume(object(), newest, ui=QuietUI()))
    aborted = asyncio.run(api.abort(object(), api.unfinished(tmp_path, "20260102t000000z-bbbbbb"), ui=QuietUI()))
    assert executed == ["execute abort=False", "execute abort=True"]
    assert resumed.started == api.Started(newest.id, newest.path) and aborted.plan.id == "20260102t000000z-bbbbbb"


def test_a_damaged_journal_is_said_in_one_line_by_status(tmp_path: Path) -> None:
    from glcr.cli.migrate_cmd import app

    directory = MigrationDir.create(tmp_path, make_plan())
    with directory.journal() as journal:
        journal.write("transfer", Event.START)
    directory.journal_path.write_bytes(directory.journal_path.read_bytes() + b"\x00garbage\n")
    with directory.journal() as journal:
        journal.write("transfer", Event.DONE)
    status = api.unfinished(tmp_path)
    assert status.progress.done.keys() == {"transfer"}  # the lines around it still count
    assert status.damage_note is not None and "line 2" in status.damage_note
    result = CliRunner().invoke(app, ["status", "--state-dir", str(tmp_path)], env={"NO_COLOR": "1", "COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "1 damaged line(s)" in warnings[0] and "journal.jsonl" in warnings[0]
