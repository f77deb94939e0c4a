"""Where glcr keeps files between runs, after the XDG base directory spec.

State (journals of migrations and cleanups, the sandbox): `$XDG_STATE_HOME/glcr/...`, else
`~/.local/state/glcr/...`. Caches (TAB completion): `$XDG_CACHE_HOME/glcr/...`, else
`~/.cache/glcr/...`. An empty variable counts as unset, as the spec says. Strings built with
os.path only: TAB completion reads the cache and should not pay for more imports.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def state_path(*parts: str, env: Mapping[str, str] | None = None) -> str:
    """`$XDG_STATE_HOME/glcr/<parts>`, else `~/.local/state/glcr/<parts>`."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(_home(env), ".local", "state")
    return os.path.join(base, "glcr", *parts)


def cache_path(*parts: str, env: Mapping[str, str] | None = None) -> str:
    """`$XDG_CACHE_HOME/glcr/<parts>`, else `~/.cache/glcr/<parts>`."""
    env = os.environ if env is None else env
    base = env.get("XDG_CACHE_HOME") or os.path.join(_home(env), ".cache")
    return os.path.join(base, "glcr", *parts)


# Below this much free space a journal or plan may be cut off half-way: refuse up front.
MIN_FREE_BYTES = 1 << 20


def check_directory(path: str | os.PathLike[str], what: str, option: str | None = None) -> None:
    """InvalidInputError (exit 3, one line) unless glcr can create and write files in the
    directory `path` (it may not exist yet; glcr creates it): a path under a file, a file
    itself, a directory this user cannot write, or a full disk. Called before any request, so
    an unusable location costs nothing and changes nothing."""
    path = os.path.expanduser(os.fspath(path))
    if os.path.exists(path) and not os.path.isdir(path):
        _refuse(what, path, "it is a file, not a directory", option)
    _check_writable(_existing_ancestor(path, path, what, option), path, what, option)


def check_file(path: str | os.PathLike[str], what: str, option: str | None = None) -> None:
    """The same for a file glcr will create or append to (a journal, a plan): not a directory,
    writable if it exists, in an existing, writable directory with room."""
    path = os.path.expanduser(os.fspath(path))
    if os.path.isdir(path):
        _refuse(what, path, "it is a directory", option)
    if os.path.exists(path) and not os.access(path, os.W_OK):
        _refuse(what, path, "it is not writable", option)
    parent = os.path.dirname(os.path.abspath(path))
    ancestor = _existing_ancestor(parent, path, what, option)
    if ancestor != parent:
        _refuse(what, path, f"the directory {parent} does not exist", option, hint="create it first")
    _check_writable(parent, path, what, option)


def _existing_ancestor(directory: str, path: str, what: str, option: str | None) -> str:
    """The nearest existing directory at or above `directory`; a file on the way is refused."""
    current = os.path.abspath(directory)
    while not os.path.exists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if not os.path.isdir(current):
        _refuse(what, path, f"{current} is a file, not a directory", option)
    return current


def _check_writable(directory: str, path: str, what: str, option: str | None) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        _refuse(what, path, f"{directory} is not writable", option)
    try:
        stats = os.statvfs(directory)
    except (OSError, AttributeError):  # no statvfs (Windows): the write itself will say
        return
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        _refuse(what, path, f"the disk is full ({free} bytes free in {directory})", option)


def _refuse(what: str, path: str, problem: str, option: str | None, *, hint: str | None = None) -> None:
    from glcr.errors import InvalidInputError

    where = f"choose another {option}" if option else "choose another location"
    raise InvalidInputError(f"cannot use {path} as the {what}: {problem}; nothing was done",
                            hint=hint + f", or {where}" if hint else where)
