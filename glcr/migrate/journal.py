"""The migration directory: `plan.json`, the append-only `journal.jsonl`, and a lock.

    <state root>/<migration id>/plan.json       the plan with the full inventory (written once)
                                /journal.jsonl   one JournalEntry a line, fsynced before going on
                                /lock            flock'd while a run is active

The state root is `--state-dir`, else `$XDG_STATE_HOME/glcr/migrations`, else
`~/.local/state/glcr/migrations`.

Why not glcr.plan.journal: its records are one tag delete each (repository, tag, digest and a
fixed set of delete outcomes); a migration journals steps of several kinds with per-step data
(verified digests, bytes moved) and a rollback that replaces the remaining steps. The file
handling is the same (glcr.durable.AppendLog and read_log): fsync each line, one writer, a line
cut off by a kill skipped, any other damaged line skipped and reported.

Everything here is private (files 0600, directories 0700) whatever the caller's umask.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from glcr.durable import DIR_MODE, AppendLog, LogContents, fsync_directory, private_dir, read_log, write_atomic
from glcr.errors import InvalidInputError, NotFoundError, RefusedError
from glcr.migrate.model import Event, JournalEntry, MigrationPlan
from glcr.statedir import state_path

PLAN_FILE = "plan.json"
JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "lock"


def default_state_root(env: dict[str, str] | None = None) -> Path:
    return Path(state_path("migrations", env=env))


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_migration_id(now: datetime | None = None) -> str:
    """`20261127t054000z-3fa2c1`: lower case (it becomes part of a registry path), sorts by time."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dt%H%M%Sz')}-{secrets.token_hex(3)}"


class MigrationLockedError(RefusedError):
    """Another glcr process is running this migration."""


@dataclass
class MigrationDir:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def plan_path(self) -> Path:
        return self.path / PLAN_FILE

    @property
    def journal_path(self) -> Path:
        return self.path / JOURNAL_FILE

    @classmethod
    def create(cls, root: Path, plan: MigrationPlan) -> MigrationDir:
        """A new directory (0700, as its parents glcr creates) with the plan (0600), written once."""
        private_dir(root)
        directory = cls(root / plan.id)
        directory.path.mkdir(mode=DIR_MODE)  # FileExistsError: a plan is written once
        os.chmod(directory.path, DIR_MODE)  # mkdir's mode is filtered by the umask
        data = json.dumps(plan.to_json(), indent=1, sort_keys=True) + "\n"
        write_atomic(directory.plan_path, data.encode("utf-8"))
        fsync_directory(root)
        return directory

    def load_plan(self) -> MigrationPlan:
        try:
            return MigrationPlan.from_json(json.loads(self.plan_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise NotFoundError(f"no migration at {self.path}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(f"{self.plan_path} is not a readable migration plan: {exc}") from None

    def entries(self) -> list[JournalEntry]:
        return read_entries(self.journal_path)

    def read_journal(self) -> LogContents[JournalEntry]:
        return read_journal(self.journal_path)

    def journal(self) -> JournalFile:
        return JournalFile(self.journal_path)

    def lock(self) -> _Lock:
        return _Lock(self.path / LOCK_FILE)


def _parse_entry(line: str) -> JournalEntry:
    return JournalEntry.from_json(json.loads(line))


def read_journal(path: Path) -> LogContents[JournalEntry]:
    """Whole entries in order, and the damaged lines (glcr.durable.read_log): a line cut off by a
    kill is left out silently, any other unreadable line is left out and reported."""
    return read_log(path, _parse_entry)


def read_entries(path: Path) -> list[JournalEntry]:
    """Whole entries in order (read_journal without the damage report)."""
    return list(read_journal(path).records)


class JournalFile:
    """Append-only (glcr.durable.AppendLog: 0600, flock'd, a cut-off line ended); each entry is
    written, flushed and fsynced before the caller goes on."""

    def __init__(self, path: Path) -> None:
        self._log = AppendLog(path, busy=f"migration {path.parent.name} is being run by another glcr process",
                              hint="wait for it, or stop it first")

    def write(self, step: str, event: Event, detail: str = "", data: dict | None = None) -> JournalEntry:
        entry = JournalEntry(utc_now(), step, event, detail, data or {})
        line = json.dumps(entry.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._log.append((line + "\n").encode("utf-8"))
        return entry

    def close(self) -> None:
        self._log.close()

    def __enter__(self) -> JournalFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Lock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _Lock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise MigrationLockedError(f"migration {self.path.parent.name} is being run by another glcr process",
                                       hint="wait for it, or stop it first") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def list_migrations(root: Path) -> Iterator[MigrationDir]:
    """Every migration under the root, newest first (ids sort by start time)."""
    if not root.is_dir():
        return iter(())
    dirs = sorted((p for p in root.iterdir() if (p / PLAN_FILE).is_file()), key=lambda p: p.name, reverse=True)
    return (MigrationDir(p) for p in dirs)


def named_migration(root: Path, migration_id: str) -> MigrationDir:
    directory = MigrationDir(root / migration_id)
    if not directory.plan_path.is_file():
        raise NotFoundError(f"no migration {migration_id} under {root}",
                            hint="`glcr migrate-project status` lists them")
    return directory


def find_migration(root: Path, migration_id: str | None) -> MigrationDir:
    if migration_id:
        return named_migration(root, migration_id)
    for directory in list_migrations(root):
        return directory
    raise NotFoundError(f"no migration under {root}", hint="start one with `glcr migrate-project SRC --to DST`")


