"""The CLI layer parses, calls glcr.api, renders: it never reaches python-gitlab (nor glcr.gitlab,
its wrapper) itself, so every GitLab answer reaches a command as a typed value."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "glcr" / "cli"
FORBIDDEN = ("gitlab", "glcr.gitlab")


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_no_cli_module_imports_python_gitlab_or_its_wrapper() -> None:
    modules = sorted(CLI.glob("*.py"))
    assert len(modules) > 10
    offenders = [f"{p.name}:{line} imports {name}" for p in modules for line, name in _imports(p) if _forbidden(name)]
    assert offenders == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from glcr.gitlab.rest import GitLabRest\n    import gitlab\n")
    assert [name for _, name in _imports(probe) if _forbidden(name)] == [
        "glcr.gitlab.rest", "glcr.gitlab.rest.GitLabRest", "gitlab"]
    assert not _forbidden("glcr.gitlabby") and not _forbidden("glcr.api.policy")
