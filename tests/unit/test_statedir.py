"""glcr.statedir: one place decides where state and caches live (XDG base directory spec)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glcr.cli.complete import cache_file
from glcr.migrate.journal import default_state_root
from glcr.statedir import cache_path, state_path


@pytest.mark.parametrize(
    ("env", "state", "cache"),
    [
        ({"XDG_STATE_HOME": "/s", "XDG_CACHE_HOME": "/c", "HOME": "/h"}, "/s/glcr/x/y", "/c/glcr/x/y"),
        ({"HOME": "/h"}, "/h/.local/state/glcr/x/y", "/h/.cache/glcr/x/y"),
        ({"XDG_STATE_HOME": "", "XDG_CACHE_HOME": "", "HOME": "/h"}, "/h/.local/state/glcr/x/y", "/h/.cache/glcr/x/y"),
    ],
)
def test_state_and_cache_paths(env, state, cache):
    assert state_path("x", "y", env=env) == state
    assert cache_path("x", "y", env=env) == cache


def test_the_process_environment_is_the_default(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert state_path("sandbox") == str(tmp_path / "state" / "glcr" / "sandbox")
    assert cache_path("completion.json") == str(tmp_path / "cache" / "glcr" / "completion.json")


def test_callers_use_it():
    env = {"XDG_STATE_HOME": "/s", "XDG_CACHE_HOME": "/c"}
    assert default_state_root(env) == Path("/s/glcr/migrations")
    assert cache_file(env) == "/c/glcr/completion.json"
