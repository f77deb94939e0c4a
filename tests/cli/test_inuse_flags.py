"""The --keep-* flags (issue 19) are checked before the first request: exit 3, one line, nothing read."""

from __future__ import annotations

import pytest

from glcr.cli.main import main
from glcr.errors import ExitCode

TOKEN = "glpat-in-use-flags-token"


@pytest.mark.parametrize("args, fragment", [
    (["--keep-template", "{commit}", "--keep-open-mrs"], "unknown placeholder {commit}"),
    (["--keep-template", "x-{sha}/y", "--keep-releases"], "only tag characters"),
    (["--keep-template", "{sha}-x"], "--keep-template needs a source"),
    (["--keep-deployed-last", "0"], "at least 1"),
    (["--keep-images-from", "/nonexistent/pods.txt"], "--keep-images-from /nonexistent/pods.txt"),
])
@pytest.mark.parametrize("command", [["cleanup", "dry-run", "g/p"], ["cleanup", "run", "g/p", "--yes"],
                                     ["tags", "plan", "g/p"]])
def test_bad_in_use_flags_are_refused_before_any_request(monkeypatch, capsys, server, tmp_path, command, args,
                                                         fragment):
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
    assert exit_info.value.code == ExitCode.INVALID_INPUT, err
    assert fragment in err and out == "" and TOKEN not in err
    assert server.requests == []


def test_a_bad_image_list_names_its_line(monkeypatch, capsys, server, tmp_path):
    listed = tmp_path / "pods.txt"
    listed.write_text("reg.example.com/g/p:v1\nreg.example.com/g/p\n")
    monkeypatch.setenv("GITLAB_URL", server.url)
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    server.requests.clear()
    with pytest.raises(SystemExit) as exit_info:
        main(["cleanup", "dry-run", "g/p", "--keep-images-from", str(listed)])
    err = capsys.readouterr().err
    assert exit_info.value.code == ExitCode.INVALID_INPUT
    assert f"{listed} line 2" in err and server.requests == []


def test_image_references_come_from_standard_input_with_a_dash(monkeypatch, capsys, server):
    import io

    monkeypatch.setenv("GITLAB_URL", server.url)
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setattr("sys.stdin", io.StringIO("reg.example.com/g/p@sha256:" + "a" * 64 + " g/p:x!y\n"))
    server.requests.clear()
    with pytest.raises(SystemExit) as exit_info:
        main(["cleanup", "dry-run", "g/p", "--keep-images-from", "-"])
    assert exit_info.value.code == ExitCode.INVALID_INPUT
    assert "standard input line 1" in capsys.readouterr().err and server.requests == []
