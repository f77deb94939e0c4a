"""Start-up: what `glcr --version`, `glcr --help` and a TAB import (checked in fresh interpreters).

glcr runs on every TAB and in every CI job, so these must not pay for httpx, python-gitlab,
rich's tables or re2 before a command needs them (bench/bench_startup.py has the timings).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "gitlab", "requests", "re2", "rich.table", "rich.console", "pydantic", "keyring")
COMMAND_MODULES = "glcr.cli."


def run_glcr(args: list[str], env: dict[str, str] | None = None, tmp: Path | None = None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run the console entry point in a fresh interpreter; return the result and sys.modules."""
    modules_file = (tmp or Path("/tmp")) / f"modules-{os.getpid()}-{abs(hash(tuple(args)))}.json"
    code = (
        "import atexit, json, sys\n"
        f"atexit.register(lambda: open({str(modules_file)!r}, 'w').write(json.dumps(sorted(sys.modules))))\n"
        "from glcr.cli.entry import main\n"
        f"sys.argv = ['glcr'] + {args!r}\n"
        "main()\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GLCR_", "_GLCR_", "COMP_"))}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**clean, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(env or {})})
    modules = set(json.loads(modules_file.read_text()))
    modules_file.unlink()
    return result, modules


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def command_modules(modules: set[str]) -> list[str]:
    light = {"glcr.cli", "glcr.cli.main", "glcr.cli.entry", "glcr.cli.context", "glcr.cli.options"}
    return sorted(m for m in modules if m.startswith(COMMAND_MODULES) and m not in light)


def test_entry_point_is_the_fast_path() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["glcr"] == "glcr.cli.entry:main"
    assert "glcr.cli.entry" in (ROOT / "glcr" / "__main__.py").read_text()


def test_version_imports_no_typer_at_all(tmp_path: Path) -> None:
    from glcr import __version__

    result, modules = run_glcr(["--version"], tmp=tmp_path)
    assert result.returncode == 0 and result.stdout == f"glcr {__version__}\n"
    assert not any(m == "typer" or m.startswith("typer.") for m in modules)
    assert "glcr.cli.main" not in modules and heavy(modules) == []


def test_help_imports_nothing_heavy_and_no_command_module(tmp_path: Path) -> None:
    from glcr.cli.main import COMMANDS

    result, modules = run_glcr(["--help"], tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert heavy(modules) == [] and command_modules(modules) == []
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_completing_a_command_name_is_light(tmp_path: Path) -> None:
    env = {"_GLCR_COMPLETE": "complete_bash", "COMP_WORDS": "glcr ta", "COMP_CWORD": "1"}
    result, modules = run_glcr([], env=env, tmp=tmp_path)
    assert result.stdout.split() == ["tags"]
    assert heavy(modules) == [] and command_modules(modules) == []


def test_completing_inside_a_group_loads_only_that_group(tmp_path: Path) -> None:
    env = {"_GLCR_COMPLETE": "complete_bash", "COMP_WORDS": "glcr tags li", "COMP_CWORD": "2"}
    result, modules = run_glcr([], env=env, tmp=tmp_path)
    assert result.stdout.split() == ["list"]
    assert "glcr.cli.tags_cmd" in modules and "glcr.cli.repos_cmd" not in modules
    assert heavy(modules) == []  # not even pydantic (Typer's coercion) or rich


@pytest.mark.parametrize("words, cword, expected", [
    ("glcr tags list --so", "3", ["--sort"]),
    ("glcr tags list --sort ", "4", ["name", "created", "size"]),
    ("glcr tags plan --keep-reg", "3", ["--keep-regex"]),
    ("glcr cleanup dry-run --variant t", "4", ["third-party"]),
    ("glcr admin cleanup-limits s", "3", ["show", "set"]),
])
def test_completing_options_and_choices_is_light(tmp_path: Path, words: str, cword: str, expected: list[str]) -> None:
    """Options and their fixed choices come from the command's definition: no pydantic, rich or HTTP."""
    env = {"_GLCR_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result, modules = run_glcr([], env=env, tmp=tmp_path)
    assert result.stdout.split() == expected, result.stderr
    assert heavy(modules) == []


def test_version_after_global_options_still_works(tmp_path: Path) -> None:
    result, _ = run_glcr(["--jobs", "3", "--version"], tmp=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("glcr ")


def test_root_options_are_still_validated(tmp_path: Path) -> None:
    result, _ = run_glcr(["--jobs", "0", "repos", "list"], tmp=tmp_path)
    assert result.returncode == 2 and "--jobs" in result.stderr
    result, _ = run_glcr(["--jobs", "x", "repos", "list"], tmp=tmp_path)
    assert result.returncode == 2


def test_unknown_command_suggests_a_lazy_one(tmp_path: Path) -> None:
    result, _ = run_glcr(["tag"], tmp=tmp_path)
    assert result.returncode == 2 and "Did you mean 'tags'" in result.stderr


def test_python_dash_m_glcr() -> None:
    result = subprocess.run([sys.executable, "-m", "glcr", "--version"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("glcr ")


@pytest.mark.parametrize("limit", [45, 120])
def test_lazy_listing_shows_what_the_loaded_command_would(limit: int) -> None:
    """main.COMMANDS carries each command's one-line help; it must match the command itself."""
    import typer.main

    from glcr.cli.entry import LazyCommand
    from glcr.cli.main import COMMANDS, app

    root = typer.main.get_command(app)
    for name, spec in COMMANDS.items():
        assert isinstance(spec, LazyCommand)
        loaded = spec.load(name)
        shown = _short(spec.help, limit)
        real = loaded.get_short_help_str(limit)
        assert shown == real, (f"COMMANDS[{name!r}].help gives {shown!r} in `glcr --help`, "
                               f"the command itself {real!r}: copy its first sentence")
        assert loaded.name == name
    assert set(root.list_commands(None)) >= set(COMMANDS)


def _short(text: str, limit: int) -> str:
    from typer.core import TyperCommand

    return TyperCommand("x", help=text).get_short_help_str(limit)


def test_every_lazy_target_imports() -> None:
    from glcr.cli.main import COMMANDS

    for name, spec in COMMANDS.items():
        assert spec.load(name) is not None, name
