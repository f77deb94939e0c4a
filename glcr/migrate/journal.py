"""The migration directory: `plan.json`, the append-only `journal.jsonl`, and a lock.

    <state root>/<migration id>/plan.json       the plan with the full inventory (written once)
                                /journal.jsonl   one JournalEntry a line, fsynced before going on
                                /lock            flock'd while a run is active

The state root is `--state-dir`, else `$XDG_STATE_HOME/glcr/migrations`, else
`~/.local/state/glcr/migrations`.

Why not glcr.plan.journal: its records are one tag delete each (repository, tag, digest and a
fixed set of delete outcomes); a migration journals steps of several kinds with per-step data
(verified digests, bytes moved) and a rollback that replaces the remaining steps. The
durability rules are the same: fsync each line, skip a line cut off by a kill.
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

from glcr.durable import fsync_directory
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
        directory = cls(root / plan.id)
        directory.path.mkdir(parents=True, exist_ok=False)
        tmp = directory.path / (PLAN_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(plan.to_json(), handle, indent=1, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, directory.plan_path)
        fsync_directory(directory.path)
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

    def journal(self) -> JournalFile:
        return JournalFile(self.journal_path)

    def lock(self) -> _Lock:
        return _Lock(self.path / LOCK_FILE)


def read_entries(path: Path) -> list[JournalEntry]:
    """Whole entries in order; a cut-off or unreadable line (a kill mid-write) is skipped."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            entries.append(JournalEntry.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return entries


class JournalFile:
    """Append-only; each entry is written, flushed and fsynced before the caller goes on."""

    def __init__(self, path: Path) -> None:
        created = not path.exists()
        self._file = open(path, "a+b")  # noqa: SIM115 - closed by close()
        if self._file.seek(0, os.SEEK_END) > 0:
            self._file.seek(-1, os.SEEK_END)
            if self._file.read(1) != b"\n":  # end a line cut off by a kill
                self._append(b"\n")
        if created:
            fsync_directory(path.parent)

    def write(self, step: str, event: Event, detail: str = "", data: dict | None = None) -> JournalEntry:
        entry = JournalEntry(utc_now(), step, event, detail, data or {})
        line = json.dumps(entry.to_json(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._append((line + "\n").encode("utf-8"))
        return entry

    def _append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

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


