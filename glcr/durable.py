"""Writing files so that a kill or a crash never leaves half of one: journals, plans, layouts.

Everything written here is private (files 0600, directories 0700, whatever the umask): plans and
journals name every tag and digest of a private registry, and a backup directory holds its images.

Two shapes:
- `write_atomic`: a whole file (a plan, an index), replaced in one rename;
- `AppendLog`: an append-only journal of one JSON record a line, fsynced record by record, held
  by one writer at a time (flock), read back by `read_log`, which reports damaged lines.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Callable, Generic, TypeVar

from glcr.errors import AbortedError, InvalidInputError

FILE_MODE = 0o600
DIR_MODE = 0o700


def fsync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable too (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """Create a directory, and each of its missing parents, readable by this user only. An
    existing directory keeps its mode: it is the user's, and may be shared on purpose."""
    path = Path(path)
    missing = []
    for candidate in (path, *path.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for directory in reversed(missing):  # mkdir(parents=True) would give the parents 0777 & ~umask
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:  # made meanwhile by someone else: theirs, left as it is
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def _open_fd(path: Path, flags: int) -> int:
    """os.open, the file created 0600 whatever the umask (an existing file keeps its mode)."""
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, flags)
    os.fchmod(fd, FILE_MODE)  # the umask may have taken bits from the owner too
    return fd


def open_private(path: Path, *, append: bool = False) -> IO[bytes]:
    """A binary file handle, created 0600."""
    fd = _open_fd(Path(path), os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    return os.fdopen(fd, "ab" if append else "wb")


def write_atomic(path: Path, data: bytes) -> None:
    """Write beside, fsync, rename over: readers see the old file or the new one, never a part."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(3)}.part")
    try:
        with open_private(tmp) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


class JournalBusyError(AbortedError):
    """Another process holds a journal's lock (exit 10, README: "another apply holds the journal's lock")."""


class AppendLog:
    """An append-only journal, one record a line, held by one writer at a time.

    - created 0600 (its directory's entry fsynced), whatever the umask;
    - an exclusive flock for as long as it is open: a second writer (another glcr process) gets
      JournalBusyError naming the process that holds it, before anything is written;
    - a line cut off by a kill is ended on open, so the next record starts on a line of its own
      (the fragment then reads as a damaged line: reported, never glued to a good record);
    - each `append` is written, flushed and fsynced before it returns (`durable=False`: later,
      by `sync()`). Safe to share between threads.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy: str, hint: str | None = None) -> None:
        """`busy`: what a second writer is told, e.g. "another glcr apply is running with the
        journal X; nothing was changed" (the holder's pid is added when it can be found)."""
        self.path = Path(path)
        self._lock = threading.Lock()
        created = not self.path.exists()
        try:
            fd = _open_fd(self.path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            raise InvalidInputError(f"cannot write {self.path}: the directory {self.path.parent} does not exist",
                                    hint="create it, or choose another --journal") from None
        except (IsADirectoryError, PermissionError, NotADirectoryError) as exc:
            raise InvalidInputError(f"cannot write {self.path}: {exc.strerror}",
                                    hint="choose another --journal") from None
        self._file = os.fdopen(fd, "a+b")
        try:
            _lock_exclusive(self._file.fileno(), busy, hint)
            if self._file.seek(0, os.SEEK_END) > 0:
                self._file.seek(-1, os.SEEK_END)
                if self._file.read(1) != b"\n":  # a line cut off by a kill: end it
                    self._write(b"\n")
        except BaseException:
            self._file.close()
            raise
        if created:
            fsync_directory(self.path.parent)

    def append(self, data: bytes, *, durable: bool = True) -> None:
        """One or more whole lines (each ending in a newline)."""
        with self._lock:
            self._write(data, durable=durable)

    def sync(self) -> None:
        with self._lock:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            self._file.close()  # closing the last descriptor drops the flock

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _write(self, data: bytes, *, durable: bool = True) -> None:
        self._file.write(data)
        self._file.flush()
        if durable:
            os.fsync(self._file.fileno())


def _lock_exclusive(fd: int, busy: str, hint: str | None) -> None:
    """The lock goes with the process: a kill frees it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = lock_holder(fd)
        raise JournalBusyError(busy + (f" (glcr process {holder})" if holder else ""), hint=hint) from None


def lock_holder(fd: int, locks: str | None = None) -> int | None:
    """The pid holding a flock on the file open as `fd`, from Linux's /proc/locks
    (`1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF`); None where that cannot be told."""
    st = os.fstat(fd)
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    if locks is None:
        try:
            with open("/proc/locks", encoding="ascii", errors="replace") as handle:
                locks = handle.read()
        except OSError:
            return None
    for line in locks.splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not the holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == where and fields[4].isdigit():
            pid = int(fields[4])
            if pid != os.getpid():
                return pid
    return None


T = TypeVar("T")


@dataclass(frozen=True)
class LogContents(Generic[T]):
    path: Path
    records: tuple[T, ...]
    damaged_lines: tuple[int, ...] = ()  # unreadable lines (1-based) other than a cut-off last line

    def damage_note(self) -> str | None:
        """One line for the user, or None when every line was read."""
        if not self.damaged_lines:
            return None
        shown = ", ".join(str(n) for n in self.damaged_lines[:10])
        more = f" and {len(self.damaged_lines) - 10} more" if len(self.damaged_lines) > 10 else ""
        return (f"{self.path}: {len(self.damaged_lines)} damaged line(s) skipped (line {shown}{more}); "
                f"what they recorded is checked again")


def read_log(path: str | os.PathLike[str], parse: Callable[[str], T]) -> LogContents[T]:
    """Every whole record, in order; a missing file is an empty one (the first run).

    `parse(line)` raises ValueError, KeyError or TypeError for a line it cannot read. A cut-off
    last line (what a kill leaves) is left out silently, or counted if it is a whole record whose
    newline was not written yet; any other unreadable line is left out and reported. Blank lines
    are not records.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LogContents(path, ())
    lines = data.split(b"\n")
    cut_off = lines.pop()  # b"" when the file ends with a newline; else a fragment from a kill
    records: list[T] = []
    damaged: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(parse(line.decode("utf-8")))
        except (ValueError, KeyError, TypeError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            damaged.append(number)
    if cut_off.strip():
        try:
            records.append(parse(cut_off.decode("utf-8")))
        except (ValueError, KeyError, TypeError):
            pass
    return LogContents(path, tuple(records), tuple(damaged))
