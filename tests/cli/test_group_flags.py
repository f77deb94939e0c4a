"""`--group` on the cleanup commands (issue 21): a wrong combination or shard is refused before
any request, with its own exit code."""

from __future__ import annotations

import pytest

from glcr.cli.main import main
from glcr.errors import ExitCode

TOKEN = "glpat-group-flags-token"


@pytest.mark.parametrize("args, code, fragment", [
    ([], ExitCode.USAGE, "give a PROJECT or --group GROUP"),
    (["g/p", "--group", "g"], ExitCode.USAGE, "give a PROJECT or --group GROUP"),
    (["--group", "g", "--shard", "0/2"], ExitCode.INVALID_INPUT, "INDEX counts from 1"),
    (["--group", "g", "--shard", "two"], ExitCode.INVALID_INPUT, "INDEX/TOTAL"),
    (["--group", "g!x"], ExitCode.INVALID_INPUT, "not a group path"),
    (["--group", "g", "--junit", "/nonexistent-dir/r.xml"], ExitCode.INVALID_INPUT, "no directory /nonexistent-dir"),
])
@pytest.mark.parametrize("command", [["cleanup", "dry-run"], ["cleanup", "run", "--yes"], ["tags", "plan"]])
def test_refused_before_any_request(monkeypatch, capsys, server, tmp_path, command, args, code, fragment):
    if command[0] == "tags" and ("--shard" in args or "--junit" in args):
        pytest.skip("tags plan has no --shard or --junit")
    for key in ("GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "GLCR_JOBS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("GITLAB_URL", server.url)
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")
    server.requests.clear()
    with pytest.raises(SystemExit) as exit_info:
        main([*command, *args])
    out, err = capsys.readouterr()
    assert exit_info.value.code == code, err
    assert fragment in err and out == "" and TOKEN not in err
    assert server.requests == []
