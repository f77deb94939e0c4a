"""Input that can be judged without the server is refused before the first request.

Each command runs against a loopback server that counts requests: bad input must exit 3 with
one stderr line, print nothing on stdout (no table, no warning first), and leave the count at 0.
The control cases send valid input to the same server and see it counted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from counting_server import CountingServer
from glcr.cli.main import main
from glcr.errors import ExitCode

TOKEN = "glpat-validation-first-token"


def run(monkeypatch, capsys, server: CountingServer, args: list[str], env: dict[str, str] | None = None):
    for key in ("GITLAB_URL", "GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL",
                "GLCR_JOBS", "GLCR_REGISTRY_JOBS", "GLCR_INSECURE_REGISTRY", "GLCR_INSECURE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {"GITLAB_URL": server.url, "GITLAB_TOKEN": TOKEN, **(env or {})}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return exit_info.value.code, out, err


LOOKBEHIND = "(?<=a)b"


@pytest.mark.parametrize("args, fragment", [
    # policy set: RE2, value sets, durations; with --enable GitLab checks the regexes
    (["policy", "set", "g/p", "--enable", "--name-regex", LOOKBEHIND], "RE2"),
    (["policy", "set", "g/p", "--enable", "--name-regex", ".*", "--name-regex-keep", "(a"], "name_regex_keep"),
    (["policy", "set", "g/p", "--cadence", "2d"], "cadence"),
    (["policy", "set", "g/p", "--keep-n", "7"], "keep_n"),
    (["policy", "set", "g/p", "--older-than", "5d"], "older_than"),
    (["policy", "set", "g/p", "--enable", "--name-regex", ""], "name_regex"),
    # cleanup: the override flags, checked as for a policy that runs
    (["cleanup", "dry-run", "g/p", "--name-regex", LOOKBEHIND], "RE2"),
    (["cleanup", "dry-run", "g/p", "--name-regex-keep", "(a"], "name_regex_keep"),
    (["cleanup", "dry-run", "g/p", "--keep-n", "7"], "keep_n"),
    (["cleanup", "dry-run", "g/p", "--older-than", "45d"], "older_than"),
    (["cleanup", "run", "g/p", "--name-regex", LOOKBEHIND, "--yes"], "RE2"),
    # tags plan / bulk-delete / list / delete
    (["tags", "plan", "g/p", "--delete-regex", LOOKBEHIND], "RE2"),
    (["tags", "plan", "g/p", "--keep-regex", "(a"], "RE2"),
    (["tags", "plan", "g/p", "--older-than", "soon"], "not an age"),
    (["tags", "plan", "g/p", "--older-than", "6m"], "minutes"),
    (["tags", "list", "g/p", "--older-than", "90"], "not an age"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", LOOKBEHIND, "--dry-run"], "invalid regexp"),
    # a warning (top-level `|`) and an error: only the error line, nothing before it
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", "a|b", "--name-regex-keep", "(a", "--dry-run"], "name_regex_keep"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--older-than", "7 dayz"], "--older-than"),
    (["tags", "list", "g/p", "--match", LOOKBEHIND], "RE2"),
    (["tags", "delete", "g/p", "no good", "--yes"], "not a valid tag"),
    (["tags", "show", "g/p"], "names no tag"),
    # project and group paths that GitLab's path rules cannot produce
    (["policy", "show", "my group/app"], "not a project path"),
    (["registry", "disable", "g/p:v1", "--yes"], "not a project path"),
    (["cleanup", "dry-run", "g//p"], "not a project path"),
    (["repos", "list", "--group", "-x"], "not a group path"),
    (["migrate-project", "g/p", "--to", "g/q", "--via", "hold ing", "--dry-run"], "holding project"),
    (["migrate-project", "g/p", "--to", "no-namespace", "--dry-run"], "NAMESPACE/PROJECT"),
])
def test_bad_input_sends_no_request(monkeypatch, capsys, server, args, fragment):
    code, out, err = run(monkeypatch, capsys, server, args)
    assert server.requests == []
    assert code == ExitCode.INVALID_INPUT, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("glcr: error:") and fragment in err, err


@pytest.mark.parametrize("content, fragment", [
    ("v1\nno good\n", "not a valid tag name"),
    ("registry.example.com/g/p:v1\n", "image reference"),
    ('{"format": "glcr-plan", "version": 99', "plan"),
])
def test_bad_plan_or_list_file_sends_no_request(monkeypatch, capsys, server, tmp_path: Path, content, fragment):
    listing = tmp_path / ("plan.json" if content.startswith("{") else "list.txt")
    listing.write_text(content)
    code, out, err = run(monkeypatch, capsys, server, ["tags", "apply", "g/p", "--from-file", str(listing), "--yes"])
    assert server.requests == []
    assert code == ExitCode.INVALID_INPUT and out == "", err
    assert err.count("\n") == 1 and fragment in err, err


@pytest.mark.parametrize("env, name", [
    ({"GLCR_JOBS": "abc"}, "GLCR_JOBS"),
    ({"GLCR_JOBS": "0"}, "GLCR_JOBS"),
    ({"GLCR_JOBS": "65"}, "GLCR_JOBS"),
    ({"GLCR_REGISTRY_JOBS": "many"}, "GLCR_REGISTRY_JOBS"),
    ({"GLCR_INSECURE_REGISTRY": "maybe"}, "GLCR_INSECURE_REGISTRY"),
    ({"GLCR_INSECURE": "perhaps"}, "GLCR_INSECURE"),
])
def test_bad_environment_values_send_no_request(monkeypatch, capsys, server, env, name):
    code, out, err = run(monkeypatch, capsys, server, ["repos", "list", "--project", "g/p"], env=env)
    assert server.requests == []
    assert code == ExitCode.INVALID_INPUT and out == ""
    assert err.count("\n") == 1 and err.startswith(f"glcr: error: {name}=") and "Traceback" not in err, err


def test_a_flag_wins_over_a_bad_environment_value(monkeypatch, capsys, server):
    """The flag is given, so the variable is never read: the command runs (and reaches the server)."""
    code, _, err = run(monkeypatch, capsys, server, ["--jobs", "4", "repos", "list", "--project", "g/p"],
                       env={"GLCR_JOBS": "abc"})
    assert code == ExitCode.NOT_FOUND, err
    assert server.requests


@pytest.mark.parametrize("args", [
    ["policy", "set", "g/p", "--enable", "--name-regex", ".*", "--dry-run"],
    ["cleanup", "dry-run", "g/p", "--name-regex", ".*", "--keep-n", "5"],
    ["tags", "plan", "g/p", "--delete-regex", "feature-.*"],
    # one duration grammar: GitLab's, as in a policy's older_than
    ["tags", "plan", "g/p", "--older-than", "2mo"],
    ["tags", "list", "g/p", "--older-than", "2 weeks"],
    ["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--dry-run"],
])
def test_valid_input_does_reach_the_server(monkeypatch, capsys, server, args):
    """The control: the same commands with good input are counted, and fail on the server's 404."""
    code, out, err = run(monkeypatch, capsys, server, args)
    assert server.requests, err
    assert code == ExitCode.NOT_FOUND, err
