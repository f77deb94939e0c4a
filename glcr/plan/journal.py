"""The append-only journal of an apply, and its human log. The one module in `glcr.plan` with I/O.

Files sit next to the plan (or list) they belong to, so a re-run of the same command finds them:

    plan.json  ->  plan.json.journal.jsonl   one JSON record a line (`glcr.plan.journal_records`)
               ->  plan.json.log             one readable line per outcome

Each record is written, flushed and fsynced before the next step, so a kill loses at most the
line being written (glcr.durable.AppendLog). Reading skips a cut-off last line silently (that is
what a kill leaves); any other unreadable line is skipped and reported in `damaged_lines`. Losing a record
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

from glcr.durable import AppendLog, LogContents, open_private, read_log
from glcr.durable import JournalBusyError as JournalBusyError  # where callers have long found it
from glcr.errors import InvalidInputError
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
    """Appends records to the journal (durably, through glcr.durable.AppendLog: private, locked,
    a cut-off line ended) and outcomes to the human log (`start` is not an outcome, so it goes to
    the journal only). Safe to share between threads.

    Use as a context manager: `with JournalWriter(paths.journal, log_path=paths.log) as journal:`.
    """

    def __init__(self, path: str | os.PathLike[str], *, log_path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # One apply per journal at a time: a second one would re-check and delete the same tags
        # concurrently and write interleaved outcomes.
        self._journal = AppendLog(self.path, busy=f"another glcr apply is running with the journal {self.path}; "
                                                 "nothing was changed",
                                  hint="wait for it to finish, then run the same command again")
        try:
            self._log = open_private(Path(log_path), append=True) if log_path else None
        except OSError as exc:
            self._journal.close()
            raise InvalidInputError(f"cannot write {log_path}: {exc.strerror}", hint="choose another --journal") from None
        except BaseException:
            self._journal.close()
            raise

    def write(self, record: JournalRecord, *, durable: bool = True) -> None:
        """Append one record. `durable=False` skips the fsync (call `sync()` later): for outcomes,
        where a lost record only means the tag is checked again (and found gone) on resume."""
        data = (record.to_line() + "\n").encode("utf-8")
        with self._lock:
            self._journal.append(data, durable=durable)
            if self._log is not None and record.event != Event.START:
                self._log.write((format_log_line(record) + "\n").encode("utf-8"))
                self._log.flush()

    def write_many(self, records: list[JournalRecord]) -> None:
        """Several records with one fsync (e.g. the `start` of every tag of a batch): durable
        together, at a thousandth of the cost of one fsync each."""
        data = b"".join((r.to_line() + "\n").encode("utf-8") for r in records)
        with self._lock:
            self._journal.append(data)
            if self._log is not None:
                for record in records:
                    if record.event != Event.START:
                        self._log.write((format_log_line(record) + "\n").encode("utf-8"))
                self._log.flush()

    def close(self) -> None:
        with self._lock:
            self._journal.close()
            if self._log is not None:
                self._log.close()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def sync(self) -> None:
        self._journal.sync()


# The journal's record type; `damaged_lines`: unreadable lines other than a cut-off last line.
JournalContents = LogContents


def read_journal(path: str | os.PathLike[str]) -> LogContents[JournalRecord]:
    """All whole records, in order. A missing journal is an empty one (the first run)."""
    return read_log(path, JournalRecord.from_line)


def replay(path: str | os.PathLike[str]) -> dict[tuple[str, str], JournalRecord]:
    """The last record per (repository, tag); pass it to `progress.pending_entries`/`summarize`."""
    return replay_records(read_journal(path).records)

