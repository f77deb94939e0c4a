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
    (["repos", "list"], ExitCode.USAGE, "exactly one of --project or --group"),
    (["tags", "plan", "g/p", "--keep-regex", "(unclosed"], ExitCode.INVALID_INPUT, "RE2"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", "x", "--older-than", "7 dayz"],
     ExitCode.INVALID_INPUT, "--older-than '7 dayz' is not an age"),
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


# --- every bad input is one line with its documented code, and no token is echoed ---

import http.server  # noqa: E402
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402


@pytest.fixture
def files(tmp_path):
    binary = tmp_path / "binary.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    config = tmp_path / "python-gitlab.cfg"
    config.write_text("[global]\ndefault = x\n[x]\nurl = https://gitlab.example.com\n"
                      "private_token glpat-offline-test-token broken\n")
    return {"binary": str(binary), "config": str(config)}


@pytest.mark.parametrize("case,env,args,code,fragment", [
    ("binary list file", {}, ["tags", "apply", "g/p", "--from-file", "{binary}", "--yes"],
     ExitCode.INVALID_INPUT, "is not a text file"),
    ("binary policy file", {}, ["policy", "set", "g/p", "--from-file", "{binary}", "--yes"],
     ExitCode.INVALID_INPUT, "is not a text file"),
    ("ftp URL", {"GITLAB_URL": "ftp://gitlab.example.com"}, ["tags", "list", "g/p"],
     ExitCode.INVALID_INPUT, "scheme ftp:// is not supported"),
    ("plain http to another host", {"GITLAB_URL": "http://gitlab.example.com"}, ["tags", "list", "g/p"],
     ExitCode.INVALID_INPUT, "refusing plain http to gitlab.example.com"),
    ("a token with CRLF", {"GITLAB_TOKEN": "glpat-offline-test-token\r\n"}, ["tags", "list", "g/p"],
     ExitCode.AUTH, "contains a line break"),
    ("a token with non-ASCII characters", {"GITLAB_TOKEN": "glpat-offline-test-token\u2013x"}, ["tags", "list", "g/p"],
     ExitCode.AUTH, "characters a token never has"),
    ("a malformed python-gitlab config, GITLAB_TOKEN set", {"GITLAB_URL": "", "PYTHON_GITLAB_CFG": "{config}"},
     ["tags", "list", "g/p"], ExitCode.INVALID_INPUT, "line 5"),
    ("a malformed python-gitlab config, no token", {"GITLAB_URL": "", "GITLAB_TOKEN": "",
                                                    "PYTHON_GITLAB_CFG": "{config}"},
     ["tags", "list", "g/p"], ExitCode.INVALID_INPUT, "malformed"),
])
def test_issue_12_bad_inputs_are_one_line(monkeypatch, capsys, files, case, env, args, code, fragment):
    env = {**OFFLINE, **{k: v.format(**files) for k, v in env.items()}}
    got, out, err = run(monkeypatch, capsys, [a.format(**files) for a in args], env={k: v for k, v in env.items() if v})
    assert got == code, (case, err)
    assert out == ""
    assert err.startswith("glcr: error:") and err.count("\n") == 1 and fragment in err, (case, err)
    assert "glpat-offline-test-token" not in err and "Traceback" not in err


def test_plain_http_elsewhere_is_allowed_with_insecure_and_warned(monkeypatch, capsys):
    got, _, err = run(monkeypatch, capsys, ["--insecure", "tags", "list", "g/p"],
                      env={**OFFLINE, "GITLAB_URL": "http://127.0.0.2:9"})
    assert "warning: --insecure" in err and "refusing plain http" not in err
    assert got == ExitCode.NETWORK, err  # it got as far as trying to connect


@contextmanager
def stub_gitlab(answer):
    """A scripted server on 127.0.0.1: `answer(path)` -> (status, headers, body)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status, headers, body = answer(self.path)
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("args", [["tags", "list", "g/p"], ["policy", "show", "g/p"], ["auth", "status"],
                                  ["admin", "cleanup-limits", "show"]])
def test_gitlab_answering_html_with_200_is_one_line(monkeypatch, capsys, args):
    """Through httpx (tags) and through python-gitlab (policy, settings) alike."""
    html = (200, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>Sign in</body></html>")
    with stub_gitlab(lambda path: html) as url:
        got, out, err = run(monkeypatch, capsys, args, env={**OFFLINE, "GITLAB_URL": url})
    assert got == ExitCode.INVALID_INPUT, err
    assert err.count("\n") == 1 and "not JSON" in err and "--url" in err, err


def test_a_foreign_next_link_is_refused_with_the_network_code(monkeypatch, capsys):
    def answer(path):
        if "/registry/repositories" in path:
            return 200, {"Content-Type": "application/json",
                         "Link": '<https://elsewhere.example.com/api/v4/projects/1/registry/repositories?page=2>; '
                                 'rel="next"'}, b"[]"
        return 200, {"Content-Type": "application/json"}, b'{"id": 1, "path_with_namespace": "g/p"}'

    with stub_gitlab(answer) as url:
        got, _, err = run(monkeypatch, capsys, ["repos", "list", "--project", "g/p"], env={**OFFLINE, "GITLAB_URL": url})
    assert got == ExitCode.NETWORK, err
    assert err.count("\n") == 1 and "refusing a next-page link to another host" in err
