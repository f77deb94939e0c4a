#!/usr/bin/env python3
"""Run the CLI's first-contact tests under both ends of the typer/rich range pyproject.toml allows.

    python scripts/check_dependency_range.py            # oldest, newest, newest typer + oldest rich
    python scripts/check_dependency_range.py --only oldest

For each combination a virtual environment is made under $TMPDIR (reused on the next run), the
project's dependencies are installed from pyproject.toml with typer and rich pinned, and the
tests that exercise Typer itself run against this checkout (PYTHONPATH): every --help page,
environment values, validation before requests, start-up and completion, the error edge.
The lower bounds are read from pyproject.toml, so raising one is checked by the next run.
Needs network access to the package index (pip).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PINNED = ("typer", "rich")
TESTS = ["tests/cli/test_help_pages.py", "tests/cli/test_validation_first.py", "tests/cli/test_startup.py",
         "tests/cli/test_error_edge.py", "tests/cli/test_interrupt.py", "tests/cli/test_settings.py"]


def requirements() -> tuple[list[str], dict[str, str]]:
    """(the other dependencies, {pinned name: its lower bound}) from pyproject.toml."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    others, lowest = [], {}
    for dep in deps:
        name = re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower()
        if name in PINNED:
            found = re.search(r">=\s*([\w.]+)", dep)
            if not found:
                raise SystemExit(f"{dep!r} has no lower bound")
            lowest[name] = found.group(1)
        else:
            others.append(dep)
    return others, lowest


def combinations(lowest: dict[str, str]) -> dict[str, list[str]]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ranged = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower(): d for d in deps}
    return {
        "oldest": [f"typer=={lowest['typer']}", f"rich=={lowest['rich']}"],
        "newest": [ranged["typer"], ranged["rich"]],
        "newest-typer-oldest-rich": [ranged["typer"], f"rich=={lowest['rich']}"],
    }


def run(name: str, pins: list[str], others: list[str]) -> bool:
    home = Path(tempfile.gettempdir()) / f"glcr-deprange-{name}"
    python = home / "bin" / "python"
    if not python.exists():
        venv.create(home, with_pip=True)
    # The sandbox's extra too: test_interrupt runs glcr against the sandbox.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *others, *pins,
               *extras["test"], *extras["sandbox"]]
    subprocess.run(install, check=True)
    versions = subprocess.run([str(python), "-c", "import importlib.metadata as m; "
                               "print(', '.join(f'{p} {m.version(p)}' for p in ('typer', 'rich')))"],
                              capture_output=True, text=True, check=True).stdout.strip()
    print(f"== {name}: {versions}", flush=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GLCR_")}, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not e2e", *TESTS],
                            cwd=ROOT, env=env)
    return result.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("oldest", "newest", "newest-typer-oldest-rich"))
    args = parser.parse_args(argv)
    others, lowest = requirements()
    failed = [name for name, pins in combinations(lowest).items()
              if (args.only in (None, name)) and not run(name, pins, others)]
    print("check_dependency_range: " + (f"FAILED: {', '.join(failed)}" if failed else "every combination passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
