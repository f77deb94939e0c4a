"""Run Debian's `docker-registry` (distribution 2.8) with token auth pointing at the sandbox.

The registry is a real third-party registry: no GitLab API (`/gitlab/v1/`), no tag delete,
so GitLab (and the sandbox) use the dummy-manifest workaround to delete tags.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from glcr_sandbox.tls import TlsFiles, verify_for

DEFAULT_BINARY = "/usr/bin/docker-registry"
START_TIMEOUT_S = 15.0  # a cold start on a slow CI box takes about a second


class RegistryBinaryMissing(RuntimeError):
    pass


def find_binary(binary: str | None = None) -> str:
    """The registry binary, or a clear error saying how to install it."""
    candidate = binary or os.environ.get("GLCR_SANDBOX_REGISTRY_BIN") or DEFAULT_BINARY
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
        return candidate
    found = shutil.which("docker-registry") or shutil.which("registry")
    if found:
        return found
    raise RegistryBinaryMissing(
        f"the registry binary {candidate} is missing; install it: apt-get install docker-registry"
    )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_until_serving(url: str, proc: subprocess.Popen, what: str, log_path: Path, timeout: float,
                       verify: Any = True) -> None:
    """Return once `GET {url}/v2/` answers 401 (a registry with token auth is up); raise when
    `proc` exits first or `timeout` passes. `verify`: httpx's, for a registry serving https."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"{url}/v2/", timeout=1.0, verify=verify).status_code == 401:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on {url} in {timeout}s; see {log_path}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def registry_config(*, storage: Path, port: int, realm: str, cert_path: Path) -> dict:
    return {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}, "fields": {"service": "registry"}},
        "storage": {
            "filesystem": {"rootdirectory": str(storage)},
            # What a real install runs with: Debian's docker-registry ships this in its
            # /etc/docker/registry/config.yml, and omnibus-gitlab sets it by default for its
            # registry (storage.cache.blobdescriptor). Without it every HEAD re-reads the blob's
            # link and stat from the storage: a sandbox slower than the registries users run.
            "cache": {"blobdescriptor": "inmemory"},
            # Needed for DELETE /v2/<name>/manifests/<digest>: GitLab's third-party tag delete.
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {
            "addr": f"127.0.0.1:{port}",
            # Only used to sign upload state; any value works, but distribution warns without one.
            "secret": secrets.token_hex(8),
            "headers": {"X-Content-Type-Options": ["nosniff"]},
        },
        "auth": {
            "token": {
                "realm": realm,
                "service": "container_registry",
                "issuer": "gitlab-issuer",
                "rootcertbundle": str(cert_path),
            }
        },
    }


class LoopbackRegistry:
    """Where a launched registry answers and logs; for classes with `port` and `directory`.
    With `tls` set before `start()` (`glcr sandbox up --tls`), it serves https (`with_tls`)."""

    port: int
    directory: Path
    tls: TlsFiles | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def verify(self) -> Any:
        return verify_for(self.tls)

    def with_tls(self, config: dict) -> dict:
        """The registry's config with `http.tls` when it serves https (distribution's and GitLab's
        registry read the same keys: configuration.go, HTTP.TLS.Certificate/Key)."""
        if self.tls is not None:
            config["http"]["tls"] = {"certificate": str(self.tls.certificate), "key": str(self.tls.key)}
        return config

    @property
    def log_path(self) -> Path:
        return self.directory / "registry.log"


@dataclass
class RegistryProcess(LoopbackRegistry):
    """One `docker-registry serve` child process; `start()` returns once `/v2/` answers 401.

    A subclass runs another single-process registry by overriding `find_binary` and `config`."""

    directory: Path
    realm: str
    cert_path: Path
    port: int = 0
    binary: str | None = None
    kind: str = field(default="distribution", init=False)
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _log: object | None = field(default=None, init=False, repr=False)
    what = "docker-registry"  # how errors name it

    def find_binary(self) -> str:
        return find_binary(self.binary)

    def config(self) -> dict:
        return registry_config(
            storage=self.directory / "storage", port=self.port, realm=self.realm, cert_path=self.cert_path
        )

    def start(self) -> None:
        binary = self.find_binary()
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        config_path = self.directory / "config.yml"
        config_path.write_text(yaml.safe_dump(self.with_tls(self.config()), sort_keys=False))
        self._log = open(self.log_path, "ab")
        self._proc = subprocess.Popen(
            [binary, "serve", str(config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._proc is not None
        try:
            wait_until_serving(self.url, self._proc, self.what, self.log_path, START_TIMEOUT_S, self.verify)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None
