"""Runs the real `glcr` command (a subprocess, as a user would) and checks no token leaks."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


def glcr(env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run([sys.executable, "-m", "glcr", *args], env=env, input=input, capture_output=True,
                          text=True, timeout=timeout)
    for secret in (env.get("GITLAB_TOKEN"),):
        if secret:
            assert secret not in proc.stdout and secret not in proc.stderr, "token leaked into output"
    return Result(proc.returncode, proc.stdout, proc.stderr)


def skopeo_digest(sandbox, image: str) -> str | None:
    """The digest skopeo (an independent client) sees for `image`, or None when it is absent."""
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", f"maintainer:{sandbox.token}",
         f"docker://{sandbox.registry_host}/{image}"],
        capture_output=True, timeout=60)
    if proc.returncode != 0:
        stderr = proc.stderr.decode()
        assert "manifest unknown" in stderr or "not found" in stderr.lower(), stderr
        return None
    import hashlib

    return "sha256:" + hashlib.sha256(proc.stdout).hexdigest()


def skopeo_tags(sandbox, repo: str) -> list[str]:
    proc = subprocess.run(
        ["skopeo", "list-tags", "--tls-verify=false", "--creds", f"maintainer:{sandbox.token}",
         f"docker://{sandbox.registry_host}/{repo}"], capture_output=True, timeout=60, check=True)
    return sorted(json.loads(proc.stdout)["Tags"] or [])
