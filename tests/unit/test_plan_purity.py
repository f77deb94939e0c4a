"""The pure plan modules import nothing that does network I/O or presentation (design: layout)."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("httpx", "gitlab", "typer", "rich", "glcr.plan.journal")


def test_pure_plan_modules_import_no_io_packages() -> None:
    code = (
        "import sys\n"
        "import glcr.plan.model, glcr.plan.build, glcr.plan.listfile, glcr.plan.semver, glcr.plan.progress\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
