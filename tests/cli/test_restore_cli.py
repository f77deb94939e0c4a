"""`glcr tags restore`: a wrong command line is 2, nothing to restore from is 3; both before any request."""

from __future__ import annotations

import pytest

from glcr.errors import ExitCode
from test_validation_first import run


@pytest.mark.parametrize("args, code, fragment", [
    (["tags", "restore"], ExitCode.USAGE, "--last"),
    (["tags", "restore", "x.journal.jsonl", "--last"], ExitCode.USAGE, "--last"),
    (["tags", "restore", "{tmp}/plan.json.journal.jsonl", "--yes"], ExitCode.INVALID_INPUT, "no saved manifests"),
    (["tags", "restore", "--last", "--yes"], ExitCode.INVALID_INPUT, "no glcr delete has saved manifests"),
])
def test_nothing_to_restore_sends_no_request(monkeypatch, capsys, server, tmp_path, args, code, fragment):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    got, out, err = run(monkeypatch, capsys, server, args, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert (got, out) == (code, "")
    assert fragment in err and server.requests == []
