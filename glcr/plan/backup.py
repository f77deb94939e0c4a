"""The manifests a delete removed, saved before it, so that `glcr tags restore` can put the tags back.

A deleted tag's manifest and blobs stay in the registry until its garbage collection runs
(GitLab's registry with its metadata database: online GC reviews unreferenced manifests and blobs
24 h after they lose their last reference, by default; GitLab's legacy-metadata mode and
third-party registries: until an administrator runs offline GC). Whoever holds the manifest's
exact bytes can PUT them again under the tag, and gets the same digest.

Files (0600, each batch fsynced before the DELETEs it covers):

    plan.json.journal.jsonl  ->  plan.json.manifests.jsonl   beside a journal (tags apply, cleanup run)
    $XDG_STATE_HOME/glcr/deletes/<run>.manifests.jsonl      for `tags delete`, which keeps no journal
    $XDG_STATE_HOME/glcr/restore/index.jsonl                which command wrote which file: `--last`

One JSON record a line: the tag, its digest, media type and manifest bytes (base64), and for an
index the bytes of each child manifest.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from glcr.durable import fsync_directory, open_private, private_dir
from glcr.errors import InvalidInputError
from glcr.statedir import state_path
from glcr.timestamps import format_time, parse_time

BACKUP_SUFFIX = ".manifests.jsonl"
JOURNAL_SUFFIX = ".journal.jsonl"
# One glcr process is one command: every file a command writes carries its id, so `--last` puts
# back what the last delete command removed, across the repositories of a `cleanup run`.
COMMAND_ID = secrets.token_hex(6)


@dataclass(frozen=True)
class SavedManifest:
    digest: str
    media_type: str
    raw: bytes


@dataclass(frozen=True)
class SavedTag:
    """One deleted tag as it was: restorable while its blobs are in the registry."""

    repository: str  # GitLab's path (group/project/name)
    location: str  # host/path on the registry
    tag: str
    manifest: SavedManifest
    children: tuple[SavedManifest, ...] = ()  # an index's child manifests (platform images)
    mode: str = ""  # RegistryKind.mode when it was saved
    command: str = ""
    run_id: str = ""
    ts: datetime | None = None

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def to_line(self) -> str:
        def one(m: SavedManifest) -> dict[str, str]:
            return {"digest": m.digest, "media_type": m.media_type, "manifest": base64.b64encode(m.raw).decode()}

        return json.dumps({"v": 1, "ts": format_time(self.ts) if self.ts else None, "command": self.command,
                           "run_id": self.run_id, "repository": self.repository, "location": self.location,
                           "mode": self.mode, "tag": self.tag, **one(self.manifest),
                           "children": [one(c) for c in self.children]}, separators=(",", ":"))

    @classmethod
    def from_line(cls, line: str) -> SavedTag:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not a record")

        def one(m: dict[str, Any]) -> SavedManifest:
            return SavedManifest(str(m["digest"]), str(m["media_type"]), base64.b64decode(m["manifest"], validate=True))

        try:
            return cls(str(data["repository"]), str(data["location"]), str(data["tag"]), one(data),
                       tuple(one(c) for c in data.get("children") or ()), str(data.get("mode") or ""),
                       str(data.get("command") or ""), str(data.get("run_id") or ""),
                       parse_time(data["ts"]) if data.get("ts") else None)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete record: {exc}") from None


def backup_path(journal: str | os.PathLike[str]) -> Path:
    """`plan.json.journal.jsonl` -> `plan.json.manifests.jsonl`; any other name gets the suffix."""
    journal = Path(journal)
    stem = journal.name[:-len(JOURNAL_SUFFIX)] if journal.name.endswith(JOURNAL_SUFFIX) else journal.name
    return journal.with_name(stem + BACKUP_SUFFIX)


def delete_backup_path(run_id: str, env: Mapping[str, str] | None = None) -> Path:
    """Where `tags delete` (no journal) saves what it deletes."""
    return Path(state_path("deletes", f"{run_id}{BACKUP_SUFFIX}", env=env))


def index_path(env: Mapping[str, str] | None = None) -> Path:
    return Path(state_path("restore", "index.jsonl", env=env))


def find_backup(given: str | os.PathLike[str]) -> Path:
    """The saved manifests for what the user named: the file itself, a journal, or a plan/list."""
    given = Path(given)
    candidates = [given] if given.name.endswith(BACKUP_SUFFIX) else [
        backup_path(given), backup_path(given.with_name(given.name + JOURNAL_SUFFIX))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InvalidInputError(f"no saved manifests for {given} (looked for {candidates[0].name})",
                            hint="name the journal of a glcr delete, or use --last")


class BackupWriter:
    """Appends saved tags to one file; each `write` is durable before it returns (the DELETEs
    it covers come after). Safe to share between threads."""

    def __init__(self, path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> None:
        self.path = Path(path)
        self._env = env
        self._lock = threading.Lock()
        self._registered = False

    def write(self, saved: list[SavedTag]) -> None:
        if not saved:
            return
        data = b"".join((s.to_line() + "\n").encode("utf-8") for s in saved)
        with self._lock:
            _append_durably(self.path, data)
            if not self._registered:
                # The index entry after the data: `--last` never points at a file without it.
                entry = {"command": COMMAND_ID, "file": str(self.path.resolve()), "ts": format_time(saved[0].ts)
                         if saved[0].ts else None}
                index = index_path(self._env)
                private_dir(index.parent)
                _append_durably(index, (json.dumps(entry) + "\n").encode("utf-8"))
                self._registered = True


def _append_durably(path: Path, data: bytes) -> None:
    created = not path.exists()
    try:
        handle = open_private(path, append=True)  # 0600 whatever the umask: it holds the images' manifests
    except OSError as exc:
        raise InvalidInputError(f"cannot save manifests to {path}: {exc.strerror}; nothing was deleted") from None
    with handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if created:
        fsync_directory(path.parent)


@dataclass(frozen=True)
class Loaded:
    tags: tuple[SavedTag, ...]
    damaged_lines: tuple[int, ...] = ()


def read_backup(path: str | os.PathLike[str], *, command: str | None = None) -> Loaded:
    """Every whole record (a cut-off last line is what a kill leaves: skipped); `command`: only
    that command's records."""
    try:
        lines = Path(path).read_bytes().split(b"\n")
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror}") from None
    tail = lines.pop()
    saved, damaged = [], []
    for number, line in enumerate([*lines, tail], start=1):
        if not line.strip():
            continue
        try:
            record = SavedTag.from_line(line.decode("utf-8"))
        except ValueError:
            if number <= len(lines):
                damaged.append(number)
            continue
        if command is None or record.command == command:
            saved.append(record)
    return Loaded(tuple(saved), tuple(damaged))


def last_command(env: Mapping[str, str] | None = None) -> tuple[str, tuple[Path, ...]]:
    """The last delete command that saved manifests, and the files it wrote to."""
    try:
        lines = index_path(env).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InvalidInputError("no glcr delete has saved manifests on this machine yet",
                                hint="name a journal instead of --last") from None
    entries = []
    for line in lines:
        try:
            entry = json.loads(line)
            entries.append((str(entry["command"]), Path(entry["file"])))
        except (ValueError, KeyError, TypeError):
            continue
    if not entries:
        raise InvalidInputError(f"{index_path(env)} names no saved manifests", hint="name a journal instead of --last")
    command = entries[-1][0]
    files = tuple(dict.fromkeys(f for c, f in entries if c == command))
    return command, files


def latest_per_tag(saved: tuple[SavedTag, ...] | list[SavedTag]) -> list[SavedTag]:
    """The last record of each (repository, tag): a journal that was re-applied may hold several."""
    latest: dict[tuple[str, str], SavedTag] = {}
    for record in saved:
        latest[(record.repository, record.tag)] = record
    return list(latest.values())
