"""Issue 17's table through the real `glcr` entry point, against a loopback server that counts
requests: every case ends with its README exit code, one stderr line, no traceback, no request
sent and no file written. Cases that need a registry (migrate's pre-checks against a GitLab, a
Ctrl-C on distribution's placeholder) are in tests/e2e; the rules themselves have unit tables.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from glcr.cli.main import main
from glcr.errors import ExitCode

TOKEN = "glpat-safety-table-token"
ENV_KEYS = ("GITLAB_URL", "GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_JOB_TOKEN", "CI_SERVER_URL", "GLCR_JOBS",
            "GLCR_REGISTRY_JOBS", "GLCR_INSECURE_REGISTRY", "GLCR_INSECURE", "XDG_STATE_HOME", "SSL_CERT_FILE")


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """A working directory with a file (`afile`), a list (`list.txt`) and a state home."""
    (tmp_path / "afile").write_text("not a directory\n")
    (tmp_path / "list.txt").write_text("v1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(monkeypatch, capsys, url: str, args: list[str], env: dict[str, str] | None = None):
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in {"GITLAB_URL": url, "GITLAB_TOKEN": TOKEN, **(env or {})}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return exit_info.value.code, out, err


def assert_one_line(err: str, fragment: str) -> None:
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("glcr: error:"), err
    assert fragment in err, err


def snapshot(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


AGE_COMMANDS = {
    "tags list": ["tags", "list", "g/p"],
    "tags plan": ["tags", "plan", "g/p", "-o", "p.json"],
    "tags plan (list)": ["tags", "plan", "g/p", "-o", "list_o_tags.out"],
    "tags bulk-delete": ["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--yes"],
    "cleanup dry-run": ["cleanup", "dry-run", "g/p"],
    "cleanup run": ["cleanup", "run", "g/p", "--yes"],
    "policy set": ["policy", "set", "g/p", "--yes"],
}
AGES = {"": "is empty", "30": "is not an age", "  ": "is empty", "30 7d": "is not an age"}


@pytest.mark.parametrize("age", sorted(AGES))
@pytest.mark.parametrize("command", sorted(AGE_COMMANDS))
def test_an_empty_or_unitless_age_is_refused_by_every_command(monkeypatch, capsys, server, work, command, age):
    """One parser: `--older-than ''` (an unset variable) and `--older-than 30` (seconds to GitLab)
    never widen a deletion: exit 3, one line, no request, no plan file."""
    before = snapshot(work)
    code, out, err = run(monkeypatch, capsys, server.url, [*AGE_COMMANDS[command], "--older-than", age],
                         env={"XDG_STATE_HOME": str(work / "state")})
    assert code == ExitCode.INVALID_INPUT, err
    assert_one_line(err, f"--older-than {AGES[age]}" if AGES[age] == "is empty" else AGES[age])
    assert out == "" and server.requests == []
    assert snapshot(work) == before  # no plan file, no list, no state directory


@pytest.mark.parametrize("args, fragment", [
    # a flag that narrows a deletion fails closed when it is given empty
    (["tags", "plan", "g/p", "--keep-regex", "", "-o", "p.json"], "--keep-regex is empty"),
    (["tags", "plan", "g/p", "--keep-regex", "v1", "--keep-regex", " "], "--keep-regex is empty"),
    (["tags", "plan", "g/p", "--delete-regex", ""], "--delete-regex is empty"),
    (["tags", "list", "g/p", "--match", ""], "--match is empty"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--name-regex-keep", "", "--yes"],
     "--name-regex-keep is empty"),
    (["cleanup", "run", "g/p", "--name-regex-keep", "", "--yes"], "--name-regex-keep is empty"),
    (["cleanup", "dry-run", "g/p", "--name-regex-keep", ""], "--name-regex-keep is empty"),
    (["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--older-than", "6m", "--yes"], "minutes"),
    # policy fields are validated before anything is read or saved, enabled or not
    (["policy", "set", "g/p", "--name-regex-keep", "[", "--yes"], "name_regex_keep"),
    (["policy", "set", "g/p", "--disable", "--name-regex-keep", "[", "--yes"], "name_regex_keep"),
    (["policy", "set", "g/p", "--name-regex", "(?<=a)b", "--yes"], "RE2"),
    # migrate-project's values
    (["migrate-project", "g/p", "--to", "h/p", "--via", "g/p", "--yes"], "cannot be the project being moved"),
    (["migrate-project", "G/P/", "--to", "h/p", "--via", "g/p", "--dry-run"], "cannot be the project being moved"),
    (["migrate-project", "g/p", "--to", "h/p", "--backup-dir", "afile", "--yes"], "it is a file"),
    (["migrate-project", "g/p", "--to", "h/p", "--backup-dir", "afile/sub", "--yes"], "is a file"),
    (["migrate-project", "g/p", "--to", "h/p", "--state-dir", "afile", "--yes"], "state directory"),
    (["migrate-project", "--resume", "--state-dir", "afile"], "state directory"),
    (["migrate-project", "status", "--state-dir", "afile"], "state directory"),
    # journal, plan and state locations, checked before the first request
    (["tags", "apply", "g/p", "--from-file", "list.txt", "--journal", "afile/x", "--yes"], "journal"),
    (["tags", "apply", "g/p", "--from-file", "list.txt", "--journal", ".", "--yes"], "it is a directory"),
    (["tags", "apply", "g/p", "--from-file", "list.txt", "--journal", "nodir/j.jsonl", "--yes"], "does not exist"),
    (["tags", "apply", "g/p", "--from-file", "list.txt", "--journal", "afile/x", "--dry-run"], "journal"),
    (["tags", "plan", "g/p", "-o", "afile/p.json"], "plan file"),
    (["tags", "plan", "g/p", "-o", "."], "it is a directory"),
    (["cleanup", "run", "g/p", "--state-dir", "afile", "--yes"], "state directory"),
    (["cleanup", "run", "g/p", "--state-dir", "afile/sub", "--yes"], "state directory"),
    # a file to read that is missing or a directory is a value that cannot be used
    (["tags", "apply", "g/p", "--from-file", "nosuch.txt", "--yes"], "does not exist"),
    (["tags", "apply", "g/p", "--from-file", ".", "--yes"], "it is a directory"),
    (["policy", "set", "g/p", "--from-file", "nosuch.yaml", "--yes"], "does not exist"),
])
def test_invalid_values_exit_3_before_any_request(monkeypatch, capsys, server, work, args, fragment):
    before = snapshot(work)
    code, out, err = run(monkeypatch, capsys, server.url, args)
    assert code == ExitCode.INVALID_INPUT, err
    assert_one_line(err, fragment)
    assert out == "" and server.requests == []
    assert snapshot(work) == before


def test_the_default_state_directory_is_checked_too(monkeypatch, capsys, server, work):
    """XDG_STATE_HOME pointing at a file: `cleanup run` and `migrate-project` refuse up front."""
    for args in (["cleanup", "run", "g/p", "--yes"], ["migrate-project", "g/p", "--to", "h/p", "--yes"]):
        code, out, err = run(monkeypatch, capsys, server.url, args, env={"XDG_STATE_HOME": str(work / "afile")})
        assert code == ExitCode.INVALID_INPUT, err
        assert_one_line(err, "state directory")
        assert server.requests == []


@pytest.mark.parametrize("where, args", [
    ("journal", ["tags", "apply", "g/p", "--from-file", "list.txt", "--yes"]),
    ("plan file", ["tags", "plan", "g/p", "-o", "p.json"]),
    ("state directory", ["cleanup", "run", "g/p", "--state-dir", "state", "--yes"]),
    ("state directory", ["migrate-project", "g/p", "--to", "h/p", "--state-dir", "state", "--yes"]),
])
@pytest.mark.parametrize("problem", ["full", "not writable"])
def test_a_full_disk_or_a_read_only_place_is_refused_up_front(monkeypatch, capsys, server, work, where, args,
                                                              problem):
    """A full disk, or a directory this user cannot write (faked: the tests may run as root,
    who can write anywhere, and no test fills a disk)."""
    import os

    import glcr.statedir as statedir

    if problem == "full":
        real = os.statvfs

        class Full:
            def __init__(self, stats):
                self.f_frsize, self.f_bavail = stats.f_frsize, 3

        monkeypatch.setattr(statedir.os, "statvfs", lambda path: Full(real(path)))
    else:
        real_access = os.access
        monkeypatch.setattr(statedir.os, "access",
                            lambda path, mode, **kw: False if str(path).startswith(str(work)) else real_access(path, mode))
    before = snapshot(work)
    code, out, err = run(monkeypatch, capsys, server.url, args)
    assert code == ExitCode.INVALID_INPUT, err
    assert_one_line(err, where)
    assert ("the disk is full" if problem == "full" else "not writable") in err
    assert server.requests == [] and snapshot(work) == before


@pytest.mark.parametrize("args, fragment", [
    (["repos", "list"], "exactly one of --project or --group"),
    (["repos", "list", "--project", "g/p", "--group", "g"], "exactly one of --project or --group"),
    (["migrate-project", "g/p"], "--to"),
    (["migrate-project", "--to", "h/p"], "--to"),
    (["migrate-project", "g/p", "--to", "h/p", "--via", "g/hold", "--backup-dir", "bk", "--yes"], "not both"),
    (["migrate-project", "g/p", "--to", "h/p", "--abort"], "--abort goes with --resume"),
    (["migrate-project", "g/p", "--to", "h/p", "--resume"], "--resume takes no project"),
    (["policy", "set", "g/p", "--yes"], "nothing to change"),
    (["admin", "cleanup-limits", "set", "--yes"], "no setting to change"),
])
def test_options_that_do_not_go_together_are_usage_errors(monkeypatch, capsys, server, work, args, fragment):
    """The README's rule: a bad command line (options missing or not going together) is 2."""
    before = snapshot(work)
    code, out, err = run(monkeypatch, capsys, server.url, args)
    assert code == ExitCode.USAGE, err
    assert_one_line(err, fragment)
    assert out == "" and server.requests == [] and snapshot(work) == before


def test_an_empty_project_value_is_invalid_not_missing(monkeypatch, capsys, server, work):
    code, _, err = run(monkeypatch, capsys, server.url, ["repos", "list", "--project", ""])
    assert code == ExitCode.INVALID_INPUT, err
    assert server.requests == []


@pytest.mark.parametrize("args", [
    ["tags", "list", "g/p", "--older-than", "30d"],
    ["tags", "plan", "g/p", "--older-than", "2 weeks", "-o", "p.json"],
    ["tags", "bulk-delete", "g/p", "--name-regex-delete", ".*", "--older-than", "12h", "--dry-run"],
    ["cleanup", "dry-run", "g/p", "--older-than", "30d"],
    ["tags", "apply", "g/p", "--from-file", "list.txt", "--journal", "j.jsonl", "--yes"],
    ["cleanup", "run", "g/p", "--state-dir", "state/new", "--yes"],
    ["policy", "set", "g/p", "--name-regex-keep", "(?:main)", "--yes"],
])
def test_the_same_commands_with_good_values_reach_the_server(monkeypatch, capsys, server, work, args):
    """The control: these values pass the checks above and the command goes on to the server
    (which answers 404)."""
    code, _, err = run(monkeypatch, capsys, server.url, args)
    assert server.requests, err
    assert code == ExitCode.NOT_FOUND, err


# --- a GitLab whose certificate cannot be verified ------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A loopback https server with a self-signed certificate, counting TLS handshakes."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    attempts: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def get_request(self):
            sock, address = self.socket.accept()
            attempts.append(time.monotonic())
            return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

        def handle_error(self, request, client_address):
            pass  # the client rejects the handshake: expected

    httpd = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", attempts
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("args", [["tags", "list", "g/p"], ["repos", "list", "--project", "g/p"],
                                  ["tags", "plan", "g/p", "--older-than", "30d"]])
def test_an_unverifiable_certificate_is_one_line_and_exit_7_at_once(monkeypatch, capsys, tls_server, work, args):
    url, attempts = tls_server
    attempts.clear()
    started = time.monotonic()
    code, out, err = run(monkeypatch, capsys, url, args)
    assert code == ExitCode.NETWORK, err
    assert_one_line(err, "certificate")
    assert "self-signed" in err and "SSL_CERT_FILE" in err and "--ca-file" in err
    assert time.monotonic() - started < 10
    assert len(attempts) == 1  # not retried: the same certificate would be refused again
