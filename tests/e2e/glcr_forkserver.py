"""Runs `python -m glcr` as a forked copy of a process that has already imported glcr.

Why: the end-to-end tests run glcr about 1,500 times. A fresh interpreter spends most of a short
command importing python-gitlab, httpx, rich and glcr itself (about 0.5 s of CPU each time), which
made the suite CPU-bound on a 2-core machine. A fork of a warmed-up process skips that and is still
a separate process, as a user's would be: its own environment, working directory, stdin, stdout,
stderr, umask and exit code, and a kill reaches only it.

What a fork cannot give is a fresh module state, so the server imports modules only: it never runs
a command, and glcr keeps no state at import time (design.md: no global state). Modules that read
the environment when imported (typer's rich_utils reads TERMINAL_WIDTH, FORCE_TERMINAL) are left
for each child to import. Tests about the interpreter itself (startup time, signals, `--version`)
start real subprocesses and do not come here.

Protocol (one Unix socket, in a private temporary directory, per pytest worker): the client sends
one JSON line {args, env, cwd, stdin, stdout, stderr}; the server forks a monitor, which forks the
child that runs glcr, sends the child's pid, waits for it and sends its exit status the way
subprocess reports it (the code, or minus the signal that killed it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

# Imported before forking: every module of glcr (about 0.8 s of CPU, once per pytest worker)
# but these, and the heavy libraries they use. __main__ would run the command; the sandbox
# command would load the sandbox, which a real glcr run never does.
NOT_PRELOADED = ("glcr.__main__", "glcr.cli.sandbox_cmd")
# typer._adapters (pydantic: typer 0.29 coerces every parameter through a TypeAdapter) and
# anyio's asyncio backend are imported by every command run, 0.1 and 0.05 s of CPU: py-spy
# found the children spending 38% of their CPU importing before these were preloaded (5% after).
LIBRARIES = ("gitlab", "httpx", "rich.console", "rich.table", "re2", "typer", "typer._adapters",
             "anyio._backends._asyncio")


# Read by the child after the fork (stdio is set up there), so they may differ per call.
FORK_SAFE_VARIABLES = frozenset({"PYTHONUNBUFFERED", "PYTHONIOENCODING"})


def _preload() -> None:
    import importlib
    import pkgutil

    import glcr

    for name in (*LIBRARIES, *(m.name for m in pkgutil.walk_packages(glcr.__path__, "glcr."))):
        if name not in NOT_PRELOADED:
            importlib.import_module(name)
    # Read from the environment when imported: must be imported by each child, with its own.
    assert "typer.rich_utils" not in sys.modules, "typer.rich_utils was preloaded: it reads the environment"


def _monitor(conn: socket.socket, request: dict) -> None:
    """In a forked monitor: fork the child that becomes glcr, send its pid, wait for it, and send
    its exit status as subprocess reports one (the code, or minus the signal that killed it).
    The child may end any way a process can (os._exit, a signal), so only a parent can tell."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # SIG_IGN would leave nothing to wait for
    pid = os.fork()
    if pid == 0:
        try:
            _run_child(request)
        finally:
            os._exit(70)
    conn.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    conn.sendall(f"{code}\n".encode())
    os._exit(0)


def _run_child(request: dict) -> None:
    """In the forked child: become `python -m glcr ARGS` and exit with its code."""
    import io
    import locale
    import runpy

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd, path, flags in ((0, request["stdin"], os.O_RDONLY),
                            (1, request["stdout"], os.O_WRONLY | os.O_TRUNC),
                            (2, request["stderr"], os.O_WRONLY | os.O_TRUNC)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    encoding = request["env"].get("PYTHONIOENCODING") or locale.getpreferredencoding(False)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding=encoding)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding=encoding,
                                  errors="backslashreplace", line_buffering=True)
    sys.argv = ["glcr", *request["args"]]
    code: int = 0
    try:
        runpy.run_module("glcr", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:  # sys.exit("message"): Python prints it and exits 1
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:  # what the interpreter does with an uncaught exception
        import traceback

        traceback.print_exc()
        code = 1
    try:
        import atexit

        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code & 0xFF)


def serve(socket_path: str) -> None:
    """The server: import, listen, fork one child per request. Ends when its parent's pipe closes."""
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(16)
    sys.stdout.write("ready\n")
    sys.stdout.flush()

    import select

    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready:  # EOF on stdin: the pytest worker that started this server is gone
            os._exit(0)
        conn, _ = listener.accept()
        with conn.makefile("rb") as reader:
            request = json.loads(reader.readline())
        pid = os.fork()
        if pid == 0:
            listener.close()
            try:
                _monitor(conn, request)
            finally:
                os._exit(70)
        conn.close()


class ForkServer:
    """The client side, one per pytest worker process, started on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._folder = Path(tempfile.mkdtemp(prefix="glcr-fork-"))
        self._socket_path = str(self._folder / "server.sock")
        self._runs = 0

    def _ensure_started(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            if os.path.exists(self._socket_path):
                os.unlink(self._socket_path)
            root = Path(__file__).resolve().parents[2]
            self._process = subprocess.Popen(
                [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                 f"import glcr_forkserver; glcr_forkserver.serve({self._socket_path!r})"],
                cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert self._process.stdout is not None
            line = self._process.stdout.readline()
            if line.strip() != "ready":
                raise RuntimeError(f"glcr fork server did not start: {line!r}")

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a fork behaves like a fresh interpreter with `env`: not when a variable the
        interpreter reads at startup (PYTHONPATH, PYTHONHASHSEED, ...) differs from the server's."""
        startup = {k for k in (*env, *os.environ) if k.startswith("PYTHON") and k not in FORK_SAFE_VARIABLES}
        return all(env.get(k) == os.environ.get(k) for k in startup)

    def run(self, args: list[str], env: dict[str, str], input: str | None, cwd: str | None,
            timeout: float) -> tuple[int, str, str]:
        if not self.serves(env):
            proc = subprocess.run([sys.executable, "-m", "glcr", *args], env=env, input=input, cwd=cwd,
                                  capture_output=True, text=True, timeout=timeout)
            return proc.returncode, proc.stdout, proc.stderr
        self._ensure_started()
        with self._lock:
            self._runs += 1
            stem = self._folder / f"run{self._runs}"
        stdin_path = f"{stem}.in"
        Path(stdin_path).write_text(input or "")
        out_path, err_path = f"{stem}.out", f"{stem}.err"
        Path(out_path).touch()
        Path(err_path).touch()
        request = {"args": list(args), "env": dict(env), "cwd": cwd or os.getcwd(),
                   "stdin": stdin_path, "stdout": out_path, "stderr": err_path}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(self._socket_path)
            conn.sendall((json.dumps(request) + "\n").encode())
            conn.settimeout(timeout)
            reader = conn.makefile("rb")
            pid_line = reader.readline()
            try:
                code_line = reader.readline()
            except TimeoutError:
                if pid_line.strip():
                    os.kill(int(pid_line), signal.SIGKILL)
                raise subprocess.TimeoutExpired(["glcr", *args], timeout) from None
        if not code_line.strip():
            raise RuntimeError(f"glcr fork server lost the run of {args!r}")
        code = int(code_line)
        out = Path(out_path).read_text(errors="replace")
        err = Path(err_path).read_text(errors="replace")
        for path in (stdin_path, out_path, err_path):
            os.unlink(path)
        return code, out, err


_SERVER: ForkServer | None = None


def run_glcr(args: list[str], env: dict[str, str], input: str | None = None, cwd: str | None = None,
             timeout: float = 120) -> tuple[int, str, str]:
    """`python -m glcr ARGS` with this environment: (exit code, stdout, stderr)."""
    global _SERVER
    if _SERVER is None:
        _SERVER = ForkServer()
    return _SERVER.run(args, env, input, cwd, timeout)
