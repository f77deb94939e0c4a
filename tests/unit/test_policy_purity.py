"""glcr.policy is pure: importing it loads no I/O library (design.md, "pure packages")."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("httpx", "gitlab", "typer", "rich", "requests", "keyring", "socket", "ssl")


def test_importing_glcr_policy_loads_no_io_library():
    code = (
        "import json, sys\n"
        "import glcr.policy\n"
        "from glcr.policy import decide, validate_policy, parse_policy_text\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_parsing_yaml_still_loads_no_io_library():
    code = (
        "import json, sys\n"
        "from glcr.policy import parse_policy_text\n"
        "parse_policy_text('cadence: 7d', 'yaml')\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
