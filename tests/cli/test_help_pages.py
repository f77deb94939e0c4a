"""Every `--help` page renders: the whole command tree, walked, under the installed typer/rich.

scripts/check_dependency_range runs this file again under the oldest typer/rich that
pyproject.toml allows. Help texts are plain text: brackets in them must reach the page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from glcr.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"COLUMNS": "250", "TERMINAL_WIDTH": "250", "NO_COLOR": "1"}


def command_paths() -> list[tuple[str, ...]]:
    """(), ("repos",), ("repos", "list"), ... : every group and command, hidden ones included."""
    root = typer.main.get_command(app)
    root.load_all()
    paths: list[tuple[str, ...]] = []

    def walk(command, path: tuple[str, ...]) -> None:
        paths.append(path)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(None):
                walk(command.get_command(None, name), (*path, name))

    walk(root, ())
    return paths


PATHS = command_paths()


def test_the_walk_reaches_every_command() -> None:
    from glcr.cli.main import COMMANDS

    assert {p[0] for p in PATHS if p} == set(COMMANDS)
    assert ("tags", "bulk-delete") in PATHS and ("admin", "cleanup-limits", "set") in PATHS
    assert len(PATHS) >= 36


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "glcr")
def test_help_page_renders(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env=WIDE, prog_name="glcr")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0, result.output
    assert f"Usage: glcr {' '.join(path)}".rstrip() in result.output


@pytest.mark.parametrize("path, text", [
    (("tags", "list"), "group/project[/image]"),
    (("tags", "delete"), "group/project[/image]"),
    (("doctor",), "(group/project[/image], host/group/project...)"),
    (("migrate-project",), "[default: ~/.local/state/glcr/migrations]"),
    (("admin", "cleanup-limits", "set"), "[GitLab default: 250]"),
])
def test_brackets_in_help_texts_are_text_not_markup(path: tuple[str, ...], text: str) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env=WIDE, prog_name="glcr")
    assert result.exit_code == 0 and text in result.output, result.output


def test_help_through_the_console_entry_point() -> None:
    """The way a user runs it: a fresh interpreter, the entry point, a narrow terminal."""
    code = "import sys; from glcr.cli.entry import main; sys.argv[0] = 'glcr'; main()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GLCR_")}
    result = subprocess.run([sys.executable, "-c", code, "tags", "list", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    assert "Usage: glcr tags list" in result.stdout and "Traceback" not in result.stderr


def test_help_ignores_bad_environment_values() -> None:
    """--help is answered before option values are converted: a bad GLCR_JOBS does not spoil it."""
    result = CliRunner().invoke(app, ["--help"], env={**WIDE, "GLCR_JOBS": "abc"}, prog_name="glcr")
    assert result.exit_code == 0 and "Usage: glcr" in result.output


@pytest.mark.parametrize("text", [
    "group/project[/image]", "[default: ~/.local/state]", "[GitLab default: 4]", "a \\[b] c", "\\\\[x]",
    "regex ^v1\\. and [a-z]+", "[bold]not a style[/bold]", "plain",
])
def test_markup_escaping_round_trips_and_renders_as_written(text: str) -> None:
    from rich.text import Text

    from glcr.cli.entry import escape_markup, unescape_markup

    assert unescape_markup(escape_markup(text)) == text
    assert Text.from_markup(escape_markup(text)).plain == text
