"""Shared by the benchmarks: a sandbox in its own process (so its work does not share the GIL
with the clients being measured), seeded over the registry API."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from glcr_sandbox import daemon
from glcr_sandbox.keys import SigningKey
from glcr_sandbox.registry_client import RegistryClient
from glcr_sandbox.seed import ensure_project


@contextlib.contextmanager
def running_sandbox(
    latency_ms: int, registry_latency_ms: int = 0, registry_kind: str = "gitlab"
) -> Iterator[tuple[dict, RegistryClient, Path]]:
    """`latency_ms` on every GitLab API answer; `registry_latency_ms` on every registry request
    (a relay in front of the registry; seeding goes around it); `registry_kind`: GitLab's own
    registry (what GitLab runs) or "distribution"."""
    state = Path(tempfile.mkdtemp(prefix="glcr-bench-"))
    info = daemon.spawn(state, latency_ms=latency_ms, seed=False, registry_latency_ms=registry_latency_ms,
                        registry_kind=registry_kind)
    registry = RegistryClient(info["registry_url"], SigningKey.load_or_create(state / "keys"))
    try:
        yield info, registry, state
    finally:
        registry.close()
        daemon.stop(state)


def glcr_env(info: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITLAB_", "CI_", "GLCR_"))}
    # root (an admin) sees every project the benchmarks create
    return {**env, "GITLAB_URL": info["url"], "GITLAB_TOKEN": info["root_token"]}


def timed(cmd: list[str], env: dict[str, str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return elapsed, proc


__all__ = ["running_sandbox", "glcr_env", "timed", "ensure_project"]
