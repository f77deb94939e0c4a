"""Which part of glcr may import which, in one table, so the layering cannot rot.

Every module of `glcr`, and of the sandbox beside it (`glcr_sandbox`), is read with `ast`
(imports inside functions count too) and checked against the most specific row of RULES: the
parts it may import and the third-party distributions it may import. The standard library is
free, except in pure modules, which do no I/O and get no clock of their own. The pure modules
are also imported in a fresh interpreter, to check that nothing they pull in (directly or not)
loads an I/O or presentation library; so are the entry point and two commands, to check that
glcr runs without loading the sandbox.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "glcr"
SANDBOX = "glcr_sandbox"  # a package beside glcr, keyed in RULES by its own name


@dataclass(frozen=True)
class Rule:
    glcr: frozenset[str]  # glcr parts (a package, or a top-level module without .py), or glcr_sandbox
    third_party: frozenset[str]  # top-level import names
    pure: bool = False  # no I/O: no I/O modules of the standard library either


def rule(glcr: str = "", third_party: str = "", *, pure: bool = False) -> Rule:
    return Rule(frozenset(glcr.split()), frozenset(third_party.split()), pure)


# The part a module belongs to is its package under glcr/ (`policy`), or its own name for a
# top-level module (`errors`); `glcr` is the package's __init__ (the version); every module of
# the sandbox is the part `glcr_sandbox`. The most specific key wins: `migrate/planner.py`
# before `migrate`.
RULES: dict[str, Rule] = {
    # foundations
    "__init__.py": rule(),
    "errors.py": rule(pure=True),
    "models.py": rule(pure=True),
    "regex.py": rule("errors", "re2", pure=True),
    "reference.py": rule("errors models", pure=True),
    "timestamps.py": rule(pure=True),
    "durable.py": rule("errors"),  # a busy journal is AbortedError (exit 10), a missing directory InvalidInputError
    "statedir.py": rule("errors"),  # its location checks raise InvalidInputError
    # pure decisions
    "policy": rule("errors models regex plan", "re2 yaml", pure=True),
    "plan": rule("errors models reference regex timestamps", pure=True),
    "plan/journal.py": rule("errors models reference timestamps durable plan"),
    "plan/backup.py": rule("errors timestamps durable statedir"),
    "durations.py": rule("errors policy", pure=True),
    "inuse": rule("errors models reference timestamps policy plan", pure=True),
    "referrers": rule("errors models policy", pure=True),
    "migrate/model.py": rule("models", pure=True),
    "migrate/planner.py": rule("errors models reference policy migrate", pure=True),
    "migrate/replay.py": rule("models migrate", pure=True),
    "migrate/report.py": rule("models migrate", pure=True),
    "migrate/route.py": rule("migrate", pure=True),
    "registry/scope.py": rule("errors models", pure=True),
    "registry/manifest.py": rule("errors models", pure=True),
    "registry/token_claims.py": rule("errors models policy", pure=True),
    "transport/backoff.py": rule("errors", pure=True),
    "transport/redact.py": rule("errors", pure=True),
    "gitlab/convert.py": rule("errors models timestamps", pure=True),
    # I/O: HTTP policy, clients, credentials
    # the connections under httpx (issue 22): glcr's pool, HTTP/1.1 on asyncio streams
    "transport/pool.py": rule("", "httpx"),
    "transport": rule("errors glcr settings", "httpx certifi requests"),
    "credentials.py": rule("errors", "gitlab httpx keyring"),
    "gitlab": rule("errors models timestamps credentials transport policy glcr", "gitlab httpx requests gql"),
    "registry": rule("errors models timestamps durable transport policy gitlab", "httpx"),
    "settings.py": rule("errors"),
    "session.py": rule("errors credentials settings transport gitlab registry", "httpx"),
    # the library: what commands call
    "api": rule("errors models reference regex credentials session settings transport gitlab registry policy "
                "plan durations durable statedir timestamps project_settings doctor inuse referrers", "httpx"),
    # the library's face of glcr.migrate (which in turn deletes through glcr.api.tags)
    "api/migrate.py": rule("errors models session api migrate"),
    "migrate": rule("errors models reference timestamps durable statedir transport gitlab registry policy plan api"),
    "doctor": rule("errors models reference credentials settings transport gitlab registry", "httpx"),
    "doctor/model.py": rule("errors", pure=True),
    "doctor/names.py": rule("errors reference doctor", pure=True),
    "doctor/clock.py": rule("errors doctor", pure=True),
    "doctor/token.py": rule("errors doctor", pure=True),
    "project_settings": rule("errors", pure=True),
    # presentation
    "render": rule("errors models reference timestamps gitlab plan policy migrate referrers", "rich"),
    "cli": rule("glcr errors models reference regex timestamps durable statedir credentials settings session transport gitlab "
                "registry policy plan durations api migrate doctor project_settings render referrers",
                "typer click rich httpx"),
    "cli/sandbox_cmd.py": rule("glcr errors statedir cli glcr_sandbox", "typer click rich httpx"),
    "__main__.py": rule("cli"),
    # The GitLab API sandbox (tests, benchmarks, the demo): a test double of GitLab and its
    # registry, so it shares nothing with the code it tests; nothing of glcr imports it but the
    # one command that starts it.
    SANDBOX: rule("", "httpx re2 yaml cryptography"),
}
# Standard-library modules that do I/O or run things: not in pure modules.
IO_STDLIB = {"socket", "ssl", "http", "urllib.request", "subprocess", "asyncio", "threading", "shutil",
             "tempfile", "fcntl", "select", "selectors", "multiprocessing", "os", "io", "time"}
# Libraries a pure module must not load, directly or through what it imports (`socket` is not
# among them: the standard library's email.utils, which parses HTTP dates, loads it).
IO_LIBRARIES = ("httpx", "httpcore", "gitlab", "requests", "keyring", "typer", "click", "rich", "ssl")


def part_of(rel: str) -> str:
    """`rel` is relative to glcr/, or starts with glcr_sandbox/ for the sandbox."""
    head = rel.split("/")[0]
    return "glcr" if rel == "__init__.py" else head.removesuffix(".py")


def row_key(rel: str) -> str:
    keys = [k for k in RULES if rel == k or rel.startswith(k.rstrip("/") + "/") or rel == k + ".py"]
    assert keys, f"{rel} has no row in RULES: add one"
    return max(keys, key=len)


def rule_for(rel: str) -> Rule:
    return RULES[row_key(rel)]


def imports(path: Path) -> set[str]:
    """Every module `path` imports, dotted; `from glcr import x` gives glcr.x."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            if node.module in ("glcr", SANDBOX):
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif node.module != "__future__":
                names.add(node.module)
    return names


def glcr_part(name: str) -> str:
    """glcr.policy.regex -> policy; glcr.errors -> errors; glcr.__version__ -> glcr."""
    second = name.split(".")[1] if "." in name else ""
    if not second or second.startswith("__") or not ((ROOT / second).is_dir() or (ROOT / f"{second}.py").is_file()):
        return "glcr"
    return second


def relative(path: Path) -> str:
    """A module's key: relative to glcr/, or glcr_sandbox/... for the sandbox."""
    return path.relative_to(ROOT if path.is_relative_to(ROOT) else REPO).as_posix()


MODULES = sorted(ROOT.rglob("*.py"))
SANDBOX_MODULES = sorted((REPO / SANDBOX).rglob("*.py"))
PURE = [p for p in MODULES if rule_for(relative(p)).pure]


def test_every_row_names_existing_modules():
    for key in RULES:
        base = REPO if key == SANDBOX else ROOT
        assert (base / key).exists() or (base / f"{key}.py").exists(), f"RULES row {key!r}: no such module"


@pytest.mark.parametrize("path", MODULES + SANDBOX_MODULES, ids=relative)
def test_imports_follow_the_table(path):
    rel = relative(path)
    allowed = rule_for(rel)
    own = part_of(rel)
    bad = []
    for name in sorted(imports(path)):
        top = name.split(".")[0]
        if top in ("glcr", SANDBOX):
            part = glcr_part(name) if top == "glcr" else SANDBOX
            if part != own and part not in allowed.glcr:
                bad.append(name)
        elif top in sys.stdlib_module_names:
            if allowed.pure and (top in IO_STDLIB or name in IO_STDLIB):
                bad.append(name)
        elif top not in allowed.third_party:
            bad.append(name)
    assert not bad, f"{rel} imports {bad}; its row in RULES allows {sorted(allowed.glcr | allowed.third_party)}"


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_only_the_sandbox_command_imports_the_sandbox(path):
    """The sandbox is a tool beside glcr, not part of it: one command starts it."""
    rel = relative(path)
    if rel == "cli/sandbox_cmd.py":
        return
    bad = sorted(n for n in imports(path) if n.split(".")[0] == SANDBOX)
    assert not bad, f"{rel} imports {bad}"


def test_the_sandbox_is_beside_glcr_not_inside():
    assert not (ROOT / "sandbox").exists()
    assert len(SANDBOX_MODULES) > 20  # the table still reads the sandbox


@pytest.mark.parametrize("argv", [["--version"], ["tags", "--help"], ["sandbox", "--help"], ["sandbox", "up", "--help"]],
                         ids=" ".join)
def test_glcr_runs_without_loading_the_sandbox(argv):
    """In a fresh interpreter, through the console entry point: not one glcr_sandbox module loads
    (and neither does cryptography, which only the sandbox needs)."""
    code = (
        "import json, sys\n"
        "import glcr.cli.main\n"
        "from glcr.cli.entry import main\n"
        f"sys.argv = ['glcr', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in ({SANDBOX!r}, 'cryptography'))\n"
        "print(json.dumps(loaded), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip(), "the command printed nothing: it did not run"
    assert json.loads(out.stderr.strip().splitlines()[-1]) == []


def test_pure_modules_load_no_io_library():
    """Imported in a fresh interpreter: what they pull in, directly or not, does no I/O."""
    names = [".".join(("glcr",) + p.relative_to(ROOT).with_suffix("").parts) for p in PURE]
    names = [n.removesuffix(".__init__") for n in names]
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "from glcr.policy import parse_policy_text\n"
        "parse_policy_text('cadence: 7d', 'yaml')\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {IO_LIBRARIES!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    assert len(names) > 20  # the table still marks the pure modules


def row_of_module(name: str) -> str | None:
    """glcr.api.tags -> the RULES row that governs glcr/api/tags.py (None outside glcr)."""
    parts = name.split(".")
    if parts[0] != "glcr" or len(parts) < 2 or parts[1].startswith("__"):
        return None
    for cut in range(len(parts), 1, -1):
        rel = "/".join(parts[1:cut])
        for candidate in (f"{rel}.py", f"{rel}/__init__.py"):
            if (ROOT / candidate).is_file():
                return row_key(candidate)
    return None


def test_the_rows_import_one_another_without_a_cycle():
    """Between the table's rows (a package, or a module with a row of its own), imports go one
    way: glcr.api.migrate may drive glcr.migrate, which deletes through glcr.api.tags, but no
    module that glcr.migrate imports may import glcr.migrate back."""
    edges: dict[str, set[str]] = {}
    for path in MODULES:
        rel = relative(path)
        source = row_key(rel)
        for name in imports(path):
            target = row_of_module(name)
            if target is not None and target != source:
                edges.setdefault(source, set()).add(target)
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            assert state.get(nxt) != "open", f"import cycle between rows: {' -> '.join([*trail, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
