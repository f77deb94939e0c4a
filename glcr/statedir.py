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
