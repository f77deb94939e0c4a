"""The e2e tests' fork server (tests/e2e/glcr_forkserver.py) must be indistinguishable from
`python -m glcr` in a fresh interpreter: same stdout, stderr and exit code, the caller's
environment, working directory and stdin, and a process that ends as the real one would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from glcr_forkserver import run_glcr

UNREACHABLE = {"GITLAB_URL": "http://127.0.0.1:9", "GITLAB_TOKEN": "glpat-forkserver-test-0000"}


@pytest.mark.parametrize("args", [
    ["--version"],
    ["tags", "list"],  # usage error: exit 2, Typer's box on stderr
    ["policy", "set", "demo/app", "--cadence", "bogus"],  # invalid value: exit 3, one line
    ["tags", "list", "demo/app", "--older-than", "12"],
], ids=["version", "usage", "invalid-value", "bad-age"])
def test_a_fork_answers_exactly_as_a_fresh_interpreter(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, **UNREACHABLE, "COLUMNS": "100"}
    fresh = subprocess.run([sys.executable, "-m", "glcr", *args], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    forked = run_glcr(args, env, cwd=str(tmp_path), timeout=60)
    assert forked == (fresh.returncode, fresh.stdout, fresh.stderr)


def test_a_fork_reads_the_callers_stdin_environment_and_directory(tmp_path: Path) -> None:
    env = {**os.environ, **UNREACHABLE, "GLCR_JOBS": "zero"}  # read at run time: must be this call's
    code, _, err = run_glcr(["tags", "list", "demo/app"], env, cwd=str(tmp_path), timeout=60)
    assert code == 3 and "GLCR_JOBS" in err, err
    listing = tmp_path / "bad.txt"
    listing.write_text("not a tag!\n")
    code, _, err = run_glcr(["tags", "apply", "demo/app", "--from-file", "bad.txt", "--yes"],
                            {**os.environ, **UNREACHABLE}, cwd=str(tmp_path), timeout=60)
    assert code == 3 and "bad.txt" in err, err  # the relative path was found in the caller's directory


def test_a_run_past_its_timeout_is_killed_like_subprocess_kills_it(tmp_path: Path) -> None:
    # A GitLab that accepts and never answers: glcr waits on it; the timeout must end that process
    # (its connection closes) and raise what subprocess.run raises. (A run that ends itself with
    # os._exit(137), as migrate's crash hook does, is covered by test_kill_resume's code check.)
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        env = {**os.environ, "GITLAB_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "GITLAB_TOKEN": UNREACHABLE["GITLAB_TOKEN"]}
        with pytest.raises(subprocess.TimeoutExpired):
            run_glcr(["tags", "list", "demo/app"], env, timeout=3)
        connection, _ = silent.accept()
        connection.settimeout(10)
        with connection:
            while connection.recv(65536):  # the request, then EOF once the process is gone
                pass
