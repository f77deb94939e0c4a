"""`glcr sandbox` without its extra (glcr[sandbox]): one line saying what to install, exit 3.

The missing package is simulated the way Python spells "not installed" for an import: a None
entry in sys.modules makes `import cryptography` raise ModuleNotFoundError.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from glcr.errors import ExitCode


def run_without(module: str, *argv: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"sys.modules[{module!r}] = None\n"
        "from glcr.cli.entry import main\n"
        f"sys.argv = ['glcr', *{list(argv)!r}]\n"
        "main()\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("module", ["cryptography", "glcr_sandbox"])
@pytest.mark.parametrize("command", ["up", "env", "status", "seed", "down"])
def test_each_command_says_what_to_install(module, command, tmp_path):
    out = run_without(module, "sandbox", command, "--state-dir", str(tmp_path))
    assert out.returncode == ExitCode.INVALID_INPUT, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert module in lines[0] and "pip install 'glcr[sandbox]'" in lines[0]
    assert out.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_help_needs_no_extra():
    out = run_without("cryptography", "sandbox", "up", "--help")
    assert out.returncode == 0, out.stderr
    assert "--registry" in out.stdout
