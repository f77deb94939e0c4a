"""The append-only journal: durable appends, a cut-off last line, replay, the human log."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from glcr.plan.journal import (
    JournalWriter,
    default_paths,
    format_log_line,
    new_run_id,
    read_journal,
    replay,
)
from glcr.plan.model import Action, Plan, PlanEntry
from glcr.plan.journal_records import Event, JournalRecord, pending_entries

NOW = datetime(2026, 11, 27, 5, 40, 1, tzinfo=UTC)
REPO = "group/app/api"
DIGEST = "sha256:" + "abcd" * 16


def record(tag: str, event: Event, detail: str = "") -> JournalRecord:
    return JournalRecord(ts=NOW, run_id="run-1", repository=REPO, tag=tag, digest=DIGEST, event=event,
                         detail=detail)


def write(path: Path, *records: JournalRecord, log: Path | None = None) -> None:
    with JournalWriter(path, log_path=log) as journal:
        for rec in records:
            journal.write(rec)


def test_default_paths() -> None:
    paths = default_paths("/tmp/plans/plan.json")
    assert paths.journal == Path("/tmp/plans/plan.json.journal.jsonl")
    assert paths.log == Path("/tmp/plans/plan.json.log")
    assert default_paths("list_o_tags.out").journal == Path("list_o_tags.out.journal.jsonl")


def test_write_and_read(tmp_path: Path) -> None:
    path = tmp_path / "plan.json.journal.jsonl"
    records = [record("v1", Event.START), record("v1", Event.DELETED), record("v2", Event.FAILED, "503")]
    write(path, *records)
    assert path.read_text().count("\n") == 3
    assert read_journal(path).records == tuple(records)
    assert read_journal(path).damaged_lines == ()


def test_missing_journal_is_empty(tmp_path: Path) -> None:
    assert read_journal(tmp_path / "none.jsonl").records == ()
    assert replay(tmp_path / "none.jsonl") == {}


def test_appends_across_runs(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, record("v1", Event.START))
    write(path, record("v1", Event.DELETED))
    assert [r.event for r in read_journal(path).records] == [Event.START, Event.DELETED]


def test_cut_off_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, record("v1", Event.DELETED), record("v2", Event.START))
    whole = path.read_bytes()
    path.write_bytes(whole + record("v2", Event.DELETED).to_line().encode()[:40])  # killed mid-write
    contents = read_journal(path)
    assert [(r.tag, r.event) for r in contents.records] == [("v1", Event.DELETED), ("v2", Event.START)]
    assert contents.damaged_lines == ()
    assert replay(path)[(REPO, "v2")].event == Event.START  # so v2 is retried


def test_whole_last_record_without_newline_counts(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text(record("v1", Event.DELETED).to_line())
    assert replay(path)[(REPO, "v1")].event == Event.DELETED


def test_cut_off_multibyte_character(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, record("v1", Event.DELETED))
    path.write_bytes(path.read_bytes() + record("v2", Event.FAILED, "é…").to_line().encode()[:-5])
    assert [r.tag for r in read_journal(path).records] == ["v1"]


def test_next_run_after_a_kill_starts_on_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path, record("v1", Event.DELETED))
    path.write_bytes(path.read_bytes() + b'{"ts":"2026-11-27T05:4')  # the fragment a kill leaves
    write(path, record("v2", Event.DELETED))
    contents = read_journal(path)
    assert [r.tag for r in contents.records] == ["v1", "v2"]
    assert contents.damaged_lines == (2,)  # the old fragment, now inside the file: reported


def test_damaged_lines_in_the_middle_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    good = record("v1", Event.DELETED).to_line().encode()
    path.write_bytes(good + b"\nnot json\n\n\xff\n" + good + b"\n")
    contents = read_journal(path)
    assert len(contents.records) == 2
    assert contents.damaged_lines == (2, 4)


def test_replay_keeps_the_last_event_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write(path,
          record("a", Event.START), record("a", Event.DELETED),
          record("b", Event.START),  # killed here
          record("c", Event.START), record("c", Event.FAILED, "503 Service Unavailable"),
          record("d", Event.START), record("d", Event.STALE, "now sha256:ffff…"),
          record("e", Event.ALREADY_ABSENT))
    replayed = replay(path)
    assert {tag: rec.event for (_, tag), rec in replayed.items()} == {
        "a": Event.DELETED, "b": Event.START, "c": Event.FAILED, "d": Event.STALE, "e": Event.ALREADY_ABSENT}
    plan = Plan(project_id=1, project_path="group/app", repository_id=2, repository_path=REPO,
                repository_location="r/" + REPO, created_at=NOW,
                entries=tuple(PlanEntry(t, DIGEST, Action.DELETE, "") for t in "abcdef"))
    assert [e.tag for e in pending_entries(plan, replayed)] == ["b", "c", "f"]


def test_human_log(tmp_path: Path) -> None:
    journal, log = tmp_path / "plan.json.journal.jsonl", tmp_path / "plan.json.log"
    write(journal, record("v1.0", Event.START), record("v1.0", Event.DELETED),
          record("v2", Event.FAILED, "403 Forbidden"), log=log)
    assert log.read_text() == (
        "2026-11-27T05:40:01Z deleted group/app/api:v1.0 abcdabcdabcd\n"
        "2026-11-27T05:40:01Z failed group/app/api:v2 abcdabcdabcd (403 Forbidden)\n"
    )


def test_format_log_line_without_digest() -> None:
    rec = JournalRecord(ts=NOW, run_id="r", repository=REPO, tag="gone", digest=None,
                        event=Event.ALREADY_ABSENT)
    assert format_log_line(rec) == "2026-11-27T05:40:01Z already_absent group/app/api:gone -"


def test_writer_is_thread_safe(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with JournalWriter(path) as journal:
        threads = [threading.Thread(target=lambda n=n: [journal.write(record(f"t{n}-{i}", Event.DELETED))
                                                         for i in range(25)]) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    contents = read_journal(path)
    assert len(contents.records) == 100 and contents.damaged_lines == ()


def test_run_id() -> None:
    run_id = new_run_id(datetime(2026, 11, 27, 5, 40, 0, 123, tzinfo=UTC))
    assert run_id.startswith("20261127T054000Z-") and len(run_id) == len("20261127T054000Z-") + 6
    assert new_run_id(NOW) != new_run_id(NOW)


def test_write_many_is_read_back_like_single_writes(tmp_path):
    from datetime import datetime, timezone

    from glcr.plan.journal import JournalWriter, read_journal
    from glcr.plan.journal_records import Event, JournalRecord

    now = datetime(2026, 11, 27, tzinfo=timezone.utc)
    records = [JournalRecord(now, "r", "g/p", f"t{i}", None, Event.START) for i in range(3)]
    with JournalWriter(tmp_path / "j.jsonl", log_path=tmp_path / "j.log") as writer:
        writer.write_many(records)
        writer.write(JournalRecord(now, "r", "g/p", "t0", None, Event.DELETED))
    assert [r.tag for r in read_journal(tmp_path / "j.jsonl").records] == ["t0", "t1", "t2", "t0"]
    assert (tmp_path / "j.log").read_text().count("\n") == 1  # `start` is not an outcome


# --- journals are private, one apply at a time, a missing directory is one line ---

def test_journal_and_log_are_created_private(tmp_path):
    import stat

    from glcr.plan.journal import JournalWriter

    with JournalWriter(tmp_path / "j.jsonl", log_path=tmp_path / "j.log"):
        pass
    for name in ("j.jsonl", "j.log"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_a_second_writer_on_the_same_journal_is_refused(tmp_path):
    import subprocess
    import sys

    from glcr.errors import ExitCode
    from glcr.plan.journal import JournalBusyError, JournalWriter

    path = tmp_path / "j.jsonl"
    with JournalWriter(path):
        # flock is per open file: another process (like a second `glcr tags apply`) is refused.
        code = ("import sys\nfrom glcr.plan.journal import JournalWriter, JournalBusyError\n"
                f"try:\n    JournalWriter({str(path)!r})\nexcept JournalBusyError as e:\n"
                "    print(e.one_line()); sys.exit(int(e.exit_code))\n")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == ExitCode.ABORTED, done.stderr
        assert "another glcr apply is running" in done.stdout
    with JournalWriter(path):  # released when the first one closed
        pass
    assert issubclass(JournalBusyError, Exception)


def test_a_journal_in_a_missing_directory_is_invalid_input(tmp_path):
    from glcr.errors import InvalidInputError
    from glcr.plan.journal import JournalWriter

    import pytest

    with pytest.raises(InvalidInputError, match="does not exist"):
        JournalWriter(tmp_path / "missing" / "j.jsonl")


def test_durable_writes_are_private(tmp_path):
    import stat

    from glcr.durable import private_dir, write_atomic

    folder = private_dir(tmp_path / "state" / "deeper")
    write_atomic(folder / "plan.json", b"{}")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "plan.json").stat().st_mode) == 0o600
