"""The append-only journal of an apply, and its human log. The one module in `glcr.plan` with I/O.

Files sit next to the plan (or list) they belong to, so a re-run of the same command finds them:

    plan.json  ->  plan.json.journal.jsonl   one JSON record a line (`glcr.plan.journal_records`)
               ->  plan.json.log             one readable line per outcome

Each record is written, flushed and fsynced before the next step, so a kill loses at most the
line being written. Reading skips a cut-off last line silently (that is what a kill leaves); any
other unreadable line is skipped and reported in `JournalContents.damaged_lines`. Losing a record
is safe: the tag is tried again, and a 404 then reads as `already_absent`.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from glcr.durable import fsync_directory
from glcr.errors import AbortedError, InvalidInputError
from glcr.plan.journal_records import Event, JournalRecord, replay_records
from glcr.reference import short_digest
from glcr.timestamps import format_time

JOURNAL_SUFFIX = ".journal.jsonl"
LOG_SUFFIX = ".log"


@dataclass(frozen=True)
class JournalPaths:
    journal: Path
    log: Path


def default_paths(plan_path: str | os.PathLike[str]) -> JournalPaths:
    """`plan.json` -> `plan.json.journal.jsonl` and `plan.json.log`, in the plan's directory."""
    plan_path = Path(plan_path)
    return JournalPaths(journal=plan_path.with_name(plan_path.name + JOURNAL_SUFFIX),
                        log=plan_path.with_name(plan_path.name + LOG_SUFFIX))


def new_run_id(now: datetime) -> str:
    """`20261127T054000Z-3fa2c1`: sorts by start time; the random part tells apart runs started
    in the same second."""
    return f"{format_time(now.replace(microsecond=0)).replace('-', '').replace(':', '')}-{secrets.token_hex(3)}"


def format_log_line(record: JournalRecord) -> str:
    """`2026-11-27T05:40:01Z deleted group/app/api:v1.0 0123456789ab (detail)`."""
    line = f"{format_time(record.ts)} {record.event.value} {record.repository}:{record.tag} " \
           f"{short_digest(record.digest)}"
    return f"{line} ({record.detail})" if record.detail else line


class JournalWriter:
    """Appends records to the journal (durably) and outcomes to the human log (`start` is not an
    outcome, so it goes to the journal only). Safe to share between threads.

    Use as a context manager: `with JournalWriter(paths.journal, log_path=paths.log) as journal:`.
    """

    def __init__(self, path: str | os.PathLike[str], *, log_path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        created = not self.path.exists()
        self._file = _open_private(self.path, "a+b")
        try:
            _lock_exclusive(self._file, self.path)
        except BaseException:
            self._file.close()
            raise
        # A kill can leave a cut-off last line; end it, so the next record starts on a line of
        # its own instead of being glued to (and lost with) the fragment.
        if self._file.seek(0, os.SEEK_END) > 0:
            self._file.seek(-1, os.SEEK_END)
            if self._file.read(1) != b"\n":
                self._append(b"\n")
        if created:
            fsync_directory(self.path.parent)
        try:
            self._log = _open_private(Path(log_path), "a") if log_path else None
        except BaseException:
            self._file.close()
            raise

    def write(self, record: JournalRecord, *, durable: bool = True) -> None:
        """Append one record. `durable=False` skips the fsync (call `sync()` later): for outcomes,
        where a lost record only means the tag is checked again (and found gone) on resume."""
        data = (record.to_line() + "\n").encode("utf-8")
        with self._lock:
            self._append(data, durable=durable)
            if self._log is not None and record.event != Event.START:
                self._log.write(format_log_line(record) + "\n")
                self._log.flush()

    def write_many(self, records: list[JournalRecord]) -> None:
        """Several records with one fsync (e.g. the `start` of every tag of a batch): durable
        together, at a thousandth of the cost of one fsync each."""
        data = b"".join((r.to_line() + "\n").encode("utf-8") for r in records)
        with self._lock:
            self._append(data)
            if self._log is not None:
                for record in records:
                    if record.event != Event.START:
                        self._log.write(format_log_line(record) + "\n")
                self._log.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
            if self._log is not None:
                self._log.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def sync(self) -> None:
        with self._lock:
            os.fsync(self._file.fileno())

    def _append(self, data: bytes, *, durable: bool = True) -> None:
        self._file.write(data)
        self._file.flush()
        if durable:
            os.fsync(self._file.fileno())


def _open_private(path: Path, mode: Literal["a+b", "a"]) -> IO[Any]:
    """Open for appending, created 0600: a journal names every tag and digest of a private
    registry. A missing directory is the caller's mistake, said in one line."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    except FileNotFoundError:
        raise InvalidInputError(f"cannot write {path}: the directory {path.parent} does not exist",
                                hint="create it, or choose another --journal") from None
    except (IsADirectoryError, PermissionError, NotADirectoryError) as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror}", hint="choose another --journal") from None
    if "b" in mode:
        return os.fdopen(fd, "a+b")
    return os.fdopen(fd, "a", encoding="utf-8")


def _lock_exclusive(handle: IO[bytes], path: Path) -> None:
    """One apply per journal at a time: a second one would re-check and delete the same tags
    concurrently and write interleaved outcomes. The lock goes with the process (a kill frees it)."""
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise JournalBusyError(f"another glcr apply is running with the journal {path}; nothing was changed",
                               hint="wait for it to finish, then run the same command again") from None


class JournalBusyError(AbortedError):
    """Another process holds the journal's lock."""


@dataclass(frozen=True)
class JournalContents:
    records: tuple[JournalRecord, ...]
    damaged_lines: tuple[int, ...] = ()  # unreadable lines other than a cut-off last line


def read_journal(path: str | os.PathLike[str]) -> JournalContents:
    """All whole records, in order. A missing journal is an empty one (the first run)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return JournalContents(records=())
    lines = data.split(b"\n")
    cut_off = lines.pop()  # b"" when the file ends with a newline; else a fragment from a kill
    records, damaged = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # the newline JournalWriter adds after a fragment leaves none; be lenient
        try:
            records.append(JournalRecord.from_line(line.decode("utf-8")))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            damaged.append(number)
    if cut_off.strip():
        try:  # a whole record whose newline was not written yet still counts
            records.append(JournalRecord.from_line(cut_off.decode("utf-8")))
        except ValueError:
            pass
    return JournalContents(records=tuple(records), damaged_lines=tuple(damaged))


def replay(path: str | os.PathLike[str]) -> dict[tuple[str, str], JournalRecord]:
    """The last record per (repository, tag); pass it to `progress.pending_entries`/`summarize`."""
    return replay_records(read_journal(path).records)


