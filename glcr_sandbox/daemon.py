"""Run the sandbox as a background process for the CLI (`glcr sandbox up/down/status`).

`python -m glcr_sandbox serve --state-dir DIR` runs in the foreground until SIGTERM and writes
DIR/sandbox.json (url, tokens, registry host, pid) once it answers; `spawn` starts that in a new
session and waits for the file, `stop` sends SIGTERM to the recorded pid.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from glcr_sandbox.registry_process import pid_alive

INFO_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
SPAWN_TIMEOUT_S = 120.0  # includes seeding the demo world and, once per machine, migrating a database


def info_path(state_dir: Path) -> Path:
    return state_dir / INFO_FILE


def read_info(state_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads(info_path(state_dir).read_text())
    except (OSError, ValueError):
        return None


def healthy(info: dict[str, Any]) -> bool:
    """The recorded process is alive and its API answers with the same url."""
    if not pid_alive(int(info.get("pid", 0))):
        return False
    try:
        from glcr_sandbox.tls import verify_for_ca

        # A sandbox serving https (--tls) is checked against its own CA.
        resp = httpx.get(f"{info['url']}/-/sandbox/info", timeout=2.0, verify=verify_for_ca(info.get("ca_file")))
    except (httpx.HTTPError, OSError):
        return False
    return resp.status_code == 200 and resp.json().get("url") == info["url"]


def serve(state_dir: Path, *, port: int = 0, latency_ms: int = 0, seed: bool = False,
          registry_latency_ms: int = 0, registry_kind: str = "gitlab", tls: bool = False) -> int:
    """Foreground: start, optionally seed the demo, publish sandbox.json, wait for a signal."""
    from glcr_sandbox.runtime import Sandbox
    from glcr_sandbox.seed import DEMO_PROJECT, seed_demo

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sandbox = Sandbox.start(state_dir, port=port, latency_ms=latency_ms, registry_latency_ms=registry_latency_ms,
                            registry_kind=registry_kind, tls=tls)
    try:
        project = sandbox.world.find_project(DEMO_PROJECT)
        if seed and (project is None or not sandbox.world.project_repositories(project)):
            with sandbox.registry_client() as registry:
                seed_demo(sandbox.url, registry)
        info = {**sandbox.describe(), "pid": os.getpid()}
        tmp = info_path(state_dir).with_suffix(".tmp")
        tmp.write_text(json.dumps(info, indent=1))
        os.replace(tmp, info_path(state_dir))
        stop.wait()
    finally:
        sandbox.stop()
        current = read_info(state_dir)
        if current and current.get("pid") == os.getpid():
            info_path(state_dir).unlink(missing_ok=True)
    return 0


def spawn(state_dir: Path, *, port: int = 0, latency_ms: int = 0, seed: bool = True,
          registry_latency_ms: int = 0, registry_kind: str = "gitlab", tls: bool = False) -> dict[str, Any]:
    """Start `serve` detached from this terminal; return its sandbox.json once it is up."""
    state_dir.mkdir(parents=True, exist_ok=True)
    info_path(state_dir).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "glcr_sandbox", "serve", "--state-dir", str(state_dir), "--port", str(port),
           "--latency-ms", str(latency_ms), "--registry-latency-ms", str(registry_latency_ms),
           "--registry", registry_kind] \
        + (["--seed"] if seed else []) + (["--tls"] if tls else [])  # fmt: skip
    with open(state_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + SPAWN_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited with {proc.returncode}:\n{_log_tail(state_dir)}")
        info = read_info(state_dir)
        if info and info.get("pid") == proc.pid:
            return info
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the sandbox did not start in {SPAWN_TIMEOUT_S:.0f}s:\n{_log_tail(state_dir)}")


def stop(state_dir: Path, *, timeout: float = 15.0) -> bool:
    """SIGTERM the recorded sandbox and wait for it; False when none was running."""
    info = read_info(state_dir)
    if not info or not pid_alive(int(info["pid"])):
        info_path(state_dir).unlink(missing_ok=True)
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.1)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    info_path(state_dir).unlink(missing_ok=True)
    return True


def _log_tail(state_dir: Path, lines: int = 20) -> str:
    try:
        return "\n".join((state_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
