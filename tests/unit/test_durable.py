"""glcr.durable: the append-only log both journals use (a torn last line, damaged lines reported,
one writer, fsync), and private files and directories whatever the umask, also for library
callers of migrate and the backups."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from pathlib import Path

import httpx
import pytest

from glcr.durable import (
    AppendLog, JournalBusyError, lock_holder, open_private, private_dir, read_log, write_atomic,
)
from glcr.errors import ExitCode, InvalidInputError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def parse(line: str) -> dict:
    value = json.loads(line)
    if not isinstance(value, dict):
        raise TypeError("not a record")
    return value


def busy_log(path: Path) -> AppendLog:
    return AppendLog(path, busy=f"another run holds {path}", hint="wait")


@pytest.fixture
def umask():
    """Set the process umask for one test (library callers bring their own)."""
    saved = os.umask(0o022)
    os.umask(saved)
    yield lambda value: os.umask(value)
    os.umask(saved)


# --- reading: (file bytes) -> (records, damaged lines) -------------------------------------------

@pytest.mark.parametrize("data, records, damaged", [
    (b"", [], ()),
    (b'{"n":1}\n{"n":2}\n', [1, 2], ()),
    (b'{"n":1}\n{"n":2}', [1, 2], ()),  # a whole last record whose newline was not written yet
    (b'{"n":1}\n{"n":', [1], ()),  # torn last line (a kill mid-write): left out, not reported
    (b'{"n":1}\n{"n":\n{"n":3}\n', [1, 3], (2,)),  # a torn line ended by the next run: reported
    (b'{"n":1}\nnot json\n\n\xff\n[1]\n{"n":6}\n', [1, 6], (2, 4, 5)),  # damaged in the middle, blank skipped
], ids=["empty", "whole", "no-final-newline", "torn-last", "torn-then-ended", "damaged-middle"])
def test_read_log(tmp_path: Path, data: bytes, records: list[int], damaged: tuple[int, ...]) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(data)
    contents = read_log(path, parse)
    assert [r["n"] for r in contents.records] == records
    assert contents.damaged_lines == damaged
    assert (contents.damage_note() is None) == (not damaged)


def test_damage_note_is_one_line_naming_the_file_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"x\n" * 12 + b'{"n":1}\n')
    note = read_log(path, parse).damage_note()
    assert note is not None and "\n" not in note
    assert str(path) in note and "12 damaged line(s)" in note and "line 1, 2," in note and "and 2 more" in note


def test_a_missing_log_reads_as_empty(tmp_path: Path) -> None:
    contents = read_log(tmp_path / "none.jsonl", parse)
    assert contents.records == () and contents.damaged_lines == ()


# --- writing ----------------------------------------------------------------------------------

def test_a_torn_last_line_is_ended_on_open_and_the_next_record_starts_fresh(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":')  # what a kill mid-write leaves
    with busy_log(path) as log:
        log.append(b'{"n":3}\n')
    assert path.read_bytes() == b'{"n":1}\n{"n":\n{"n":3}\n'
    contents = read_log(path, parse)
    assert [r["n"] for r in contents.records] == [1, 3] and contents.damaged_lines == (2,)
    with busy_log(path):  # a whole file is left as it is
        pass
    assert path.read_bytes().endswith(b'{"n":3}\n') and path.read_bytes().count(b"\n") == 3


def test_a_second_writer_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    with busy_log(path) as first:
        first.append(b'{"n":1}\n')
        # flock is per open file: a second open, in this process or another, is refused
        with pytest.raises(JournalBusyError) as caught:
            busy_log(path)
        assert caught.value.exit_code == ExitCode.ABORTED  # README: another apply holds the journal's lock
        assert f"another run holds {path}" in caught.value.one_line()
        first.append(b'{"n":2}\n')
    with busy_log(path) as again:  # released
        again.append(b'{"n":3}\n')
    assert [r["n"] for r in read_log(path, parse).records] == [1, 2, 3]


@pytest.mark.parametrize("locks, expected", [
    ("1: FLOCK  ADVISORY  WRITE 4242 {dev}:{ino} 0 EOF\n", 4242),
    ("1: FLOCK  ADVISORY  WRITE 4242 {dev}:999999999 0 EOF\n", None),  # another file
    ("1: POSIX  ADVISORY  WRITE 4242 {dev}:{ino} 0 EOF\n", None),  # not a flock
    ("1: FLOCK  ADVISORY  WRITE 4242 {dev}:{ino} 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 7 {dev}:{ino} 0 EOF\n",
     4242),  # a waiter is not the holder
    ("", None),
], ids=["holder", "other-file", "posix", "waiter", "none"])
def test_lock_holder_names_the_other_process(tmp_path: Path, locks: str, expected: int | None) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(b"")
    fd = os.open(path, os.O_RDONLY)
    try:
        st = os.fstat(fd)
        text = locks.format(dev=f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}", ino=st.st_ino)
        assert lock_holder(fd, text) == expected
    finally:
        os.close(fd)


def test_each_record_is_fsynced_and_a_new_log_its_directory(tmp_path: Path, monkeypatch) -> None:
    synced: list[str] = []
    real = os.fsync

    def counting(fd: int) -> None:
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    path = tmp_path / "j.jsonl"
    with busy_log(path) as log:
        assert synced == ["dir"]  # the new file's directory entry
        log.append(b'{"n":1}\n')
        log.append(b'{"n":2}\n{"n":3}\n')
        assert synced == ["dir", "file", "file"]  # one per append, before it returns
        log.append(b'{"n":4}\n', durable=False)
        assert synced == ["dir", "file", "file"]
        log.sync()
        assert synced == ["dir", "file", "file", "file"]
    synced.clear()
    with busy_log(path):  # an existing log: no directory fsync
        pass
    assert synced == []
    write_atomic(tmp_path / "plan.json", b"{}")
    assert synced == ["file", "dir"]  # the data before the rename, the rename after


def test_a_log_in_a_missing_directory_is_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        busy_log(tmp_path / "no" / "j.jsonl")
    assert not (tmp_path / "no").exists()


# --- private whatever the umask -------------------------------------------------------------------

UMASKS = [0o022, 0o002, 0o000, 0o077, 0o277]


@pytest.mark.parametrize("value", UMASKS, ids=oct)
def test_files_and_directories_are_private_whatever_the_umask(tmp_path: Path, umask, value: int) -> None:
    umask(value)
    nested = private_dir(tmp_path / "a" / "b" / "c")
    with busy_log(nested / "j.jsonl") as log:
        log.append(b"{}\n")
    write_atomic(nested / "plan.json", b"{}")
    with open_private(nested / "blob", append=True) as handle:
        handle.write(b"x")
    for directory in (tmp_path / "a", tmp_path / "a" / "b", nested):
        assert mode(directory) == 0o700, directory
    for name in ("j.jsonl", "plan.json", "blob"):
        assert mode(nested / name) == 0o600, name
    assert sorted(p.name for p in nested.iterdir()) == ["blob", "j.jsonl", "plan.json"]  # no temporary left


def test_an_existing_directory_and_file_keep_their_mode(tmp_path: Path, umask) -> None:
    umask(0o022)
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    (shared / "j.jsonl").write_bytes(b"")
    os.chmod(shared / "j.jsonl", 0o640)
    private_dir(shared)
    with busy_log(shared / "j.jsonl"):
        pass
    assert mode(shared) == 0o755 and mode(shared / "j.jsonl") == 0o640


# --- library callers of migrate and the backups, umask 022 ----------------------------------------

def test_migration_directory_plan_and_journal_are_private(tmp_path: Path, umask) -> None:
    from glcr.migrate.journal import MigrationDir
    from glcr.migrate.model import Event, Inventory, MigrationPlan, Mode, ProjectRef, Step, StepKind

    umask(0o022)
    inv = Inventory(ProjectRef(1, "g/app", "g", "app"), "reg.test", False, False, False, ())
    plan = MigrationPlan("m1", "2026-01-01T00:00:00Z", "g/app", "h/app", Mode.NATIVE, inv,
                         (Step("verify", StepKind.VERIFY),))
    root = tmp_path / "state" / "migrations"
    directory = MigrationDir.create(root, plan)
    with directory.journal() as journal:
        journal.write("verify", Event.START)
    with directory.lock():
        pass
    for path in (tmp_path / "state", root, directory.path):
        assert mode(path) == 0o700, path
    for path in (directory.plan_path, directory.journal_path, directory.path / "lock"):
        assert mode(path) == 0o600, path
    assert directory.load_plan() == plan


def test_migrate_journal_reports_damaged_lines_like_the_apply_journal(tmp_path: Path) -> None:
    from glcr.migrate.journal import JournalFile, read_journal as read_migration
    from glcr.migrate.model import Event
    from glcr.plan.journal import read_journal as read_apply

    path = tmp_path / "journal.jsonl"
    with JournalFile(path) as journal:
        journal.write("a", Event.START)
    path.write_bytes(path.read_bytes() + b"garbage\n")
    with JournalFile(path) as journal:
        journal.write("a", Event.DONE)
    contents = read_migration(path)
    assert [e.event for e in contents.records] == [Event.START, Event.DONE]
    assert contents.damaged_lines == (2,)
    assert read_apply(path).damaged_lines == (1, 2, 3)  # the same reader, another record type
    with JournalFile(path):
        with pytest.raises(JournalBusyError):
            JournalFile(path)


def test_backup_layout_and_saved_manifests_are_private(tmp_path: Path, umask) -> None:
    from glcr.migrate.copy import OciLayout
    from glcr.plan.backup import BackupWriter, SavedManifest, SavedTag
    from glcr.registry.client import RegistryClient
    from glcr.transport.factory import HttpOptions, build_async_client

    umask(0o022)
    layout = OciLayout(tmp_path / "images")
    layout.init()
    data = b"layer"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    layout.write_bytes(digest, data)
    big = b"big layer"
    big_digest = "sha256:" + hashlib.sha256(big).hexdigest()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big)

    async def download() -> None:
        http = build_async_client(HttpOptions(wire=httpx.MockTransport(handler)), base_url="http://reg.test")
        async with http:
            await RegistryClient(http, "reg.test").download_blob("g/p", big_digest, layout.blob_path(big_digest))

    asyncio.run(download())
    for path in (layout.root, layout.root / "blobs", layout.blobs):
        assert mode(path) == 0o700, path
    for path in (layout.root / "oci-layout", layout.root / "index.json", layout.blob_path(digest),
                 layout.blob_path(big_digest)):
        assert mode(path) == 0o600, path
    saved = SavedTag("g/p", "reg.test/g/p", "v1", SavedManifest(digest, "application/json", b"{}"))
    BackupWriter(tmp_path / "plan.json.manifests.jsonl", env={"XDG_STATE_HOME": str(tmp_path / "state")}).write([saved])
    assert mode(tmp_path / "plan.json.manifests.jsonl") == 0o600
    index = next((tmp_path / "state").rglob("*.jsonl"))
    assert mode(index) == 0o600 and mode(index.parent) == 0o700
