"""The committed man pages and completion scripts are what scripts/gen_docs.py makes from the app,
and the man pages render without warnings."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "man").glob("*.1"))


def gen_docs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_committed_docs_are_fresh() -> None:
    result = gen_docs("--check")
    assert result.returncode == 0, f"{result.stderr}\n(run: python scripts/gen_docs.py)"


def test_generation_ignores_the_callers_environment() -> None:
    # --jobs' default is read from GLCR_JOBS; the man page must still say 8.
    result = gen_docs("--check", env={"GLCR_JOBS": "3", "COLUMNS": "40"})
    assert result.returncode == 0, result.stderr


def test_there_is_a_page_per_top_level_command() -> None:
    from glcr.cli.main import COMMANDS

    names = {p.name for p in PAGES}
    assert "glcr.1" in names
    assert {f"glcr-{name}.1" for name in COMMANDS} <= names


def test_main_page_documents_environment_files_and_exit_codes() -> None:
    from glcr.settings import ENVIRONMENT
    from glcr.errors import ExitCode

    text = (ROOT / "man" / "glcr.1").read_text()
    for section in (".SH SYNOPSIS", ".SH OPTIONS", ".SH COMMANDS", ".SH ENVIRONMENT", ".SH FILES",
                    '.SH "EXIT STATUS"', ".SH EXAMPLES", '.SH "SHELL COMPLETION"', '.SH "SEE ALSO"'):
        assert section in text
    for name in ENVIRONMENT:
        assert f".B {name.replace('-', chr(92) + '-')}" in text
    for code in ExitCode:
        assert f".B {int(code)}\n" in text


def test_examples_become_literal_blocks_with_ascii_hyphens() -> None:
    text = (ROOT / "man" / "glcr-tags.1").read_text()
    assert ".nf\nglcr tags list mygroup/app\n" in text
    assert "glcr tags delete mygroup/app/api feature\\-x \\-\\-yes \\-o json" in text


@pytest.mark.skipif(not shutil.which("man"), reason="man-db not installed")
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_man_renders_without_warnings(page: Path) -> None:
    result = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True, text=True,
                            env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "NAME" in result.stdout and "SYNOPSIS" in result.stdout


@pytest.mark.skipif(not shutil.which("groff"), reason="groff not installed")
@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_groff_strict_mode_is_silent(page: Path) -> None:
    result = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z", str(page)], capture_output=True, text=True,
                            timeout=60)
    assert result.stderr == "", result.stderr
