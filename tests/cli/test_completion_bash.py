"""Completion in a real bash, driven through tmux: type, press TAB, read the screen.

Also checks that the committed scripts under completions/ are exactly what Typer generates.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox_fixtures import project, registry, sandbox  # noqa: F401 (fixtures)
import sandbox_fixtures as _fixtures

if hasattr(_fixtures, "registry_kind"):  # the sandbox runs once per registry kind
    registry_kind = _fixtures.registry_kind

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not shutil.which("tmux") or not shutil.which("bash"), reason="needs tmux and bash")


def test_committed_scripts_are_what_typer_generates() -> None:
    from typer._completion_shared import get_completion_script

    for shell, name in (("bash", "glcr.bash"), ("zsh", "_glcr"), ("fish", "glcr.fish")):
        committed = (ROOT / "completions" / name).read_text()
        generated = get_completion_script(prog_name="glcr", complete_var="_GLCR_COMPLETE", shell=shell)
        body = [line for line in committed.splitlines() if not line.startswith("# ")]
        assert body == generated.splitlines(), name
    assert (ROOT / "completions" / "_glcr").read_text().startswith("#compdef glcr\n")


class Bash:
    """An interactive bash in a private tmux server, with `glcr` on PATH and completion loaded."""

    def __init__(self, tmp: Path, env: dict[str, str] | None = None) -> None:
        self.socket = f"glcr-test-{os.getpid()}-{id(self)}"
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        wrapper = bin_dir / "glcr"
        # What the console script runs: the entry point from pyproject.toml (glcr.cli.entry:main).
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c '
                           '"import sys; from glcr.cli.entry import main; sys.argv[0] = \'glcr\'; main()" "$@"\n')
        wrapper.chmod(0o755)
        variables = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp), "TERM": "xterm", "PS1": "$ ",
                     "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp / "cache"), **(env or {})}
        command = ["env", "-i", *(f"{k}={v}" for k, v in variables.items()), "bash", "--norc", "--noprofile"]
        self.tmux("new-session", "-d", "-s", "t", "-x", "200", "-y", "50", " ".join(_quote(c) for c in command))
        self.type_line(f"source {ROOT / 'completions' / 'glcr.bash'}")
        self.wait_for(lambda screen: screen.rstrip().endswith("$"), "a prompt")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], check=True,
                              capture_output=True, text=True, timeout=30).stdout

    def type_line(self, text: str) -> None:
        self.tmux("send-keys", "-t", "t", text, "Enter")

    def complete(self, text: str, expect: str, timeout: float = 20.0) -> str:
        """Type `text`, press TAB, wait until the command line reads `expect`; then clear it."""
        self.tmux("send-keys", "-t", "t", "C-u")
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Tab")
        self.wait_for(lambda screen: _last_line(screen).startswith(f"$ {expect.rstrip()}"), repr(expect), timeout)
        # tmux trims trailing blanks from the screen: type a marker to see whether TAB added a space
        self.tmux("send-keys", "-t", "t", "-l", "Z")
        line = self.wait_for(lambda screen: _last_line(screen).startswith(f"$ {expect}Z"), repr(expect + "Z"), 5)
        self.tmux("send-keys", "-t", "t", "C-u")
        return line

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, ok, what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if ok(screen):
                return _last_line(screen)
            time.sleep(0.05)
        raise AssertionError(f"waited {timeout:.0f} s for {what}; screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def _last_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


@pytest.fixture
def bash(tmp_path: Path):
    shell = Bash(tmp_path)
    try:
        yield shell
    finally:
        shell.close()


def test_tab_completes_commands_subcommands_and_options(bash: Bash) -> None:
    bash.complete("glcr ta", "glcr tags ")
    bash.complete("glcr tags li", "glcr tags list ")
    bash.complete("glcr --vers", "glcr --version ")
    bash.complete("glcr admin cleanup-limits s", "glcr admin cleanup-limits s")  # show or set: no space


def test_tab_on_a_completed_line_runs_nothing(bash: Bash) -> None:
    bash.complete("glcr ci-te", "glcr ci-template ")
    bash.type_line("echo done-$((1+1))")
    bash.wait_for(lambda screen: "done-2" in screen, "the shell to stay usable")


@pytest.mark.e2e
def test_tab_completes_repository_paths_from_the_api(tmp_path: Path, sandbox, project, registry) -> None:  # noqa: F811
    from glcr_sandbox.seed import push_image

    path = project.path_with_namespace
    push_image(registry, f"{path}/backend", "v1", created=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    sandbox.sync()
    shell = Bash(tmp_path, env={"GITLAB_URL": sandbox.url, "GITLAB_TOKEN": sandbox.token})
    try:
        shell.complete(f"glcr doctor {path}/b", f"glcr doctor {path}/backend ")
        # the answer is cached: a second TAB needs no request (the sandbox's log would show one)
        cache = tmp_path / "cache" / "glcr" / "completion.json"
        assert cache.exists() and oct(cache.stat().st_mode & 0o777) == "0o600"
        assert sandbox.token not in cache.read_text()
    finally:
        shell.close()
