"""The CLI edge without a server: bad input fails before any request, with one line on stderr
and the documented exit code; nothing is printed on stdout."""

from __future__ import annotations

import pytest

from glcr.cli.main import main
from glcr.errors import ExitCode

OFFLINE = {"GITLAB_URL": "http://127.0.0.1:9", "GITLAB_TOKEN": "glpat-offline-test-token"}


def run(monkeypatch, capsys, args, env=OFFLINE):
    for key in ("GITLAB_URL", "GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", "/nonexistent-home")  # no python-gitlab config, no keyring file
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert "glpat-offline-test-token" not in out + err
    return exit_info.value.code, out, err


@pytest.mark.parametrize("args,code,fragment", [
    (["tags", "list", "g/p", "--match", "a(?=b)"], ExitCode.INVALID_INPUT, "RE2"),
    (["tags", "list", "g/p", "--older-than", "soon"], ExitCode.INVALID_INPUT, "not an age"),
    (["tags", "delete", "g/p", "no good", "--yes"], ExitCode.INVALID_INPUT, "not a valid tag"),
    (["tags", "show", "g/p"], ExitCode.INVALID_INPUT, "names no tag"),
    (["repos", "list"], ExitCode.INVALID_INPUT, "exactly one of --project or --group"),
    (["tags", "plan", "g/p", "--keep-regex", "(unclosed"], ExitCode.INVALID_INPUT, "RE2"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", "x", "--older-than", "7 dayz"],
     ExitCode.INVALID_INPUT, "older_than"),
    (["tags", "list", "g/p"], ExitCode.NETWORK, "cannot reach 127.0.0.1"),
])
def test_bad_input_is_one_line_and_a_distinct_code(monkeypatch, capsys, args, code, fragment):
    got, out, err = run(monkeypatch, capsys, args)
    assert got == code, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("glcr: error:") and fragment in err, err


def test_no_token_is_an_auth_error_that_says_what_to_do(monkeypatch, capsys):
    got, _, err = run(monkeypatch, capsys, ["tags", "list", "g/p"], env={"GITLAB_URL": "http://127.0.0.1:9"})
    assert got == ExitCode.AUTH
    assert "GITLAB_TOKEN" in err and "glcr auth login" in err


def test_token_flag_warns_and_is_never_echoed(monkeypatch, capsys):
    got, _, err = run(monkeypatch, capsys, ["--token", "glpat-offline-test-token", "tags", "list", "g/p"],
                      env={"GITLAB_URL": "http://127.0.0.1:9"})
    assert "--token is visible in shell history" in err
    assert got == ExitCode.NETWORK


def test_usage_errors_keep_clicks_code(monkeypatch, capsys):
    got, _, _ = run(monkeypatch, capsys, ["tags", "list"])
    assert got == ExitCode.USAGE
