"""Which packages may import which, so the layering cannot rot (design.md).

- presentation (typer, rich) only in glcr/cli, glcr/render and the sandbox's own CLI helpers;
- the library never imports the CLI;
- pure modules (decisions) import no I/O at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "glcr"
PRESENTATION = {"typer", "rich", "click"}
IO = {"httpx", "httpcore", "gitlab", "requests", "keyring", "socket", "asyncio", "subprocess", "typer", "rich"}
PURE = [
    "errors.py", "models.py", "reference.py", "tag_filters.py", "durations.py",
    "policy", "plan/model.py", "plan/build.py", "plan/listfile.py", "plan/progress.py", "plan/semver.py",
    "migrate/model.py", "migrate/plan.py", "registry/scope.py", "registry/manifest.py", "transport/backoff.py",
    "transport/redact.py", "gitlab/convert.py",
]
PRESENTATION_ALLOWED = ("cli/", "render/", "migrate/render.py", "sandbox/")


def modules(under: str = "") -> list[Path]:
    base = ROOT / under
    return sorted(base.rglob("*.py")) if base.is_dir() else [base]


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_presentation_stays_in_the_cli_and_render_layers(path):
    rel = str(path.relative_to(ROOT))
    if rel.startswith(PRESENTATION_ALLOWED):
        return
    bad = sorted(n for n in imported(path) if top(n) in PRESENTATION)
    assert not bad, f"{rel} imports {bad}: presentation belongs in glcr/cli or glcr/render"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_never_imports_the_cli(path):
    rel = str(path.relative_to(ROOT))
    if rel.startswith(("cli/", "sandbox/")) or rel == "__main__.py":  # entry points
        return
    bad = sorted(n for n in imported(path) if n.startswith("glcr.cli"))
    assert not bad, f"{rel} imports {bad}"


@pytest.mark.parametrize("path", [p for entry in PURE for p in modules(entry)], ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_do_no_io(path):
    bad = sorted(n for n in imported(path) if top(n) in IO)
    assert not bad, f"{path.relative_to(ROOT)} is pure but imports {bad}"
